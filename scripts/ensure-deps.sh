#!/usr/bin/env bash
# Installs what building dopt needs when it is missing (Debian/Ubuntu, as
# root or with sudo): a C compiler, make and CMake >= 3.24. The CUDA toolkit
# is optional: the CUDA backend is built when nvcc is found.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v make >/dev/null 2>&1 || need+=(make)
if ! command -v cmake >/dev/null 2>&1; then
  need+=(cmake)
else
  v=$(cmake --version | head -n1 | awk '{print $3}')
  if [ "$(printf '%s\n' 3.24 "$v" | sort -V | head -n1)" != 3.24 ]; then need+=(cmake); fi
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "dopt: installing ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}"
