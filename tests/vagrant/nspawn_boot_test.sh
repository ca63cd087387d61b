#!/usr/bin/env bash
# `make test-vagrant` (root, minutes; not part of `make test`): what `vagrant up` does, without a
# hypervisor, with the chronik-server Debian package that `make vagrant-package` gives the VMs: the
# test builds it with CPack from the build tree (CHRONIK_BUILD_DIR, default build/, built by make)
# and puts it where the Vagrantfile's rsync carries it, vagrant/.pkg/ of the snapshot. Three Debian 12 containers boot with systemd as init (`systemd-nspawn -b`), each in
# its own network namespace with a veth on a bridge and the address the Vagrantfile gives that node.
# The real vagrant/provision.sh runs in each, in a random order, with the environment the
# Vagrantfile passes; names, addresses and that environment come from vagrant/plan.rb itself (ruby,
# which Vagrant depends on). Like Vagrant's rsync synced folder, /vagrant in every container is a
# copy of the working tree taken once at the start (with the Vagrantfile's excludes), so edits made
# to the checkout during a run do not reach the nodes half-way. Then the test checks:
#   0. the package is installed as an operator gets it: chronik-server installed, the conffile
#      /etc/chronik/node.toml, the system user chronik owning /var/lib/chronik, the unit
#      Type=notify (and `active` means the node sent READY=1), the bash completion loads;
#   1. the three chronik.service units form one cluster: every node lists 3 alive members and 3
#      alive brokers with one cluster id, has accepted RPC connections over mutual TLS and none in
#      plaintext (load.rpc of /v1/cluster), and Kafka Metadata (kcat -L) lists 3 brokers;
#   2. a daemon killed with kill -9 is restarted by systemd (new MainPID, NRestarts + 1) and
#      rejoins: the restarted process and the others see the same cluster with 3 alive members and
#      brokers, and kcat -L lists 3 brokers again;
#   3. `systemctl stop` is a graceful leave (exit 0, others show the node "left"), and it rejoins;
#   4. `systemctl reload` (SIGHUP; RELOADING=1, READY=1) keeps the daemon and it logs the reload;
#   5. rerunning the provisioner changes nothing and does not restart the daemon.
# It removes what it created (containers, bridge, veths, node copies, the tmpfs it mounted) on
# success and on failure (EXIT trap; INT and TERM interrupt the long steps, which run in the
# background), and stops only the systemd-nspawn processes it started, by PID. The containers have
# no route out and nothing on the host has an address on the bridge: the test's traffic stays
# between its own containers (only the image refresh uses the host's network, to reach the Debian
# mirror). Every wait polls for its condition with a deadline.
#
# Cached in build-vagrant/ (CHRONIK_VAGRANT_WORK): image/ (debootstrap plus the package's
# dependencies, kcat and curl, refreshed each run) and src/ (the snapshot, updated with rsync).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${CHRONIK_VAGRANT_WORK:-$top/build-vagrant}
build_dir=${CHRONIK_BUILD_DIR:-$top/build}
image=$work/image
src=$work/src
mirror=${CHRONIK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
count=3
bridge=chronikvg0
run_dir=$work/run
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "must run as root (systemd-nspawn, bridges); run: sudo make test-vagrant"

# --- packages on the host -----------------------------------------------------------------------
missing=()
for p in debootstrap systemd-container iproute2 util-linux ruby rsync; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the layout the Vagrantfile computes (vagrant/plan.rb) -------------------------------------
# node_ip[I], node_name[I], and node_env[I]: the provisioner's environment, one KEY=VALUE a line.
# rsync_excludes: the Vagrantfile's rsync__exclude patterns.
declare -A node_ip=() node_name=() node_env=()
rsync_excludes=()
layout=$(ruby -e '
  require ARGV[0]
  ChronikPlan::RSYNC_EXCLUDE.each { |e| puts "exclude - #{e}" }
  nodes = ChronikPlan.nodes(Integer(ARGV[1]))
  nodes.each do |n|
    puts "node #{n.id} #{n.name} #{n.ip}"
    ChronikPlan.provision_env(n, nodes, nodes.size).each { |k, v| puts "env #{n.id} #{k}=#{v}" }
  end' "$top/vagrant/plan.rb" "$count") || fail "ruby could not evaluate vagrant/plan.rb"
while read -r kind i rest; do
  case $kind in
    node)
      node_name[$i]=${rest%% *}
      node_ip[$i]=${rest#* }
      ;;
    env) node_env[$i]+="$rest"$'\n' ;;
    exclude) rsync_excludes+=("--exclude=$rest") ;;
  esac
