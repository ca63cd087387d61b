# The two set-up commands (README.md): `make run` and `make test`. Both install missing Debian
# packages, configure and build first.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run stop test unit sim cluster sanitize bench bench-gossip bench-kafka-vs bench-scale bench-compare soak fuzz test-vagrant partition-soak clean install deb vagrant-package

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

# Installs what the package holds (packaging/packaging.cmake) under PREFIX (default /usr/local) and
# /etc/chronik; DESTDIR stages it elsewhere. docs/operations.md "Installing the package".
PREFIX ?=
install: build
	$(if $(DESTDIR),DESTDIR=$(DESTDIR)) cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

# The Debian package chronik-server_<version>_<arch>.deb in $(BUILD)/packages (CPack).
deb: build
	cd $(BUILD) && cpack -G DEB -B packages

# The package the Vagrant nodes install (vagrant/.pkg/, rsynced with the repository; vagrant/README.md).
vagrant-package: deb
	rm -f vagrant/.pkg/chronik-server_*.deb
	mkdir -p vagrant/.pkg
	cp $(BUILD)/packages/chronik-server_*.deb vagrant/.pkg/

test: build
	scripts/test-all.sh $(BUILD)

sanitize: deps
	cmake -S . -B build-asan -DCHRONIK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-asan -j$(JOBS) --target sanitized_suites
	cd build-asan && ctest --output-on-failure -L unit

bench: build
	$(BUILD)/bench/raft/raft_core_bench
	$(BUILD)/bench/storage/storage_bench
	$(BUILD)/bench/storage/large_frame_bench
	$(BUILD)/bench/kafka/cleaner_bench
	$(BUILD)/bench/transport/transport_bench
	/usr/bin/python3 bench/formation/formation_bench.py --server $(BUILD)/daemon/chronik-server
	CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh
	/usr/bin/python3 bench/kafka/kafka_bench.py --server $(BUILD)/daemon/chronik-server --load $(BUILD)/bench/kafka/kafka_load
	/usr/bin/python3 bench/kafka/tls_bench.py --server $(BUILD)/daemon/chronik-server --load $(BUILD)/bench/kafka/kafka_load
	/usr/bin/python3 bench/load/load_bench.py --server $(BUILD)/daemon/chronik-server
	tests/cluster/venv_run.sh $(BUILD)/venv-admin tests/cluster/admin-requirements.txt bench/drain/rolling_restart_bench.py --server $(BUILD)/daemon/chronik-server
	$(MAKE) bench-gossip

bench-gossip: build
	CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh
	bench/gossip/run.sh $(BUILD)

# chronik beside Apache Kafka 4.4.0 (default durability and log.flush.interval.messages=1), the same
# loads in one call (issue 20; docs/performance.md "Side by side with Apache Kafka (issue 20)").
# Not in `make bench`: the first run fetches Kafka from Maven Central, a full run takes about 20
# minutes. QUICK=1: small sizes, checks the plumbing only; ONLY=produce,consume,...: some figures.
bench-kafka-vs: build
	/usr/bin/python3 bench/side-by-side/side_by_side.py --server $(BUILD)/daemon/chronik-server \
		--load $(BUILD)/bench/kafka/kafka_load $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

# Idle cost against the partition count (docs/performance.md "Scale"): COUNTS (default
# 1,1000,3000,10000); KAFKA=1 also measures the Kafka anchor at up to 3000 partitions.
bench-scale: build
	/usr/bin/python3 bench/scale/scale_bench.py --server $(BUILD)/daemon/chronik-server \
		$(if $(COUNTS),--counts $(COUNTS)) $(if $(KAFKA),--kafka)

# make bench's benchmarks for commit BASE and the working tree (in $(BUILD)), interleaved in one call,
# head/base against a 5% band (docs/performance.md "Comparing two commits"). BENCHES: a subset of
# raft storage transport formation kafka load gossip; QUICK=1: shorter runs, a smoke test only.
# Only the Kafka bench needs a bench package (etcd-server, its anchor).
BASE ?=
BENCHES ?=
QUICK ?=
bench-compare:
	$(if $(BASE),,$(error usage: make bench-compare BASE=<commit> [BENCHES="raft storage"] [QUICK=1]))
	$(if $(filter kafka,$(or $(BENCHES),kafka)),CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh)
	bench/compare.sh $(BASE) --build-dir $(BUILD) $(if $(QUICK),--quick) $(BENCHES)

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

# libFuzzer (clang-19 tree in build-fuzz): the input-boundary targets for FUZZ_RUNS executions each on
# a scratch copy of tests/fuzz/corpus, and WAL recovery for FUZZ_SECONDS (tests/fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 1000000
FUZZERS = kafka_request_fuzz record_batch_fuzz gossip_fuzz raft_batch_fuzz config_fuzz wal_recovery_fuzz
fuzz:
	CHRONIK_FUZZ_DEPS=1 scripts/install-deps.sh
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j$(JOBS) --target $(FUZZERS)
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run_fuzzers.sh

# As root: boots 3 nodes provisioned by vagrant/provision.sh in systemd-nspawn containers (Debian 12
# debootstrap image cached in build-vagrant/), each installing the .deb built from $(BUILD), and checks
# that they form one cluster. Minutes; not in `make test`.
test-vagrant: build
	CHRONIK_NSPAWN_DEPS=1 scripts/install-deps.sh
	CHRONIK_BUILD_DIR=$(abspath $(BUILD)) tests/vagrant/nspawn_boot_test.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
