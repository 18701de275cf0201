# Shared by bin/detect and bin/build: the platform's variables and the
# function's source directory. Source it; do not run it.

# platform_env NAME: the value of NAME from $CNB_PLATFORM_DIR/env/NAME (what
# OpenFunction's spec.build.env becomes), else from the environment.
platform_env() {
  local file="${CNB_PLATFORM_DIR:-/platform}/env/$1"
  if [ -f "$file" ]; then
    cat "$file"
  else
    printenv "$1" || true
  fi
}

FUNC_NAME=$(platform_env FUNC_NAME)
FUNC_SRC=$(platform_env FUNC_SRC)
FUNC_TYPE=$(platform_env FUNC_TYPE)
FUNC_CLEAR_SOURCE=$(platform_env FUNC_CLEAR_SOURCE)

# The function's sources: FUNC_SRC below the application directory.
app_dir=$PWD
if [ -n "$FUNC_SRC" ]; then
  app_dir="$PWD/${FUNC_SRC#/}"
fi

fail() {
  echo "libofctx buildpack: $*" >&2
  exit 1
}

# What FUNC_NAME must not be, as for `ofctx new` (tools/ofctx_dev.py): a C
# keyword or a name C's headers take, a macro the compiler predefines (linux,
# unix under gnu11: cc -dM -E, else c_macros), a name ending in _t (POSIX
# reserves them for types: size_t, int8_t), main, or ofctx/ofctx_*
# (libofctx's); check_symbols below adds the libraries' symbols once libofctx
# is built.
c_reserved="auto break case char const continue default do double else enum extern float for goto if
  inline int long register restrict return short signed sizeof static struct switch typedef union
  unsigned void volatile while alignas alignof bool constexpr false noreturn nullptr static_assert
  thread_local true typeof typeof_unqual complex imaginary asm errno assert offsetof"
c_macros="linux unix i386"

