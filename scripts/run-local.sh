#!/usr/bin/env bash
# `make run`: starts a local 3-node cluster on 127.0.0.1-3 in a random order, each node seeded
# with the other two, waits until every node lists all 3 members alive, then all 3 brokers
# registered in `__meta`, then until Kafka Metadata (kcat -L) lists all 3 brokers on every node,
# and prints the members, the cluster status and kcat produce/consume lines.
# Security (docs/security.md) is on between the nodes: mutual TLS on the RPC port with a development
# CA and node certificates from `chronik-server certs` (.run/pki/), gossip encrypted with a key from
# `chronik-server keygen` (.run/gossip_key), and the admin token (.run/admin_token). All three are
# made at the first run and kept, like the data directories. Kafka stays PLAINTEXT on loopback.
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

# Mutual TLS between the nodes (docs/security.md "Between nodes: mutual TLS"): a development CA and
# one certificate per node, bound to the node_uuid of its data directory. `certs` keeps the CA and
# every node file that still binds its directory's uuid, so this only fills in what is missing (the
# first run, a deleted file, a wiped data directory).
pki_dir="$run_dir/pki"
: >"$run_dir/certs.log"
for i in "${nodes[@]}"; do
  "$server" certs --dir "$pki_dir" --node "$i" --data-dir "$run_dir/node-$i" >>"$run_dir/certs.log" 2>&1 ||
    { cat "$run_dir/certs.log" >&2; echo "chronik-server certs failed" >&2; exit 1; }
done

# One gossip key for the cluster (docs/security.md "Gossip encryption"), kept across runs; each node
# also keeps it in its data directory's keyring.
key_file="$run_dir/gossip_key"
if [[ ! -s "$key_file" ]]; then
  (umask 077 && "$server" keygen >"$key_file.new" && mv -f "$key_file.new" "$key_file")
fi

addr() { echo "127.0.0.$1"; }
# node_config I: writes node I's TOML (mode 0600) with the keys that have no flag (rpc_tls_*) and the
# gossip key, which stays off the command line (any user can read a process's arguments).
node_config() {
  local conf="$run_dir/node-$1.toml"
  (
    umask 077
    {
      echo "# Written by scripts/run-local.sh at every run; the other settings are flags."
      echo "gossip_key = \"$(tr -d ' \n' <"$key_file")\""
      echo "rpc_tls_ca_file = \"$pki_dir/ca.crt\""
      echo "rpc_tls_cert_file = \"$pki_dir/node-$1.crt\""
      echo "rpc_tls_key_file = \"$pki_dir/node-$1.key\""
    } >"$conf"
  )
  echo "$conf"
}

for i in $(printf '%s\n' "${nodes[@]}" | shuf); do
  seeds=()
  for j in "${nodes[@]}"; do [[ $j == "$i" ]] || seeds+=(--seed "$(addr "$j"):7946"); done
  "$server" start --config "$(node_config "$i")" --node-id "$i" --bind "$(addr "$i")" --data-dir "$run_dir/node-$i" \
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
wait_all /v1/cluster '"kafka_addr"' "3 registered brokers"

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

# Then until every node has accepted RPC connections over TLS and none in plaintext, and serves the
# gossip keyring with one primary key (the same fingerprint everywhere): the security the nodes run.
# rpc_tls_summary I: "TLS PLAINTEXT" connection counts from node I's /v1/cluster load.rpc.
rpc_tls_summary() {
  curl -sf -H "Authorization: Bearer $(cat "$token_file")" "http://$(addr "$1"):9644/v1/cluster" |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["load"]["rpc"]; print(r["tls_connections"], r["plaintext_connections"])' 2>/dev/null
}
deadline=$((SECONDS + 30))
tls_text=""
for i in "${nodes[@]}"; do
  until read -r tls plain < <(rpc_tls_summary "$i") && ((tls > 0 && plain == 0)); do
    if ((SECONDS > deadline)); then
      echo "node $i shows no RPC connection over TLS (or a plaintext one) after 30 s: $(rpc_tls_summary "$i"); see .run/node-$i.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  tls_text+="${tls_text:+; }node $i: $tls TLS, $plain plaintext"
done
primaries=$(curl -sf -H "Authorization: Bearer $(cat "$token_file")" "http://$(addr 1):9644/v1/keyring" |
  python3 -c 'import json, sys
r = json.load(sys.stdin)
print(" ".join(sorted({k["fingerprint"] for n in r["nodes"] for k in n.get("keys", []) if k["primary"]})), len(r["nodes"]), r["ok"])' 2>/dev/null || true)
read -r fingerprint key_nodes key_ok rest <<<"$primaries"
if [[ -n ${rest:-} || ${key_nodes:-0} != 3 || ${key_ok:-0} != 3 ]]; then
  echo "the gossip keyring is not one primary key on 3 nodes: $primaries" >&2
  exit 1
fi

echo
"$server" cluster members --admin "$(addr 1):9644" --admin-token-file "$token_file"
echo
"$server" cluster status --admin "$(addr 1):9644" --admin-token-file "$token_file"
echo
kcat -b "$(addr 1):9092" -L -m 2
echo
echo "All 3 nodes see each other, are registered brokers and answer Kafka Metadata. Stop them with: make stop"
echo "Between the nodes (docs/security.md):"
echo "  RPC: mutual TLS, CA and node certificates in .run/pki (connections accepted: $tls_text)"
echo "  gossip: AES-256-GCM, key in .run/gossip_key (primary key $fingerprint on all 3 nodes)"
echo "  admin API: bearer token in .run/admin_token (--admin-token-file .run/admin_token)"
echo "Produce and consume with kcat:"
echo "  echo hello | kcat -P -b 127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092 -t demo"
echo "  kcat -C -b 127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092 -t demo -e"
