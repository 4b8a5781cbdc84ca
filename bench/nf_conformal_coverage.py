"""NeuralForecast's side of bench/conformal_coverage.mjs: the same fit with PredictionIntervals
on M3 monthly's holdout, coverage and mean relative width per level; one JSON line per method.

    OMP_WAIT_POLICY=PASSIVE ND_SHARED=/work/shared /work/nfenv/bin/python bench/nf_conformal_coverage.py [MLP|NHITS] [n_windows] [step_size] [seed]
"""
import json, os, sys, time, logging, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import numpy as np, pandas as pd, torch
torch.set_num_threads(2)
from neuralforecast import NeuralForecast
from neuralforecast import models as nf_models
from neuralforecast.utils import PredictionIntervals

model_name = sys.argv[1] if len(sys.argv) > 1 else "MLP"
n_windows, step_size, seed = (int(a) for a in (sys.argv[2:5] + ["5", "1", "1"][len(sys.argv[2:5]):]))
shared = os.environ.get("ND_SHARED", "/work/shared")
meta = pd.read_csv(os.path.join(shared, "data/m3_meta.csv"))
df = pd.read_csv(os.path.join(shared, "data/m3.csv"))
df = df[df.unique_id.isin(set(meta.loc[meta.period == "MONTHLY", "unique_id"]))]
train, test = df[df.split == "train"][["unique_id", "ds", "y"]], df[df.split == "test"][["unique_id", "ds", "y"]]
cfg = dict(h=18, input_size=36, max_steps=300, scaler_type="robust", batch_size=32, learning_rate=1e-3)
levels = [80, 90, 95]
for method in ["conformal_distribution", "conformal_error"]:
    model = getattr(nf_models, model_name)(**cfg, random_seed=seed, enable_progress_bar=False, logger=False, enable_model_summary=False)
    nf = NeuralForecast(models=[model], freq=1)
    t0 = time.perf_counter()
    nf.fit(train, prediction_intervals=PredictionIntervals(n_windows=n_windows, step_size=step_size, method=method))
    fc = nf.predict(level=levels).merge(test, on=["unique_id", "ds"])
    out = dict(dataset="m3_monthly", model=model_name, method=method, nWindows=n_windows, stepSize=step_size, seed=seed, fit_predict_s=round(time.perf_counter() - t0, 1), points=len(fc))
    for l in levels:
        lo, hi, y = fc[f"{model_name}-lo-{l}"], fc[f"{model_name}-hi-{l}"], fc.y
        out[f"coverage_{l}"] = float(((lo <= y) & (y <= hi)).mean())
        out[f"relative_width_{l}"] = float(((hi - lo) / np.maximum(y.abs(), 1e-9)).mean())
    print(json.dumps(out), flush=True)
