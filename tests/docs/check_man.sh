#!/usr/bin/env bash
# The manual pages are what tools/make_man.py makes of the docs as they are,
# and groff reads them without a warning.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python3 "$root/tools/make_man.py" --check
warnings=$(groff -man -Tutf8 -ww -z "$root/man/ofctx.1" "$root/man/libofctx.3" 2>&1)
[ -z "$warnings" ] || { echo "check_man: groff: $warnings" >&2; exit 1; }
echo "man pages: made from the docs, and groff reads them cleanly"
