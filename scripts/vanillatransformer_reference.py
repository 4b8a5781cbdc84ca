# Writes src/models/vanillatransformer_reference.json: two small NeuralForecast 3.3
# VanillaTransformers with random weights and their forward outputs on a fixed batch of 3 windows,
# in eval mode and in train mode with dropout 0 (so the training forward is checked too), and the
# gradients of the mean absolute error against a random target. Case 0
# has a future column, GELU and an odd label_len; case 1 ReLU, MQLoss's 5 outputs, one encoder
# and two decoder layers, heads of 2 features. Run with the NeuralForecast venv:
#   python scripts/vanillatransformer_reference.py > src/models/vanillatransformer_reference.json
from nf_reference import print_cases, univariate_batch
from neuralforecast.models import VanillaTransformer
from neuralforecast.losses.pytorch import MQLoss

cases = [
    (dict(h=3, input_size=9, hidden_size=4, n_head=2, conv_hidden_size=3, futr_exog_list=['f'], dropout=0.0),
     {"h": 3, "inputSize": 9, "hiddenSize": 4, "nHead": 2, "convHiddenSize": 3, "futrExogList": ["f"], "dropout": 0.0}),
    (dict(h=5, input_size=6, hidden_size=6, n_head=3, conv_hidden_size=4, encoder_layers=1, decoder_layers=2, activation='relu', loss=MQLoss(), dropout=0.0),
     {"h": 5, "inputSize": 6, "hiddenSize": 6, "nHead": 3, "convHiddenSize": 4, "encoderLayers": 1, "decoderLayers": 2, "activation": "relu", "loss": {"type": "MQLoss"}, "dropout": 0.0}),
]


print_cases(VanillaTransformer, cases, univariate_batch(3), grads=True)
