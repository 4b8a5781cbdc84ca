# Writes src/models/stemgnn_reference.json: a tiny NeuralForecast 3.3 StemGNN (3 series, input 2,
# multi_layer 2, so m·L = 4 and the GLUs are 8 → 16 → 16 wide; MQLoss with one level, 3 outputs
# per step), random weights, its eval-mode forward (attention dropout off) on a fixed batch. Run
# with the NeuralForecast venv (OMP_WAIT_POLICY=PASSIVE):
#   python scripts/stemgnn_reference.py > src/models/stemgnn_reference.json
import logging, warnings, json
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import torch
torch.set_num_threads(1)
from neuralforecast.models import StemGNN
from neuralforecast.losses.pytorch import MQLoss
torch.manual_seed(0)
m = StemGNN(h=3, input_size=2, n_series=3, multi_layer=2, loss=MQLoss(level=[80]))
m.eval()
params = [(n, p) for n, p in m.named_parameters() if not n.startswith('loss.')]
with torch.no_grad():
    for n, p in params:
        # Rounded to 6 decimals (the json stays small), and NF runs on the rounded weights.
        p.copy_((torch.randn_like(p) * 0.5 * 1e6).round() / 1e6)
names = [n for n, _ in params]
vals = [round(float(v), 6) for _, p in params for v in p.detach().flatten()]
g = torch.Generator().manual_seed(1)
y = torch.randn(2, 2, 3, generator=g)
with torch.no_grad():
    out = m.forward(dict(insample_y=y))
print(json.dumps(dict(names=names, values=vals, y=y.flatten().tolist(), out=out.flatten().tolist())))
