"""The harness's datasets and reference configurations on NeuralForecast's side (the counterpart of
bench/datasets.mjs): load(dataset, shared) gives (train, test, cfg, freq); test is None for
household_power, which is scored by cross-validation."""
import os

import pandas as pd


def load(dataset, shared):
    if dataset == "airpassengers":
        df = pd.read_csv(os.path.join(shared, "reference/data/airpassengers.csv"), parse_dates=["ds"])
        cfg = dict(h=12, input_size=24, max_steps=200, scaler_type="standard", windows_batch_size=128, batch_size=32, learning_rate=1e-3)
        return df.iloc[:-12], df.iloc[-12:], cfg, "ME"
    if dataset == "m3_monthly":
        meta = pd.read_csv(os.path.join(shared, "data/m3_meta.csv"))
        ids = set(meta.loc[meta.period == "MONTHLY", "unique_id"])
        df = pd.read_csv(os.path.join(shared, "data/m3.csv"))
        df = df[df.unique_id.isin(ids)]
        train, test = df[df.split == "train"][["unique_id", "ds", "y"]], df[df.split == "test"][["unique_id", "ds", "y"]]
        cfg = dict(h=18, input_size=36, max_steps=300, scaler_type="robust", batch_size=32, learning_rate=1e-3)
        return train, test, cfg, 1
    if dataset == "household_power":
        # 7 aligned hourly series; scored by cross-validation over the last 10 days, no refit.
        train = pd.read_csv(os.path.join(shared, "data/household_power_hourly.csv"), parse_dates=["ds"])
        return train, None, dict(h=24, input_size=96), "h"
    raise SystemExit(f"unknown dataset {dataset}")
