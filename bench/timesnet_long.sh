#!/usr/bin/env bash
# TimesNet at input 336, h 96 (issue 12): seconds per training step and peak RSS side by side with
# NeuralForecast, on the Global_active_power series of the household power data, NeuralForecast's
# defaults otherwise (64 windows per step, hidden 64, 6 Inception kernels), both with 2 threads,
# run back to back so that they share the machine's load. Fit time over the steps includes each
# library's setup (a fraction of a second against steps of tens of seconds).
#
#   STEPS=2 WINDOWS=64 ND_SHARED=/work/shared bash bench/timesnet_long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${ND_SHARED:-../shared}/data/household_power_hourly.csv
steps=${STEPS:-2} windows=${WINDOWS:-64}
export OMP_WAIT_POLICY=PASSIVE
uptime
.bench-env/bin/python bench/timesnet_long_nf.py "$csv" "$steps" "$windows" 2>/dev/null | tail -n 1
node bench/timesnet_long.mjs "$csv" "$steps" "$windows" | tail -n 1
uptime
