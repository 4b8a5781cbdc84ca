# Writes __test__/fixtures/conformal_nf.json: what NeuralForecast 3.3.0 returns for conformal
# prediction intervals on a tiny two-series frame (columns, row counts, errors), and its interval
# arithmetic (utils.add_conformal_*_intervals) on fixed scores, for __test__/intervals.test.ts and
# src/forecast/conformal.rs. Run with the NeuralForecast venv:
#   OMP_WAIT_POLICY=PASSIVE /work/nfenv/bin/python scripts/conformal_reference.py > __test__/fixtures/conformal_nf.json
import logging, warnings, json
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import torch; torch.set_num_threads(1)
import numpy as np, pandas as pd
from neuralforecast import NeuralForecast
from neuralforecast.models import MLP, NHITS
from neuralforecast.losses.pytorch import MQLoss, DistributionLoss
from neuralforecast.utils import PredictionIntervals, add_conformal_distribution_intervals, add_conformal_error_intervals

rows = [(uid, t, float(np.sin(t / 3) * 5 + t * 0.2 + off)) for uid, n, off in [('a', 30, 0), ('b', 26, 1)] for t in range(n)]
df = pd.DataFrame(rows, columns=['unique_id', 'ds', 'y'])
kw = dict(h=3, input_size=6, max_steps=2, enable_progress_bar=False, logger=False, enable_model_summary=False, accelerator='cpu')

def run(models, pi, level):
    nf = NeuralForecast(models=models, freq=1)
    try:
        nf.fit(df, prediction_intervals=pi)
        out = nf.predict(level=level)
        return {'columns': list(out.columns), 'rows': len(out)}
    except Exception as e:
        return {'error': type(e).__name__, 'message': str(e)}

res = {
    'data': {'a': 30, 'b': 26, 'h': 3, 'input_size': 6},
    'point_distribution': run([MLP(**kw), NHITS(**kw)], PredictionIntervals(n_windows=2), [90, 80]),
    'point_error': run([MLP(**kw)], PredictionIntervals(n_windows=3, method='conformal_error'), [80]),
    'mixed_mqloss': run([MLP(**kw), NHITS(**kw, loss=MQLoss(level=[80]))], PredictionIntervals(n_windows=2), [90]),
    'only_mqloss': run([MLP(**kw, loss=MQLoss(level=[80]))], PredictionIntervals(n_windows=2), [90]),
    'distribution_level': run([MLP(**kw, loss=DistributionLoss('Normal', level=[50]))], None, [90, 80]),
    'level_without_intervals': run([MLP(**kw)], None, [90]),
    # needs h + (n_windows - 1) + 1 = 28 points; b has 26
    'too_short': run([MLP(**kw)], PredictionIntervals(n_windows=25), [90]),
}
# crossValidation: intervals need refit=True and level, and each window's fit calibrates them.
def cv(**kw2):
    nf = NeuralForecast(models=[MLP(**kw)], freq=1)
    try:
        out = nf.cross_validation(df, n_windows=2, prediction_intervals=PredictionIntervals(n_windows=2), **kw2)
        return {'columns': list(out.columns), 'rows': len(out)}
    except Exception as e:
        return {'error': type(e).__name__, 'message': str(e)}
res['cv_refit'] = cv(refit=True, level=[80])
res['cv_no_refit'] = cv(level=[80])
res['cv_no_level'] = cv(refit=True)
# The arithmetic on one series, h = 2, three windows (as conformal.rs's unit test).
cs = pd.DataFrame({'M': [1.0, 4.0, 2.0, 0.0, 3.0, 2.0]})
mean = np.array([[10.0], [20.0]])
for name, f in [('distribution', add_conformal_distribution_intervals), ('error', add_conformal_error_intervals)]:
    v, cols = f(mean, cs, 'M', cs_n_windows=3, n_series=1, horizon=2, level=[50, 80])
    res['arithmetic_' + name] = {'columns': ['M'] + cols, 'values': v.tolist()}
print(json.dumps(res, indent=1))
