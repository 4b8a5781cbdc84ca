#!/usr/bin/env bash
# Side by side with NeuralForecast: for each dataset, model and seed, runs NeuralForecast and us
# alternately, in the same session, with the same data, configuration and thread count (2), and
# writes one JSON line per run under bench/out/runs/, all of them to bench/out/harness.jsonl, and
# the table bench/out/harness.md.
#
#   npm run bench:nf                                  # all of them (tens of minutes)
#   MODELS="MLP" DATASETS="airpassengers" SEEDS="1" npm run bench:nf
#
# The first run creates .bench-env (CPU torch + neuralforecast from PyPI, ~5 GB, a few minutes).
# Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-"MLP NHITS LSTM RNN GRU TCN BiTCN PatchTST VanillaTransformer Informer Autoformer FEDformer iTransformer NBEATS NBEATSx DLinear NLinear TimesNet TiDE DeepNPTS DeepAR StemGNN TFT"}
datasets=${DATASETS:-"airpassengers m3_monthly"}
seeds=${SEEDS:-"1 2 3"}
if [ ! -x .bench-env/bin/python ]; then
  python3 -m venv .bench-env
  .bench-env/bin/pip install --quiet torch==2.15.0 neuralforecast==3.3.0
fi
# One file per run, so a partial rerun (some models or seeds) replaces only its own rows.
runs=bench/out/runs
mkdir -p "$runs"
export OMP_WAIT_POLICY=PASSIVE
for ds in $datasets; do
  for m in $models; do
    for s in $seeds; do
      echo "== $ds $m seed $s" >&2
      .bench-env/bin/python bench/nf_run.py "$ds" "$m" "$s" 2>/dev/null | tail -n 1 > "$runs/$ds.$m.$s.nf.json"
      node bench/nd_run.mjs "$ds" "$m" "$s" | tail -n 1 > "$runs/$ds.$m.$s.ours.json"
    done
  done
done
out=bench/out/harness.jsonl
cat "$runs"/*.json > "$out"
node bench/nf_table.mjs "$out" > bench/out/harness.md
cat bench/out/harness.md
