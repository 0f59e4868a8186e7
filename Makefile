# Convenience front end to CMake. The two commands of the README:
#   make demo   builds dopt and runs its end-to-end learning demo
#   make test   builds dopt (CUDA backend too when nvcc is found) and runs the tests
# Further: make bench (throughput table), make compare (vs qpth, cvxpylayers,
# ProxSuite; builds a Python virtual environment), make compare-milp (full
# MILP vs predict-and-search, and HiGHS, on generated instances), make fuzz
# (the MPS reader under libFuzzer for 10 minutes), make sanitize (the tests
# under AddressSanitizer and UBSan), make clean.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build demo test bench compare compare-bern compare-ilp compare-milp fuzz sanitize clean

all: build

deps:
	@scripts/ensure-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log || (cat $(BUILD).configure.log; exit 1)
	@grep "dopt:" $(BUILD).configure.log || true

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/dopt demo

test: build
	@scripts/ensure-test-python.sh $(BUILD)/.testvenv
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

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

sanitize: deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DDOPT_WITH_CUDA=OFF -DDOPT_NATIVE=OFF \
		-DDOPT_SANITIZE=address,undefined > build-sanitize.configure.log || (cat build-sanitize.configure.log; exit 1)
	@cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L cpu

fuzz:
	scripts/run-fuzz.sh 600

clean:
	rm -rf $(BUILD) build-sanitize $(BUILD).configure.log build-sanitize.configure.log