done <<<"$layout"
((${#node_ip[@]} == count)) || fail "vagrant/plan.rb gave ${#node_ip[@]} nodes, not $count"
ip_of() { echo "${node_ip[$1]}"; }

# --- state for cleanup --------------------------------------------------------------------------
declare -A nspawn_pid=() leader=()
created_bridge=0
created_run_dir=0
mounted_tmpfs=0
bg_pid=""   # the long foreground step running in the background (run_bg), if any
started=$SECONDS
phase_start=$SECONDS
phase_label=""
timings=()
# phase LABEL TEXT...: ends the current phase (records how long it took under its label) and
# announces the next; `phase ""` ends the last one.
phase() {
  [[ -z $phase_label ]] || timings+=("$phase_label $((SECONDS - phase_start)) s")
  phase_start=$SECONDS
  phase_label=$1
  shift
  (($# == 0)) || say "$*"
}

# run_bg CMD...: runs CMD in the background and waits for it, so that INT and TERM reach the trap
# at once instead of after CMD; cleanup stops it by PID. Returns CMD's status.
run_bg() {
  "$@" &
  bg_pid=$!
  local rc=0
  wait "$bg_pid" || rc=$?
  bg_pid=""
  return "$rc"
}

# in_node I CMD...: runs CMD inside node I's container (all its namespaces), with a clean env.
in_node() {
  local i=$1
  shift
  nsenter -t "${leader[$i]}" -a env -i "$path_env" HOME=/root LANG=C.UTF-8 "$@"
}

diagnostics() {
  for i in "${!leader[@]}"; do
    kill -0 "${leader[$i]}" 2>/dev/null || continue
    echo "---- node $i: systemctl status chronik; journalctl -u chronik (last 25 lines)"
    in_node "$i" timeout 10 systemctl status --no-pager chronik.service 2>&1 | head -15 || true
    in_node "$i" timeout 10 journalctl -u chronik.service -n 25 --no-pager 2>&1 || true
  done
}

cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then diagnostics; fi
  # A step interrupted by INT/TERM: its own process (in a container, the container's poweroff
  # below ends what it started there).
  if [[ -n $bg_pid ]] && kill -0 "$bg_pid" 2>/dev/null; then
    kill -TERM "$bg_pid" 2>/dev/null
    for _ in $(seq 60); do
      kill -0 "$bg_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$bg_pid" 2>/dev/null
    wait "$bg_pid" 2>/dev/null
  fi
  # SIGTERM to systemd-nspawn powers the container off (its systemd stops chronik.service: a
  # graceful leave); SIGKILL to that same process (and its container's init) after 30 s.
  local t0=$SECONDS
  for i in "${!nspawn_pid[@]}"; do kill -TERM "${nspawn_pid[$i]}" 2>/dev/null; done
  for i in "${!nspawn_pid[@]}"; do
    local pid=${nspawn_pid[$i]}
    for _ in $(seq 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "node $i: systemd-nspawn $pid did not stop in 30 s; killing it"
      [[ -n ${leader[$i]:-} ]] && kill -KILL "${leader[$i]}" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
    ip link del "vb-cvg-node$i" 2>/dev/null
  done
  ((${#nspawn_pid[@]} == 0)) || echo "containers stopped in $((SECONDS - t0)) s"
  ((created_bridge)) && ip link del "$bridge" 2>/dev/null
  ((mounted_tmpfs)) && umount /run/systemd/nspawn
  if ((created_run_dir)); then
    t0=$SECONDS
    rm -rf "$run_dir"
    echo "node copies removed in $((SECONDS - t0)) s"
  fi
  phase ""
  local t summary=""
  for t in "${timings[@]}"; do summary+="${summary:+, }$t"; done
  echo "timings: $summary"
  if ((rc == 0)); then echo "nspawn boot test: passed in $((SECONDS - started)) s"; else echo "nspawn boot test: FAILED (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- refuse to share names with anything already running --------------------------------------
if ip link show "$bridge" >/dev/null 2>&1; then
  fail "a link named $bridge exists (a previous run that was killed?); remove it with: ip link del $bridge"
fi
for i in $(seq "$count"); do
  ip link show "vb-cvg-node$i" >/dev/null 2>&1 && fail "a link vb-cvg-node$i exists; remove it with: ip link del vb-cvg-node$i"
done
[[ -e $run_dir ]] && fail "$run_dir exists: another run in progress, or a killed one (remove it)"

# --- the source the nodes see at /vagrant: a snapshot, as Vagrant's rsync makes -----------------
phase snapshot "copy the working tree to $src (rsync, the Vagrantfile's excludes)"
own_excludes=()
[[ $work/ == "$top"/* ]] && own_excludes+=("--exclude=/${work#"$top"/}/")
mkdir -p "$src"
rsync -a --delete "${rsync_excludes[@]}" "${own_excludes[@]}" "$top/" "$src/"
# What the Vagrantfile makes on the host before the rsync (admin token, gossip key, the cluster CA;
# vagrant/plan.rb ensure_secrets): kept when the working tree has them, made in the snapshot if not.
ruby -e 'require ARGV[0]; ChronikPlan.ensure_secrets(ARGV[1])' "$src/vagrant/plan.rb" "$src/vagrant" ||
  fail "ruby could not make the cluster secrets (vagrant/plan.rb ensure_secrets)"

# The package, as `make vagrant-package` makes it on the host: CPack from the build tree.
phase package "cpack -G DEB in $build_dir"
[[ -x $build_dir/daemon/chronik-server && -f $build_dir/CPackConfig.cmake ]] ||
  fail "no built chronik-server in $build_dir (make build, or set CHRONIK_BUILD_DIR)"
rm -rf "$work/pkg"
(cd "$build_dir" && cpack -G DEB -B "$work/pkg") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(echo "$work"/pkg/chronik-server_*.deb)
[[ -f $deb ]] || fail "cpack made no chronik-server package"
rm -rf "$src/vagrant/.pkg"
mkdir -p "$src/vagrant/.pkg"
cp "$deb" "$src/vagrant/.pkg/"
deb_in_node=/vagrant/vagrant/.pkg/$(basename "$deb")
echo "package $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"

# systemd-nspawn keeps per-machine state under /run/systemd/nspawn; on this kind of machine that
# must be a tmpfs (docs/design.md "Testing").
mkdir -p /run/systemd/nspawn
if ! mountpoint -q /run/systemd/nspawn; then
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
  mounted_tmpfs=1
fi
nspawn_common=(-q --register=no --keep-unit)

# --- the base image (cached) --------------------------------------------------------------------
if [[ ! -f $image/.chronik-image-ready ]]; then
  phase debootstrap "debootstrap Debian 12 into $image (once)"
  rm -rf "$image.tmp"
  mkdir -p "$work"
  run_bg debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates,curl \
    bookworm "$image.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap failed (log: $work/debootstrap.log)"; }
  touch "$image.tmp/.chronik-image-ready"
  mv "$image.tmp" "$image"
fi
# The provisioner installs the package with apt-get, which takes its dependencies from the Debian
# mirror in a VM; the containers have no route out, so the image gets them here, with the host's
# network: the package's Depends (apt-get satisfy, the package itself is not installed), curl for the
# provisioner's wait and kcat for the checks. A no-op once they are installed.
phase image-packages "the package's dependencies in the image"
# shellcheck disable=SC2016
run_bg systemd-nspawn "${nspawn_common[@]}" -D "$image" --resolv-conf=copy-host --bind-ro="$src:/vagrant" \
  --setenv=DEBIAN_FRONTEND=noninteractive /bin/sh -c \
  'apt-get update -qq && apt-get satisfy -y -qq --no-install-recommends "$(dpkg-deb -f "$1" Depends)" >/dev/null &&
   apt-get install -y -qq --no-install-recommends curl kcat openssl >/dev/null' sh "$deb_in_node" ||
  fail "installing the package's dependencies in the image failed"

# --- the bridge and the node copies -------------------------------------------------------------
ip link add "$bridge" type bridge
created_bridge=1
ip link set "$bridge" up
mkdir "$run_dir"
created_run_dir=1

prepare_node() {
  local i=$1 root=$run_dir/node$1
  cp -a --reflink=auto "$image" "$root"
  : >"$root/etc/machine-id" # each container boots with a machine id of its own
  echo "${node_name[$i]}" >"$root/etc/hostname"
  # What Vagrant's private_network does in a VM: the node's static address on its second NIC.
  mkdir -p "$root/etc/systemd/network"
  cat >"$root/etc/systemd/network/10-chronik.network" <<EOF
[Match]
Name=host0

[Network]
Address=$(ip_of "$i")/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
  systemctl --root="$root" --quiet enable systemd-networkd.service
}

boot_node() {
  local i=$1 root=$run_dir/node$1
  systemd-nspawn "${nspawn_common[@]}" -b -D "$root" --machine="cvg-node$i" --hostname="${node_name[$i]}" \
    --network-bridge="$bridge" --bind-ro="$src:/vagrant" \
    --console=read-only >"$work/node$i.console.log" 2>&1 &
  nspawn_pid[$i]=$!
  # The container's init is systemd-nspawn's child once it has exec'ed systemd.
  local child="" deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    child=$(pgrep -P "${nspawn_pid[$i]}" | head -1 || true)
    if [[ -n $child && $(ps -o comm= -p "$child" 2>/dev/null) == systemd ]]; then break; fi
    kill -0 "${nspawn_pid[$i]}" 2>/dev/null || { cat "$work/node$i.console.log"; fail "node $i: systemd-nspawn exited"; }
    child=""
    sleep 0.2
  done
  [[ -n $child ]] || fail "node $i: no systemd in the container after 30 s"
  leader[$i]=$child
  # systemctl works once systemd has opened its private socket; then wait for the boot to end.
  in_node "$i" timeout 30 sh -c 'until [ -S /run/systemd/private ]; do sleep 0.2; done' ||
    fail "node $i: systemd did not start in the container"
  local state
  state=$(in_node "$i" timeout 90 systemctl is-system-running --wait 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] || fail "node $i: systemd state '$state' after boot"
  in_node "$i" timeout 30 sh -c "until ip -4 addr show host0 | grep -q '$(ip_of "$i")/'; do sleep 0.2; done" ||
    fail "node $i: host0 has no $(ip_of "$i")"
  echo "node $i booted (systemd $state, pid ${leader[$i]} on the host, $(ip_of "$i") on host0)"
}

# provision_node I: vagrant/provision.sh in node I with the environment the Vagrantfile gives it.
provision_node() {
  local i=$1 env_lines=()
  mapfile -t env_lines < <(printf '%s' "${node_env[$i]}")
  in_node "$i" timeout 600 env "${env_lines[@]}" bash /vagrant/vagrant/provision.sh
}
# provision_logged I: the same, its output prefixed with [nodeI].
provision_logged() {
  provision_node "$1" 2>&1 | sed "s/^/[node$1] /"
}

# Vagrant with VirtualBox boots and provisions one VM after the other; here in a random order.
order=$(seq "$count" | shuf | tr '\n' ' ')
say "boot and provision in the order: $order"
for i in $order; do
  phase "boot-node$i" "copy the image and boot node $i"
  prepare_node "$i"
  boot_node "$i"
  phase "provision-node$i" "provisioning node $i"
  run_bg provision_logged "$i" || fail "node $i: provision.sh failed"
done

# --- checks -------------------------------------------------------------------------------------
# cluster_view I: "CLUSTER_ID ALIVE_MEMBERS ALIVE_BROKERS LEFT_MEMBERS RPC_TLS RPC_PLAINTEXT" as node I
# sees them (the last two: RPC connections it accepted over TLS and in plaintext).
cluster_view() {
  local i=$1 ip
  ip=$(ip_of "$i")
  {
    in_node "$i" timeout 5 chronik-server cluster status --admin "$ip:9644" --admin-token-file /etc/chronik/admin_token --json 2>/dev/null || echo null
    echo
    in_node "$i" timeout 5 chronik-server cluster members --admin "$ip:9644" --admin-token-file /etc/chronik/admin_token --json 2>/dev/null || echo null
  } | /usr/bin/python3 -c '
import json, sys
docs = sys.stdin.read().split("\n\n", 1)
try:
    status, members = json.loads(docs[0]), json.loads(docs[1])
except (ValueError, IndexError):
    print("- 0 0 0 0 0"); sys.exit()
status = status or {}
members = members or []
cid = status.get("cluster_id") or "-"
brokers = [b for b in status.get("brokers", []) if b.get("state") == "alive"]
alive = [m for m in members if m.get("state") == "alive"]
left = [m for m in members if m.get("state") == "left"]
rpc = (status.get("load") or {}).get("rpc") or {}
print(cid, len(alive), len(brokers), len(left), rpc.get("tls_connections", 0), rpc.get("plaintext_connections", 0))'
}

# wait_formed WHAT: waits (bounded, 120 s) until every node sees 3 alive members, 3 alive brokers
# and the same cluster id, and has accepted RPC over TLS and none in plaintext; prints that id.
wait_formed() {
  local what=$1 deadline=$((SECONDS + 120)) views=() ids=() i
  while :; do
    views=() ids=()
    for i in $(seq "$count"); do
      read -r -a v <<<"$(cluster_view "$i")"
      views+=("node$i: cluster ${v[0]}, ${v[1]} alive members, ${v[2]} alive brokers, RPC ${v[4]} TLS ${v[5]} plaintext")
      [[ ${v[0]} != - && ${v[1]} == "$count" && ${v[2]} == "$count" && ${v[4]} != 0 && ${v[5]} == 0 ]] && ids+=("${v[0]}")
    done
    if ((${#ids[@]} == count)) && [[ $(printf '%s\n' "${ids[@]}" | sort -u | wc -l) -eq 1 ]]; then
      formed_id=${ids[0]}
      echo "$what: every node sees cluster $formed_id with $count alive members and brokers, RPC over mutual TLS"
      return 0
    fi
    if ((SECONDS > deadline)); then
      printf '  %s\n' "${views[@]}"
      fail "$what: no single cluster of $count after 120 s"
    fi
    sleep 1
  done
}

phase check-package "check: the package as installed"
# shellcheck disable=SC2016
for i in $(seq "$count"); do
  got=$(in_node "$i" dpkg-query -W -f='${Status} ${Version}' chronik-server)
  [[ $got == "install ok installed $(dpkg-deb -f "$deb" Version)" ]] || fail "node $i: chronik-server: $got"
  in_node "$i" dpkg-query -W -f='${Conffiles}' chronik-server | grep -q '^ /etc/chronik/node.toml ' ||
    fail "node $i: /etc/chronik/node.toml is not a conffile"
  [[ $(in_node "$i" stat -c '%a %U:%G' /etc/chronik/node.toml) == "640 root:chronik" ]] || fail "node $i: node.toml mode"
  [[ $(in_node "$i" stat -c '%U' /var/lib/chronik) == chronik ]] || fail "node $i: /var/lib/chronik not owned by chronik"
  uid=$(in_node "$i" id -u chronik)
  ((uid < 1000)) || fail "node $i: chronik is not a system user (uid $uid)"
  [[ $(in_node "$i" systemctl show -p Type --value chronik.service) == notify ]] || fail "node $i: the unit is not Type=notify"
  # /lib is /usr/lib on Debian 12 (merged /usr): systemd may name either.
  fragment=$(in_node "$i" systemctl show -p FragmentPath --value chronik.service)
  [[ $(in_node "$i" readlink -f "$fragment") == /usr/lib/systemd/system/chronik.service ]] ||
    fail "node $i: chronik.service is $fragment, not the package's unit"
  in_node "$i" bash -c 'source /usr/share/bash-completion/completions/chronik-server && complete -p chronik-server' >/dev/null ||
    fail "node $i: the bash completion does not load"
done
echo "every node: chronik-server $(dpkg-deb -f "$deb" Version) installed, conffile node.toml (0640 root:chronik), system user chronik (uid $uid) owning /var/lib/chronik, the package's Type=notify unit, bash completion"

phase check-formation "check: one cluster"
wait_formed "formation"
first_id=$formed_id
for i in $(seq "$count"); do
  in_node 1 chronik-server cluster status --admin "$(ip_of "$i"):9644" --admin-token-file /etc/chronik/admin_token | sed "s/^/[node$i status] /"
done
# kcat_brokers FROM TO: kcat -L in node FROM against node TO's Kafka port lists $count brokers, all
# at the plan's addresses (polled, 60 s: a restarted broker may take a moment to re-register).
kcat_brokers() {
  local from=$1 to=$2 deadline=$((SECONDS + 60)) j ok
  while :; do
    meta=$(in_node "$from" timeout 15 kcat -b "$(ip_of "$to"):9092" -L -m 5 2>&1 || true)
    ok=0
    if grep -q "^ $count brokers:" <<<"$meta"; then
      ok=1
      for j in $(seq "$count"); do grep -q "^  broker $j at $(ip_of "$j"):9092" <<<"$meta" || ok=0; done
    fi
    ((ok)) && return 0
    ((SECONDS < deadline)) || { echo "$meta"; fail "kcat -L in node $from against node $to does not list $count brokers"; }
    sleep 1
  done
}
for i in $(seq "$count"); do kcat_brokers "$i" "$i"; done
echo "kcat -L on node $count:"
echo "$meta"
echo "kcat -L lists $count brokers on every node"

phase check-kill9 "check: kill -9 of the daemon on node 2; systemd restarts it and it rejoins"
old_pid=$(in_node 2 systemctl show -p MainPID --value chronik.service)
old_restarts=$(in_node 2 systemctl show -p NRestarts --value chronik.service)
[[ $old_pid =~ ^[1-9][0-9]*$ ]] || fail "node 2: chronik.service has no main pid"
in_node 2 kill -9 "$old_pid"
deadline=$((SECONDS + 60))
while :; do
  new_pid=$(in_node 2 systemctl show -p MainPID --value chronik.service)
  restarts=$(in_node 2 systemctl show -p NRestarts --value chronik.service)
  active=$(in_node 2 systemctl is-active chronik.service || true)
  if [[ $active == active && $new_pid != 0 && $new_pid != "$old_pid" && $restarts -gt $old_restarts ]]; then break; fi
  ((SECONDS < deadline)) || fail "node 2: not restarted 60 s after kill -9 (state $active, pid $new_pid, NRestarts $restarts)"
  sleep 0.5
done
echo "node 2: pid $old_pid killed, systemd restarted it as pid $new_pid (NRestarts $old_restarts -> $restarts)"
journal=$(in_node 2 journalctl -u chronik.service --no-pager -o cat)
grep 'status=9/KILL' <<<"$journal" || fail "node 2: no KILL in the journal"
wait_formed "after kill -9"
[[ $formed_id == "$first_id" ]] || fail "after kill -9 the cluster id changed: $first_id -> $formed_id"
code=$(in_node 2 curl -s -o /dev/null -w '%{http_code}' "http://$(ip_of 2):9644/health" || true)
[[ $code == 200 ]] || fail "node 2: /health answers $code after rejoining"
now_pid=$(in_node 2 systemctl show -p MainPID --value chronik.service)
[[ $now_pid == "$new_pid" ]] || fail "node 2: the daemon restarted again ($new_pid -> $now_pid) while rejoining"
kcat_brokers 2 2
kcat_brokers 1 2
kcat_brokers 3 1
echo "after kill -9: kcat -L lists $count brokers from node 2 (restarted) and from nodes 1 and 3"

phase check-stop "check: systemctl stop on node 3 is a graceful leave; start rejoins"
in_node 3 timeout 120 systemctl stop chronik.service
result=$(in_node 3 systemctl show -p Result --value chronik.service)
status=$(in_node 3 systemctl show -p ExecMainStatus --value chronik.service)
[[ $result == success && $status == 0 ]] || fail "node 3: stop ended with Result=$result ExecMainStatus=$status"
# The unit's ExecStop drained node 3 first (docs/operations.md "Maintenance: drain").
in_node 3 journalctl -u chronik.service --no-pager -o cat | grep -q 'node 3 drained: it leads nothing' || fail "node 3: the stop did not drain it (no 'node 3 drained' in the journal)"
deadline=$((SECONDS + 30))
until read -r -a v <<<"$(cluster_view 1)" && [[ ${v[3]} -ge 1 ]]; do
  ((SECONDS < deadline)) || fail "node 1 does not show node 3 as left after 30 s"
  sleep 0.5
done
echo "node 3 drained (the unit's ExecStop), stopped with exit 0; node 1 shows it left"
# Type=notify: `systemctl start` returns once the node sent READY=1, when /health already answers 200.
in_node 3 timeout 120 systemctl start chronik.service || fail "node 3: systemctl start failed"
code=$(in_node 3 curl -s -o /dev/null -w '%{http_code}' "http://$(ip_of 3):9644/health" || true)
[[ $code == 200 ]] || fail "node 3: systemctl start returned but /health answers $code: READY=1 came too early"
echo "node 3: systemctl start returned after READY=1, /health 200 at once"
wait_formed "after stop and start"
[[ $formed_id == "$first_id" ]] || fail "after restart the cluster id changed: $first_id -> $formed_id"

phase check-reload "check: systemctl reload on node 1 (SIGHUP) keeps the daemon"
pid_before=$(in_node 1 systemctl show -p MainPID --value chronik.service)
in_node 1 timeout 30 systemctl reload chronik.service || fail "node 1: systemctl reload failed"
[[ $(in_node 1 systemctl is-active chronik.service) == active ]] || fail "node 1: not active after reload"
[[ $(in_node 1 systemctl show -p MainPID --value chronik.service) == "$pid_before" ]] || fail "node 1: reload restarted the daemon"
deadline=$((SECONDS + 10))
until in_node 1 journalctl -u chronik.service --no-pager -o cat | grep -q 'SIGHUP: reloaded the --config file'; do
  ((SECONDS < deadline)) || fail "node 1: no reload line in the journal"
  sleep 0.2
done
echo "node 1: systemctl reload: still active as pid $pid_before, reload logged"

phase check-reprovision "check: rerunning the provisioner on node 1 changes nothing"
pid_before=$(in_node 1 systemctl show -p MainPID --value chronik.service)
out=$(provision_node 1 2>&1) || { echo "$out"; fail "node 1: second provision.sh run failed"; }
grep '^provision\[' <<<"$out" || true
pid_after=$(in_node 1 systemctl show -p MainPID --value chronik.service)
grep -q 'changed:' <<<"$out" && fail "node 1: the second run changed files"
[[ $pid_before == "$pid_after" ]] || fail "node 1: the second run restarted the daemon ($pid_before -> $pid_after)"
grep -c '^# BEGIN chronik nodes' "$run_dir/node1/etc/hosts" | grep -qx 1 || fail "node 1: /etc/hosts block duplicated"
echo "second run: nothing changed, daemon still pid $pid_after, one /etc/hosts block"
phase teardown "teardown"
