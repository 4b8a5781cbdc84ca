# Writes src/models/tft_reference.json: tiny NeuralForecast 3.3 TFTs (an LSTM with every kind of
# exogenous input; a GRU with statics, one shared initial state and the dummy future input; the
# defaults' shape with no exogenous input), random weights, their eval-mode forward on fixed
# batches, with the interpretability outputs of that forward. Run with the NeuralForecast venv:
#   python scripts/tft_reference.py > src/models/tft_reference.json
import os, logging, warnings, json
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import torch
torch.set_num_threads(1)
from neuralforecast.models import TFT

H, L, B = 3, 5, 2
cases = {
    "lstm": dict(n_rnn_layers=2, futr_exog_list=["a", "b"], hist_exog_list=["c"], stat_exog_list=["s", "t"]),
    "gru": dict(rnn_type="gru", n_rnn_layers=2, one_rnn_initial_state=True, hist_exog_list=["c"], stat_exog_list=["s", "t"], grn_activation="GELU"),
    "plain": dict(),
}
out = {}
for i, (name, c) in enumerate(cases.items()):
    torch.manual_seed(i)
    m = TFT(h=H, input_size=L, hidden_size=4, n_head=2, dropout=0.3, **c)
    m.eval()
    with torch.no_grad():
        for _, p in m.named_parameters():
            # Four decimals, so that the JSON is short and holds exactly the weights used.
            p.copy_(torch.round(torch.randn_like(p) * 5000) / 10000)
    g = torch.Generator().manual_seed(10 + i)
    nf, nx, ns = len(c.get("futr_exog_list", [])), len(c.get("hist_exog_list", [])), len(c.get("stat_exog_list", []))
    r = lambda *shape: torch.round(torch.randn(*shape, generator=g) * 10000) / 10000
    y = r(B, L, 1)
    f = r(B, L + H, nf) if nf else None
    x = r(B, L, nx) if nx else None
    s = r(B, ns) if ns else None
    with torch.no_grad():
        o = m.forward(dict(insample_y=y, futr_exog=f, hist_exog=x, stat_exog=s))
    flat = lambda t: [round(v, 6) for v in t.flatten().tolist()] if t is not None else None
    out[name] = dict(
        names=[n for n, _ in m.named_parameters()],
        values=[round(float(v), 6) for _, p in m.named_parameters() for v in p.detach().flatten()],
        y=flat(y), f=flat(f), x=flat(x), s=flat(s), out=o.flatten().tolist(),
        # What the forward left for the interpretability methods, and what they return (their
        # means over the batch of 2), for the tests of our recorded weights and their labels.
        interpretability={k: v.flatten().tolist() for k, v in m.interpretability_params.items() if isinstance(v, torch.Tensor)},
        feature_importances={k: {"index": [str(i) for i in d.index], **{col: d[col].tolist() for col in d.columns}} for k, d in m.feature_importances().items()},
        attention_weights=m.attention_weights().tolist(),
        feature_importance_correlations={col: [None if v != v else v for v in d] for col, d in m.feature_importance_correlations().items()},
    )
print(json.dumps(out))
