// ESM entry: the CommonJS module's exports, by name.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const nd = require('./index.js')

export const {
  NeuralForecast,
  toRows,
  NHITS,
  MLP,
  LSTM,
  RNN,
  GRU,
  TCN,
  BiTCN,
  PatchTST,
  VanillaTransformer,
  Informer,
  Autoformer,
  FEDformer,
  NBEATS,
  NBEATSx,
  MLPMultivariate,
  TSMixer,
  TSMixerx,
  iTransformer,
  TiDE,
  DeepAR,
  DeepNPTS,

  DLinear,
  NLinear,
  TimesNet,
  StemGNN,
  TFT,
  TimeLLM,
  MAE,
  MSE,
  RMSE,
  MAPE,
  SMAPE,
  HuberLoss,
  QuantileLoss,
  MQLoss,
  MASE,
  DistributionLoss,
  Model,
  Loss,
  NeuroDivergentError,
  ModelFileError,
  AbortError,
} = nd
export default nd
