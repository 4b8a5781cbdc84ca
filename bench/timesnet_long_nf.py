"""NeuralForecast's side of bench/timesnet_long.sh: TimesNet at input 336, h 96 on one household
power series, a few training steps; prints one JSON line (fit seconds per step, peak RSS).

    python bench/timesnet_long_nf.py <csv> <steps> <windows per step>
"""
import json
import resource
import sys
import time

import pandas as pd
import torch

torch.set_num_threads(2)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import TimesNet  # noqa: E402

path, steps, windows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
df = pd.read_csv(path, parse_dates=["ds"])
df = df[df.unique_id == "Global_active_power"]
model = TimesNet(h=96, input_size=336, max_steps=steps, windows_batch_size=windows,
                 random_seed=1, enable_progress_bar=False, logger=False, enable_model_summary=False)
nf = NeuralForecast(models=[model], freq="h")
t0 = time.perf_counter()
nf.fit(df)
fit_s = time.perf_counter() - t0
print(json.dumps(dict(impl="neuralforecast", steps=steps, windows=windows, fit_s=fit_s, s_per_step=fit_s / steps,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
