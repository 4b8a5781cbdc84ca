# Writes src/models/autoformer_reference.json: two small NeuralForecast 3.3 Autoformers with random
# weights and their forward outputs on a fixed batch of 3 windows, in eval mode (each window its
# own delays) and in train mode with dropout 0 (the batch's delays). Case 0 has an odd encoder
# length (irfft drops a delay) and a decoder shorter than the encoder (cross-correlation keys cut),
# a future column; case 1 a decoder longer than the encoder (keys zero-padded), a moving-average
# window longer than the input, MQLoss's 5 outputs and two decoder layers. Run with the venv:
#   python scripts/autoformer_reference.py > src/models/autoformer_reference.json
from nf_reference import print_cases, univariate_batch
from neuralforecast.models import Autoformer
from neuralforecast.losses.pytorch import MQLoss

cases = [
    (dict(h=3, input_size=9, hidden_size=4, n_head=2, conv_hidden_size=3, factor=2, MovingAvg_window=5, futr_exog_list=['f'], dropout=0.0),
     {"h": 3, "inputSize": 9, "hiddenSize": 4, "nHead": 2, "convHiddenSize": 3, "factor": 2, "movingAvgWindow": 5, "futrExogList": ["f"], "dropout": 0.0}),
    (dict(h=5, input_size=6, hidden_size=6, n_head=3, conv_hidden_size=4, factor=1, encoder_layers=1, decoder_layers=2, activation='relu', loss=MQLoss(), dropout=0.0),
     {"h": 5, "inputSize": 6, "hiddenSize": 6, "nHead": 3, "convHiddenSize": 4, "factor": 1, "encoderLayers": 1, "decoderLayers": 2, "activation": "relu", "loss": {"type": "MQLoss"}, "dropout": 0.0}),
]


print_cases(Autoformer, cases, univariate_batch(3))