# Checks what the build needs to know; exits 1 with a message naming the
# variable when something is wrong.
check_function() {
  [ -n "$FUNC_NAME" ] ||
    fail "FUNC_NAME is not set: set it to the name of your C function (in OpenFunction, spec.build.env.FUNC_NAME)"
  [[ "$FUNC_NAME" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    fail "FUNC_NAME=\"$FUNC_NAME\" is not the name of a C function (letters, digits and _, not starting with a digit)"
  [ "$FUNC_NAME" != main ] ||
    fail "FUNC_NAME=main: name your function, not main (the buildpack writes main itself)"
  [[ "$FUNC_NAME" != ofctx && "$FUNC_NAME" != ofctx_* ]] ||
    fail "FUNC_NAME=$FUNC_NAME: ofctx and ofctx_ names are libofctx's: name your function otherwise"
  local word
  for word in $c_reserved; do
    [ "$FUNC_NAME" != "$word" ] ||
      fail "FUNC_NAME=$FUNC_NAME is a C keyword or a name C reserves: name your function otherwise"
  done
  local macros
  macros=$({ cc -dM -E - </dev/null 2>/dev/null || true; } | sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p')
  for word in ${macros:-$c_macros}; do
    [ "$FUNC_NAME" != "$word" ] ||
      fail "FUNC_NAME=$FUNC_NAME is a macro the compiler predefines (cc -dM -E): your function would not compile; rename it (e.g. ${FUNC_NAME}_fn)"
  done
  [[ "$FUNC_NAME" != *_t ]] ||
    fail "FUNC_NAME=$FUNC_NAME ends in _t, which POSIX reserves for types (size_t, int8_t, wchar_t): rename your function (e.g. ${FUNC_NAME}_fn)"
  case "$FUNC_TYPE" in
    "" | event | openfunction | cloudevent | http) ;;
    *) fail "FUNC_TYPE=\"$FUNC_TYPE\" is neither \"http\" (a plain HTTP function) nor unset/\"openfunction\"/\"event\"" ;;
  esac
  [ -d "$app_dir" ] || fail "FUNC_SRC=\"$FUNC_SRC\": no such directory in the source"
}

# check_symbols LIBOFCTX_SO: FUNC_NAME, and the FUNC_NAME_batch, _init,
# _tick, _tick_ms, _fini, _commands, _metrics and _hooks the generated main refers to, are no symbol of
# libofctx, of the libraries it loads or of libm: the function would replace
# that library's own (a function named write builds, and the library's first
# write() runs it). `ofctx new` refuses the same names.
check_symbols() {
  if ! command -v nm >/dev/null || ! command -v ldd >/dev/null; then
    echo "---> no nm or ldd (binutils): FUNC_NAME is not checked against the libraries' symbols"
    return 0
  fi
  local libs symbols sym
  libs=$(ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p'; cc -print-file-name=libm.so.6 2>/dev/null || true)
  symbols=$(for l in $libs; do if [ -f "$l" ]; then nm -D --defined-only "$l" || true; fi; done |
    awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | sort -u)
  for sym in "$FUNC_NAME" "${FUNC_NAME}_batch" "${FUNC_NAME}_init" "${FUNC_NAME}_tick" \
    "${FUNC_NAME}_tick_ms" "${FUNC_NAME}_fini" "${FUNC_NAME}_commands" "${FUNC_NAME}_metrics" \
    "${FUNC_NAME}_hooks"; do
    if grep -qxF -- "$sym" <<<"$symbols"; then
      fail "FUNC_NAME=$FUNC_NAME: $sym is a symbol of the C library or of a library libofctx uses: your function would replace it; rename the function (e.g. ${FUNC_NAME}_fn)"
    fi
  done
}

# write_main: the C of the main the function is linked with, on stdout. It
# runs FUNC_NAME (the OpenFunction signature, or with FUNC_TYPE=http the
# plain HTTP one), or FUNC_NAME_batch, a batch function, when the code
# defines one, with the FUNC_NAME_init, _tick, _tick_ms (default 1000),
# _fini, _commands (an array of ofctx_command_t ended by a NULL name: the
# function's own commands), _metrics (its own metrics, an
# ofctx_metrics_function_t) and _hooks (an array of ofctx_hook_t ended by a
# NULL name: the hooks its context may name) it defines: weak references,
# NULL when the code
# has none. Define them in FUNC_NAME's own file: a weak reference does not
# take a file out of a static library. examples/logs-handler/main.c is this for LogsHandler.
write_main() {
  local f=$FUNC_NAME
  echo "/* Written by the libofctx buildpack for FUNC_NAME=$f: runs the function"
  if [ "$FUNC_TYPE" = http ]; then
    echo " * with the _init, _tick, _tick_ms, _fini, _commands, _metrics and _hooks the"
    echo " * code defines"
  else
    echo " * (its _batch instead, a batch function, when the code defines one) with"
    echo " * the _init, _tick, _tick_ms, _fini, _commands, _metrics and _hooks the code"
    echo " * defines"
  fi
  echo " * (weak references: NULL when it does not). */"
  echo "#include <ofctx/ofctx.h>"
  echo
  if [ "$FUNC_TYPE" = http ]; then
    echo "void $f(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res);"
  else
    echo "ofctx_result_t $f(ofctx_t *ctx, const ofctx_event_t *in);"
    echo "ofctx_result_t ${f}_batch(ofctx_t *ctx, ofctx_batch_t *batch) __attribute__((weak));"
  fi
  cat <<C
int ${f}_init(const ofctx_config_t *cfg, void **user_data) __attribute__((weak));
void ${f}_tick(ofctx_t *ctx, int stopping, void *user_data) __attribute__((weak));
extern const unsigned ${f}_tick_ms __attribute__((weak));
void ${f}_fini(void *user_data) __attribute__((weak));
extern const ofctx_command_t ${f}_commands[] __attribute__((weak));
void ${f}_metrics(ofctx_metrics_t *m, void *user_data) __attribute__((weak));
extern const ofctx_hook_t ${f}_hooks[] __attribute__((weak));

int main(int argc, char **argv) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

C
  if [ "$FUNC_TYPE" = http ]; then
    echo "  opts.http = $f;"
  else
    echo "  if (${f}_batch)"
    echo "    opts.batch = ${f}_batch;"
    echo "  else"
    echo "    opts.function = $f;"
  fi
  cat <<C
  opts.init = ${f}_init;
  opts.tick = ${f}_tick;
  opts.tick_ms = &${f}_tick_ms ? ${f}_tick_ms : 1000;
  opts.fini = ${f}_fini;
  opts.commands = ${f}_commands;
  opts.metrics = ${f}_metrics;
  opts.hooks = ${f}_hooks;
  return ofctx_main_opts(argc, argv, &opts);
}
C
}
