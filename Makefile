# Convenience front end to CMake. The two commands of the README:
#   make demo   builds dopt and runs its end-to-end learning demo
#   make test   builds dopt (CUDA backend too when nvcc is found) and runs the
#               tests: the C suite (ctest), then the Python package's
#               (pip install . into a venv, pytest)
# Further: make bench (throughput table), make compare (vs qpth, cvxpylayers,
# ProxSuite; builds a Python virtual environment), make compare-milp (full
# MILP vs predict-and-search, and HiGHS, on generated instances), make
# compare-learn (learned MILP predictors vs Cbc and HiGHS), make fuzz
# (the MPS reader under libFuzzer for 10 minutes), make sanitize (the tests
# under AddressSanitizer and UBSan), make gpu-check (everything CUDA on a
# machine with an NVIDIA GPU: scripts/gpu-check.sh), make clean.
#
# These builds are this project's own: warnings are errors and the code is
# tuned for this CPU (-march=native). CMake's defaults are portable (both off);
# to install dopt for other programs use CMake directly (docs/INSTALL.md).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
DEV_FLAGS := -DDOPT_WERROR=ON -DDOPT_NATIVE=ON

# CUDA: with a GPU visible, build for that GPU only (`native`: one
# architecture, the fastest compile, and the tests run on it). Without one,
# `make test` (CI) still compiles the backend when nvcc is found, for the
# default architectures and with warnings as errors, while the other targets
# do not compile CUDA code nothing here could run: a fresh build gets
# DOPT_WITH_CUDA=OFF, an existing one is left as it is configured.
# CUDA_ARCHS=90 make test: compile one architecture instead of the default list.
HAVE_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_GPU),yes)
TEST_CUDA_FLAGS := -DDOPT_WITH_CUDA=AUTO -DCMAKE_CUDA_ARCHITECTURES=native
RUN_CUDA_FLAGS := $(TEST_CUDA_FLAGS)
else
TEST_CUDA_FLAGS := -DDOPT_WITH_CUDA=AUTO $(if $(CUDA_ARCHS),-DCMAKE_CUDA_ARCHITECTURES=$(CUDA_ARCHS))
RUN_CUDA_FLAGS := $(if $(wildcard $(BUILD)/CMakeCache.txt),,-DDOPT_WITH_CUDA=OFF)
endif
CUDA_FLAGS = $(RUN_CUDA_FLAGS)
test: CUDA_FLAGS = $(TEST_CUDA_FLAGS)

.PHONY: all deps configure build demo test python-test bench compare compare-bern compare-ilp compare-milp compare-learn fuzz sanitize gpu-check clean

all: build

deps:
	@scripts/ensure-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(DEV_FLAGS) $(CUDA_FLAGS) $(CMAKE_FLAGS) > $(BUILD).configure.log || (cat $(BUILD).configure.log; exit 1)
	@grep "dopt:" $(BUILD).configure.log || true

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/dopt demo

test: build
	@scripts/ensure-test-python.sh $(BUILD)/.testvenv
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	scripts/python-test.sh

# The Python package alone: pip install . into build/.pyvenv, then pytest.
python-test:
	scripts/python-test.sh

bench: build
	./$(BUILD)/dopt bench qp
	./$(BUILD)/dopt bench bern
	./$(BUILD)/dopt bench diffusion

compare: build
	bench/run_compare.sh

compare-bern: build
	bench/run_compare.sh --bern

compare-ilp: build
	bench/run_compare.sh --ilp $(BUILD)/dopt

compare-milp: build
	bench/run_compare.sh --milp $(BUILD)/dopt

compare-learn: build
	bench/run_compare.sh --learn

sanitize: deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DDOPT_WITH_CUDA=OFF -DDOPT_NATIVE=OFF -DDOPT_WERROR=ON \
		-DDOPT_SANITIZE=address,undefined > build-sanitize.configure.log || (cat build-sanitize.configure.log; exit 1)
	@cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L cpu

fuzz:
	scripts/run-fuzz.sh 600

gpu-check:
	scripts/gpu-check.sh

clean:
	rm -rf $(BUILD) build-sanitize build-gpu-check $(BUILD).configure.log build-sanitize.configure.log
