#!/usr/bin/env bash
# Gossip benchmark: chronik against hashicorp/memberlist (the anchor) in two versions, 0.2.2 (the
# version of the earlier tables) and 0.7.0 (the newest the Go module proxy serves here), all three
# run in the same call, because on this noisy 2-vCPU machine only ratios taken side by side mean
# anything (issue 2 "Benchmark", issue 20 "The gossip anchor, raised"; the anchor is
# bench/gossip/memberlist_anchor/main.go, built once per version, docs/performance.md "Reproduce").
#
#   bench/gossip/run.sh BUILD_DIR        (also: make bench-gossip)
#
# BUILD_DIR is a CMake build directory (gossip_bench and chronik-server are built in it), or a
# directory of prebuilt binaries laid out the same way (bench/gossip_bench, daemon/chronik-server)
# without a CMakeCache.txt, which is used as it is.
#
# Per N in $SIZES, with the same probe interval (preset/profile lan = memberlist DefaultLANConfig,
# the same in both versions):
#   1. in-process, chain-joined: convergence after the last join and the time until every survivor
#      declares a hard-stopped node dead (mlbench -n N; gossip_bench -n N);
#   2. bytes: N real processes per system, each system in its own fresh network namespace, and the
#      lo TX counter of that namespace over a fixed window. Counting at the interface is the only
#      way to measure both the same way (the anchor has no byte counter); needs root.
# Then the pause test: a real extra process is SIGSTOPped for each of $PAUSES seconds.
# With ENCRYPT=1 (the default) each repetition and the byte window also run every system with one
# 32-byte gossip key, AES-256-GCM on all sides (chronik --gossip-key / gossip_bench --encrypt,
# memberlist Config.SecretKey through the anchor's -key), and a second table gives the sealed
# figures, their ratios and each system's sealed/plaintext overhead.
# The crash is a killed process on a live host (its port bounces datagrams as ICMP port
# unreachable, which chronik's probes use) and, for chronik, again with the host silent.
# The crash figures are also split at the first suspicion of the victim (memberlist's comes from
# its -v log, timestamped as it is read): the time to the first failed probe is a lottery over the
# survivors' probe orders and phases, while the rest is the suspicion and dissemination rules.
# Environment knobs: SIZES, PAUSES, REPEATS, SEED_BASE, WINDOW_S, STEADY_S, NS_SETTLE_S, PAUSE_N,
# ENCRYPT, JOBS, ML_PORT, CH_PORT.
set -euo pipefail

