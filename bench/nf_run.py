"""One harness run of NeuralForecast: fit + predict + single-series latency; prints one JSON line.

    python bench/nf_run.py <dataset> <model> <seed>
    NF_OPTIONS='{"scaler_type": "standard"}' python bench/nf_run.py ...   (extra arguments, snake_case)

Same data, configuration and thread count as bench/nd_run.mjs (2 torch threads,
OMP_WAIT_POLICY=PASSIVE set by the caller so idle threads do not spin).
"""
import json
import os
import resource
import sys
import time

import torch

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast import models as nf_models  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from nf_datasets import load  # noqa: E402

dataset, model_name, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
shared = os.environ.get("ND_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

train, test, cfg, freq = load(dataset, shared)

# Extra constructor arguments (snake_case), the counterpart of nd_run.mjs's ND_OPTIONS.
cfg.update(json.loads(os.environ.get("NF_OPTIONS", "{}")))

MULTIVARIATE = {"MLPMultivariate", "TSMixer", "TSMixerx", "iTransformer", "StemGNN"}
if model_name in MULTIVARIATE:
    cfg["n_series"] = train.unique_id.nunique()
model = getattr(nf_models, model_name)(**cfg, random_seed=seed, enable_progress_bar=False, logger=False, enable_model_summary=False)
nf = NeuralForecast(models=[model], freq=freq)
if test is None:
    t0 = time.perf_counter()
    cv = nf.cross_validation(train, n_windows=10, step_size=24, refit=False)
    fit_s = time.perf_counter() - t0
    err = (cv.y - cv[model_name]).abs()
    denom = cv.y.abs() + cv[model_name].abs()
    print(json.dumps(dict(impl="neuralforecast", dataset=dataset, model=model_name, seed=seed, mae=float(err.mean()),
                          smape=float((200 * err / denom.where(denom > 0, 1)).mean()), fit_s=fit_s,
                          s_per_step=fit_s / model.max_steps, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
    raise SystemExit(0)
t0 = time.perf_counter()
nf.fit(train)
fit_s = time.perf_counter() - t0
t1 = time.perf_counter()
fc = nf.predict()
predict_s = time.perf_counter() - t1
merged = test.merge(fc, on=["unique_id", "ds"])
assert len(merged) == len(test), "forecast rows do not match the test rows"
err = (merged.y - merged[model_name]).abs()
mae = float(err.mean())
denom = merged.y.abs() + merged[model_name].abs()
smape = float((200 * err / denom.where(denom > 0, 1)).mean())
one = train[train.unique_id == train.unique_id.iloc[0]].tail(cfg["input_size"])
if model_name in MULTIVARIATE:  # a multivariate model forecasts all its series at once
    one = train.groupby("unique_id").tail(cfg["input_size"])
lat = []
for _ in range(20):
    s = time.perf_counter()
    nf.predict(df=one)
    lat.append(time.perf_counter() - s)
lat.sort()
print(json.dumps(dict(impl="neuralforecast", dataset=dataset, model=model_name, seed=seed, mae=mae, smape=smape, fit_s=fit_s,
                      s_per_step=fit_s / cfg["max_steps"], predict_s=predict_s, single_predict_ms=lat[10] * 1000,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
