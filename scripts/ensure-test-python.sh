#!/usr/bin/env bash
# Gives the tests an independent MILP solver: a virtual environment at $1
# with numpy and highspy (pinned as in bench/requirements.txt). Offline or
# without python3-venv this only warns; test_ilp_highs then skips, saying so.
set -uo pipefail
venv=${1:-build/.testvenv}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import numpy, highspy" >/dev/null 2>&1; then exit 0; fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "dopt: no python3: test_ilp_highs will be skipped" >&2
  exit 0
fi
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
  echo "dopt: python3 -m venv failed (install python3-venv): test_ilp_highs will be skipped" >&2
  exit 0
fi
pins=$(grep -E '^(numpy|highspy)==' "$(dirname "$0")/../bench/requirements.txt")
if ! timeout 300 "$venv/bin/pip" install -q $pins >/dev/null 2>&1; then
  echo "dopt: could not install numpy and highspy (offline?): test_ilp_highs will be skipped" >&2
fi
exit 0
