#!/usr/bin/env bash
# ctest `vagrant_static` (label vagrant): checks vagrant/ without a hypervisor, in seconds.
#   - shellcheck on the provisioner and on these test scripts (when shellcheck is installed);
#   - tests/vagrant/plan_test.rb on the layout the Vagrantfile computes and the cluster secrets it
#     makes (when ruby is installed);
#   - that the provisioner gives each node its certificate (issued with `chronik-server certs` from
#     the cluster CA, owner-only), the gossip key and mutual TLS between nodes in node.toml (0640);
#   - with a chronik-server binary as $1 (ctest passes it) and ruby: the secrets the Vagrantfile makes
#     work as the provisioners use them. Two nodes, each issuing its own certificate from the
#     Ruby-made CA as a VM would, form a cluster on loopback with RPC over mutual TLS and the gossip
#     key (load.rpc.tls_connections > 0, no plaintext);
#   - `vagrant validate --ignore-provider` with NODES=3 and NODES=5, and that bad NODES values are
#     refused. Without vagrant this part prints "skipped: vagrant not installed" and exits 0
#     (scripts/install-deps.sh installs it on Debian 12).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

bash -n "$top/vagrant/provision.sh"
if command -v shellcheck >/dev/null; then
  shellcheck "$top/vagrant/provision.sh" "$top"/tests/vagrant/*.sh
  echo "shellcheck: vagrant/provision.sh and tests/vagrant/*.sh clean"
else
  echo "skipped shellcheck: shellcheck not installed"
fi

if command -v ruby >/dev/null; then
  ruby "$top/tests/vagrant/plan_test.rb"
else
  echo "skipped plan_test.rb: ruby not installed"
fi

# The provisioner's security parts (docs/security.md), read from the script itself: each pattern is
# the provisioner's literal text, `$` and all.
prov="$top/vagrant/provision.sh"
expect_in_provisioner() {
  grep -qF -- "$1" "$prov" || { echo "FAIL: vagrant/provision.sh does not $2 (no line with: $1)" >&2; exit 1; }
}
# shellcheck disable=SC2016
{
  expect_in_provisioner '"$binary" certs --dir "$work/pki" --node "$node_id" --data-dir "$state_dir"' "issue the node certificate, bound to the node's uuid, with chronik-server certs"
  expect_in_provisioner 'install_if_changed "$work/pki/node-$node_id.key" "$node_key" 600 chronik:chronik' "install the node key owner-only"
  expect_in_provisioner 'install_if_changed "$work/pki/node-$node_id.crt" "$node_crt" 600 chronik:chronik' "install the node certificate owner-only"
  expect_in_provisioner 'rm -f "$work/pki/ca.key"' "remove its copy of the CA key"
  expect_in_provisioner 'gossip_key = "$gossip_key"' "write gossip_key into node.toml"
  expect_in_provisioner 'rpc_tls_ca_file = "$tls_dir/ca.crt"' "write rpc_tls_ca_file into node.toml"
  expect_in_provisioner 'rpc_tls_cert_file = "$node_crt"' "write rpc_tls_cert_file into node.toml"
  expect_in_provisioner 'rpc_tls_key_file = "$node_key"' "write rpc_tls_key_file into node.toml"
  expect_in_provisioner 'install_if_changed "$work/node.toml" "$config" 640 root:chronik' "keep node.toml (it holds the gossip key) from other users"
}
if grep -qE 'rpc_tls_verify_(incoming|outgoing) *= *false' "$prov"; then
  echo "FAIL: vagrant/provision.sh switches a TLS verification off" >&2
  exit 1
fi
grep -q 'ChronikPlan.ensure_secrets(__dir__)' "$top/vagrant/Vagrantfile" ||
  { echo "FAIL: the Vagrantfile does not make the cluster secrets (ChronikPlan.ensure_secrets)" >&2; exit 1; }
echo "provisioner: node certificate from chronik-server certs (0600, chronik), gossip key and rpc_tls_* in node.toml (0640)"

server=${1:-}
if [[ -n $server && -x $server ]] && command -v ruby >/dev/null; then
  "$top/tests/vagrant/secrets_cluster_check.sh" "$server"
else
  echo "skipped the two-node check of the Vagrant secrets: no chronik-server binary given or no ruby"
fi

if ! command -v vagrant >/dev/null; then
  echo "skipped: vagrant not installed"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Vagrant's state goes to a scratch directory: nothing is written to vagrant/.vagrant or ~/.vagrant.d,
# and nothing is fetched (no version checkpoint, no box).
export VAGRANT_CWD="$top/vagrant" VAGRANT_HOME="$tmp/home" VAGRANT_DOTFILE_PATH="$tmp/dotfile"
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
unset BOOTSTRAP_EXPECT CHRONIK_SUBNET CHRONIK_BOX

for n in 3 5; do
  out=$(NODES=$n vagrant validate --ignore-provider 2>&1) || { echo "$out"; echo "FAIL: NODES=$n vagrant validate" >&2; exit 1; }
  machines=$(grep -c '^==> node[0-9]*: Ignoring provider config' <<<"$out" || true)
  if [[ $machines -ne $n ]] || ! grep -q 'Vagrantfile validated successfully' <<<"$out"; then
    echo "$out"
    echo "FAIL: NODES=$n: expected $n machines validated, saw $machines" >&2
    exit 1
  fi
  echo "vagrant validate --ignore-provider, NODES=$n: $machines machines, valid"
done
if ! NODES=3 BOOTSTRAP_EXPECT=2 vagrant validate --ignore-provider >"$tmp/out" 2>&1; then
  cat "$tmp/out"
  echo "FAIL: NODES=3 BOOTSTRAP_EXPECT=2 vagrant validate" >&2
  exit 1
fi
for bad in 0 51 x; do
  if NODES=$bad vagrant validate --ignore-provider >"$tmp/out" 2>&1; then
    echo "FAIL: NODES=$bad was accepted" >&2
    exit 1
  fi
  grep -q 'NODES must be an integer from 1 to 50' "$tmp/out" ||
    { cat "$tmp/out"; echo "FAIL: NODES=$bad: no message naming NODES" >&2; exit 1; }
done
echo "vagrant validate refuses NODES=0, 51 and x with a message naming NODES"
echo "vagrant static checks: passed"
