"""NeuralForecast's AutoNHITS with its Optuna backend on the space of bench/auto_nhits.mjs; prints one JSON line.

    OMP_WAIT_POLICY=PASSIVE /work/nfenv/bin/python bench/auto_nhits_nf.py <seed> <num_samples>

TPESampler(seed) with Optuna's defaults; trials one at a time (Optuna's study.optimize), torch
on 2 threads (the core count, torch's default here). Needs `pip install optuna` in the venv.
"""
import json
import logging
import os
import sys
import time

import pandas as pd
import torch

torch.set_num_threads(2)
import optuna  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.auto import AutoNHITS  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning_fabric").setLevel(logging.ERROR)

seed, num_samples = int(sys.argv[1]), int(sys.argv[2])
df = pd.read_csv(os.path.join(os.path.dirname(__file__), "..", "data", "air_passengers.csv"), parse_dates=["ds"])
h = 12
train, test = df.iloc[:-h], df.iloc[-h:]
# Optuna's categorical choices must be scalars: lists are picked by name.
pools = {"2-2-1": [2, 2, 1], "1-1-1": [1, 1, 1], "2-2-2": [2, 2, 2], "4-4-4": [4, 4, 4], "8-4-1": [8, 4, 1], "16-8-1": [16, 8, 1]}
downs = {"168-24-1": [168, 24, 1], "24-12-1": [24, 12, 1], "180-60-1": [180, 60, 1], "60-8-1": [60, 8, 1], "40-20-1": [40, 20, 1], "1-1-1": [1, 1, 1]}


def named(table, trial, name):
    # NF checks the config with a MockTrial whose suggest_categorical returns the choices.
    picked = trial.suggest_categorical(name, list(table))
    return table[picked] if isinstance(picked, str) else picked


def config(trial):
    return {
        "input_size": trial.suggest_categorical("input_size", [h * k for k in [1, 2, 3, 4, 5]]),
        "step_size": trial.suggest_categorical("step_size", [1, h]),
        "n_pool_kernel_size": named(pools, trial, "n_pool_kernel_size"),
        "n_freq_downsample": named(downs, trial, "n_freq_downsample"),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "scaler_type": trial.suggest_categorical("scaler_type", ["identity", "robust", "standard"]),
        "max_steps": trial.suggest_int("max_steps", 100, 300, step=100),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        "windows_batch_size": trial.suggest_categorical("windows_batch_size", [128, 256, 512, 1024]),
        "random_seed": trial.suggest_int("random_seed", 1, 19),
        "mlp_units": 3 * [[128, 128]],
        "enable_progress_bar": False,
        "logger": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
    }


auto = AutoNHITS(h=h, config=config, backend="optuna", search_alg=optuna.samplers.TPESampler(seed=seed), num_samples=num_samples)
nf = NeuralForecast(models=[auto], freq="ME")
started = time.perf_counter()
nf.fit(train, val_size=h)
seconds = time.perf_counter() - started
fc = nf.predict()
auto = nf.models[0]  # NeuralForecast fits its own copies of the models
mae = float(abs(fc["AutoNHITS"].values - test["y"].values).mean())
failed = sum(t.state != optuna.trial.TrialState.COMPLETE for t in auto.results.trials)
print(json.dumps({"seconds": seconds, "bestValid": float(auto.results.best_value), "testMae": mae, "failed": failed}))
