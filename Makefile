# The two set-up commands (README.md): `make run` and `make test`. Both install missing Debian
# packages, configure and build first.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run stop test unit sim cluster sanitize bench bench-gossip soak fuzz test-vagrant partition-soak clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	scripts/run-local.sh $(BUILD)/daemon/chronik-server

stop:
	scripts/run-local.sh --stop

test: build
	scripts/test-all.sh $(BUILD)

sanitize: deps
	cmake -S . -B build-asan -DCHRONIK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -L unit

bench: build
	$(BUILD)/bench/raft/raft_core_bench
	$(BUILD)/bench/storage/storage_bench
	$(BUILD)/bench/transport/transport_bench
	/usr/bin/python3 bench/formation/formation_bench.py --server $(BUILD)/daemon/chronik-server
	CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh
	/usr/bin/python3 bench/kafka/kafka_bench.py --server $(BUILD)/daemon/chronik-server --load $(BUILD)/bench/kafka/kafka_load
	$(MAKE) bench-gossip

bench-gossip: build
	CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh
	bench/gossip/run.sh $(BUILD)

# Long seeded simulation runs: SCALE multiplies every simulation's seed count.
SCALE ?= 20
soak: build
	CHRONIK_SIM_SCALE=$(SCALE) $(BUILD)/tests/sim/gossip_sim
	CHRONIK_SIM_SCALE=$(SCALE) $(BUILD)/tests/sim/raft_sim

# Randomized partition faults on one 5-node cluster in network namespaces (root; docs/partition-testing.md).
# DURATION in seconds; SEED empty picks one (printed).
DURATION ?= 300
SEED ?=
partition-soak: build
	/usr/bin/python3 tests/partition/partition_suite.py --server $(BUILD)/daemon/chronik-server \
	  --nfq-delay $(BUILD)/tests/partition/nfq_delay --work-dir $(BUILD)/tests/partition/soak \
	  --soak $(DURATION) $(if $(SEED),--seed $(SEED))

# libFuzzer over WAL recovery for FUZZ_SECONDS (clang-19 tree in build-fuzz).
FUZZ_SECONDS ?= 60
fuzz:
	CHRONIK_FUZZ_DEPS=1 scripts/install-deps.sh
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j$(JOBS) --target wal_recovery_fuzz
	mkdir -p build-fuzz/corpus
	build-fuzz/tests/fuzz/wal_recovery_fuzz -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus

# As root: boots 3 nodes provisioned by vagrant/provision.sh in systemd-nspawn containers (Debian 12
# debootstrap image cached in build-vagrant/) and checks that they form one cluster. Minutes; not in `make test`.
test-vagrant: deps
	CHRONIK_NSPAWN_DEPS=1 scripts/install-deps.sh
	JOBS=$(JOBS) tests/vagrant/nspawn_boot_test.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
