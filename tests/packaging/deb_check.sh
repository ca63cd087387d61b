#!/usr/bin/env bash
# ctest package_deb: builds chronik-server's .deb with CPack from BUILD_DIR (already built: the
# binary and the generated completion and man page) and checks what an operator gets from it:
#   - the files: the binary, /etc/chronik/node.toml, the systemd unit, the bash completion, the man
#     page, the docs; /etc/chronik/node.toml is a conffile;
#   - the control data: the postinst creates the chronik system user and /var/lib/chronik, the
#     dependencies include what dpkg-shlibdeps found (libsystemd0 for sd_notify) and adduser;
#   - the unit: Type=notify, ExecStart of the packaged binary with the packaged config, ExecReload
#     sending SIGHUP, ExecStop draining the node (`node drain --self`, whose options the packaged
#     binary must accept);
#   - the completion: sourced into bash it offers every subcommand --help lists, at every level,
#     and the options of a subcommand;
#   - the shipped node.toml starts a node that reports ready (data dir and ports moved by flags).
# Installing the package into a booted system is `make test-vagrant` (tests/vagrant/nspawn_boot_test.sh).
set -euo pipefail
build=$(cd "${1:?usage: deb_check.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/chronik-deb-check.XXXXXX)
node_pid=""
cleanup() {
  if [[ -n $node_pid ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/out/chronik-server_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then fail "no single chronik-server_*.deb in $work/out"; fi
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/chronik-server ./etc/chronik/node.toml ./usr/lib/systemd/system/chronik.service \
  ./usr/share/bash-completion/completions/chronik-server ./usr/share/man/man1/chronik-server.1.gz \
  ./usr/share/doc/chronik-server/operations.md ./usr/share/doc/chronik-server/config.md \
  ./usr/share/doc/chronik-server/node.example.toml; do
  grep -q " $f\$" <<<"$contents" || fail "the package has no $f"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/bin/chronik-server$' <<<"$contents" || fail "the binary is not root-owned 0755"
if grep -qE ' ./(build|tests|bench)/|_test$' <<<"$contents"; then fail "the package carries build or test files"; fi
echo "files: binary, config, unit, completion, man page, docs"

[[ $(dpkg-deb -f "$deb" Package) == chronik-server ]] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libsystemd0 adduser procps libc6; do
  grep -q "\\b$d\\b" <<<"$depends" || fail "Depends lacks $d: $depends"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/chronik/node.toml "$work/control/conffiles" || fail "node.toml is not a conffile"
grep -q 'adduser --system .*chronik' "$work/control/postinst" || fail "the postinst does not create the chronik system user"
grep -q 'install -d -m 0750 -o chronik -g chronik /var/lib/chronik' "$work/control/postinst" || fail "no data dir in postinst"
for s in postinst prerm postrm; do
  [[ -x $work/control/$s ]] || fail "$s is not executable"
  sh -n "$work/control/$s" || fail "$s: syntax"
done
echo "control: Depends: $depends"
echo "control: conffile /etc/chronik/node.toml; postinst creates user chronik and /var/lib/chronik"

dpkg-deb -x "$deb" "$work/root"
unit=$work/root/usr/lib/systemd/system/chronik.service
grep -qx 'Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -qx 'ExecStart=/usr/bin/chronik-server start --config /etc/chronik/node.toml' "$unit" || fail "ExecStart"
# shellcheck disable=SC2016
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "ExecReload"
grep -qx 'User=chronik' "$unit" || fail "User=chronik"
grep -qx 'ExecStop=-/usr/bin/chronik-server node drain --self --config /etc/chronik/node.toml --timeout-s 60 --quiet' "$unit" ||
  fail "ExecStop does not drain the node: $(grep ^ExecStop= "$unit" || echo none)"
if command -v systemd-analyze >/dev/null; then
  # Only the unit's own syntax: the binary and user exist in the package's root, not on this host.
  analyze=$(systemd-analyze verify "$unit" 2>&1 || true)
  if grep -v -e 'chronik-server' -e 'not found' -e '^$' <<<"$analyze" | grep -qi 'unknown\|invalid\|failed to parse'; then
    fail "systemd-analyze verify: $analyze"
  fi
fi
echo "unit: Type=notify, ExecStart, ExecReload=kill -HUP, ExecStop=-... node drain --self, User=chronik"

server=$work/root/usr/bin/chronik-server
"$server" --version | grep -q '^chronik-server ' || fail "the packaged binary does not run"
# The ExecStop command line parses: its options exist (--help after them only prints the help).
"$server" node drain --self --config /etc/chronik/node.toml --timeout-s 60 --quiet --help >/dev/null ||
  fail "the packaged binary does not take the unit's ExecStop options"
zcat "$work/root/usr/share/man/man1/chronik-server.1.gz" | grep -q '^\.TH CHRONIK-SERVER 1' || fail "man page"

# The completion, as bash-completion would load it: COMP_WORDS up to the cursor, COMPREPLY back.
completion=$work/root/usr/share/bash-completion/completions/chronik-server
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _chronik_server; echo "${COMPREPLY[*]}"' \
    _ "$completion" chronik-server "$@"
}
# The subcommands --help lists under "Subcommands:", for a path of subcommands.
listed_subcommands() {
  "$server" "$@" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'
}
# One line: the words of stdin, sorted, space-separated.
words_sorted() { tr ' ' '\n' | sed '/^$/d' | sort | paste -sd' '; }
checked=0
check_level() {
  local sub want got
  want=$(listed_subcommands "$@" | words_sorted)
  got=$(complete_words "$@" "" | words_sorted)
  [[ $want == "$got" ]] || fail "completion after 'chronik-server $*' offers '$got', --help lists '$want'"
  checked=$((checked + 1))
  for sub in $want; do check_level "$@" "$sub"; done
}
check_level
((checked >= 4)) || fail "only $checked command levels checked"
[[ $(complete_words cl) == cluster ]] || fail "'cl' does not complete to cluster"
grep -qw -- --config <<<"$(complete_words start --con)" || fail "start --con does not offer --config"
grep -qw -- --json <<<"$(complete_words cluster status --)" || fail "cluster status -- does not offer --json"
echo "completion: every subcommand --help lists, at $checked command levels; options of start and cluster status"

# The shipped config starts a node that serves: a one-node cluster, ready once it formed.
ip=127.0.0.$((100 + RANDOM % 100))
base=$((30000 + RANDOM % 2000 * 4))
"$server" start --config "$work/root/etc/chronik/node.toml" --data-dir "$work/data" --bind "$ip" \
  --gossip-port "$base" --rpc-port $((base + 1)) --kafka-port $((base + 2)) --admin-port $((base + 3)) \
  >"$work/node.log" 2>&1 &
node_pid=$!
deadline=$((SECONDS + 60))
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ip:$((base + 3))/health" || true) == 200 ]]; do
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/node.log"; fail "the node with the shipped config exited"; }
  ((SECONDS < deadline)) || { tail -20 "$work/node.log"; fail "the node with the shipped config is not ready after 60 s"; }
  sleep 0.2
done
kill -TERM "$node_pid"
rc=0
wait "$node_pid" || rc=$?
node_pid=""
((rc == 0)) || fail "the node exited $rc after SIGTERM"
echo "the shipped /etc/chronik/node.toml starts a one-node cluster that reports ready, and stops with 0"
echo "package_deb: passed"
