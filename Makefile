# The two set-up commands (README.md): `make run` and `make test`. Both install missing Debian
# packages, configure and build first.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run stop test unit sim cluster sanitize bench clean

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
	cmake -S . -B build-asan -DCHRONIK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -L unit

bench: build
	CHRONIK_BENCH_DEPS=1 scripts/install-deps.sh
	bench/gossip/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
