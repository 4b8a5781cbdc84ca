"""MAE of naive forecasts on the harness's M3 monthly split (h 18, input 36): the bar a trained
model on that split has to clear. Standard library only.

    ND_SHARED=/work/shared python3 bench/m3_baselines.py
"""
import collections
import csv
import os
import statistics

shared = os.environ.get("ND_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
monthly = {r["unique_id"] for r in csv.DictReader(open(os.path.join(shared, "data/m3_meta.csv"))) if r["period"] == "MONTHLY"}
train, test = collections.defaultdict(list), collections.defaultdict(list)
for r in csv.DictReader(open(os.path.join(shared, "data/m3.csv"))):
    if r["unique_id"] in monthly:
        (train if r["split"] == "train" else test)[r["unique_id"]].append(float(r["y"]))


def mae(forecast):
    errors = [abs(a - b) for k in test for a, b in zip(test[k], forecast(train[k]))]
    return statistics.mean(errors)


print(f"seasonal naive (the last 12 months repeated): {mae(lambda x: (x[-12:] * 2)[:18]):.1f}")
print(f"last value: {mae(lambda x: [x[-1]] * 18):.1f}")
print(f"median of the 36-month window: {mae(lambda x: [statistics.median(x[-36:])] * 18):.1f}")
