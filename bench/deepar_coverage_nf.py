"""NeuralForecast's DeepAR on the split and configuration of bench/deepar_coverage.mjs: how often
its 80% and 90% intervals hold the truth, to compare with ours side by side. Prints one JSON line.

    ND_SHARED=/work/shared OMP_WAIT_POLICY=PASSIVE .bench-env/bin/python bench/deepar_coverage_nf.py [m3_monthly|airpassengers] [seed]
"""
import json
import os
import sys
import time

import torch

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import DeepAR  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from nf_datasets import load  # noqa: E402

dataset = sys.argv[1] if len(sys.argv) > 1 else "m3_monthly"
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
shared = os.environ.get("ND_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
train, test, cfg, freq = load(dataset, shared)

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
