# Writes src/models/informer_reference.json: a tiny NeuralForecast 3.3 Informer (factor 5, so
# ProbSparse attention covers every query and key and the sampling cannot differ), random
# weights, its eval-mode forward on a fixed batch. Run with the NeuralForecast venv:
#   python scripts/informer_reference.py > src/models/informer_reference.json
import logging, warnings, json
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import torch
from neuralforecast.models import Informer
torch.manual_seed(0)
m = Informer(h=3, input_size=8, hidden_size=4, n_head=2, conv_hidden_size=3, factor=5, futr_exog_list=['f'])
m.eval()
with torch.no_grad():
    for n, p in m.named_parameters():
        p.copy_(torch.randn_like(p) * 0.5)
names = [n for n, _ in m.named_parameters()]
vals = [float(v) for _, p in m.named_parameters() for v in p.detach().flatten()]
g = torch.Generator().manual_seed(1)
y = torch.randn(2, 8, 1, generator=g)
f = torch.randn(2, 11, 1, generator=g)
with torch.no_grad():
    out = m.forward(dict(insample_y=y, futr_exog=f))
print(json.dumps(dict(names=names, values=vals, y=y.flatten().tolist(), f=f.flatten().tolist(), out=out.flatten().tolist())))