BUILD=${1:?usage: bench/gossip/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$BUILD")
SIZES=${SIZES:-"8 16 32"}
PAUSES=${PAUSES:-"2 4"}
PAUSE_N=${PAUSE_N:-16}
# Both byte windows are whole push-pull periods (30 s at N <= 32, both systems), so that each node's
# periodic push-pull is counted as often as it happens, whatever its phase: a 20 s window missed
# every push-pull of chronik-server, whose nodes all push-pull within a few seconds of each other,
# and those are most of its bytes at N = 16 and 32.
WINDOW_S=${WINDOW_S:-60}   # netns byte window
STEADY_S=${STEADY_S:-30}   # in-process payload byte window (gossip_bench --steady-s)
REPEATS=${REPEATS:-7}      # in-process runs per N and system: one crash run says little (see run_inprocess)
SEED_BASE=${SEED_BASE:-$RANDOM}  # chronik run r uses seed SEED_BASE + r, so repeated calls differ
ENCRYPT=${ENCRYPT:-1}      # 1: also run both systems with a gossip key (the second table)
# The netns window opens this long after the last memberlist process started, so not before its
# first periodic push-pull, which comes a random stagger of up to one period and then one more
# period after its start (pushPullTrigger): 60 s. chronik's first one comes within one period.
NS_SETTLE_S=${NS_SETTLE_S:-61}
ML_PORT=${ML_PORT:-18100}  # in-process memberlist nodes use ML_PORT + i (each version in turn)
CH_PORT=${CH_PORT:-28100}  # in-process chronik nodes use CH_PORT + i (ports stay below the
                           # ephemeral range 32768+, where outgoing connections could hold them)

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
ANCHOR="$ROOT/bench/gossip/memberlist_anchor"
# The memberlist versions, each a system of the tables: its key, its label, and the go.mod that pins
# it (go.mod: 0.2.2; go.0.7.0.mod, used through go's -modfile, with go.0.7.0.sum beside it). The
# sealed runs of system S are system Se (mle, m7e), chronik's are che; chs is chronik's silent host.
ML_SYSTEMS=(ml m7)
declare -A ML_VERSION=([ml]=0.2.2 [m7]=0.7.0)
declare -A ML_MODFILE=([ml]=go.mod [m7]=go.0.7.0.mod)
# One key per call, the same 32 bytes for both systems (the cost does not depend on its value).
GOSSIP_KEY=$(head -c 32 /dev/urandom | base64)
GB="$BUILD/bench/gossip_bench"
SERVER="$BUILD/daemon/chronik-server"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/chronik-gossip-bench.XXXXXX")
declare -A MLB=()      # memberlist system -> its anchor binary, built into $OUT by build_anchors

declare -A R=()        # results: R[system,figure,N]
declare -a PIDS=()     # every background process we started, killed by PID on exit
declare -a NETNS=()    # every namespace we created, deleted on exit

cleanup() {
  local pid ns
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'bench/gossip/run.sh: %s\n' "$*" >&2; exit 1; }

# --- building --------------------------------------------------------------------------------

# Builds the anchor once per memberlist version, from the same main.go: a Go module whose go.mod
# files pin memberlist and whose go.sum files pin every dependency, which the go tool fetches through
# the module proxy (GOPROXY) into its module cache; nothing is vendored. Every call builds afresh into
# $OUT (the go build cache makes that a second or two), so a binary never outlives its sources.
# memberlist 0.7.0's go.mod needs go 1.25, newer than Debian 12's golang-go (1.19): the machine's
# own Go (/usr/local/go) is used when the one on PATH is older, and GOTOOLCHAIN=local keeps the go
# tool from fetching a newer toolchain by itself.
build_anchors() {
  local sys go=go
  [[ -f "$ANCHOR/main.go" ]] || die "memberlist anchor not found: expected $ANCHOR/main.go"
  if ! go_at_least_1_25 "$go" && go_at_least_1_25 /usr/local/go/bin/go; then go=/usr/local/go/bin/go; fi
  go_at_least_1_25 "$go" ||
    die "the memberlist anchor needs go >= 1.25 (memberlist 0.7.0's go.mod); found: $("$go" version 2>&1 || echo none)"
  for sys in "${ML_SYSTEMS[@]}"; do
    [[ -f "$ANCHOR/${ML_MODFILE[$sys]}" ]] || die "missing $ANCHOR/${ML_MODFILE[$sys]}"
    MLB[$sys]="$OUT/mlbench-${ML_VERSION[$sys]}"
    log "building the memberlist ${ML_VERSION[$sys]} anchor into ${MLB[$sys]} (go modules through the module proxy)"
    (cd "$ANCHOR" && GO111MODULE=on GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
      "$go" build -modfile="${ML_MODFILE[$sys]}" -o "${MLB[$sys]}" .) ||
      die "building the memberlist ${ML_VERSION[$sys]} anchor failed"
  done
}

# True when $1 is a go tool of version 1.25 or newer.
go_at_least_1_25() {
  local v
  v=$(GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null) || return 1
  [[ $v =~ ^go1\.(2[5-9]|[3-9][0-9])([.a-z]|$) ]]  # go1.25, go1.26.8, go1.27rc1
}

build_chronik() {
  if [[ ! -f "$BUILD/CMakeCache.txt" && -x "$GB" && -x "$SERVER" ]]; then
    log "using the prebuilt $GB and $SERVER (no CMakeCache.txt in $BUILD)"
    return 0
  fi
  [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S "$ROOT" -B "$BUILD" >/dev/null
  log "building gossip_bench and chronik-server in $BUILD"
  cmake --build "$BUILD" -j"${JOBS:-2}" --target gossip_bench chronik-server >"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "build failed (log: $OUT/build.log)"; }
}

# --- parsing ---------------------------------------------------------------------------------

# Value of "key=value" in a file (first match); secs() also drops a trailing "s" unit.
field() { { grep -o -- "$2=[^ ]*" "$1" 2>/dev/null || true; } | head -1 | cut -d= -f2-; }
secs() { field "$@" | sed 's/s$//'; }

# Go duration ("400ms", "1.234s", "1m2.5s") -> seconds.
go_dur_s() {
  [[ -n "$1" ]] || return 0
  awk -v d="$1" 'BEGIN {
    if (d ~ /ms$/) { sub(/ms$/, "", d); printf "%.3f", d / 1000; exit }
    if (d ~ /(µs|us)$/) { sub(/(µs|us)$/, "", d); printf "%.6f", d / 1e6; exit }
    t = 0
    if (d ~ /h/) { split(d, a, "h"); t += a[1] * 3600; d = a[2] }
    if (d ~ /m/) { split(d, a, "m"); t += a[1] * 60; d = a[2] }
    sub(/s$/, "", d); printf "%.3f", t + d }'
}

# --- 1. in-process convergence and crash detection -------------------------------------------

# Prefixes every line with the wall-clock time it was read (seconds, microseconds).
stamp() {
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}

# memberlist's first suspicion of the victim, in seconds after the crash, from a stamped -v log:
# the anchor crashes the victim right after printing its convergence line, and probeNode logs
# "Suspect <node> has failed" when a probe fails.
ml_first_suspect() {  # FILE N
  awk -v who="$(printf 'Suspect node-%03d has failed' $(($2 / 2)))" '
    /full-convergence-after-last-join/ && !k { k = $1 }
    k && index($0, who) { printf "%.3f", $1 - k; exit }' "$1"
}

# Appends one run's value to the space-separated list R[system,figure,N]; empty values are skipped.
add() { [[ -z "$4" ]] || R[$1,$2,$3]="${R[$1,$2,$3]:-}${R[$1,$2,$3]:+ }$4"; }
# $1 - $2 with three decimals, or nothing when either is missing.
minus() { [[ -z "$1" || -z "$2" ]] || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# One repetition of both systems, back to back, so that they share the machine's load. The time
# to detection depends on where the victim sits in each survivor's probe order, so one run says
# little; run.sh repeats and reports the median and the range. It also depends on the phase of the
# crash against the survivors' probe schedules: the anchor's in-process nodes are created within
# a few ms and Go tickers keep their creation phase, so all of them probe at the same instants,
# and the anchor crashes the victim right after convergence, a fixed fraction of a second before
# such an instant; chronik's nodes probe at independent random phases, as separate processes of
# either system do (docs/performance.md, "Failure detection at N = 32").
run_inprocess() {
  local n=$1 r=$2 f sys
  for sys in "${ML_SYSTEMS[@]}"; do ml_crash "$sys" "$n" "$r"; done
  ch_crash ch "$n" "$r"

  # The same crash with the victim's host silent: no port unreachable comes back, so chronik's
  # probes wait for their deadline as memberlist's always do (gossip_bench --silent-crash).
  f="$OUT/chs-crash-$n-$r.txt"
  log "chronik in-process n=$n run $r/$REPEATS, silent host"
  timeout 300 "$GB" -n "$n" --preset lan --port "$CH_PORT" --seed $((SEED_BASE + r)) --settle-s 0 --steady-s 1 \
    --silent-crash >"$f" 2>&1 || log "gossip_bench --silent-crash n=$n failed (see $f)"
  add chs suspect "$n" "$(field "$f" suspect_first_s)"
  add chs spread "$n" "$(minus "$(field "$f" detect_median_s)" "$(field "$f" suspect_first_s)")"
  add chs median "$n" "$(field "$f" detect_median_s)"

  # Every system again with a gossip key (mle, m7e and che), in the same repetition, so that the
  # sealed and plaintext runs share the machine's load too.
  if ((ENCRYPT)); then
    for sys in "${ML_SYSTEMS[@]}"; do ml_crash "${sys}e" "$n" "$r" -key "$GOSSIP_KEY"; done
    ch_crash che "$n" "$r" --encrypt
  fi
  return 0
}

# One in-process crash run of an anchor as system $1 (ml or m7, or mle or m7e with a key), extra
# args after $3.
ml_crash() {
  local sys=$1 n=$2 r=$3 f
  local plain=${sys%e}
  shift 3
  f="$OUT/$sys-crash-$n-$r.txt"
  log "memberlist ${ML_VERSION[$plain]} in-process n=$n run $r/$REPEATS${1:+, sealed}"
  { timeout 300 "${MLB[$plain]}" -n "$n" -profile lan -port "$ML_PORT" -v "$@" 2>&1 ||
    log "mlbench ${ML_VERSION[$plain]} n=$n failed (see $f)"; } | stamp >"$f"
  add "$sys" conv "$n" "$(go_dur_s "$(field "$f" full-convergence-after-last-join)")"
  add "$sys" suspect "$n" "$(ml_first_suspect "$f" "$n")"
  add "$sys" first "$n" "$(secs "$f" first)"
  add "$sys" median "$n" "$(secs "$f" median)"
  add "$sys" last "$n" "$(secs "$f" last)"
  add "$sys" seen "$n" "$(field "$f" seen-by)"
  add "$sys" spread "$n" "$(minus "$(secs "$f" median)" "$(ml_first_suspect "$f" "$n")")"
}

# One in-process crash run of gossip_bench as system $1 (ch, or che with --encrypt), extra args
# after $3; the first repetition also measures the payload bytes.
ch_crash() {
  local sys=$1 n=$2 r=$3 f steady=(--settle-s 0 --steady-s 1)
  shift 3
  f="$OUT/$sys-crash-$n-$r.txt"
  log "chronik in-process n=$n run $r/$REPEATS${1:+, sealed}"
  ((r == 1)) && steady=(--steady-s "$STEADY_S")  # the payload figure needs only one window
  timeout 300 "$GB" -n "$n" --preset lan --port "$CH_PORT" --seed $((SEED_BASE + r)) "${steady[@]}" "$@" >"$f" 2>&1 ||
    log "gossip_bench n=$n $* failed (see $f)"
  add "$sys" conv "$n" "$(field "$f" converge_s)"
  add "$sys" suspect "$n" "$(field "$f" suspect_first_s)"
  add "$sys" spread "$n" "$(minus "$(field "$f" detect_median_s)" "$(field "$f" suspect_first_s)")"
  add "$sys" first "$n" "$(field "$f" detect_first_s)"
  add "$sys" median "$n" "$(field "$f" detect_median_s)"
  add "$sys" last "$n" "$(field "$f" detect_last_s)"
  add "$sys" seen "$n" "$(field "$f" seen_by)"
  ((r == 1)) && add "$sys" payload "$n" "$(field "$f" payload_bytes_per_s_per_node)"
  return 0
}

# --- 2. bytes on the wire, one network namespace per system ----------------------------------

# A fresh namespace with lo up and, where iptables exists, two counting rules (no target) on its
# OUTPUT chain, one for UDP (probes, acks, gossip) and one for TCP (push-pull), which split the lo
# count by transport.
ns_create() {
  ip netns add "$1"
  NETNS+=("$1")
  ip -n "$1" link set lo up
  if command -v iptables >/dev/null; then
    ip netns exec "$1" iptables -A OUTPUT -p udp
    ip netns exec "$1" iptables -A OUTPUT -p tcp
  fi
}

# Bytes counted so far by the OUTPUT rule for protocol $2 (udp or tcp) in namespace $1, from
# iptables-save -c ("[packets:bytes] -A OUTPUT -p udp"); empty without iptables. Both count IP
# packet bytes: the UDP and TCP parts add up to the lo figure.
ns_proto_tx() {
  command -v iptables-save >/dev/null || return 0
  ip netns exec "$1" iptables-save -c -t filter |
    awk -v p="$2" '$2 == "-A" && $3 == "OUTPUT" && $5 == p { split($1, c, ":"); sub(/]$/, "", c[2]); print c[2]; exit }'
}

# Bytes per node and second between two counter readings: $1 $2 bytes, $3 $4 times, $5 nodes.
per_node_rate() {
  [[ -n "$1" && -n "$2" ]] || return 0
  awk -v a="$1" -v b="$2" -v t="$3" -v u="$4" -v n="$5" 'BEGIN { printf "%.1f", (b - a) / n / (u - t) }'
}

# Bytes sent on lo inside a namespace: the 9th counter after "lo:" in /proc/net/dev (TX bytes).
# On loopback every packet is sent once, so TX alone counts each byte once.
ns_lo_tx() { ip netns exec "$1" cat /proc/net/dev | awk '/^ *lo:/ { sub(/^ *lo:/, ""); print $9 }'; }

# Waits (bounded) until something listens on TCP port $2 inside namespace $1.
ns_wait_listen() {
  local i
  for ((i = 0; i < 200; i++)); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
    sleep 0.05
  done
  return 1
}

# Starts N memberlist processes chain-joined inside namespace $1 (node 0 joins itself, which
# memberlist accepts; -single needs a seed) as system $3 (ml or m7, or mle or m7e with the key);
# extra anchor args after $3.
start_ml_chain() {
  local ns=$1 n=$2 sys=$3 base=20000 i seed log
  shift 3
  log="$OUT/ns-$sys-$n.log"
  for ((i = 0; i < n; i++)); do
    seed=$((i == 0 ? base : base + i - 1))
    ip netns exec "$ns" "${MLB[${sys%e}]}" -single "node-$i" -port $((base + i)) -seed "127.0.0.1:$seed" -profile lan "$@" \
      >>"$log" 2>&1 &
    PIDS+=($!)
    ns_wait_listen "$ns" $((base + i)) || die "memberlist node $i did not listen in $ns (log: $log)"
  done
}

# The same chain with real chronik-server processes (node ids 1..N, ports apart by 100 per kind).
# --bootstrap-expect 1000 keeps them from forming a cluster, so the bytes measured are gossip
# bytes only, as memberlist's are: a formed cluster adds `__meta` Raft traffic on the same loopback.
# System $3 is ch, or che with the key; extra chronik-server args after $3.
start_ch_chain() {
  local ns=$1 n=$2 sys=$3 base=20000 i seed log data
  shift 3
  log="$OUT/ns-$sys-$n.log"
  data="$OUT/ns-data-$n"
  [[ $sys == ch ]] || data="$OUT/ns-data-$sys-$n"
  for ((i = 0; i < n; i++)); do
    seed=()
    ((i > 0)) && seed=(--seed "127.0.0.1:$((base + i - 1))")
    ip netns exec "$ns" "$SERVER" start --node-id $((i + 1)) --bind 127.0.0.1 --gossip-port $((base + i)) \
      --admin-port $((base + 100 + i)) --rpc-port $((base + 200 + i)) --kafka-port $((base + 300 + i)) \
      "${seed[@]}" --data-dir "$data/node-$((i + 1))" --admin-token-file "$(bench_admin_token)" \
      --preset lan --bootstrap-expect 1000 --log-level warn "$@" \
      >>"$log" 2>&1 &
    PIDS+=($!)
    ns_wait_listen "$ns" $((base + i)) || die "chronik node $((i + 1)) did not listen in $ns (log: $log)"
  done
}

# The admin token every chronik node of the run reads (docs/security.md "Admin HTTP"), made once.
bench_admin_token() {
  local f="$OUT/admin_token"
  [[ -s "$f" ]] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
  echo "$f"
}

# Smallest number of alive members any chronik node reports through its admin /v1/members.
ch_min_alive() {
  local ns=$1 n=$2 i c min=999999 auth
  auth="Authorization: Bearer $(cat "$(bench_admin_token)")"
  for ((i = 0; i < n; i++)); do
    c=$(ip netns exec "$ns" curl -s -m 2 -H "$auth" "http://127.0.0.1:$((20100 + i))/v1/members" | grep -c '"state": *"alive"' || true)
    ((c < min)) && min=$c
  done
  echo "$min"
}

# All clusters run at once (both memberlist versions and chronik, each also sealed with
# ENCRYPT=1), so every window sees the same machine load.
run_netns_bytes() {
  local n=$1 sys i t0 t1 first running started
  local -a systems=("${ML_SYSTEMS[@]}" ch)
  local -A ns=() b0=() b1=() pid0=() pid1=() u0=() u1=() c0=() c1=()
  ((ENCRYPT)) && systems=(ml mle m7 m7e ch che)  # memberlist first: see NS_SETTLE_S
  log "netns bytes n=$n: starting $n processes for each of: ${systems[*]}"
  for sys in "${systems[@]}"; do
    ns[$sys]="chronik-bench-$$-$sys$n"
    ns_create "${ns[$sys]}"
  done
  for sys in "${systems[@]}"; do
    [[ $sys == ch ]] && started=$(date +%s.%N)  # every memberlist process is up
    pid0[$sys]=${#PIDS[@]}
    case $sys in
      ml | m7) start_ml_chain "${ns[$sys]}" "$n" "$sys" ;;
      mle | m7e) start_ml_chain "${ns[$sys]}" "$n" "$sys" -key "$GOSSIP_KEY" ;;
      ch) start_ch_chain "${ns[$sys]}" "$n" "$sys" ;;
      che) start_ch_chain "${ns[$sys]}" "$n" "$sys" --gossip-key "$GOSSIP_KEY" ;;
    esac
    pid1[$sys]=${#PIDS[@]}
  done
  # memberlist -single has no query interface; chronik's admin API tells when every node sees N.
  # memberlist converged in well under a second in-process, so it is settled by then too.
  for sys in ch che; do
    [[ -n ${ns[$sys]:-} ]] || continue
    for ((i = 0; i < 60; i++)); do
      [[ $(ch_min_alive "${ns[$sys]}" "$n") -ge $n ]] && break
      sleep 1
    done
    R[$sys,nsconv,$n]=$(ch_min_alive "${ns[$sys]}" "$n")
  done
  # Convergence is done by now; wait out the rest of NS_SETTLE_S.
  sleep "$(awk -v t0="$started" -v now="$(date +%s.%N)" -v s="$NS_SETTLE_S" 'BEGIN { w = t0 + s - now; printf "%.1f", (w > 0 ? w : 0) }')"
  t0=$(date +%s.%N)
  for sys in "${systems[@]}"; do
    b0[$sys]=$(ns_lo_tx "${ns[$sys]}")
    u0[$sys]=$(ns_proto_tx "${ns[$sys]}" udp)
    c0[$sys]=$(ns_proto_tx "${ns[$sys]}" tcp)
  done
  sleep "$WINDOW_S"
  t1=$(date +%s.%N)
  for sys in "${systems[@]}"; do
    b1[$sys]=$(ns_lo_tx "${ns[$sys]}")
    u1[$sys]=$(ns_proto_tx "${ns[$sys]}" udp)
    c1[$sys]=$(ns_proto_tx "${ns[$sys]}" tcp)
  done
  for sys in "${systems[@]}"; do
    R[$sys,lo,$n]=$(per_node_rate "${b0[$sys]}" "${b1[$sys]}" "$t0" "$t1" "$n")
    R[$sys,udp,$n]=$(per_node_rate "${u0[$sys]}" "${u1[$sys]}" "$t0" "$t1" "$n")
    R[$sys,tcp,$n]=$(per_node_rate "${c0[$sys]}" "${c1[$sys]}" "$t0" "$t1" "$n")
    running=0
    for ((i = pid0[$sys]; i < pid1[$sys]; i++)); do
      if kill -0 "${PIDS[$i]}" 2>/dev/null; then running=$((running + 1)); fi
    done
    R[$sys,alive_procs,$n]=$running
  done
  first=${pid0[ml]}
  for ((i = first; i < ${#PIDS[@]}; i++)); do kill -KILL "${PIDS[$i]}" 2>/dev/null || true; done
  for ((i = first; i < ${#PIDS[@]}; i++)); do wait "${PIDS[$i]}" 2>/dev/null || true; done
  for sys in "${systems[@]}"; do ip netns del "${ns[$sys]}"; done
}

# --- 3. pause test ---------------------------------------------------------------------------

run_pause() {
  local d=$1 f sys
  for sys in "${ML_SYSTEMS[@]}"; do
    f="$OUT/$sys-pause-$d.txt"
    log "memberlist ${ML_VERSION[$sys]} pause ${d}s (n=$PAUSE_N+1)"
    timeout 300 "${MLB[$sys]}" -n "$PAUSE_N" -profile lan -port "$ML_PORT" -pause "${d}s" >"$f" 2>&1 ||
      log "mlbench ${ML_VERSION[$sys]} pause failed (see $f)"
    R[$sys,pause,$d]=$(field "$f" nodes-that-declared-ext-dead)
  done
  f="$OUT/ch-pause-$d.txt"
  log "chronik pause ${d}s (n=$PAUSE_N+1)"
  timeout 300 "$GB" -n "$PAUSE_N" --preset lan --port "$CH_PORT" --pause-ms $((d * 1000)) --server "$SERVER" \
    >"$f" 2>&1 || log "gossip_bench pause failed (see $f)"
  R[ch,pause,$d]=$(field "$f" nodes-that-declared-ext-dead)
  R[ch,pause_suspected,$d]=$(field "$f" nodes-that-suspected-ext)
}

# --- table -----------------------------------------------------------------------------------

# Median (the middle one; the lower middle for even counts) and "min-max" of a list of numbers.
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
span() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1) printf " [%s-%s]", lo, hi }'; }

ratio() { awk -v c="$1" -v m="$2" 'BEGIN { if (m + 0 > 0 && c != "") printf "%.2f", c / m; else printf "n/a" }'; }

# A list's median [min-max], or nothing for an empty list.
cell() { [[ -z "$1" ]] || echo "$(med "$1")$(span "$1")"; }

row() {  # N, figure label, key[, chronik variant]: the medians over the runs with their ranges, and chronik/memberlist of the medians
  local ml=${R[ml,$3,$1]:-} m7=${R[m7,$3,$1]:-} ch=${R[${4:-ch},$3,$1]:-}
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(cell "$ml")" "$(cell "$m7")" "$(cell "$ch")" \
    "$(ratio "$(med "$ch")" "$(med "$ml")")" "$(ratio "$(med "$ch")" "$(med "$m7")")"
}

print_table() {
  local n d sys
  echo
  echo "Gossip benchmark $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) vCPU, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, preset/profile lan, chronik seeds $((SEED_BASE + 1))..$((SEED_BASE + REPEATS)); raw output in $OUT"
  echo
  echo "Times: median over $REPEATS in-process runs [min-max]; ratios = chronik/memberlist of the medians, lower is better."
  echo
  echo "| N | figure | memberlist 0.2.2 | memberlist 0.7.0 | chronik | chronik/0.2.2 | chronik/0.7.0 |"
  echo "|---|---|---|---|---|---|---|"
  for n in $SIZES; do
    row "$n" "convergence after last join (s)" conv
    row "$n" "first suspicion of the victim (s)" suspect
    row "$n" "first suspicion to death seen by median survivor (s)" spread
    row "$n" "death seen, first survivor (s)" first
    row "$n" "death seen, median survivor (s)" median
    row "$n" "death seen, last survivor (s)" last
    printf '| %s | survivors that saw the death, per run | %s | %s | %s | | |\n' "$n" "${R[ml,seen,$n]:-n/a}" \
      "${R[m7,seen,$n]:-n/a}" "${R[ch,seen,$n]:-n/a}"
    row "$n" "silent host: first suspicion of the victim (s)" suspect chs
    row "$n" "silent host: first suspicion to death seen by median survivor (s)" spread chs
    row "$n" "silent host: death seen, median survivor (s)" median chs
    row "$n" "bytes/s per node on lo (netns, N processes)" lo
    row "$n" "of which UDP: probes, acks, gossip" udp
    row "$n" "of which TCP: push-pull" tcp
    printf '| %s | payload bytes/s per node (in-process stats) | n/a | n/a | %s | | |\n' "$n" "${R[ch,payload,$n]:-n/a}"
  done
  echo
  echo "| pause (N=$PAUSE_N + 1 paused process) | memberlist 0.2.2: nodes that declared it dead | memberlist 0.7.0: declared dead | chronik: declared dead | chronik: suspected |"
  echo "|---|---|---|---|---|"
  for d in $PAUSES; do
    printf '| %s s | %s | %s | %s | %s |\n' "$d" "${R[ml,pause,$d]:-n/a}" "${R[m7,pause,$d]:-n/a}" \
      "${R[ch,pause,$d]:-n/a}" "${R[ch,pause_suspected,$d]:-n/a}"
  done
  for n in $SIZES; do
    for sys in ch che; do
      [[ -n ${R[$sys,nsconv,$n]:-} && ${R[$sys,nsconv,$n]} -lt $n ]] &&
        echo "warning: netns n=$n: a $sys node (chronik) saw only ${R[$sys,nsconv,$n]} alive members before the byte window"
    done
    for sys in ml mle m7 m7e ch che; do
      [[ -n ${R[$sys,alive_procs,$n]:-} && ${R[$sys,alive_procs,$n]} -lt $n ]] &&
        echo "warning: netns n=$n: only ${R[$sys,alive_procs,$n]} of $n $sys processes were still running"
    done
  done
  return 0
}

# A row of the sealed table: the sealed medians [ranges] of every system, chronik's sealed ratios to
# each memberlist version sealed, and each system's sealed/plaintext ratio of medians (its own cost
# of encryption in this call).
row_sealed() {  # N, figure label, key
  local ml=${R[ml,$3,$1]:-} mle=${R[mle,$3,$1]:-} m7=${R[m7,$3,$1]:-} m7e=${R[m7e,$3,$1]:-}
  local ch=${R[ch,$3,$1]:-} che=${R[che,$3,$1]:-}
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(cell "$mle")" "$(cell "$m7e")" \
    "$(cell "$che")" "$(ratio "$(med "$che")" "$(med "$mle")")" "$(ratio "$(med "$che")" "$(med "$m7e")")" \
    "$(ratio "$(med "$mle")" "$(med "$ml")")" "$(ratio "$(med "$m7e")" "$(med "$m7")")" "$(ratio "$(med "$che")" "$(med "$ch")")"
}

print_sealed_table() {
  local n
  ((ENCRYPT)) || return 0
  echo
  echo "Sealed gossip: the same call, each repetition also run with one 32-byte key on all sides, AES-256-GCM"
  echo "(chronik gossip_key / gossip_bench --encrypt; memberlist Config.SecretKey, encryption version 1 in both"
  echo "versions, their defaults otherwise: compression on, no label, GossipVerifyIncoming/Outgoing on). All add"
  echo "29 bytes per datagram. Medians over $REPEATS runs [min-max]; sealed/plain is each system against its own"
  echo "plaintext runs."
  echo
  echo "| N | figure | memberlist 0.2.2 sealed | memberlist 0.7.0 sealed | chronik sealed | chronik/0.2.2 sealed | chronik/0.7.0 sealed | 0.2.2 sealed/plain | 0.7.0 sealed/plain | chronik sealed/plain |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for n in $SIZES; do
    row_sealed "$n" "convergence after last join (s)" conv
    row_sealed "$n" "first suspicion of the victim (s)" suspect
    row_sealed "$n" "first suspicion to death seen by median survivor (s)" spread
    row_sealed "$n" "death seen, median survivor (s)" median
    row_sealed "$n" "death seen, last survivor (s)" last
    printf '| %s | survivors that saw the death, per run | %s | %s | %s | | | | | |\n' "$n" "${R[mle,seen,$n]:-n/a}" \
      "${R[m7e,seen,$n]:-n/a}" "${R[che,seen,$n]:-n/a}"
    row_sealed "$n" "bytes/s per node on lo (netns, N processes)" lo
    row_sealed "$n" "of which UDP: probes, acks, gossip" udp
    row_sealed "$n" "of which TCP: push-pull" tcp
    printf '| %s | payload bytes/s per node (in-process stats) | n/a | n/a | %s | | | | | %s |\n' "$n" "${R[che,payload,$n]:-n/a}" \
      "$(ratio "${R[che,payload,$n]:-}" "${R[ch,payload,$n]:-}")"
  done
  return 0
}

main() {
  local n d r
  build_anchors
  build_chronik
  [[ -x "$GB" && -x "$SERVER" ]] || die "missing $GB or $SERVER after the build"
  for n in $SIZES; do
    for ((r = 1; r <= REPEATS; r++)); do run_inprocess "$n" "$r"; done
  done
  if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null; then
    for n in $SIZES; do run_netns_bytes "$n"; done
  else
    log "netns byte measurement skipped: it needs root and iproute2"
  fi
  for d in $PAUSES; do run_pause "$d"; done
  { print_table; print_sealed_table; } | tee "$OUT/table.md"
}

main
