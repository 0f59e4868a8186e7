#!/usr/bin/env bash
# Builds bench/.venv (PyPI: torch, qpth, cvxpylayers, ProxSuite) on first use,
# then times them against dopt on identical instances: see compare_qp.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --upgrade pip
  bench/.venv/bin/pip install -q -r bench/requirements.txt
fi
exec bench/.venv/bin/python bench/compare_qp.py "$@"
