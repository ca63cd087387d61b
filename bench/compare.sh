#!/bin/sh
# Side-by-side benchmarks of a base commit and the working tree (docs/performance.md "Comparing two
# commits"): bench/compare.sh BASE_COMMIT [--build-dir DIR] [--rounds R] [--quick] [BENCH...]
exec /usr/bin/python3 "$(dirname "$0")/compare.py" "$@"
