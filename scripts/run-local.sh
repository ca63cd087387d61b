#!/usr/bin/env bash
# `make run`: starts a local 3-node cluster on 127.0.0.1-3 in a random order, each node seeded
# with the other two, waits until every node lists all 3 members alive, then all 3 brokers
# registered in `__meta`, then until Kafka Metadata (kcat -L) lists all 3 brokers on every node,
# and prints the members, the cluster status and kcat produce/consume lines.
# `scripts/run-local.sh --stop` stops the nodes it started (by PID).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$top/.run"
nodes=(1 2 3)

stop_nodes() {
  for i in "${nodes[@]}"; do
    pid_file="$run_dir/node-$i.pid"
    [[ -f "$pid_file" ]] || continue
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null && grep -q chronik-server "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "stopped node $i (pid $pid)"
    fi
    rm -f "$pid_file"
  done
}

if [[ "${1:-}" == "--stop" ]]; then
  stop_nodes
  exit 0
fi

server=${1:-"$top/build/daemon/chronik-server"}
[[ -x "$server" ]] || { echo "chronik-server not found at $server (run make build)" >&2; exit 1; }
mkdir -p "$run_dir"
stop_nodes

# One admin token for the whole local cluster (docs/security.md "Admin HTTP"): every node reads it,
# so the CLI's requests and keyring propagation between nodes carry the same bearer token.
token_file="$run_dir/admin_token"
if [[ ! -s "$token_file" ]]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file")
fi

addr() { echo "127.0.0.$1"; }
for i in $(printf '%s\n' "${nodes[@]}" | shuf); do
  seeds=()
  for j in "${nodes[@]}"; do [[ $j == "$i" ]] || seeds+=(--seed "$(addr "$j"):7946"); done
  "$server" start --node-id "$i" --bind "$(addr "$i")" --data-dir "$run_dir/node-$i" \
    --admin-token-file "$token_file" --bootstrap-expect 3 --preset local "${seeds[@]}" >"$run_dir/node-$i.log" 2>&1 &
  echo $! >"$run_dir/node-$i.pid"
  echo "started node $i on $(addr "$i") (pid $!, log .run/node-$i.log)"
  sleep "0.$((RANDOM % 5))"  # a random start order with gaps, as users start nodes
done

# wait_all PATH PATTERN WHAT: waits (bounded, 30 s) until every node's admin PATH shows PATTERN 3 times.
wait_all() {
  local path=$1 pattern=$2 what=$3 deadline=$((SECONDS + 30))
  for i in "${nodes[@]}"; do
    until [[ $(curl -sf -H "Authorization: Bearer $(cat "$token_file")" "http://$(addr "$i"):9644$path" | grep -oE "$pattern" | wc -l) -eq 3 ]]; do
      if ((SECONDS > deadline)); then
        echo "node $i does not show $what after 30 s; see .run/node-$i.log" >&2
        exit 1
      fi
      sleep 0.1
    done
  done
}
wait_all /v1/members '"state": *"alive"' "3 alive members"
# Then until each node's /v1/cluster lists the 3 brokers registered in `__meta`.
wait_all /v1/cluster '"kafka_address"' "3 registered brokers"

# Then until Kafka Metadata on every node lists the 3 brokers.
deadline=$((SECONDS + 30))
for i in "${nodes[@]}"; do
  until kcat -b "$(addr "$i"):9092" -L -m 2 2>/dev/null | grep -q "^ 3 brokers:"; do
    if ((SECONDS > deadline)); then
      echo "node $i's Kafka Metadata does not list 3 brokers after 30 s; see .run/node-$i.log" >&2
      exit 1
    fi
    sleep 0.1
  done
done

echo
"$server" cluster members --admin "$(addr 1):9644" --admin-token-file "$token_file"
echo
"$server" cluster status --admin "$(addr 1):9644" --admin-token-file "$token_file"
echo
kcat -b "$(addr 1):9092" -L -m 2
echo
echo "All 3 nodes see each other, are registered brokers and answer Kafka Metadata. Stop them with: make stop"
echo "Produce and consume with kcat:"
echo "  echo hello | kcat -P -b 127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092 -t demo"
echo "  kcat -C -b 127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092 -t demo -e"
