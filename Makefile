# Thin wrapper: everything real lives in CMakeLists.txt. See README.md.
#   make test        install Debian deps, build, run every test (plain and ASan+UBSan),
#                    and compile a Release build (no tests: it must build warning-free)
#   make run         build and start the demo (proxy + example agent server)
#   make run-cluster the same with three replicas on PostgreSQL behind nginx
#   make deb         build/authrelay_VERSION_ARCH.deb (cpack; see README "Install")
#   make bench-parser  parser micro-benchmark
#   make bench       load benchmark: direct vs nginx vs authrelay (under 15 min)
#   make bench-quick same, small sizes (about a minute)
#   make bench-replicas  cross-replica resume latency: PostgreSQL replicas vs one SQLite process
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_RELEASE ?= build-release
CMAKE_FLAGS ?=

DEB_PACKAGES := build-essential cmake pkg-config clang libclang-rt-14-dev \
	libuv1-dev libyajl-dev libcurl4-openssl-dev node-llhttp libsqlite3-dev chromium \
	libssl-dev libpq-dev postgresql nodejs npm curl python3 dpkg-dev nginx

.PHONY: all deps build build-asan build-release test test-plain test-asan run run-cluster deb bench-parser bench bench-quick bench-replicas clean

all: build

deps:
	@scripts/deps.sh $(DEB_PACKAGES)

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_C_COMPILER=clang -DAUTHRELAY_SANITIZE=ON \
		-DAUTHRELAY_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# -O2/-O3 bring warnings of their own (-Warray-bounds, -Wstringop-*) under
# -Werror; this build only has to compile.
build-release: deps
	cmake -S . -B $(BUILD_RELEASE) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_RELEASE) -j $(JOBS)

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

test: test-plain test-asan build-release

run: build
	@scripts/run.sh $(BUILD)

# scripts/run-cluster.py: PostgreSQL (a throwaway cluster), three replicas,
# nginx round-robin in front, the example agent server; Ctrl-C stops it all.
run-cluster: build
	@scripts/run-cluster.py $(BUILD)

deb: build
	cd $(BUILD) && cpack -G DEB

bench-parser: build
	$(BUILD)/bench-parser

# Load benchmark (bench/README.md "Load benchmark"): installs nginx, h2load
# (nghttp2-client), perf (linux-perf: syscall counts) and gnuplot the way the
# other targets install their packages, then runs the driver.
BENCH_PACKAGES := nginx nghttp2-client linux-perf gnuplot-nox

bench: build
	@scripts/deps.sh $(BENCH_PACKAGES)
	python3 bench/run_bench.py --build-dir $(BUILD)
	python3 bench/replica_resume.py --build-dir $(BUILD)

bench-quick: build
	@scripts/deps.sh $(BENCH_PACKAGES)
	python3 bench/run_bench.py --quick --build-dir $(BUILD)
	python3 bench/replica_resume.py --pauses 100 --build-dir $(BUILD)

# Cross-replica resume latency alone (bench/README.md): its own throwaway
# PostgreSQL cluster (tests/pg/pgcluster.py; postgresql is in DEB_PACKAGES).
bench-replicas: build
	python3 bench/replica_resume.py --build-dir $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_RELEASE)
