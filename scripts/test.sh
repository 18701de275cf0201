#!/usr/bin/env bash
# The whole test suite: install what is missing, check the house style
# (.clang-format), build, run every test with
# ctest; run the end-to-end tests again with every function under valgrind;
# build and run everything again under AddressSanitizer and
# UndefinedBehaviorSanitizer; then build the libFuzzer targets with clang and
# fuzz each for a short bounded time. Every build treats warnings as errors;
# any failure or report fails the run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages $OFCTX_BUILD_PACKAGES $OFCTX_TEST_PACKAGES $OFCTX_FUZZ_PACKAGES
command -v node >/dev/null && command -v npm >/dev/null || ofctx_install_packages $OFCTX_NODE_PACKAGES

echo "== the test peers from the npm registry, pinned by their lock files (npm ci)"
for dir in "$ofctx_root/tests/knative" "$ofctx_root/tests/grpc" "$ofctx_root/tests/otel"; do
  [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] ||
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done

echo "== the house style: every C file as .clang-format has it"
find "$ofctx_root/libofctx" "$ofctx_root/include" "$ofctx_root/tools" "$ofctx_root/examples" \
  "$ofctx_root/tests" -name node_modules -prune -o -name '*.[ch]' -print0 |
  xargs -0 clang-format-14 --dry-run --Werror

echo "== build and test (build/)"
ofctx_build "$ofctx_root/build" -DOFCTX_BUILD_TESTS=ON -DOFCTX_WERROR=ON
(cd "$ofctx_root/build" && ctest --output-on-failure -j "$ofctx_jobs")

echo "== the end-to-end tests with every function under valgrind memcheck (build/)"
(cd "$ofctx_root/build" && OFCTX_VALGRIND=1 ctest --output-on-failure -j "$ofctx_jobs" \
  -R '^(async_runtime|grpc_runtime|knative_runtime|local_runtime|dedup_hook|logs_handler|logs_handler_state|faults|otel_trace|direct_mode)$')

echo "== build and test under -fsanitize=address,undefined (build-sanitize/)"
ofctx_build "$ofctx_root/build-sanitize" -DOFCTX_BUILD_TESTS=ON -DOFCTX_SANITIZE=ON -DOFCTX_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd "$ofctx_root/build-sanitize" && ctest --output-on-failure -j "$ofctx_jobs")

echo "== fuzz targets: replay the corpora, then fuzz each for ${OFCTX_FUZZ_SECONDS:-20} s (build-fuzz/, clang)"
CC=clang-14 ofctx_build "$ofctx_root/build-fuzz" -DOFCTX_BUILD_TESTS=ON -DOFCTX_BUILD_FUZZERS=ON -DOFCTX_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug -DOFCTX_FUZZ_SECONDS="${OFCTX_FUZZ_SECONDS:-20}"
(cd "$ofctx_root/build-fuzz" && ctest --output-on-failure -j "$ofctx_jobs" -R '^fuzz_')
