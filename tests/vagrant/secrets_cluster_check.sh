#!/usr/bin/env bash
# Part of ctest `vagrant_static` (tests/vagrant/static_check.sh): do the cluster secrets the
# Vagrantfile makes on the host (vagrant/plan.rb ensure_secrets: admin token, gossip key, a CA made
# with Ruby's OpenSSL) work the way vagrant/provision.sh uses them? Without a VM: two nodes on
# loopback, each with its own copy of the CA issuing its own certificate with
# `chronik-server certs --dir DIR --node ID --data-dir DATA` (as each VM's provisioner does), each started with the
# node.toml security keys the provisioner writes. Passes when both see each other alive, every node
# has accepted RPC connections over TLS and none in plaintext (load.rpc of /v1/cluster) and logs
# gossip sealed with one key. Bounded waits; stops only the processes it started, by PID.
#   secrets_cluster_check.sh PATH/TO/chronik-server
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
server=$(realpath "$1")

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for i in 1 2; do [[ -f $tmp/node-$i.log ]] && sed "s/^/[node $i] /" "$tmp/node-$i.log" | tail -20 >&2; done
  exit 1
}

# The host side: what the Vagrantfile makes next to itself.
ruby -e 'require ARGV[0]; ChronikPlan.ensure_secrets(ARGV[1])' "$top/vagrant/plan.rb" "$tmp/host"
gossip_key=$(tr -d ' \n' <"$tmp/host/.gossip_key")

# Loopback addresses of their own and ports from this process id, so that parallel runs and other
# tests on 127.0.0.x do not collide.
base=$((30000 + ($$ % 500) * 8))
addr() { echo "127.0.78.$1"; }
for i in 1 2; do
  # The VM side: the provisioner's copy of the CA in a private directory, then `certs` for this node.
  pki="$tmp/vm-$i/pki"
  install -d -m 0700 "$pki"
  install -m 0644 "$tmp/host/.pki/ca.crt" "$pki/ca.crt"
  install -m 0600 "$tmp/host/.pki/ca.key" "$pki/ca.key"
  "$server" certs --dir "$pki" --node "$i" --data-dir "$tmp/vm-$i/data" >"$tmp/certs-$i.log" 2>&1 || { cat "$tmp/certs-$i.log" >&2; fail "certs for node $i"; }
  rm -f "$pki/ca.key"
  [[ $(stat -c %a "$pki/node-$i.key") == 600 ]] || fail "node-$i.key is not mode 0600"
  cat >"$tmp/vm-$i/node.toml" <<EOF
gossip_key = "$gossip_key"
rpc_tls_ca_file = "$pki/ca.crt"
rpc_tls_cert_file = "$pki/node-$i.crt"
rpc_tls_key_file = "$pki/node-$i.key"
EOF
  chmod 0600 "$tmp/vm-$i/node.toml"
done
for i in 1 2; do
  other=$((3 - i))
  port() { echo $((base + ($1 - 1) * 4 + $2)); }
  "$server" start --config "$tmp/vm-$i/node.toml" --node-id "$i" --bind "$(addr "$i")" \
    --gossip-port "$(port "$i" 0)" --rpc-port "$(port "$i" 1)" --kafka-port "$(port "$i" 2)" \
    --admin-port "$(port "$i" 3)" --admin-bind "$(addr "$i")" --admin-token-file "$tmp/host/.admin_token" \
    --seed "$(addr "$other"):$(port "$other" 0)" --data-dir "$tmp/vm-$i/data" --bootstrap-expect 2 \
    --preset local --cluster-name vagrant-secrets-check >"$tmp/node-$i.log" 2>&1 &
  pids+=($!)
done

token=$(tr -d ' \n' <"$tmp/host/.admin_token")
# rpc_state I: "ALIVE TLS PLAINTEXT" from node I's /v1/members and /v1/cluster.
rpc_state() {
  local a members cluster
  a="$(addr "$1"):$((base + ($1 - 1) * 4 + 3))"
  members=$(curl -sf --max-time 2 -H "Authorization: Bearer $token" "http://$a/v1/members") || return 1
  cluster=$(curl -sf --max-time 2 -H "Authorization: Bearer $token" "http://$a/v1/cluster") || return 1
  python3 -c 'import json, sys
m, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = c["load"]["rpc"]
print(sum(x["state"] == "alive" for x in m), r["tls_connections"], r["plaintext_connections"])' "$members" "$cluster"
}
deadline=$((SECONDS + 30))
for i in 1 2; do
  until read -r alive tls plain < <(rpc_state "$i") && ((alive == 2 && tls > 0 && plain == 0)); do
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a node exited (config refused?)"; done
    ((SECONDS < deadline)) || fail "node $i: not 2 alive members with RPC over TLS after 30 s: $(rpc_state "$i" || echo no answer)"
    sleep 0.2
  done
  grep -q "gossip encryption on: 1 key(s), incoming verified, outgoing sealed" "$tmp/node-$i.log" ||
    fail "node $i does not log gossip sealed with one key"
  echo "vagrant secrets, node $i: 2 alive members, RPC connections accepted over TLS: $tls, plaintext: $plain, gossip sealed"
done
echo "vagrant secrets: a Ruby-made CA, certificates from chronik-server certs and the gossip key form a cluster"
