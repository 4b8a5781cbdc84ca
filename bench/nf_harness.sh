#!/usr/bin/env bash
# Side by side with NeuralForecast: for each dataset, model and seed, runs NeuralForecast and us
# alternately, in the same session, with the same data, configuration and thread count (2), and
# writes bench/out/harness.jsonl and the table bench/out/harness.md.
#
#   npm run bench:nf                                  # all of them (tens of minutes)
#   MODELS="MLP" DATASETS="airpassengers" SEEDS="1" npm run bench:nf
#
# The first run creates .bench-env (CPU torch + neuralforecast from PyPI, ~5 GB, a few minutes).
# Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-"MLP NHITS LSTM PatchTST"}
datasets=${DATASETS:-"airpassengers m3_monthly"}
seeds=${SEEDS:-"1 2 3"}
if [ ! -x .bench-env/bin/python ]; then
  python3 -m venv .bench-env
  .bench-env/bin/pip install --quiet torch==2.15.0 neuralforecast==3.3.0
fi
mkdir -p bench/out
out=bench/out/harness.jsonl
: > "$out"
export OMP_WAIT_POLICY=PASSIVE
for ds in $datasets; do
  for m in $models; do
    for s in $seeds; do
      echo "== $ds $m seed $s" >&2
      .bench-env/bin/python bench/nf_run.py "$ds" "$m" "$s" 2>/dev/null | tail -n 1 >> "$out"
      node bench/nd_run.mjs "$ds" "$m" "$s" | tail -n 1 >> "$out"
    done
  done
done
node bench/nf_table.mjs "$out" > bench/out/harness.md
cat bench/out/harness.md
