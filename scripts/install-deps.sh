#!/usr/bin/env bash
# Installs the Debian 12 packages chronik needs to build, test and run. Idempotent: only missing
# packages are installed, and apt-get update runs only when something is missing.
set -euo pipefail

# True when $1 is a go tool of version 1.25 or newer.
go_at_least_1_25() {
  local v
  v=$(GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null) || return 1
  [[ $v =~ ^go1\.(2[5-9]|[3-9][0-9])([.a-z]|$) ]]  # go1.25, go1.26.8, go1.27rc1
}

packages=(
  build-essential cmake ccache pkg-config
  libasio-dev libprotobuf-dev protobuf-compiler capnproto libcapnp-dev
  libspdlog-dev libtoml11-dev libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libssl-dev
  libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  curl iproute2 procps python3
  kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard python3-protobuf
  python3-cryptography
  iptables libnetfilter-queue-dev libfaketime faketime
  chromium  # headless, renders the status page in tests/cluster/status_page_test.py
)
# The Kafka benchmark's anchor is etcd. The gossip benchmark's anchor (bench/gossip/memberlist_anchor)
# is a Go module built against memberlist 0.2.2 and 0.7.0, which the go tool fetches through the
# module proxy; 0.7.0 needs go >= 1.25, newer than Debian 12's golang-go (1.19), so it is built with
# the machine's Go (/usr/local/go here) and no Debian package is installed for it.
if [[ "${CHRONIK_BENCH_DEPS:-0}" == 1 ]]; then
  packages+=(etcd-server)
  if ! go_at_least_1_25 go && ! go_at_least_1_25 /usr/local/go/bin/go; then  # the ones run.sh tries
    echo "warning: bench/gossip/run.sh needs go >= 1.25, on PATH or in /usr/local/go; Debian 12's golang-go (1.19) is too old" >&2
  fi
fi
# libFuzzer targets (make fuzz) need clang >= 19 for libstdc++ 12's std::expected.
if [[ "${CHRONIK_FUZZ_DEPS:-0}" == 1 ]]; then
  packages+=(clang-19 libclang-rt-19-dev llvm-19)  # llvm-19: llvm-symbolizer for readable crash stacks
fi
# tests/vagrant: `vagrant validate` and shellcheck check vagrant/ in `make test`; the VMs themselves
# do without them (vagrant/provision.sh sets CHRONIK_VAGRANT_DEPS=0).
if [[ "${CHRONIK_VAGRANT_DEPS:-1}" == 1 ]]; then
  packages+=(vagrant shellcheck)
fi
# `make test-vagrant` boots the provisioned nodes in a debootstrap image with systemd-nspawn.
if [[ "${CHRONIK_NSPAWN_DEPS:-0}" == 1 ]]; then
  packages+=(debootstrap systemd-container)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "missing packages; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
