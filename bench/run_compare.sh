#!/usr/bin/env bash
# Builds bench/.venv (PyPI: torch, qpth, cvxpylayers, ProxSuite, highspy) on
# first use, then runs compare_qp.py (compare_bern.py with --bern,
# compare_ilp.py DOPT_BINARY with --ilp; with --milp DOPT_BINARY, highspy,
# dopt+HiGHS and dopt+Cbc on the same generated MPS files, the batched
# predict-and-search on 4 workers vs 1, and `dopt bench milp`: SIZE, COUNT, LIMIT, SEED
# from the environment, defaults medium, 2, 60 s, 1000; with --python DOPT_BINARY,
# compare_qp_python.py: the QP comparison through the Python layer, the
# package installed into the venv unless DOPT_LIBRARY names a shared libdopt).
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
  rm -rf bench/data/milp
  for f in sc ca cfl mis; do "$dopt" gen "$f" --size "$size" --count "$count" --seed "$seed" bench/data/milp --quiet; done
  # highspy, dopt+HiGHS and dopt+Cbc on the same files; the batched search on 4 workers vs 1;
  # then predict-and-search against the full MILP (dopt bench milp, the default solver)
  bench/.venv/bin/python bench/highs_milp.py --dopt "$dopt" --time-limit "$limit" bench/data/milp/*.mps
  bench/.venv/bin/python bench/highs_milp.py --dopt "$dopt" --batch --time-limit "$limit" bench/data/milp/*.mps
  exec "$dopt" bench milp --size "$size" --count "$count" --time-limit "$limit" --seed "$seed"
fi
if [ "${1:-}" = "--ilp" ]; then
  shift
  exec bench/.venv/bin/python bench/compare_ilp.py "$@"
fi
if [ "${1:-}" = "--python" ]; then
  shift
  dopt=build/dopt
  if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then dopt=$1; shift; fi
  if [ -z "${DOPT_LIBRARY:-}" ] && ! bench/.venv/bin/python -c "import dopt" 2>/dev/null; then
    bench/.venv/bin/pip install -q .
  fi
  exec bench/.venv/bin/python bench/compare_qp_python.py --dopt "$dopt" "$@"
fi
if [ "${1:-}" = "--bern" ]; then
  shift
  exec bench/.venv/bin/python bench/compare_bern.py "$@"
fi
exec bench/.venv/bin/python bench/compare_qp.py "$@"
