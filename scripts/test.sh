#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test with
# ctest, then build and run everything again under AddressSanitizer and
# UndefinedBehaviorSanitizer, failing on any report.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages $OFCTX_BUILD_PACKAGES $OFCTX_TEST_PACKAGES
command -v node >/dev/null && command -v npm >/dev/null || ofctx_install_packages $OFCTX_NODE_PACKAGES

echo "== build and test (build/)"
ofctx_build "$ofctx_root/build" -DOFCTX_BUILD_TESTS=ON
(cd "$ofctx_root/build" && ctest --output-on-failure -j "$ofctx_jobs")

echo "== build and test under -fsanitize=address,undefined (build-sanitize/)"
ofctx_build "$ofctx_root/build-sanitize" -DOFCTX_BUILD_TESTS=ON -DOFCTX_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd "$ofctx_root/build-sanitize" && ctest --output-on-failure -j "$ofctx_jobs")
