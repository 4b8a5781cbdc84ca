# Writes src/models/timesnet_reference.json: two small NeuralForecast 3.3 TimesNets with random
# weights, their eval-mode forward outputs on a fixed batch of 3 windows, and their outputs after
# 3 Adam steps (lr 1e-3, MAE against a fixed target, dropout 0) on that batch. Case 0 has two
# TimesBlocks, two Inception kernels and a future column; case 1 one block, the default six
# kernels (up to 11 × 11, larger than every fold) and three periods. The periods each block picked
# are recorded too. Run with the venv:
#   python scripts/timesnet_reference.py > src/models/timesnet_reference.json
import json
from nf_reference import r7, random_model
import torch
from neuralforecast.models import TimesNet
from neuralforecast.models.timesnet import FFT_for_Period

cases = [
    (dict(h=3, input_size=8, hidden_size=4, conv_hidden_size=3, top_k=2, num_kernels=2, encoder_layers=2, futr_exog_list=['f'], dropout=0.0),
     {"h": 3, "inputSize": 8, "hiddenSize": 4, "convHiddenSize": 3, "topK": 2, "numKernels": 2, "encoderLayers": 2, "futrExogList": ["f"], "dropout": 0.0}),
    (dict(h=4, input_size=9, hidden_size=6, conv_hidden_size=2, top_k=3, encoder_layers=1, dropout=0.0),
     {"h": 4, "inputSize": 9, "hiddenSize": 6, "convHiddenSize": 2, "topK": 3, "encoderLayers": 1, "dropout": 0.0}),
]
out = []
for i, (nf_opts, ours) in enumerate(cases):
    # Four decimals, so that the JSON holds the weights and inputs exactly.
    m, params = random_model(TimesNet, nf_opts, i, decimals=4)
    periods = []
    for block in m.model:
        block.register_forward_hook(lambda b, inputs, _: periods.append([int(p) for p in FFT_for_Period(inputs[0], b.k)[0]]))
    g = torch.Generator().manual_seed(10 + i)
    L, h = nf_opts['input_size'], nf_opts['h']
    y = torch.round(torch.randn(3, L, 1, generator=g) * 1e4) / 1e4
    f = torch.round(torch.randn(3, L + h, 1, generator=g) * 1e4) / 1e4
    batch = dict(insample_y=y, futr_exog=f if 'futr_exog_list' in nf_opts else None)
    with torch.no_grad():
        m.eval()
        out_eval = m.forward(batch)
    values = torch.cat([p.detach().flatten() for _, p in params]).clone()
    target = torch.randn(3, h, 1, generator=g)
    adam = torch.optim.Adam([p for _, p in params], lr=1e-3)
    for _ in range(3):
        adam.zero_grad()
        (m.forward(batch) - target).abs().mean().backward()
        adam.step()
    with torch.no_grad():
        out_after = m.forward(batch)
    out.append(dict(options=ours, names=[n for n, _ in params], values=r7(values),
                    y=r7(y), f=r7(f) if 'futr_exog_list' in nf_opts else [], periods=periods[:len(m.model)],
                    out_eval=r7(out_eval), target=r7(target), out_after=r7(out_after)))
print(json.dumps(out))
