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

# Checks what the build needs to know; exits 1 with a message naming the
# variable when something is wrong.
check_function() {
  [ -n "$FUNC_NAME" ] ||
    fail "FUNC_NAME is not set: set it to the name of your C function (in OpenFunction, spec.build.env.FUNC_NAME)"
  [[ "$FUNC_NAME" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    fail "FUNC_NAME=\"$FUNC_NAME\" is not the name of a C function (letters, digits and _, not starting with a digit)"
  [ "$FUNC_NAME" != main ] ||
    fail "FUNC_NAME=main: name your function, not main (the buildpack writes main itself)"
  case "$FUNC_TYPE" in
    "" | event | openfunction | cloudevent | http) ;;
    *) fail "FUNC_TYPE=\"$FUNC_TYPE\" is neither \"http\" (a plain HTTP function) nor unset/\"openfunction\"/\"event\"" ;;
  esac
  [ -d "$app_dir" ] || fail "FUNC_SRC=\"$FUNC_SRC\": no such directory in the source"
}
