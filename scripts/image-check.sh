#!/usr/bin/env bash
# Opt-in, not part of CI: builds the container images with podman and checks
# what is in them, as root on Debian 12 (no Docker engine needed):
#   1. a Debian 12 base made by mmdebstrap, imported as debian:12 and
#      debian:12-slim (nothing is pulled from a registry);
#   2. examples/logs-handler/deploy/Dockerfile, built with --isolation=chroot;
#      the image's logs-handler then runs (chroot into the image's files) on
#      the bundled sample and must print its alerts;
#   3. the builder's run image (buildpack/builder/run.Dockerfile); the
#      logs-handler built by the buildpack (the lifecycle played as in
#      tests/buildpack) runs in it the same way, from its layers;
#   4. the builder's build image: its compiler, cmake and -dev packages.
# Containers are not started: on machines like this one crun may not set
# rlimits. The image files are mounted and run with chroot instead.
#
#   scripts/image-check.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ofctx_install_packages podman mmdebstrap uidmap python3 $OFCTX_BUILD_PACKAGES
work=$(mktemp -d)
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work" /layers/dev.openfunction.libofctx
  rmdir /layers 2>/dev/null || true
}
trap cleanup EXIT

echo "== a Debian 12 base (mmdebstrap)"
if ! podman image exists docker.io/library/debian:12; then
  mmdebstrap --variant=apt --include=ca-certificates bookworm "$work/debian12.tar" \
    http://deb.debian.org/debian >"$work/mmdebstrap.log" 2>&1 ||
    { cat "$work/mmdebstrap.log" >&2; exit 1; }
  podman import "$work/debian12.tar" docker.io/library/debian:12 >/dev/null
fi
podman image exists docker.io/library/debian:12-slim ||
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim

# files_of IMAGE: a writable copy of the image's files (a container's, never
# started) at $root.
files_of() {
  local c
  c=$(podman create "$1" /bin/true)
  containers+=("$c")
  root=$(podman mount "$c")
}

# run_in ROOT COMMAND...: COMMAND inside those files, as the image's user.
run_in() {
  local root=$1
  shift
  mkdir -p "$root/check"
  cp "$ofctx_root/examples/logs-handler/context.json" "$ofctx_root/examples/logs-handler/testdata/records.jsonl" \
    "$root/check/"
  chroot --userspec=65532:65532 "$root" "$@"
}

echo "== the logs-handler's Dockerfile"
podman build --isolation=chroot --pull=never -q -f "$ofctx_root/examples/logs-handler/deploy/Dockerfile" \
  -t localhost/logs-handler:check "$ofctx_root" >/dev/null
files_of localhost/logs-handler:check
alerts=$(run_in "$root" /usr/local/bin/logs-handler --context /check/context.json \
  --invoke /check/records.jsonl | grep -c '^{"output":"notification-manager"')
echo "the image's logs-handler printed $alerts alerts"
[ "$alerts" -gt 0 ]
[ -L "$root/usr/local/lib/libofctx.so.0" ] || { echo "libofctx.so.0 is not a link" >&2; exit 1; }
echo "libofctx.so.0 is a link, as ldconfig made it"

echo "== the builder's run image, and the logs-handler from the buildpack in it"
podman build --isolation=chroot --pull=never -q -f "$ofctx_root/buildpack/builder/run.Dockerfile" \
  -t localhost/libofctx-run:check "$ofctx_root" >/dev/null
# the lifecycle's steps on this machine, with the layers where an image has them
mkdir -p "$work/app" "$work/platform/env" /layers/dev.openfunction.libofctx
cp "$ofctx_root"/examples/logs-handler/*.[ch] "$ofctx_root/examples/logs-handler/CMakeLists.txt" "$work/app/"
printf LogsHandler >"$work/platform/env/FUNC_NAME"
(cd "$work/app" && CNB_PLATFORM_DIR="$work/platform" CNB_BUILD_PLAN_PATH="$work/plan.toml" \
  "$ofctx_root/buildpack/bin/detect")
(cd "$work/app" && CNB_PLATFORM_DIR="$work/platform" CNB_BP_PLAN_PATH="$work/plan.toml" \
  CNB_LAYERS_DIR=/layers/dev.openfunction.libofctx "$ofctx_root/buildpack/bin/build") >/dev/null
files_of localhost/libofctx-run:check
mkdir -p "$root/layers"
cp -a /layers/dev.openfunction.libofctx "$root/layers/"
alerts=$(run_in "$root" /layers/dev.openfunction.libofctx/function/bin/function \
  --context /check/context.json --invoke /check/records.jsonl | grep -c '^{"output":"notification-manager"')
echo "the run image's function printed $alerts alerts"
[ "$alerts" -gt 0 ]
echo "== the builder's build image"
podman build --isolation=chroot --pull=never -q -f "$ofctx_root/buildpack/builder/build.Dockerfile" \
  -t localhost/libofctx-build:check "$ofctx_root" >/dev/null
files_of localhost/libofctx-build:check
chroot --userspec=1000:1000 "$root" sh -c 'cc --version | head -1 && cmake --version | head -1 &&
  pkg-config --exists libuv jansson libcurl libpcre2-8 yaml-0.1 libnghttp2 libprotobuf-c zlib rdkafka && command -v protoc-c' ||
  { echo "the build image lacks a compiler, cmake or a -dev package" >&2; exit 1; }
echo "== images checked"
