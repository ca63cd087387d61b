#!/usr/bin/env bash
# Provisions one chronik node on Debian 12, as root: installs the chronik-server Debian package
# (the binary, the Type=notify unit chronik.service, the `chronik` system user and /var/lib/chronik;
# built once on the host by `make vagrant-package`, or here when the host has none), issues this
# node's certificate from the cluster CA (`chronik-server certs`), writes /etc/chronik/node.toml
# (with the gossip key and mutual TLS between nodes) and an /etc/hosts block, and enables and
# (re)starts chronik.service. Safe to rerun: every file is rewritten only when its content changes,
# the package is reinstalled only when its content changed, and the service restarts only when the
# package, the config or the certificate changed.
#
# The Vagrantfile passes the node's place in the cluster (computed in vagrant/plan.rb):
#   CHRONIK_NODE_ID           this node's id (1..)
#   CHRONIK_BIND              this node's own IPv4 address (bound and advertised)
#   CHRONIK_SEEDS             comma-separated IP:PORT gossip addresses of the other nodes
#   CHRONIK_BOOTSTRAP_EXPECT  nodes that must see each other before the cluster forms
#   CHRONIK_HOSTS             comma-separated "IP NAME" lines for /etc/hosts
# The cluster's shared secrets come with the repository, made on the host by the Vagrantfile
# (vagrant/plan.rb ensure_secrets): $CHRONIK_SRC/vagrant/.admin_token, .gossip_key and .pki/ca.crt,
# .pki/ca.key (docs/security.md). Without the gossip key or the CA the script stops: a node that made
# its own would never join the others.
# The package: $CHRONIK_SRC/vagrant/.pkg/chronik-server_*.deb, rsynced like the secrets; without it
# this VM builds one from the repository (CMake and CPack in CHRONIK_BUILD_DIR).
# Optional: CHRONIK_SRC (repository, default /vagrant), CHRONIK_BUILD_DIR (default
# /var/cache/chronik/build), CHRONIK_JOBS (default nproc), CHRONIK_BUILD_TYPE (default
# RelWithDebInfo; the last three only when building here), CHRONIK_CLUSTER_NAME (default chronik), CHRONIK_PRESET (default lan),
# CHRONIK_LOG_LEVEL (default info).
set -euo pipefail

