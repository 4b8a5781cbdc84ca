"""Replay test, NeuralForecast side: fits a NeuralForecast 3.3 model (MLP, or TFT with dropout
off) and records, for every training step, the normalised batch it trained on and its loss, plus
its initial weights; writes them as JSON for the Rust side (`replay_matches_neuralforecast` in
src/train/replay.rs), which loads the same weights into our model, trains on the same batches
and compares the losses step by step.

    python scripts/replay.py out.json [steps] [series] [MLP|TFT]
    REPLAY=out.json cargo test --release --lib replay -- --ignored --nocapture

Data: AirPassengers (bundled) and, with series > 1, that many shifted copies cut to different
lengths, so windows reach into the left padding as on real panels. Needs the venv with
neuralforecast (bench/nf_harness.sh makes .bench-env). Not part of npm test.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import torch

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import MLP, TFT  # noqa: E402

out, steps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50
n_series = int(sys.argv[3]) if len(sys.argv) > 3 else 3
name = sys.argv[4] if len(sys.argv) > 4 else "MLP"
root = os.path.join(os.path.dirname(__file__), "..")
air = pd.read_csv(os.path.join(root, "data", "air_passengers.csv"), parse_dates=["ds"])
frames = [air]
for k in range(1, n_series):
    cut = air.iloc[12 * k * 3 :].copy()  # 36, 72, ... months shorter
    cut["unique_id"] = f"S{k}"
    cut["y"] = cut["y"] * (1 + 0.3 * k)
    frames.append(cut)
df = pd.concat(frames)
common = dict(h=12, input_size=24, max_steps=steps, windows_batch_size=64, batch_size=32, learning_rate=1e-3, random_seed=1)
if name == "MLP":
    Model = MLP
    cfg = dict(common, hidden_size=64, num_layers=2, scaler_type="robust")
    options = {"hiddenSize": 64, "numLayers": 2}
else:
    # TFT at its defaults (hidden 128, 4 heads, an LSTM encoder) but without dropout, whose masks
    # no two libraries draw alike: what is left to compare is the arithmetic of training.
    Model = TFT
    cfg = dict(common, dropout=0.0, attn_dropout=0.0, scaler_type="standard")
    options = {"dropout": 0.0, "attnDropout": 0.0}
model = Model(**cfg, enable_progress_bar=False, logger=False, enable_model_summary=False)

record = {"model": name, "config": cfg, "options": dict(options, h=cfg["h"], inputSize=cfg["input_size"]), "init": None, "steps": []}
# Patched on the class, not the instance: NeuralForecast trains a copy of `model`, and a bound
# method stored on the instance would run the original's forward (whose weights never change).
parse = Model._parse_windows
step_fn = Model.training_step


def parse_and_keep(self, batch, windows):
    parsed = parse(self, batch, windows)
    insample_y, insample_mask, outsample_y, outsample_mask = [t.detach().squeeze(-1) for t in parsed[:4]]
    record["steps"].append({k: v.reshape(-1).tolist() for k, v in
                            dict(insample_y=insample_y, insample_mask=insample_mask, outsample_y=outsample_y, outsample_mask=outsample_mask).items()})
    record["steps"][-1]["n"] = insample_y.shape[0]
    return parsed


def step_and_keep(self, batch, batch_idx):
    if record["init"] is None:
        record["init"] = {k: {"shape": list(v.shape), "data": v.detach().reshape(-1).tolist()} for k, v in self.named_parameters()}
    loss = step_fn(self, batch, batch_idx)
    record["steps"][-1]["loss"] = float(loss.detach())
    return loss


Model._parse_windows = parse_and_keep
Model.training_step = step_and_keep
NeuralForecast(models=[model], freq="ME").fit(df)
record["steps"] = record["steps"][:steps]
with open(out, "w") as f:
    json.dump(record, f)
print(f"{len(record['steps'])} steps, first loss {record['steps'][0]['loss']:.6f}, last {record['steps'][-1]['loss']:.6f}", file=sys.stderr)
