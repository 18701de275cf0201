#!/usr/bin/env bash
# The whole benchmark suite in one command (as root on Debian 12, like
# scripts/main.sh): installs what is missing, builds an optimised libofctx
# (RelWithDebInfo: -O2 -g) in build-bench/, then runs
#   bench/handler.py   the logs-handler on one million generated records
#   bench/logs_handler.py  its main job on 200 000 records: records/s, peak RSS,
#                      instructions per record (callgrind)
#   bench/runtimes.py  wrk against the Async and Knative runtimes, cold start, RSS
#   bench/instructions.py  instructions per event of every runtime path (callgrind)
#   bench/direct.py    the direct mode (Kafka in the function) against the sidecar
#                      mode through the emulator: records/s, CPU per record, cold
#                      start to the first record, peak RSS
# and prints their tables, with the machine they ran on. bench/README.md
# holds the figures it gave.
#
#   bench/run.sh [--quick] [--build DIR]
#     --quick      a small input and short runs: a smoke test (ctest runs it)
#     --build DIR  a build tree with the tests already built, used as it is
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

records=1000000 runs=5 seconds=10 wrk_runs=3 requests=50 dir= lh_records=200000 lh_counted=20000 d_records=5000
while [ $# -gt 0 ]; do
  case $1 in
    --quick) records=2000 runs=1 seconds=1 wrk_runs=1 requests=2 lh_records=2000 lh_counted=200 d_records=200 ;;
    --build) dir=$2; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--build DIR]" >&2; exit 2 ;;
  esac
  shift
done
# libcmocka-dev: knative_probe, which plays the sidecar, is built with the tests
ofctx_install_packages $OFCTX_BUILD_PACKAGES libcmocka-dev python3 wrk nghttp2-client util-linux time valgrind kcat
if [ -z "$dir" ]; then
  dir="$ofctx_root/build-bench"
  OFCTX_TARGETS="logs-handler echo once ofctx_cli knative_probe grpc_sidecar kafka_mock" ofctx_build "$dir" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFCTX_BUILD_TESTS=ON
fi

echo "## $(date -u +%F), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(. /etc/os-release && echo "$PRETTY_NAME"), $(cc --version | head -1)"
echo
echo '```'
python3 "$ofctx_root/bench/handler.py" --build "$dir" --records "$records" --runs "$runs"
echo '```'
echo
python3 "$ofctx_root/bench/logs_handler.py" --build "$dir" --records "$lh_records" --runs "$runs" \
  --callgrind-records "$lh_counted"
echo
python3 "$ofctx_root/bench/runtimes.py" --build "$dir" --seconds "$seconds" --runs "$wrk_runs"
echo
python3 "$ofctx_root/bench/instructions.py" --build "$dir" --requests "$requests"
echo
python3 "$ofctx_root/bench/direct.py" --build "$dir" --records "$d_records" --runs "$wrk_runs"
