#!/bin/sh
# Runs a Python test with the first interpreter that has its packages:
# $DOPT_TEST_PYTHON, the build's test venv, bench/.venv, then python3.
# usage: run_python_test.sh BUILD_DIR SCRIPT ARGS...
build=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)
for py in "$DOPT_TEST_PYTHON" "$build/.testvenv/bin/python" "$here/bench/.venv/bin/python" python3; do
  if [ -n "$py" ] && command -v "$py" >/dev/null 2>&1; then
    if "$py" -c "import numpy, highspy" >/dev/null 2>&1; then exec "$py" "$@"; fi
  fi
done
# the script itself reports what is missing and skips
if command -v python3 >/dev/null 2>&1; then exec python3 "$@"; fi
echo "skipped: no python3 found"
exit 77
