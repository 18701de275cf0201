#!/usr/bin/env bash
# Packages the buildpack for `pack builder create` (docs/building.md): a
# directory with buildpack.toml, bin/, and the libofctx source in src/,
# which bin/build compiles into the libofctx layer.
#
#   buildpack/package.sh [OUT]     (default: build/buildpack)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/build/buildpack}
rm -rf "$out"
mkdir -p "$out/src"
cp "$here/buildpack.toml" "$out/"
cp -r "$here/bin" "$out/"
# what the library's build reads and installs; examples/ because the top
# CMakeLists.txt builds them
parts=(CMakeLists.txt LICENSE cmake include libofctx pkgconfig tools examples man)
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$root" archive HEAD "${parts[@]}" | tar -x -C "$out/src"
else
  (cd "$root" && cp -r --parents "${parts[@]}" "$out/src/")
fi
echo "$out"
