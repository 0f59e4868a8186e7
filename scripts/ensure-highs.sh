#!/usr/bin/env bash
# The HiGHS MILP backend's C library (HiGHS is MIT-licensed): nothing to do
# when a system HiGHS exists (its C API header under /usr/include/highs or
# /usr/local/include/highs); else PyPI's `highsbox` wheel (HiGHS's own
# binary distribution: lib/libhighs.so, include/highs, lib/cmake/highs)
# unpacked into .deps/highsbox of this checkout with pip --target. CMake
# (DOPT_WITH_HIGHS=AUTO) looks there. Offline or without pip this only
# warns: dopt builds without HiGHS and its HiGHS tests skip, saying so.
# Called by scripts/ensure-deps.sh (make deps); usable alone.
set -uo pipefail
version=1.15.1
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.deps/highsbox"
header=include/highs/interfaces/highs_c_api.h
for prefix in /usr /usr/local; do
  [ -f "$prefix/$header" ] && exit 0
done
[ -f "$dest/highsbox/highs_dist/$header" ] && [ -f "$dest/.version-$version" ] && exit 0
if ! command -v python3 >/dev/null 2>&1; then
  echo "dopt: no python3 to fetch HiGHS (pip install highsbox): building without the HiGHS backend" >&2
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
echo "dopt: installing HiGHS $version (PyPI highsbox) into .deps/highsbox" >&2
pip_ok=0
if python3 -m pip --version >/dev/null 2>&1; then
  timeout 300 python3 -m pip install -q --disable-pip-version-check --no-deps --target "$dest" \
    "highsbox==$version" >/dev/null 2>&1 && pip_ok=1
fi
if [ $pip_ok = 0 ]; then
  # no pip for the system python3 (Debian): a throwaway venv brings one
  tmp=$(mktemp -d)
  if python3 -m venv "$tmp/venv" >/dev/null 2>&1 &&
    timeout 300 "$tmp/venv/bin/pip" install -q --disable-pip-version-check --no-deps --target "$dest" \
      "highsbox==$version" >/dev/null 2>&1; then
    pip_ok=1
  fi
  rm -rf "$tmp"
fi
if [ $pip_ok = 1 ] && [ -f "$dest/highsbox/highs_dist/$header" ]; then
  touch "$dest/.version-$version"
else
  rm -rf "$dest"
  echo "dopt: could not install highsbox $version (offline? no pip or python3-venv?): building without the HiGHS backend" >&2
fi
exit 0
