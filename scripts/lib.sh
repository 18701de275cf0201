# Shared by scripts/main.sh and scripts/test.sh: install what is missing from
# Debian's archive, then configure and build. Source it; do not run it.

# The Debian 12 packages the build needs; the tests need a few more.
OFCTX_BUILD_PACKAGES="gcc libc6-dev make cmake pkgconf binutils libuv1-dev libjansson-dev libhttp-parser-dev libcurl4-openssl-dev libpcre2-dev libyaml-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev librdkafka-dev"
OFCTX_TEST_PACKAGES="libcmocka-dev locales python3 python3-yaml curl prometheus prometheus-alertmanager wrk nghttp2-client groff-base kcat"
# The fuzz targets: clang with libFuzzer; the integration suite also runs
# under valgrind; the house style is checked with clang-format.
OFCTX_FUZZ_PACKAGES="clang-14 libclang-rt-14-dev valgrind clang-format-14"
# The Knative tests run the CloudEvents JavaScript SDK (from the npm
# registry): Debian's Node.js and npm, unless a node and npm are there.
OFCTX_NODE_PACKAGES="nodejs npm"

ofctx_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ofctx_jobs=${OFCTX_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Installs the given packages that are not installed yet (needs root).
ofctx_install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "libofctx: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "libofctx: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ofctx_build DIR [cmake options...]: configure (once) and build into DIR;
# only the targets in OFCTX_TARGETS (space-separated) when it is set.
ofctx_build() {
  local dir=$1
  shift
  cmake -S "$ofctx_root" -B "$dir" "$@" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$ofctx_jobs" ${OFCTX_TARGETS:+--target $OFCTX_TARGETS} >/dev/null
}
