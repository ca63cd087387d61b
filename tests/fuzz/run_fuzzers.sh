#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target of build-fuzz for FUZZ_RUNS executions (default
# 1,000,000) on a scratch copy of its checked-in corpus (tests/fuzz/corpus/<target>), so the seeds
# are never polluted, and WAL recovery for FUZZ_SECONDS. Prints executions and crashes per target;
# a crashing input is kept in build-fuzz/fuzz-out/<target>/artifacts. Exits 1 if any target crashed.
#   tests/fuzz/run_fuzzers.sh [target...]     (default: all)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/build-fuzz/tests/fuzz"
out="$top/build-fuzz/fuzz-out"
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
((${#targets[@]})) || targets=(kafka_request record_batch gossip raft_batch config wal_recovery)
symbolizer=/usr/lib/llvm-19/bin/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer

failed=0
summary=()
for t in "${targets[@]}"; do
  work="$out/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if [[ $t == wal_recovery ]]; then
    limit=(-max_total_time="$seconds")  # seeds come from the smoke test's generator, none checked in
  else
    cp "$top/tests/fuzz/corpus/$t"/* "$work/corpus/"
    limit=(-runs="$runs")
  fi
  echo "== $t: ${limit[*]}"
  start=$SECONDS
  "$bin/${t}_fuzz" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  if ((rc != 0)); then
    failed=1
    crashes=$((crashes > 0 ? crashes : 1))
    grep -E "ERROR|fuzz: |SUMMARY|Test unit written" "$work/log" | head -20
  fi
  line=$(printf '%-14s %10s executions  %d crashes  %4d s  (log: %s)' "$t" "${execs:-?}" "$crashes" \
    $((SECONDS - start)) "${work#"$top"/}/log")
  echo "$line"
  summary+=("$line")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed
