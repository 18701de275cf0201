#!/usr/bin/env bash
# The main job: install what is missing, build libofctx and the
# logs-handler, and run the logs-handler on its bundled sample of Fluent Bit
# records with the local runtime. Each notification it would send to
# Notification Manager is printed as one readable line (its key, count,
# time span, first and last path), then a summary. With --raw the
# notifications' JSON, as they would be sent, is printed on stdout too.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages $OFCTX_BUILD_PACKAGES
ofctx_build "$ofctx_root/build" -DOFCTX_BUILD_TESTS=OFF
cd "$ofctx_root/examples/logs-handler"
echo "libofctx: logs-handler --context context.json --invoke testdata/records.jsonl" >&2
if [ "${1:-}" = --raw ]; then
  # the sends only, not the line that ends each record's event
  "$ofctx_root/build/bin/logs-handler" --context context.json --invoke testdata/records.jsonl |
    awk '/^\{"output"/'
else
  "$ofctx_root/build/bin/logs-handler" --context context.json --invoke testdata/records.jsonl \
    >/dev/null
fi
