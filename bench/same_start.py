"""Trains NeuralForecast's and our model from the same initial weights on the same batches and
compares the forecasts: with dropout 0 and windows_batch_size equal to the number of training
windows, every step on both sides takes all windows (NeuralForecast's randperm, our draw without
replacement), so nothing random is left and the two trainings differ only by float rounding.

    OMP_WAIT_POLICY=PASSIVE .bench-env/bin/python bench/same_start.py <model> <steps> [seed]

Also trains NeuralForecast a second time from its own initial weights scaled by 1 + 1e-6 (the
control): how far float-sized differences alone carry the forecasts apart in as many steps.

AirPassengers (h 12, input 24, 'standard', lr 1e-3): 132 training points, 108 windows (the
horizon padded by h, a window kept when its horizon holds a real point).
"""
import inspect
import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast import models as nf_models  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from nf_datasets import load  # noqa: E402

model_name, steps = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("ND_SHARED", os.path.join(here, "..", "..", "shared"))
train, test, cfg, freq = load("airpassengers", shared)
cfg.update(windows_batch_size=108, dropout=0.0, max_steps=steps)
ours = dict(h=12, inputSize=24, scalerType="standard", windowsBatchSize=108, batchSize=32, learningRate=1e-3, dropout=0.0, randomSeed=seed)
# Dropout 0 where the model has a dropout option (the recurrent models' encoder_dropout is 0 by default).
if "dropout" not in inspect.signature(getattr(nf_models, model_name)).parameters:
    del cfg["dropout"], ours["dropout"]
if model_name == "iTransformer":
    cfg["n_series"], ours["nSeries"] = 1, 1



def our_name(n):
    """Our name of a NeuralForecast parameter: its MLP decoder (the recurrent models' direct
    mode) is one nn.Sequential of Linear, activation, Dropout, so its i-th Linear is layers.{3i}
    where ours is layers.{i}; every other name is the same."""
    head, sep, rest = n.partition("mlp_decoder.layers.")
    if not sep:
        return n
    i, dot, tail = rest.partition(".")
    return f"{head}mlp_decoder.layers.{int(i) // 3}{dot}{tail}"


def nf_forecast(nudge):
    model = getattr(nf_models, model_name)(**cfg, random_seed=seed, enable_progress_bar=False, logger=False, enable_model_summary=False)
    start = {n: p.detach().numpy().copy() for n, p in model.named_parameters() if not n.startswith("loss.")}
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.0 + nudge)
    nf = NeuralForecast(models=[model], freq=freq)
    nf.fit(train)
    return start, nf.predict()[model_name].to_numpy()


start, theirs = nf_forecast(0.0)
_, control = nf_forecast(1e-6)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.nd")
    node = lambda *a: subprocess.run(["node", os.path.join(here, "same_start.mjs"), *a], check=True, capture_output=True, text=True).stdout
    node("save", model_name, path, json.dumps(ours))
    # The same file with NeuralForecast's initial weights (our names are NeuralForecast's, under
    # models.0.; a kernel-1 convolution's trailing axis of 1 dropped) and its checksum redone.
    with safe_open(path, "np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for n, v in start.items():
        key = "models.0." + our_name(n)
        tensors[key] = v.reshape(tensors[key].shape).astype(np.float32)
    crc = zlib.crc32(meta["config"].encode())
    for k in sorted(tensors):
        crc = zlib.crc32(k.encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(tensors[k], dtype="<f4").tobytes(), crc)
    meta["crc32"] = f"{crc:08x}"
    save_file(tensors, path, metadata=meta)
    mine = np.array(json.loads(node("fit", path, str(steps))))

y = test.y.to_numpy()
print(json.dumps(dict(model=model_name, steps=steps, seed=seed, mae_nf=float(np.abs(theirs - y).mean()), mae_ours=float(np.abs(mine - y).mean()),
                      max_forecast_gap=float(np.abs(theirs - mine).max()),
                      mae_nf_control=float(np.abs(control - y).mean()), max_control_gap=float(np.abs(theirs - control).max()), nf=theirs.round(3).tolist(), ours=mine.round(3).tolist())))
