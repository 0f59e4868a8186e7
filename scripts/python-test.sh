#!/usr/bin/env bash
# The Python package's tests, the way a user installs it: a virtual
# environment (default build/.pyvenv; DOPT_PY_VENV to choose), the test
# dependencies pinned in python/requirements-test.txt (torch, qpth, PyEPO and
# its solver, pytest), then `pip install .` (scikit-build-core builds libdopt,
# with the CUDA backend when nvcc is found) and pytest over python/tests.
# The package build's log: build/python-install.log. Extra pytest arguments
# pass through ("scripts/python-test.sh -k qp").
# CUDA: with a GPU visible the package builds for it; without one, for the
# architectures in CUDAARCHS (default here 90-real: one architecture proves
# that the package's CUDA build links; the full list is the C build's job).
set -euo pipefail
case "${1:-}" in
-h | --help)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  echo "usage: scripts/python-test.sh [PYTEST ARGUMENTS...]   (make test runs it; make python-test alone)"
  exit 0
  ;;
esac
cd "$(dirname "$0")/.."
venv=${DOPT_PY_VENV:-build/.pyvenv}
mkdir -p build
if ! command -v python3 >/dev/null 2>&1; then
  echo "dopt: python3 is needed for the Python tests (apt-get install python3 python3-venv)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv" 2>/dev/null; then
  # Debian's python3 comes without venv: install it when we may
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  echo "dopt: python3 -m venv failed: installing python3-venv" >&2
  rm -rf "$venv"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
stamp="$venv/.requirements-test.txt"
if ! cmp -s python/requirements-test.txt "$stamp"; then
  echo "dopt: installing the Python test dependencies into $venv (torch is large: a few minutes the first time)"
  "$venv/bin/pip" install -q -r python/requirements-test.txt
  cp python/requirements-test.txt "$stamp"
fi
if ! nvidia-smi -L >/dev/null 2>&1 && [ -z "${CUDAARCHS:-}" ]; then
  export CUDAARCHS=90-real
fi
echo "dopt: pip install . (log: build/python-install.log)"
if ! "$venv/bin/pip" install -v . >build/python-install.log 2>&1; then
  tail -n 60 build/python-install.log >&2
  echo "dopt: pip install . failed (full log: build/python-install.log)" >&2
  exit 1
fi
grep -E "dopt: (CUDA|Cbc|shared)" build/python-install.log | sed 's/^ *//' || true
# The installed `dopt` command first on PATH (tests compare with the CLI).
export PATH="$(cd "$venv/bin" && pwd):$PATH"
# Run from the tests' folder so `import dopt` finds the installed package, not
# the sources (python/ is not on the path from there).
cd python/tests
exec "../../$venv/bin/python" -m pytest -q -ra "$@"
