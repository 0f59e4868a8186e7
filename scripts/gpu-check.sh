#!/usr/bin/env bash
# Everything CUDA in one command, on a machine with an NVIDIA GPU, the CUDA
# toolkit and CMake (run from anywhere; `make gpu-check` runs it too):
#   1. nvidia-smi, the driver, the toolkit and CMake versions
#   2. scripts/ensure-deps.sh (a C compiler, make, CMake >= 3.24; Cbc if it can)
#   3. a Release build (build-gpu-check/) for this GPU's architecture (from
#      nvidia-smi's compute capability), CUDA warnings as errors
#   4. the CUDA tests (ctest -L cuda; a CUDA test that skips counts as failed:
#      there is a GPU), then the QP ones again with DOPT_QP_LAYOUT=instance
#   5. the CUDA QP benchmark, briefly (dopt bench qp --quick --backend cuda),
#      then B = 1024, n = 32 in both small-n layouts (DOPT_QP_LAYOUT=warp,
#      instance)
#   6. the CPU and downstream tests (ctest -LE cuda)
#   7. compute-sanitizer memcheck and racecheck over one run of each CUDA test
#      program (all at once, each with a timeout and a cap on checked launches)
# Every step has a time limit and the whole run a budget (default 450 s, so it
# ends within 8 minutes); a failed step does not stop the next ones. At the end:
# pass/fail per step, and the log (gpu-check.log in the repository root).
# Exit status: 0 when every step passed, 1 otherwise, 2 when there is no GPU
# or no CUDA toolkit (checked first, in seconds).
# Environment: DOPT_GPU_CHECK_BUDGET (seconds, 450), DOPT_GPU_CHECK_BUILD
# (build-gpu-check), DOPT_GPU_CHECK_LOG (gpu-check.log), DOPT_GPU_CHECK_ARCH
# (CMAKE_CUDA_ARCHITECTURES; default: this GPU's), DOPT_GPU_CHECK_LAUNCHES
# (kernel launches checked per sanitizer run, 300; 0 = all),
# DOPT_GPU_CHECK_CMAKE_ARGS (more configure arguments, e.g. -DDOPT_WITH_CBC=OFF).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
budget=${DOPT_GPU_CHECK_BUDGET:-450}
build=${DOPT_GPU_CHECK_BUILD:-build-gpu-check}
log=${DOPT_GPU_CHECK_LOG:-$root/gpu-check.log}
launches=${DOPT_GPU_CHECK_LAUNCHES:-300}
jobs=$(nproc 2>/dev/null || echo 4)

# ---- internal sub-commands (run under `timeout` by the steps below) --------
case "${1:-}" in
__ctest_cuda)
  # the CUDA tests; a skip means the GPU was not usable, which is a failure here
  out=$(mktemp)
  ctest --test-dir "$2" -L cuda --no-tests=error --output-on-failure -j 4 --timeout "$3" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  if grep -q "Skipped\|Not Run" "$out"; then
    echo "gpu-check: CUDA tests were skipped although a GPU is present (see the reasons above)"
    rc=1
  fi
  rm -f "$out"
  exit "$rc"
  ;;
__ctest_cuda_qp)
  # the CUDA QP tests only (run with DOPT_QP_LAYOUT set by the caller)
  ctest --test-dir "$2" -L cuda -R qp --no-tests=error --output-on-failure -j 4 --timeout "$3"
  exit $?
  ;;
__sanitize)
  # one compute-sanitizer run per CUDA test program, all in parallel
  bdir=$2 per_run=$3 nlaunch=$4 sanitizer=$5
  progs=$(ctest --test-dir "$bdir" -N -L cuda | sed -n 's/.*Test *#[0-9]*: \(.*\)_cuda$/\1/p')
  if [ -z "$progs" ]; then
    echo "gpu-check: no CUDA tests registered in $bdir"
    exit 1
  fi
  work=$(mktemp -d)
  for tool in memcheck racecheck; do
    for p in $progs; do
      (
        timeout --kill-after=5 "$per_run" "$sanitizer" --tool "$tool" --error-exitcode 86 \
          --launch-count "$nlaunch" --print-limit 20 "$bdir/tests/$p" cuda >"$work/$tool.$p.out" 2>&1
        echo $? >"$work/$tool.$p.rc"
      ) &
    done
  done
  wait
  rc=0
  for tool in memcheck racecheck; do
    for p in $progs; do
      r=$(cat "$work/$tool.$p.rc")
      case $r in
      0) verdict="ok" ;;
      86) verdict="FAILED: $tool reported errors" ;;
      124 | 137) verdict="FAILED: timed out after ${per_run}s (lower DOPT_GPU_CHECK_LAUNCHES?)" ;;
      *) verdict="FAILED: exit $r" ;;
      esac
      printf '%-10s %-16s %s\n' "$tool" "$p" "$verdict"
      if [ "$r" != 0 ]; then
        rc=1
        sed 's/^/    /' "$work/$tool.$p.out" | tail -n 60
      fi
    done
  done
  rm -rf "$work"
  exit "$rc"
  ;;
esac

# ---- preconditions: fail fast, clearly ------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-check: no GPU: nvidia-smi not found (this script needs an NVIDIA GPU and its driver;" >&2
  echo "           without one, 'make test' builds and tests everything it can)" >&2
  exit 2
fi
if ! gpus=$(timeout 30 nvidia-smi -L 2>&1) || ! echo "$gpus" | grep -q "^GPU"; then
  echo "gpu-check: no GPU: 'nvidia-smi -L' lists none:" >&2
  echo "$gpus" >&2
  exit 2
