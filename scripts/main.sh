#!/usr/bin/env bash
# The main job: install what is missing, build libofctx, and check the
# logs-handler's function context with the ofctx tool, printing the context
# normalized as the function would see it at start-up.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages $OFCTX_BUILD_PACKAGES
ofctx_build "$ofctx_root/build" -DOFCTX_BUILD_TESTS=OFF
echo "libofctx: ofctx context check --file examples/logs-handler/context.json" >&2
CONTEXT_MODE=self-host "$ofctx_root/build/bin/ofctx" context check \
  --file "$ofctx_root/examples/logs-handler/context.json"
