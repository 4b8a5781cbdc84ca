# Writes src/models/deepar_reference.json: a tiny NeuralForecast 3.3 DeepAR (two LSTM layers, one
# decoder hidden layer, a historic, a future and a static column, the default StudentT loss),
# random weights, and on fixed inputs
#   - `out`: its forward on a teacher-forced training batch (self.h = h_train, as training_step
#     sets it), the last h_train steps' raw outputs;
#   - `mean`: the mean column of its recurrent predict (`_predict_step_recurrent_batch`, one step
#     at a time feeding back the distribution mean), with per-window scaler statistics (the
#     standard scaler: the identity one feeds the mean back unscaled, whatever the statistics).
# Run with the NeuralForecast venv:
#   OMP_WAIT_POLICY=PASSIVE python scripts/deepar_reference.py > src/models/deepar_reference.json
import logging, warnings, json
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import torch
torch.set_num_threads(1)
from neuralforecast.models import DeepAR
torch.manual_seed(0)
h, L, h_train, B = 3, 4, 2, 2
m = DeepAR(h=h, input_size=L, h_train=h_train, lstm_hidden_size=5, decoder_hidden_layers=1, decoder_hidden_size=4,
           hist_exog_list=['x'], futr_exog_list=['f'], stat_exog_list=['s'], scaler_type='standard')
m.eval()
with torch.no_grad():
    for n, p in m.named_parameters():
        if not n.startswith('loss.'):  # the loss's quantile levels are a frozen parameter
            p.copy_(torch.randn_like(p) * 0.5)
names = [n for n, _ in m.named_parameters() if n != 'loss.quantiles']
vals = [float(v) for n, p in m.named_parameters() if n != 'loss.quantiles' for v in p.detach().flatten()]
g = torch.Generator().manual_seed(1)
# Training: a sequence of (L + 1) + h_train - 1 steps.
T = L + h_train
y = torch.randn(B, T, 1, generator=g)
x = torch.randn(B, T, 1, generator=g)
f = torch.randn(B, T, 1, generator=g)
s = torch.randn(B, 1, generator=g)
m.h = h_train
with torch.no_grad():
    out = m.forward(dict(insample_y=y, hist_exog=x, futr_exog=f, stat_exog=s))
m.h = h
# Predict: L + 1 history points, exogenous values over (L + 1) + h - 1 steps.
P = L + h
py = torch.randn(B, L + 1, 1, generator=g)
px = torch.randn(B, P, 1, generator=g)
pf = torch.randn(B, P, 1, generator=g)
shift, scale = [0.5, -1.0], [2.0, 0.5]
m.scaler.x_shift = torch.tensor(shift).reshape(B, 1, 1, 1)
m.scaler.x_scale = torch.tensor(scale).reshape(B, 1, 1, 1)
m.predict_horizon = h
with torch.no_grad():
    pred = m._predict_step_recurrent_batch(insample_y=py, insample_mask=torch.ones_like(py), futr_exog=pf, hist_exog=px, stat_exog=s, y_idx=0)
flat = lambda t: [float(v) for v in t.flatten()]
print(json.dumps(dict(names=names, values=vals, y=flat(y), x=flat(x), f=flat(f), s=flat(s), out=flat(out),
                      py=flat(py), px=flat(px), pf=flat(pf), shift=shift, scale=scale, mean=flat(pred[..., 0]),
                      columns=list(pred.shape))))
