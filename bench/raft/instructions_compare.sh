#!/bin/sh
# Instructions per committed entry of the Raft core at a base commit and at the working tree
# (docs/performance.md "The one-owner refactor side by side (issue 14)"). Wall-clock rates on this
# shared 2-vCPU machine move by more than the 5% band from run to run; an instruction count of a
# fixed amount of work does not, whatever else the machine runs, so it can tell a 3% change apart.
#
#   bench/raft/instructions_compare.sh BASE_COMMIT [--build-dir DIR] [--worktree DIR]
#
# Both sides run the working tree's raft_core_bench.cc (copied into the base checkout; it compiles
# against both cores), so the driver is the same and only the core differs. For each batch size it
# runs `raft_core_bench --entries N --batch B` under callgrind, counting only fixed_work() (N
# proposals from an elected leader until all commit, the 3-node cluster's setup left out), and
# prints instructions per entry, base and head, and head/base. Exit status 1 if head/base > 1.05
# for any batch size. Needs valgrind. Takes about 4 minutes (callgrind runs some 50x slower).
#
#   --build-dir DIR  the working tree's build (default build, as make uses); configured if new
#   --worktree DIR   where BASE is checked out (default ../raft-instr-base-<short> beside the
#                    repository); reused when it is already at BASE, built in DIR/build-instr
set -eu

usage() {
  echo "usage: $0 BASE_COMMIT [--build-dir DIR] [--worktree DIR]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
repo=$(cd "$(dirname "$0")/../.." && pwd)
base=$(git -C "$repo" rev-parse --verify "$1^{commit}") || usage
shift
short=$(git -C "$repo" rev-parse --short "$base")
build="$repo/build"
worktree="$(dirname "$repo")/raft-instr-base-$short"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    --worktree) [ $# -ge 2 ] || usage; worktree=$2; shift 2 ;;
    *) usage ;;
  esac
done
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
case "$build" in /*) ;; *) build="$repo/$build" ;; esac

# Batch size and entries per run. Whole multiples of the bench's 1024 cycles between compactions,
# so both sides compact the same number of times; about 10-40 s each under callgrind.
cases="1:65536 16:262144 256:524288"

say() { echo "[instructions_compare $(date +%H:%M:%S)] $*" >&2; }

# The working tree.
[ -f "$build/CMakeCache.txt" ] || cmake -S "$repo" -B "$build" >/dev/null
say "building raft_core_bench in $build"
nice cmake --build "$build" -j2 --target raft_core_bench >/dev/null

# The base: its own checkout, with the working tree's bench driver.
if [ -d "$worktree" ]; then
  [ "$(git -C "$worktree" rev-parse HEAD)" = "$base" ] || {
    echo "$worktree exists and is not at $short; remove it (git worktree remove) or pass --worktree" >&2
    exit 2
  }
else
  say "checking $short out in $worktree"
  git -C "$repo" worktree add --detach "$worktree" "$base" >/dev/null 2>&1
fi
cp "$repo/bench/raft/raft_core_bench.cc" "$worktree/bench/raft/raft_core_bench.cc"
[ -f "$worktree/build-instr/CMakeCache.txt" ] || cmake -S "$worktree" -B "$worktree/build-instr" >/dev/null
say "building raft_core_bench in $worktree/build-instr"
nice cmake --build "$worktree/build-instr" -j2 --target raft_core_bench >/dev/null

out="$build/instructions-compare/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
head_commit=$(git -C "$repo" rev-parse --short HEAD)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no -- consensus bench/raft base | head -n 1)

# Prints the instructions counted in fixed_work for one side and case.
count() {  # side binary batch entries
  file="$out/callgrind.$1.batch$3.out"
  valgrind --tool=callgrind --toggle-collect='*fixed_work*' --callgrind-out-file="$file" \
    "$2" --entries "$4" --batch "$3" >"$out/$1.batch$3.txt" 2>"$out/$1.batch$3.log" || {
    echo "$1 batch $3 failed; see $out/$1.batch$3.log" >&2
    exit 1
  }
  sed -n 's/^totals: //p' "$file"
}

fail=0
table="| batch | entries | base $short instr/entry | head $head_commit${dirty:+ (+ working tree)} instr/entry | head/base | within 5% |
|---|---|---|---|---|---|"
for c in $cases; do
  batch=${c%%:*}
  entries=${c##*:}
  say "batch $batch, $entries entries: base"
  b=$(count base "$worktree/build-instr/bench/raft/raft_core_bench" "$batch" "$entries")
  say "batch $batch, $entries entries: head"
  h=$(count head "$build/bench/raft/raft_core_bench" "$batch" "$entries")
  row=$(awk -v b="$b" -v h="$h" -v n="$entries" -v batch="$batch" 'BEGIN {
    r = h / b
    printf "| %s | %d | %.0f | %.0f | %.3f | %s |", batch, n, b / n, h / n, r, (r <= 1.05 ? "yes" : "NO")
    exit (r <= 1.05 ? 0 : 1)
  }') || fail=1
  table="$table
$row"
done
echo "$table" | tee "$out/table.md"
say "callgrind files in $out (callgrind_annotate FILE shows where the instructions go)"
exit $fail
