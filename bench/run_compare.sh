#!/usr/bin/env bash
# Builds bench/.venv (PyPI: torch, qpth, cvxpylayers, ProxSuite, highspy) on
# first use, then runs compare_qp.py (compare_bern.py with --bern,
# compare_ilp.py DOPT_BINARY with --ilp; with --milp DOPT_BINARY, `dopt bench
# milp` and HiGHS on the same generated MPS files: SIZE, COUNT, LIMIT, SEED
# from the environment, defaults medium, 2, 60 s, 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --upgrade pip
  bench/.venv/bin/pip install -q -r bench/requirements.txt
fi
if [ "${1:-}" = "--milp" ]; then
  dopt=${2:-build/dopt}
  size=${SIZE:-medium} count=${COUNT:-2} limit=${LIMIT:-60} seed=${SEED:-1000}
  "$dopt" bench milp --size "$size" --count "$count" --time-limit "$limit" --seed "$seed"
  rm -rf bench/data/milp
  for f in sc ca cfl mis; do "$dopt" gen "$f" --size "$size" --count "$count" --seed "$seed" bench/data/milp --quiet; done
  exec bench/.venv/bin/python bench/highs_milp.py --time-limit "$limit" bench/data/milp/*.mps
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