die() {
  echo "provision.sh: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root"

node_id=${CHRONIK_NODE_ID:?CHRONIK_NODE_ID is required}
bind=${CHRONIK_BIND:?CHRONIK_BIND is required}
seeds_csv=${CHRONIK_SEEDS-}
expect=${CHRONIK_BOOTSTRAP_EXPECT:?CHRONIK_BOOTSTRAP_EXPECT is required}
hosts_csv=${CHRONIK_HOSTS-}
src=${CHRONIK_SRC:-/vagrant}
build=${CHRONIK_BUILD_DIR:-/var/cache/chronik/build}
jobs=${CHRONIK_JOBS:-$(nproc)}
build_type=${CHRONIK_BUILD_TYPE:-RelWithDebInfo}
cluster_name=${CHRONIK_CLUSTER_NAME:-chronik}
preset=${CHRONIK_PRESET:-lan}
log_level=${CHRONIK_LOG_LEVEL:-info}

binary=/usr/bin/chronik-server
pkg_dir=$src/vagrant/.pkg
pkg_stamp=/var/lib/chronik-provision/package.sha256
config=/etc/chronik/node.toml
tls_dir=/etc/chronik/tls
state_dir=/var/lib/chronik
admin_port=9644
hosts_begin="# BEGIN chronik nodes (vagrant/provision.sh)"
hosts_end="# END chronik nodes"

log() { echo "provision[node $node_id]: $*"; }

# --- inputs -------------------------------------------------------------------------------------
ipv4='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}'
[[ $node_id =~ ^[1-9][0-9]{0,9}$ ]] || die "CHRONIK_NODE_ID: not a positive integer: $node_id"
[[ $bind =~ ^${ipv4}$ ]] || die "CHRONIK_BIND: not an IPv4 address: $bind"
[[ $expect =~ ^[1-9][0-9]{0,3}$ ]] || die "CHRONIK_BOOTSTRAP_EXPECT: not a positive integer: $expect"
[[ $cluster_name =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "CHRONIK_CLUSTER_NAME: invalid: $cluster_name"
[[ $preset =~ ^(lan|wan|local)$ ]] || die "CHRONIK_PRESET: one of lan, wan, local: $preset"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "CHRONIK_JOBS: not a positive integer: $jobs"
[[ -f $src/CMakeLists.txt && -x $src/scripts/install-deps.sh ]] || die "no chronik repository at $src"

seeds=()
if [[ -n $seeds_csv ]]; then IFS=, read -r -a seeds <<<"$seeds_csv"; fi
for s in "${seeds[@]}"; do
  [[ $s =~ ^${ipv4}:[0-9]{1,5}$ ]] || die "CHRONIK_SEEDS: not IP:PORT: $s"
done
hosts=()
if [[ -n $hosts_csv ]]; then IFS=, read -r -a hosts <<<"$hosts_csv"; fi
for h in "${hosts[@]}"; do
  [[ $h =~ ^${ipv4}\ [A-Za-z0-9][A-Za-z0-9.-]*$ ]] || die "CHRONIK_HOSTS: not \"IP NAME\": $h"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

changed=()  # what changed this run; the service restarts when anything did

# install_if_changed SRC DEST MODE [OWNER:GROUP]: puts SRC at DEST (atomically; owned by root:root
# unless given) unless DEST already has that content, mode and owner. Records DEST in `changed` when
# it wrote.
install_if_changed() {
  local from=$1 to=$2 mode=$3 owner=${4:-root:root}
  if [[ -f $to ]] && cmp -s "$from" "$to" && [[ $(stat -c %a:%U:%G "$to") == "$mode:$owner" ]]; then
    return 0
  fi
  install -d -m 0755 "$(dirname "$to")"
  install -m "$mode" -o "${owner%%:*}" -g "${owner#*:}" "$from" "$to.provision-new"
  mv -f "$to.provision-new" "$to"
  changed+=("$to")
  log "wrote $to"
}

# --- the chronik-server package ----------------------------------------------------------------
# apt_install ARGS...: apt-get install, non-interactive, keeping our /etc/chronik/node.toml (a
# conffile the package ships) on upgrades. Offline first: every dependency may be installed already.
apt_install() {
  local opts=(-y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >"$work/apt.log" 2>&1 && return 0
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$work/apt.log" 2>&1 ||
    ! DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >>"$work/apt.log" 2>&1; then
    cat "$work/apt.log"
    die "apt-get install $* failed"
  fi
}

debs=()
for f in "$pkg_dir"/chronik-server_*.deb; do [[ -f $f ]] && debs+=("$f"); done
((${#debs[@]} <= 1)) || die "$pkg_dir holds ${#debs[@]} chronik-server packages; keep one (make vagrant-package does)"
if ((${#debs[@]} == 1)); then
  deb=${debs[0]}
  log "package $deb (made on the host)"
else
  # No package from the host (it may not be Debian 12): this VM builds one, as `make deb` would.
  log "no package in $pkg_dir (make vagrant-package on a Debian 12 host makes one); building it in $build ($build_type, -j$jobs)"
  CHRONIK_VAGRANT_DEPS=0 "$src/scripts/install-deps.sh"
  mkdir -p "$build"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="$build_type" >"$build/provision-configure.log" ||
    { cat "$build/provision-configure.log"; die "cmake configure failed"; }
  cmake --build "$build" -j"$jobs" --target chronik-server chronik_completion
  rm -rf "$build/provision-package"
  (cd "$build" && cpack -G DEB -B "$build/provision-package") >"$build/provision-cpack.log" 2>&1 ||
    { cat "$build/provision-cpack.log"; die "cpack failed"; }
  deb=$(echo "$build"/provision-package/chronik-server_*.deb)
  [[ -f $deb ]] || die "cpack made no chronik-server package in $build/provision-package"
fi
# What the package holds, whatever its timestamps: a rebuild of the same tree installs nothing.
pkg_sum=$({ dpkg-deb --fsys-tarfile "$deb" | tar -xO; dpkg-deb --ctrl-tarfile "$deb" | tar -xO; } | sha256sum | cut -d' ' -f1)
installed=$(dpkg-query -W -f='${Status}' chronik-server 2>/dev/null || true)
if [[ $installed != "install ok installed" || ! -f $pkg_stamp || $(cat "$pkg_stamp") != "$pkg_sum" ]]; then
  apt_install "$deb" curl openssl
  install -d -m 0755 "$(dirname "$pkg_stamp")"
  echo "$pkg_sum" >"$pkg_stamp"
  changed+=("$deb")
  log "installed $(dpkg-query -W -f='${Package} ${Version}' chronik-server) from $deb"
fi
# What earlier versions of this script installed by hand; the package's binary and unit replace them.
old_unit=/etc/systemd/system/chronik.service
if [[ -f $old_unit ]] && grep -q '^# Written by vagrant/provision.sh' "$old_unit"; then
  rm -f "$old_unit"
  changed+=("$old_unit")
  log "removed $old_unit (the package's unit replaces it)"
fi
if [[ -f /usr/local/bin/chronik-server ]]; then
  rm -f /usr/local/bin/chronik-server
  log "removed /usr/local/bin/chronik-server (the package's is $binary)"
fi
# The package made the user chronik and its data directory.
getent passwd chronik >/dev/null || die "the package did not create the user chronik"
[[ -d $state_dir ]] || die "the package did not create $state_dir"

# --- admin token ---------------------------------------------------------------------------------
# One bearer token for the whole cluster (docs/security.md "Admin HTTP"): the Vagrantfile writes
# vagrant/.admin_token on the host (ignored by git) before the rsync, so every node and the host's
# CLI share it, as keyring propagation needs. Without it (a provisioner run by hand) this node
# makes its own. Readable by chronik only.
shared_token="$src/vagrant/.admin_token"
if [[ ! -s $shared_token ]]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$shared_token")
fi
install -d -m 0755 /etc/chronik
install -m 0600 -o chronik -g chronik "$shared_token" /etc/chronik/admin_token

# --- security between the nodes: gossip key and this node's certificate -------------------------
# docs/security.md. The gossip key and the CA are the cluster's, made once on the host (the rsync
# synced folder only copies host to VM, so no VM could hand them to the others). This node's key pair
# is made here, by `chronik-server certs` with the CA, so it never leaves the node; the CA key is used
# only in this run's private work directory and is not kept under /etc.
shared_key="$src/vagrant/.gossip_key"
shared_pki="$src/vagrant/.pki"
for f in "$shared_key" "$shared_pki/ca.crt" "$shared_pki/ca.key"; do
  [[ -s $f ]] || die "missing $f: the Vagrantfile makes it on the host (vagrant/plan.rb ensure_secrets); run vagrant up or vagrant provision from vagrant/"
done
gossip_key=$(tr -d ' \n' <"$shared_key")
[[ $gossip_key =~ ^[A-Za-z0-9+/]{43}=$ ]] || die "$shared_key: not base64 of 32 bytes (chronik-server keygen makes one)"

install -d -m 0750 -o root -g chronik "$tls_dir"
install_if_changed "$shared_pki/ca.crt" "$tls_dir/ca.crt" 644
node_crt="$tls_dir/node-$node_id.crt"
node_key="$tls_dir/node-$node_id.key"
# The certificate binds the node's uuid (docs/security.md "Binding the uuid"); `certs --data-dir`
# creates it in the data directory before the first start.
uuid_file="$state_dir/node_uuid"
binds_node_uuid() {
  [[ -s $uuid_file ]] && openssl x509 -noout -subject -in "$node_crt" 2>/dev/null | grep -qF "$(tr -d ' \n' <"$uuid_file")"
}
# A new CA, a missing file or a wiped data directory (a new uuid) needs a new certificate; otherwise
# the one issued before is kept, so rerunning the provisioner does not restart the node.
if [[ " ${changed[*]} " == *" $tls_dir/ca.crt "* || ! -s $node_crt || ! -s $node_key ]] || ! binds_node_uuid; then
  install -d -m 0700 "$work/pki"
  install -m 0644 "$shared_pki/ca.crt" "$work/pki/ca.crt"
  install -m 0600 "$shared_pki/ca.key" "$work/pki/ca.key"
  rm -f "$work/pki/node-$node_id.crt" "$work/pki/node-$node_id.key"
  "$binary" certs --dir "$work/pki" --node "$node_id" --data-dir "$state_dir" >"$work/certs.log" 2>&1 ||
    { cat "$work/certs.log"; die "chronik-server certs failed"; }
  chown chronik:chronik "$uuid_file"
  # Owner-only: the key is the node's identity (docs/security.md "Between nodes: mutual TLS").
  install_if_changed "$work/pki/node-$node_id.crt" "$node_crt" 600 chronik:chronik
  install_if_changed "$work/pki/node-$node_id.key" "$node_key" 600 chronik:chronik
  rm -f "$work/pki/ca.key"
  log "issued $node_crt (chronik-node-$node_id, node_uuid $(tr -d ' \n' <"$uuid_file")) from the cluster CA"
fi

# --- configuration ------------------------------------------------------------------------------
seed_list=""
for s in "${seeds[@]}"; do seed_list+="${seed_list:+, }\"$s\""; done
cat >"$work/node.toml" <<EOF
# Written by vagrant/provision.sh for node $node_id; rerunning the provisioner rewrites it.
# Every key is described in docs/config.md.
node_id = $node_id
cluster_name = "$cluster_name"
bind = "$bind"
gossip_port = 7946
rpc_port = 9093
kafka_port = 9092
admin_port = $admin_port
# Reachable from the other nodes and the host (keyring propagation, the CLI), behind the token.
admin_bind = "$bind"
admin_token_file = "/etc/chronik/admin_token"
seeds = [$seed_list]
data_dir = "$state_dir"
bootstrap_expect = $expect
preset = "$preset"
log_level = "$log_level"
# Security between the nodes (docs/security.md): gossip sealed with the cluster's key, and mutual
# TLS on the RPC port with this node's certificate from the cluster CA. Holding the gossip key, this
# file is readable by root and the chronik group only.
gossip_key = "$gossip_key"
rpc_tls_ca_file = "$tls_dir/ca.crt"
rpc_tls_cert_file = "$node_crt"
rpc_tls_key_file = "$node_key"
EOF
install_if_changed "$work/node.toml" "$config" 640 root:chronik

# --- /etc/hosts: one block between markers, replaced on every run ------------------------------
{
  if [[ -f /etc/hosts ]]; then
    awk -v b="$hosts_begin" -v e="$hosts_end" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts
  else
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n'
  fi
  echo "$hosts_begin"
  for h in "${hosts[@]}"; do echo "$h"; done
  echo "$hosts_end"
} >"$work/hosts"
if ! cmp -s "$work/hosts" /etc/hosts; then
  # Rewritten in place: /etc/hosts may be a bind mount that cannot be replaced by a rename.
  cat "$work/hosts" >/etc/hosts
  log "updated the chronik block of /etc/hosts"
fi

# --- systemd unit: the package's, /usr/lib/systemd/system/chronik.service -----------------------
# Type=notify: a start returns once the node serves, which needs the cluster formed, so for a node
# whose peers are not provisioned yet it would wait for them. --no-block: the provisioner waits for
# this node's admin endpoint below instead.
systemctl daemon-reload
systemctl enable --quiet chronik.service
if ((${#changed[@]} > 0)) && systemctl is-active --quiet chronik.service; then
  log "restarting chronik.service (changed: ${changed[*]})"
  systemctl restart --no-block chronik.service
else
  systemctl start --no-block chronik.service
fi

# --- wait (bounded) until the admin endpoint answers -------------------------------------------
# Only this node: its peers may not be up yet, so the cluster may not have formed. /health answers
# 503 with the reason until it has.
health=""
for _ in $(seq 60); do
  code=$(curl -s -o "$work/health" -w '%{http_code}' --max-time 2 "http://$bind:$admin_port/health" || true)
  if [[ $code == 200 || $code == 503 ]]; then
    health="$code $(tr -d '\n' <"$work/health")"
    break
  fi
  sleep 1
done
if [[ -z $health ]]; then
  systemctl status --no-pager chronik.service || true
  journalctl -u chronik.service -n 40 --no-pager || true
  die "chronik.service does not answer on http://$bind:$admin_port/health after 60 s"
fi
log "chronik.service is $(systemctl is-active chronik.service), pid $(systemctl show -p MainPID --value chronik.service); /health: $health"
log "done${changed[*]:+ (changed: ${changed[*]})}"
