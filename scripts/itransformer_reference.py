# Writes src/models/itransformer_reference.json: two small NeuralForecast 3.3 iTransformers with
# random weights and their forward outputs on a fixed batch of 2 windows of 3 series, in eval mode
# and in train mode with dropout 0 (so the training forward is checked too), and the
# gradients of the mean absolute error against a random target. Case 0 normalises
# each series (use_norm) and has two future columns (one token per series and column); case 1
# does not normalise, has MQLoss's 5 outputs per step and one encoder layer. Run with the venv:
#   python scripts/itransformer_reference.py > src/models/itransformer_reference.json
import torch
from nf_reference import print_cases
from neuralforecast.models import iTransformer
from neuralforecast.losses.pytorch import MQLoss

cases = [
    (dict(h=3, input_size=5, n_series=3, hidden_size=4, n_heads=2, e_layers=2, d_ff=3, futr_exog_list=['f', 'g'], dropout=0.0),
     {"h": 3, "inputSize": 5, "nSeries": 3, "hiddenSize": 4, "nHeads": 2, "eLayers": 2, "dFf": 3, "futrExogList": ["f", "g"], "dropout": 0.0}),
    (dict(h=2, input_size=4, n_series=3, hidden_size=6, n_heads=3, e_layers=1, d_ff=5, use_norm=False, loss=MQLoss(), dropout=0.0),
     {"h": 2, "inputSize": 4, "nSeries": 3, "hiddenSize": 6, "nHeads": 3, "eLayers": 1, "dFf": 5, "useNorm": False, "loss": {"type": "MQLoss"}, "dropout": 0.0}),
]


def batch(i, nf_opts):
    g = torch.Generator().manual_seed(10 + i)
    L, h, N = nf_opts['input_size'], nf_opts['h'], nf_opts['n_series']
    F = len(nf_opts.get('futr_exog_list', []))
    # Levels and spreads far from 0 and 1, so the normalisation matters.
    y = 3.0 + 2.0 * torch.randn(2, L, N, generator=g)
    f = torch.randn(2, F, L + h, N, generator=g)
    return dict(insample_y=y, futr_exog=f if F else None)


print_cases(iTransformer, cases, batch, grads=True)
