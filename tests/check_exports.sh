#!/bin/sh
# The shared libdopt exports exactly the public API: every dynamic symbol it
# defines starts with dopt_, and every function declared DOPT_API in the
# public headers is among them.
# usage: check_exports.sh LIBDOPT.so INCLUDE_DIR
set -u
lib=$1
inc=$2
if ! command -v nm >/dev/null 2>&1; then
  echo "skipped: nm (binutils) not found"
  exit 77
fi
tmp=${TMPDIR:-/tmp}/dopt_exports.$$
trap 'rm -f "$tmp".*' EXIT
# nm -D --defined-only: "ADDRESS TYPE NAME[@VERSION]"; keep the name
nm -D --defined-only "$lib" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp.exported"
# each DOPT_API declaration: the identifier just before the first "("
grep -h '^DOPT_API ' "$inc"/*.h \
  | sed -n 's/^[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' | sort -u > "$tmp.declared"
ndecl=$(grep -hc '^DOPT_API ' "$inc"/*.h | awk '{ s += $1 } END { print s }')
nexp=$(wc -l < "$tmp.exported")
status=0
if [ "$(wc -l < "$tmp.declared")" -ne "$ndecl" ]; then
  echo "FAIL: $ndecl DOPT_API lines in $inc/*.h but $(wc -l < "$tmp.declared") distinct names parsed (a declaration this script cannot read?)"
  status=1
fi
if [ "$nexp" -eq 0 ]; then
  echo "FAIL: $lib exports nothing"
  status=1
fi
foreign=$(grep -v '^dopt_' "$tmp.exported")
if [ -n "$foreign" ]; then
  echo "FAIL: exported symbols without the dopt_ prefix:"
  echo "$foreign" | sed 's/^/  /'
  status=1
fi
missing=$(comm -23 "$tmp.declared" "$tmp.exported")
if [ -n "$missing" ]; then
  echo "FAIL: declared DOPT_API but not exported:"
  echo "$missing" | sed 's/^/  /'
  status=1
fi
extra=$(comm -13 "$tmp.declared" "$tmp.exported")
if [ -n "$extra" ]; then
  echo "FAIL: exported but not declared DOPT_API in $inc (internal symbols leaking):"
  echo "$extra" | sed 's/^/  /'
  status=1
fi
echo "$lib: $nexp exported symbols, $ndecl DOPT_API declarations"
exit $status
