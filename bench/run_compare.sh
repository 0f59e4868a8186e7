#!/usr/bin/env bash
# Builds bench/.venv (PyPI: torch, qpth, cvxpylayers, ProxSuite, highspy) on
# first use, then runs compare_qp.py (compare_bern.py with --bern,
# compare_ilp.py DOPT_BINARY with --ilp).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --upgrade pip
  bench/.venv/bin/pip install -q -r bench/requirements.txt
fi
if [ "${1:-}" = "--ilp" ]; then
  shift
  exec bench/.venv/bin/python bench/compare_ilp.py "$@"
fi
if [ "${1:-}" = "--bern" ]; then
  shift
  exec bench/.venv/bin/python bench/compare_bern.py "$@"
fi
exec bench/.venv/bin/python bench/compare_qp.py "$@"
