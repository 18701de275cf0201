#!/usr/bin/env bash
# Installs the build into a scratch prefix and checks what a user gets:
# headers, both libraries with the right SONAME and only ofctx_ symbols
# exported, the ofctx tool (with its verbs' files and the manual pages),
# libofctx.pc (shared and static links) and find_package(ofctx).
# Usage: check-install.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
build=$1
scratch=$2
prefix=$scratch/prefix
rm -rf "$scratch"
mkdir -p "$scratch"
fail() { echo "install_tree: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
# lib or lib/<multiarch>, whichever GNUInstallDirs chose
pc=$(find "$prefix" -name libofctx.pc | head -n 1)
[ -n "$pc" ] || fail "no libofctx.pc installed"
libdir=$(dirname "$(dirname "${pc#"$prefix"/}")")

for f in include/ofctx/ofctx.h include/ofctx/version.h include/ofctx/error.h \
         include/ofctx/config.h include/ofctx/strmap.h include/ofctx/alloc.h include/ofctx/export.h \
         include/ofctx/function.h include/ofctx/event.h include/ofctx/response.h \
         include/ofctx/batch.h include/ofctx/send.h include/ofctx/state.h include/ofctx/trace.h include/ofctx/json.h \
         "$libdir/libofctx.a" "$libdir/libofctx.so" "$libdir/pkgconfig/libofctx.pc" \
         "$libdir/cmake/ofctx/ofctxConfig.cmake" "$libdir/cmake/ofctx/ofctxConfigVersion.cmake" \
         "$libdir/cmake/ofctx/ofctxTargets.cmake" bin/ofctx share/man/man1/ofctx.1 share/man/man3/libofctx.3 \
         share/libofctx/ofctx_dev.py share/libofctx/daprd_emulator.py; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done

so=$(readlink -f "$prefix/$libdir/libofctx.so")
major=$(sed -n 's/^#define OFCTX_VERSION_MAJOR \([0-9]*\)$/\1/p' "$prefix/include/ofctx/version.h")
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libofctx.so.$major" ] || fail "SONAME is '$soname', expected libofctx.so.$major"
[ -e "$prefix/$libdir/libofctx.so.$major" ] || fail "no libofctx.so.$major link"

# Hidden visibility: every exported function or object is ofctx_*.
# (nm read once: grep -q ends a pipe early, and nm's SIGPIPE would fail it
# under pipefail once its output outgrows the pipe's first read)
symbols=$(nm -D --defined-only "$so")
leaks=$(awk '$2 ~ /^[TDBR]$/ && $3 !~ /^ofctx_/ { print $3 }' <<<"$symbols")
[ -z "$leaks" ] || fail "symbols exported without the ofctx_ prefix: $leaks"
grep -q ' T ofctx_config_load$' <<<"$symbols" || fail "ofctx_config_load is not exported"
grep -q ' T ofctx_json_lookup$' <<<"$symbols" || fail "ofctx_json_lookup is not exported"
if grep -q ' T ofctx__' <<<"$symbols"; then fail "internal ofctx__ symbols are exported"; fi

cat > "$scratch/consumer.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ofctx/ofctx.h>
int main(void) {
  static const char ctx[] = "{\"name\":\"hello\",\"runtime\":\"Knative\"}";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  if (ofctx_version() != OFCTX_VERSION_HEX) return 1;
  if (ofctx_config_parse(&cfg, NULL, ctx, strlen(ctx), NULL, NULL, &err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  printf("%s %u\n", ofctx_config_name(cfg), (unsigned)ofctx_config_port(cfg));
  ofctx_config_free(cfg);
  return 0;
}
C
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
export CONTEXT_MODE=self-host
# shellcheck disable=SC2046
cc -o "$scratch/consumer-shared" "$scratch/consumer.c" $(pkg-config --cflags --libs libofctx)
out=$(LD_LIBRARY_PATH="$prefix/$libdir" "$scratch/consumer-shared")
[ "$out" = "hello 8080" ] || fail "shared consumer printed '$out'"
readelf -d "$scratch/consumer-shared" | grep -q "libofctx.so.$major" || fail "consumer not linked to the SONAME"
# A shared link names libofctx alone: no public header needs another library.
shared_libs=$(pkg-config --libs libofctx)
case " $shared_libs " in *" -luv "* | *" -ljansson "*) fail "pkg-config --libs names a private dependency: $shared_libs" ;; esac
# A static link names every private dependency...
static_libs=$(pkg-config --static --libs libofctx)
for lib in -lofctx -luv -ljansson -lpcre2-8 -lnghttp2 -lprotobuf-c -lz -lhttp_parser; do
  case " $static_libs " in *" $lib "*) ;; *) fail "pkg-config --static --libs lacks $lib: $static_libs" ;; esac
done
# (libcurl is not among them: it is opened with dlopen at the first send)
case " $static_libs " in *" -lcurl "*) fail "pkg-config --static --libs names libcurl: $static_libs" ;; esac
# (nor librdkafka: it is opened with dlopen when the direct mode starts)
case " $static_libs " in *" -lrdkafka "*) fail "pkg-config --static --libs names librdkafka: $static_libs" ;; esac
needed=$(readelf -d "$prefix/$libdir/libofctx.so.$major")
case "$needed" in *librdkafka* | *libcurl*) fail "libofctx.so is linked to librdkafka or libcurl: $needed" ;; esac
# ...and libofctx.a links into a program with them (shared here).
# shellcheck disable=SC2046
cc -o "$scratch/consumer-static" "$scratch/consumer.c" $(pkg-config --cflags libofctx) \
  "$prefix/$libdir/libofctx.a" $(pkg-config --libs libuv jansson libpcre2-8) -lhttp_parser
out=$("$scratch/consumer-static")
[ "$out" = "hello 8080" ] || fail "static consumer printed '$out'"
if readelf -d "$scratch/consumer-static" | grep -q libofctx; then fail "static consumer needs libofctx.so"; fi

mkdir -p "$scratch/cmake-consumer"
cp "$scratch/consumer.c" "$scratch/cmake-consumer/"
cat > "$scratch/cmake-consumer/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(ofctx 0.1 REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE ofctx::ofctx)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static PRIVATE ofctx::ofctx_static)
C
cmake -S "$scratch/cmake-consumer" -B "$scratch/cmake-consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/cmake-consumer/build" >/dev/null
out=$(LD_LIBRARY_PATH="$prefix/$libdir" "$scratch/cmake-consumer/build/consumer")
[ "$out" = "hello 8080" ] || fail "find_package consumer printed '$out'"
out=$("$scratch/cmake-consumer/build/consumer_static")
[ "$out" = "hello 8080" ] || fail "find_package static consumer printed '$out'"

out=$(LD_LIBRARY_PATH="$prefix/$libdir" "$prefix/bin/ofctx" version)
[ "$out" = "libofctx $(pkg-config --modversion libofctx)" ] || fail "installed ofctx version printed '$out'"
echo "install_tree: 1 passed, 0 failed"
