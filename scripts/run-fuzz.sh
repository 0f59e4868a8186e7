#!/usr/bin/env bash
# Builds the MPS-reader fuzzer with clang (libFuzzer + ASan + UBSan) and runs
# it for SECONDS (default 600) from tests/fuzz/mps_corpus in a scratch copy
# (build-fuzz/corpus); afterwards only inputs that add coverage are merged
# back into tests/fuzz/mps_corpus. Crashes land in build-fuzz/ (add them to the
# corpus as regress_* once fixed). Usage: scripts/run-fuzz.sh [SECONDS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
jobs=${2:-1}
out=build-fuzz
mkdir -p "$out" tests/fuzz/mps_corpus
command -v clang >/dev/null || { echo "run-fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Iinclude -Isrc/milp -Isrc/core -Ikernels -Itests \
  tests/fuzz/fuzz_mps.c src/milp/mps_read.c src/milp/mps_write.c src/milp/milp_model.c \
  -lm -o "$out/fuzz_mps"
par=(); if [ "$jobs" -gt 1 ]; then par=(-jobs="$jobs" -workers="$jobs"); fi
rm -rf "$out/corpus" && cp -r tests/fuzz/mps_corpus "$out/corpus"
"$out/fuzz_mps" -max_total_time="$secs" "${par[@]}" -max_len=4096 \
  -dict=tests/fuzz/mps.dict -artifact_prefix="$out/" "$out/corpus"
"$out/fuzz_mps" -merge=1 tests/fuzz/mps_corpus "$out/corpus" 2>&1 | tail -n 1
