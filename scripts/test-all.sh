#!/usr/bin/env bash
# `make test`: every suite. ctest runs unit, sim and cluster (real processes) suites from the main
# build; then the unit and simulation suites run again under ASan+UBSan.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$top/build"}
jobs=${JOBS:-2}

echo "== unit, sim and cluster suites"
ctest --test-dir "$build" --output-on-failure -j"$jobs"

echo "== sanitizer build (ASan + UBSan): unit and sim suites"
cmake -S "$top" -B "$top/build-asan" -DCHRONIK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Only what the unit and sim suites run (tests/CMakeLists.txt sanitized_suites), not `all`.
cmake --build "$top/build-asan" -j"$jobs" --target sanitized_suites
# The simulations run a tenth of their seeds here: a sanitized build is several times slower.
CHRONIK_SIM_SCALE=0.1 ctest --test-dir "$top/build-asan" --output-on-failure -j"$jobs" -L 'unit|sim'
