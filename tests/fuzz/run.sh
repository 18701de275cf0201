#!/usr/bin/env bash
# run.sh FUZZER SECONDS SCRATCH CORPUS... : a bounded libFuzzer run that
# starts from the corpora and writes what it finds to SCRATCH only. A crash,
# a leak or a timeout fails it; its input is left in SCRATCH/crashes for
# tests/fuzz/regressions.
set -euo pipefail
fuzzer=$1 seconds=$2 scratch=$3
shift 3
mkdir -p "$scratch/crashes"
exec "$fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=16384 \
  -artifact_prefix="$scratch/crashes/" -print_final_stats=1 "$scratch" "$@"
