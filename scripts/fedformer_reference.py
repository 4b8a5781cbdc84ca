# Writes src/models/fedformer_reference.json: small NeuralForecast 3.3 FEDformers (their own
# random modes, from random_seed), random weights (complex ones as view_as_real), and their
# eval-mode forward on a fixed batch of 2 windows. Case 0 has more frequencies than modes, so the
# NumPy draw matters, and a future column; case 1 MQLoss, two layers each, the lowest modes.
# Run with the venv:
#   python scripts/fedformer_reference.py > src/models/fedformer_reference.json
import logging, warnings, json, os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import numpy as np
import torch
torch.set_num_threads(1)
from neuralforecast.models import FEDformer
from neuralforecast.losses.pytorch import MQLoss

cases = [
    (dict(h=4, input_size=20, hidden_size=8, conv_hidden_size=3, modes=3, MovingAvg_window=5, futr_exog_list=['f'], random_seed=7),
     {"h": 4, "inputSize": 20, "hiddenSize": 8, "convHiddenSize": 3, "modes": 3, "movingAvgWindow": 5, "futrExogList": ["f"], "randomSeed": 7}),
    (dict(h=3, input_size=9, hidden_size=8, conv_hidden_size=4, modes=2, mode_select='low', encoder_layers=2, decoder_layers=2, activation='relu', loss=MQLoss()),
     {"h": 3, "inputSize": 9, "hiddenSize": 8, "convHiddenSize": 4, "modes": 2, "modeSelect": "low", "encoderLayers": 2, "decoderLayers": 2, "activation": "relu", "loss": {"type": "MQLoss"}}),
]
out = []
for i, (nf_opts, ours) in enumerate(cases):
    m = FEDformer(**nf_opts)
    torch.manual_seed(i)
    params = [(n, p) for n, p in m.named_parameters() if not n.startswith('loss.')]
    with torch.no_grad():
        for n, p in params:
            if p.is_complex():
                p.copy_(torch.complex(torch.randn(p.shape), torch.randn(p.shape)) * 5.0)
            else:
                p.copy_(torch.randn_like(p) * 0.5)
            # Four decimals, so the JSON is short and holds the weights exactly.
            r = torch.view_as_real(p) if p.is_complex() else p
            r.copy_(torch.round(r * 1e4) / 1e4)
    g = torch.Generator().manual_seed(10 + i)
    L, h = nf_opts['input_size'], nf_opts['h']
    y = torch.round(torch.randn(2, L, 1, generator=g) * 1e4) / 1e4
    f = torch.round(torch.randn(2, L + h, 1, generator=g) * 1e4) / 1e4
    batch = dict(insample_y=y, futr_exog=f if 'futr_exog_list' in nf_opts else None)
    with torch.no_grad():
        m.eval()
        o = m.forward(batch)
    r7 = lambda t: [float(np.format_float_positional(v, precision=7, unique=False, fractional=False, trim='-')) for v in t.detach().flatten().numpy()]
    exact = lambda t: [float(str(v)) for v in t.detach().flatten().numpy()]
    flat = torch.cat([(torch.view_as_real(p) if p.is_complex() else p).detach().flatten() for _, p in params])
    enc = m.encoder.attn_layers[0].attention.inner_correlation
    cross = m.decoder.layers[0].cross_attention.inner_correlation
    out.append(dict(options=ours, names=[n for n, _ in params], values=exact(flat), y=exact(y), f=exact(f) if 'futr_exog_list' in nf_opts else [], out=r7(o),
                    modes=[enc.index, m.decoder.layers[0].self_attention.inner_correlation.index, cross.index_q, cross.index_kv]))
print(json.dumps(out))
