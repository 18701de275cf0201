#!/usr/bin/env bash
# The main job: install what is missing, build libofctx and the
# logs-handler, and run the logs-handler on its bundled sample of Fluent Bit
# records with the local runtime. Each alert it would send to Notification
# Manager is printed on stdout as one JSON line; the log and a summary go to
# stderr.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages $OFCTX_BUILD_PACKAGES
ofctx_build "$ofctx_root/build" -DOFCTX_BUILD_TESTS=OFF
cd "$ofctx_root/examples/logs-handler"
echo "libofctx: logs-handler --context context.json --invoke testdata/records.jsonl" >&2
"$ofctx_root/build/bin/logs-handler" --context context.json --invoke testdata/records.jsonl
