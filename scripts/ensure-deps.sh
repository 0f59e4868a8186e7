#!/usr/bin/env bash
# Installs what building dopt needs when it is missing (Debian/Ubuntu, as
# root or with sudo): a C compiler, make and CMake >= 3.24; and, optional,
# COIN-OR Cbc (coinor-libcbc-dev, pkg-config) for the MILP backend: when it
# cannot be installed the build goes on without it (the Cbc tests say so);
# and, optional, HiGHS (MIT licence) for the other MILP backend: where no
# system HiGHS exists (/usr/include/highs, /usr/local/include/highs), its C
# library from PyPI's `highsbox` wheel into .deps/highsbox of this checkout,
# where CMake looks for it (DOPT_NO_HIGHS=1: skip; offline: built without);
# and, optional, SuiteSparse's CHOLMOD (libsuitesparse-dev) for the sparse QP
# layer (DOPT_NO_CHOLMOD=1: skip; without it that layer answers
# DOPT_ERR_UNSUPPORTED and its tests say they skip), with the single-threaded
# OpenBLAS (libopenblas0-serial) as the system BLAS: CHOLMOD's supernodal
# factorization (the sparse layer's dual normal equations) runs at BLAS
# speed, and Debian's default libblas.so.3 is the reference BLAS; serial,
# because the layer's thread pool already runs one instance per worker
# (docs/SPARSE_QP.md; without it the layer works, slower).
# The CUDA toolkit is optional: the CUDA backend is built when nvcc is found.
set -euo pipefail

# install_optional FOR WITHOUT PACKAGE...: installs optional packages (FOR:
# what they serve); when that fails, says so (WITHOUT: what the build does
# instead) and goes on: the status is 0 either way. Uses $SUDO.
install_optional() {
  local what=$1 without=$2
  shift 2
  echo "dopt: installing optional $* ($what)" >&2
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@"; } >/dev/null 2>&1; then
    echo "dopt: could not install $*: $without" >&2
  fi
}

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v make >/dev/null 2>&1 || need+=(make)
if ! command -v cmake >/dev/null 2>&1; then
  need+=(cmake)
else
  v=$(cmake --version | head -n1 | awk '{print $3}')
  if [ "$(printf '%s\n' 3.24 "$v" | sort -V | head -n1)" != 3.24 ]; then need+=(cmake); fi
fi
optional=()
if [ "${DOPT_NO_CBC:-0}" != 1 ]; then
  command -v pkg-config >/dev/null 2>&1 || optional+=(pkg-config)
  [ -f /usr/include/coin/Cbc_C_Interface.h ] || optional+=(coinor-libcbc-dev)
fi
sparse=()
blas=()
if [ "${DOPT_NO_CHOLMOD:-0}" != 1 ]; then
  [ -f /usr/include/suitesparse/cholmod.h ] || sparse+=(libsuitesparse-dev)
  # any OpenBLAS already installed provides libblas.so.3 through the alternatives
  ls /usr/lib/*/openblas*/libblas.so.3 >/dev/null 2>&1 || blas+=(libopenblas0-serial)
fi
if [ ${#need[@]} -gt 0 ] || [ ${#optional[@]} -gt 0 ] || [ ${#sparse[@]} -gt 0 ] || [ ${#blas[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#need[@]} -gt 0 ]; then
    echo "dopt: installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need[@]}"
  fi
  # (the guards stay outside: an empty "${a[@]}" is an unbound variable under set -u in bash < 4.4)
  if [ ${#optional[@]} -gt 0 ]; then
    install_optional "the Cbc MILP backend" "building without the Cbc backend" "${optional[@]}"
  fi
  if [ ${#sparse[@]} -gt 0 ]; then
    install_optional "CHOLMOD, the sparse QP layer" "building without the sparse QP layer" "${sparse[@]}"
  fi
  if [ ${#blas[@]} -gt 0 ]; then
    install_optional "a fast BLAS for CHOLMOD, the sparse QP layer" "CHOLMOD keeps the reference BLAS (slower)" \
      "${blas[@]}"
  fi
fi
if [ "${DOPT_NO_HIGHS:-0}" != 1 ]; then
  "$(dirname "$0")/ensure-highs.sh"
fi
