#!/usr/bin/env bash
# ctest `vagrant_static` (label vagrant): checks vagrant/ without a hypervisor, in seconds.
#   - shellcheck on the provisioner and on these test scripts (when shellcheck is installed);
#   - tests/vagrant/plan_test.rb on the layout the Vagrantfile computes (when ruby is installed);
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