fi
if ! command -v nvcc >/dev/null 2>&1; then
  for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda; do
    if [ -n "$d" ] && [ -x "$d/bin/nvcc" ]; then PATH="$d/bin:$PATH"; break; fi
  done
  export PATH
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "gpu-check: no CUDA toolkit: nvcc is neither on PATH nor in \$CUDA_HOME/bin or /usr/local/cuda/bin" >&2
  exit 2
fi
sanitizer=$(command -v compute-sanitizer || true)
if [ -z "$sanitizer" ]; then
  for c in "$(dirname "$(command -v nvcc)")/compute-sanitizer" \
    "$(dirname "$(command -v nvcc)")/../compute-sanitizer/compute-sanitizer"; do
    if [ -x "$c" ]; then sanitizer=$c; break; fi
  done
fi

# ---- steps ------------------------------------------------------------------
: >"$log"
t_start=$(date +%s)
names=()
results=()
seconds=()
say() { echo "$*" | tee -a "$log"; }

# run_step NAME LIMIT_S COMMAND...: runs it under timeout (the smaller of its
# limit and what is left of the budget), output to the terminal and the log
run_step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - ($(date +%s) - t_start)))
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  if [ "$limit" -lt 5 ]; then
    say "==== $name: not run (the ${budget}s budget is spent)"
    names+=("$name") results+=("NOT RUN (no time left)") seconds+=(0)
    return 1
  fi
  say "==== $name (limit ${limit}s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  local dt=$(($(date +%s) - t0)) verdict
  case $rc in
  0) verdict="PASS" ;;
  124 | 137) verdict="FAIL (timed out after ${limit}s)" ;;
  *) verdict="FAIL (exit $rc)" ;;
  esac
  say "==== $name: $verdict in ${dt}s"
  names+=("$name") results+=("$verdict") seconds+=("$dt")
  return "$rc"
}
skip_step() {
  say "==== $1: not run ($2)"
  names+=("$1") results+=("NOT RUN ($2)") seconds+=(0)
}

say "gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
run_step "versions" 30 bash -c 'nvidia-smi; nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv; nvcc --version; cmake --version | head -n 1; cc --version | head -n 1'

arch=${DOPT_GPU_CHECK_ARCH:-}
if [ -z "$arch" ]; then
  # compute capability "9.0" -> "90"; several GPU models -> all of them
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d ' .' | grep -E '^[0-9]+$' | sort -u | paste -sd ';' -)
  [ -n "$arch" ] || arch=native
fi
say "gpu-check: CUDA architectures: $arch"

run_step "dependencies" 90 scripts/ensure-deps.sh
read -r -a extra_args <<<"${DOPT_GPU_CHECK_CMAKE_ARGS:-}"
if run_step "configure" 90 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDOPT_WITH_CUDA=ON \
  "-DCMAKE_CUDA_ARCHITECTURES=$arch" -DDOPT_WERROR=ON -DDOPT_NATIVE=ON ${extra_args[@]+"${extra_args[@]}"} &&
  run_step "build" 300 cmake --build "$build" -j "$jobs"; then
  run_step "CUDA tests (ctest -L cuda)" 150 "$0" __ctest_cuda "$build" 120
  # the QP tests in the small-n layout that is not the default (one thread
  # per instance on a contiguous workspace; the default is the warp layout)
  run_step "CUDA QP tests, per-instance layout (DOPT_QP_LAYOUT=instance)" 90 \
    env DOPT_QP_LAYOUT=instance "$0" __ctest_cuda_qp "$build" 80
  run_step "CUDA benchmark (dopt bench qp --quick --backend cuda)" 90 \
    "$build/dopt" bench qp --quick --backend cuda --min-time 0.2 --json "$build/bench-qp-cuda.json"
  # the two small-n layouts on the same instances (B = 1024, n = 32)
  for layout in warp instance; do
    run_step "CUDA benchmark, $layout layout (B = 1024, n = 32)" 30 \
      env DOPT_QP_LAYOUT=$layout "$build/dopt" bench qp --batch 1024 --n 32 --backend cuda --min-time 0.2 \
      --json "$build/bench-qp-cuda-$layout.json"
  done
  run_step "CPU and downstream tests (ctest -LE cuda)" 150 \
    ctest --test-dir "$build" -LE cuda --output-on-failure -j "$jobs" --timeout 120
  if [ -n "$sanitizer" ]; then
    run_step "compute-sanitizer memcheck + racecheck" 150 "$0" __sanitize "$build" 120 "$launches" "$sanitizer"
  else
    skip_step "compute-sanitizer memcheck + racecheck" "compute-sanitizer not found next to nvcc (package cuda-sanitizer-X-Y)"
  fi
else
  for s in "CUDA tests (ctest -L cuda)" "CUDA QP tests, per-instance layout" "CUDA benchmarks" "CPU and downstream tests" "compute-sanitizer memcheck + racecheck"; do
    skip_step "$s" "the build failed"
  done
fi

# ---- summary ------------------------------------------------------------
failed=0
say ""
say "==== gpu-check summary ($(($(date +%s) - t_start))s, GPU: $(echo "$gpus" | head -n 1 | cut -c1-60), architectures $arch)"
for i in "${!names[@]}"; do
  say "$(printf '  %-58s %-36s %4ss' "${names[$i]}" "${results[$i]}" "${seconds[$i]}")"
  case ${results[$i]} in PASS) ;; *) failed=1 ;; esac
done
if [ "$failed" = 0 ]; then say "gpu-check: all steps passed"; else say "gpu-check: FAILED (see above)"; fi
say "gpu-check: log $log"
exit "$failed"
