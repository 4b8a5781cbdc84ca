"""NeuralForecast's DeepAR on the split and configuration of bench/deepar_coverage.mjs: how often
its 80% and 90% intervals hold the truth, to compare with ours side by side. Prints one JSON line.

    ND_SHARED=/work/shared OMP_WAIT_POLICY=PASSIVE .bench-env/bin/python bench/deepar_coverage_nf.py [m3_monthly|airpassengers] [seed]
"""
import json
import os
import sys
import time

import pandas as pd
import torch

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import DeepAR  # noqa: E402

dataset = sys.argv[1] if len(sys.argv) > 1 else "m3_monthly"
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
shared = os.environ.get("ND_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
if dataset == "airpassengers":
    df = pd.read_csv(os.path.join(shared, "reference/data/airpassengers.csv"), parse_dates=["ds"])
    train, test = df.iloc[:-12], df.iloc[-12:]
    cfg = dict(h=12, input_size=24, max_steps=200, scaler_type="standard", windows_batch_size=128, batch_size=32, learning_rate=1e-3)
    freq = "ME"
else:
    meta = pd.read_csv(os.path.join(shared, "data/m3_meta.csv"))
    ids = set(meta.loc[meta.period == "MONTHLY", "unique_id"])
    df = pd.read_csv(os.path.join(shared, "data/m3.csv"))
    df = df[df.unique_id.isin(ids)]
    train, test = df[df.split == "train"][["unique_id", "ds", "y"]], df[df.split == "test"][["unique_id", "ds", "y"]]
    cfg = dict(h=18, input_size=36, max_steps=300, scaler_type="robust", batch_size=32, learning_rate=1e-3)
    freq = 1

model = DeepAR(**cfg, random_seed=seed, enable_progress_bar=False, logger=False, enable_model_summary=False)
nf = NeuralForecast(models=[model], freq=freq)
t0 = time.perf_counter()
nf.fit(train)
fc = nf.predict().reset_index()
out = {"dataset": dataset, "seed": seed, "library": "neuralforecast", "fit_predict_s": time.perf_counter() - t0}
merged = fc.merge(test, on=["unique_id", "ds"])
out["points"] = len(merged)
for level in (80, 90):
    lo, hi = merged[f"DeepAR-lo-{level}"], merged[f"DeepAR-hi-{level}"]
    out[f"coverage_{level}"] = float(((lo <= merged.y) & (merged.y <= hi)).mean())
    out[f"relative_width_{level}"] = float(((hi - lo) / merged.y.abs().clip(lower=1e-9)).mean())
print(json.dumps(out))
