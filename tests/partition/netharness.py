"""Network-namespace harness of the partition suite (docs/partition-testing.md).

One namespace per node, each joined to one bridge by a veth pair. The node addresses exist only
inside the namespaces; the root namespace gets an `unreachable` route for the range so that nothing
there ever sends to it by accident. Faults are iptables rules inside a node's namespace (DROP for
cuts and loss, NFQUEUE to our nfq_delay helper for delay), SIGSTOP/SIGCONT, SIGKILL, and libfaketime
for the wall clock. Nodes run with security on between them unless asked otherwise (`up(security=
"off")`): mutual TLS on the RPC port with certificates from `chronik-server certs` and gossip sealed
with a key from `chronik-server keygen` (docs/security.md), both made per run in the state
directory. Every object is named with the harness prefix, recorded in a state file, and
removed by `teardown()`; processes are ended by PID only, after checking that the PID is still the
process we started.
"""
import json
import os
import secrets
import random
import signal
import subprocess
import time

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
GOSSIP_PORT, RPC_PORT, KAFKA_PORT, ADMIN_PORT = 7946, 9093, 9092, 9644
# What the nodes protect between them: "on" = RPC mutual TLS + gossip key; "off" = plaintext.
SECURITY_MODES = ("on", "off")


class HarnessError(Exception):
    pass


def run(cmd, check=True, timeout=20):
    """Runs one command (a list) with a deadline; returns its stdout."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def pid_is(pid, must_contain):
    """True when /proc/PID/cmdline still names what we started (guards against PID reuse)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return all(s in cmd for s in must_contain)


class Harness:
    """A cluster of `size` nodes in namespaces `<prefix>n<i>` on bridge `<prefix>br0`.

    `tag` is one hex-ish character (0-9) that picks the subnet 10.77.<tag>.0/24 and the names, so
    that the manual tool (tag 0) and the ctest suite (tag 1) never share an object.
    """

    def __init__(self, state_dir, tag=0, server=None, nfq_delay=None):
        self.state_dir = os.path.abspath(state_dir)
        self.state_path = os.path.join(self.state_dir, "state.json")
        self.tag = int(tag)
        if not 0 <= self.tag <= 9:
            raise HarnessError("tag must be 0..9")
        self.prefix = f"chr{self.tag}"
        self.bridge = f"chrbr{self.tag}"
        self.subnet = f"10.77.{self.tag}.0/24"
        self.state = {"tag": self.tag, "size": 0, "nodes": {}, "namespaces": [], "veths": [],
                      "bridge": None, "route": None, "helpers": {}, "server": server,
                      "nfq_delay": nfq_delay, "preset": "local", "extra": [], "security": "on"}
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.state.update(json.load(f))
        if server:
            self.state["server"] = os.path.abspath(server)
        if nfq_delay:
            self.state["nfq_delay"] = os.path.abspath(nfq_delay)

    # ---- state -------------------------------------------------------------------------------
    def save(self):
        os.makedirs(self.state_dir, exist_ok=True)
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.state_path)

    @property
    def size(self):
        return self.state["size"]

    def ids(self):
        return list(range(1, self.size + 1))

    def ns(self, i):
        return f"{self.prefix}n{i}"

    def ip(self, i):
        return f"10.77.{self.tag}.{i}"

    def veth(self, i):
        return f"{self.prefix}v{i}"

    def data_dir(self, i):
        return os.path.join(self.state_dir, f"node-{i}")

    def log_path(self, i):
        return os.path.join(self.state_dir, f"node-{i}.log")

    def skew_file(self, i):
        return os.path.join(self.state_dir, f"node-{i}.faketime")

    def admin_addr(self, i):
        return f"{self.ip(i)}:{ADMIN_PORT}"

    def admin_token_file(self):
        return os.path.join(self.state_dir, "admin_token")

    def admin_token(self):
        """The bearer token every node of the run reads (docs/security.md "Admin HTTP"), made once."""
        path = self.admin_token_file()
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        with open(path) as f:
            return f.read().strip()

    def kafka_addr(self, i):
        return f"{self.ip(i)}:{KAFKA_PORT}"

    # ---- security ----------------------------------------------------------------------------
    def pki_dir(self):
        return os.path.join(self.state_dir, "pki")

    def config_path(self, i):
        return os.path.join(self.state_dir, f"node-{i}.toml")

    def _make_security(self, size):
        """A development CA and node-<i> certificates bound to each node's uuid (`chronik-server certs`), one gossip key
        (`chronik-server keygen`) and each node's TOML with the keys that have no flag (rpc_tls_*) and
        the gossip key, which stays off the command line. Files with keys are mode 0600."""
        server = self.state["server"]
        # Each certificate binds its node's uuid, made in the data directory before the first start.
        for i in range(1, size + 1):
            run([server, "certs", "--dir", self.pki_dir(), "--node", str(i), "--data-dir", self.data_dir(i)])
        key = run([server, "keygen"]).strip()
        for i in range(1, size + 1):
            text = (f"# Written by tests/partition/netharness.py: security between the nodes (docs/security.md).\n"
                    f'gossip_key = "{key}"\n'
                    f'rpc_tls_ca_file = "{os.path.join(self.pki_dir(), "ca.crt")}"\n'
                    f'rpc_tls_cert_file = "{os.path.join(self.pki_dir(), f"node-{i}.crt")}"\n'
                    f'rpc_tls_key_file = "{os.path.join(self.pki_dir(), f"node-{i}.key")}"\n')
            fd = os.open(self.config_path(i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)

    # ---- network -----------------------------------------------------------------------------
    def _create_network(self, size):
        if os.path.exists(f"/sys/class/net/{self.bridge}"):
            raise HarnessError(f"bridge {self.bridge} exists already: run `nemesis down` first")
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        self.state["bridge"] = self.bridge
        self.save()
        run(["ip", "link", "set", self.bridge, "up"])
        # Nothing in the root namespace may reach the test range: it has no address there.
        run(["ip", "route", "add", "unreachable", self.subnet])
        self.state["route"] = self.subnet
        self.save()
        for i in range(1, size + 1):
            ns, veth = self.ns(i), self.veth(i)
            run(["ip", "netns", "add", ns])
            self.state["namespaces"].append(ns)
            self.save()
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
            self.state["veths"].append(veth)
            self.save()
            run(["ip", "link", "set", veth, "master", self.bridge, "up"])
            for key in ("all", "default", "lo", "eth0"):
                run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1"])
            run(["ip", "-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def ipt(self, i, *args, check=True):
        return run(["ip", "netns", "exec", self.ns(i), "iptables", "-w", "5", *args], check=check)

    # ---- nodes -------------------------------------------------------------------------------
    def node_command(self, i):
        seeds = [f"{self.ip(j)}:{GOSSIP_PORT}" for j in self.ids() if j != i]
        cmd = [self.state["server"], "start", "--node-id", str(i), "--bind", self.ip(i),
               "--gossip-port", str(GOSSIP_PORT), "--rpc-port", str(RPC_PORT),
               "--kafka-port", str(KAFKA_PORT), "--admin-port", str(ADMIN_PORT),
               "--data-dir", self.data_dir(i), "--preset", self.state["preset"],
               "--cluster-name", f"partition-{self.tag}",
               # The observers reach the admin endpoint over the test network, with the run's token.
               "--admin-bind", self.ip(i), "--admin-token-file", self.admin_token_file()]
        self.admin_token()
        if self.state.get("security", "on") == "on":
            cmd += ["--config", self.config_path(i)]
        for s in seeds:
            cmd += ["--seed", s]
        return cmd + list(self.state.get("extra", []))

    def start(self, i):
        node = self.state["nodes"].get(str(i))
        if node and pid_alive(node["pid"]) and pid_is(node["pid"], ["chronik-server", self.ip(i)]):
            raise HarnessError(f"node {i} is running (pid {node['pid']})")
        if not os.path.exists(self.skew_file(i)):
            with open(self.skew_file(i), "w") as f:
                f.write("+0\n")
        # Every node runs under libfaketime reading its own offset file, so `skew` changes a running
        # node's wall clock (within FAKETIME_CACHE_DURATION); steady clocks stay real.
        env = ["env", f"LD_PRELOAD={FAKETIME_LIB}", f"FAKETIME_TIMESTAMP_FILE={self.skew_file(i)}",
               "FAKETIME_CACHE_DURATION=1", "DONT_FAKE_MONOTONIC=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"]
        if not os.path.exists(FAKETIME_LIB):
            env = ["env"]
        cmd = ["ip", "netns", "exec", self.ns(i)] + env + self.node_command(i)
        log = open(self.log_path(i), "ab")
        log.write(f"==== {time.strftime('%H:%M:%S')} start: {' '.join(cmd)}\n".encode())
        log.flush()
        # `ip netns exec` and `env` both exec, so the PID is chronik-server's own.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self.state["nodes"][str(i)] = {"pid": proc.pid, "paused": False}
        self.save()
        self._await_exec(proc, self.state["server"])
        return proc

    @staticmethod
    def _await_exec(proc, server, timeout=5.0):
        """Returns once the PID runs the server itself, or has exited. Until `ip netns exec` and
        `env` have exec'd, and for an instant inside each exec (/proc/PID/cmdline reads empty),
        pid_is() does not recognise the node, and running() right after start() said no."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if os.path.samefile(f"/proc/{proc.pid}/exe", server):
                    return
            except OSError:
                pass  # mid-exec, or gone (poll() tells)
            time.sleep(0.005)

    def pid(self, i):
        node = self.state["nodes"].get(str(i))
        if not node:
            return None
        pid = node["pid"]
        if pid_alive(pid) and pid_is(pid, ["chronik-server", self.ip(i)]):
            return pid
        return None

    def running(self, i):
        return self.pid(i) is not None

    def signal(self, i, sig):
        pid = self.pid(i)
        if pid is None:
            raise HarnessError(f"node {i} is not running")
        os.kill(pid, sig)
        return pid

    def kill(self, i):
        pid = self.pid(i)
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        self._reap(pid, 10)
        self.state["nodes"][str(i)]["paused"] = False
        self.save()

    def stop(self, i, timeout=10):
        """SIGTERM (graceful leave), then SIGKILL after `timeout`."""
        pid = self.pid(i)
        if pid is None:
            return
        if self.state["nodes"][str(i)].get("paused"):
            os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
        if not self._reap(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            self._reap(pid, 10)
        self.state["nodes"][str(i)]["paused"] = False
        self.save()

    def _reap(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    return True
            except ChildProcessError:
                if not pid_alive(pid):
                    return True
            time.sleep(0.02)
        return False

    def pause(self, i):
        self.signal(i, signal.SIGSTOP)
        self.state["nodes"][str(i)]["paused"] = True
        self.save()

    def resume(self, i):
        self.signal(i, signal.SIGCONT)
        self.state["nodes"][str(i)]["paused"] = False
        self.save()

    # ---- lifecycle ---------------------------------------------------------------------------
    def up(self, size, preset="local", extra=(), security="on"):
        if self.state["namespaces"] or self.state["nodes"]:
            raise HarnessError(f"harness {self.prefix} is up already: run `nemesis down` first")
        if size < 1 or size > 9:
            raise HarnessError("size must be 1..9")
        if not self.state["server"] or not os.access(self.state["server"], os.X_OK):
            raise HarnessError(f"no chronik-server binary: {self.state['server']}")
        if security not in SECURITY_MODES:
            raise HarnessError(f"security must be one of {SECURITY_MODES}")
        os.makedirs(self.state_dir, exist_ok=True)
        self.state.update(size=size, preset=preset, extra=list(extra), security=security)
        self.save()
        if security == "on":
            self._make_security(size)
        self._create_network(size)
        for i in self.ids():
            self.start(i)

    def teardown(self):
        """Removes every process, helper, rule, namespace, veth, route and bridge in the state file.
        Idempotent, and keeps going past errors so that one failure does not leak the rest."""
        errors = []
        for key, h in list(self.state.get("helpers", {}).items()):
            self._end_pid(h["pid"], [h.get("match", "nfq_delay")], errors)
            self.state["helpers"].pop(key, None)
        for i, node in list(self.state.get("nodes", {}).items()):
            pid = node["pid"]
            if pid_alive(pid) and pid_is(pid, ["chronik-server"]):
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
            self._end_pid(pid, ["chronik-server"], errors)
            self.state["nodes"].pop(i, None)
        for ns in list(self.state.get("namespaces", [])):
            # Deleting the namespace deletes its rules and its end of the veth pair.
            r = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=20)
            if r.returncode != 0 and os.path.exists(f"/run/netns/{ns}"):
                errors.append(f"ip netns del {ns}: {r.stderr.strip()}")
            else:
                self.state["namespaces"].remove(ns)
        for veth in list(self.state.get("veths", [])):
            if os.path.exists(f"/sys/class/net/{veth}"):
                subprocess.run(["ip", "link", "del", veth], capture_output=True, timeout=20)
            self.state["veths"].remove(veth)
        if self.state.get("route"):
            subprocess.run(["ip", "route", "del", "unreachable", self.state["route"]],
                           capture_output=True, timeout=20)
            self.state["route"] = None
        if self.state.get("bridge"):
            if os.path.exists(f"/sys/class/net/{self.state['bridge']}"):
                subprocess.run(["ip", "link", "del", self.state["bridge"]], capture_output=True, timeout=20)
            self.state["bridge"] = None
        self.state["size"] = 0
        self.save()
        return errors

    def _end_pid(self, pid, match, errors):
        if not (pid_alive(pid) and pid_is(pid, match)):
            return
        try:
            if "nfq_delay" in match:
                # SIGTERM lets the helper release the packets it holds; SIGKILL if it does not exit.
                os.kill(pid, signal.SIGTERM)
                if self._reap(pid, 2):
                    return
            os.kill(pid, signal.SIGKILL)
        except OSError as e:
            errors.append(f"kill {pid}: {e}")
            return
        if not self._reap(pid, 10):
            errors.append(f"pid {pid} did not exit")

    # ---- faults ------------------------------------------------------------------------------
    def heal(self):
        """Removes every cut, loss and delay rule and stops the delay helpers."""
        for i in self.ids():
            self.ipt(i, "-F", "INPUT")
            self.ipt(i, "-F", "OUTPUT")
        for key, h in list(self.state["helpers"].items()):
            self._end_pid(h["pid"], [h.get("match", "nfq_delay")], [])
            self.state["helpers"].pop(key)
        self.save()

    def drop(self, src, dst):
        """Packets from node src no longer reach node dst (dst's INPUT drops them)."""
        self.ipt(dst, "-A", "INPUT", "-s", self.ip(src), "-j", "DROP")

    def cut(self, groups):
        """Only nodes inside the same group talk; `groups` is a list of lists of node ids.
        A node may be in several groups (a bridge); two nodes talk iff some group holds both."""
        for a in self.ids():
            for b in self.ids():
                if a != b and not any(a in g and b in g for g in groups):
                    self.drop(a, b)

    def partition(self, kind, rng=None, args=()):
        """Applies one named partition; returns the groups (list of lists) it made."""
        ids = self.ids()
        rng = rng or random.Random(0)
        if kind == "halves":
            order = ids[:]
            rng.shuffle(order)
            k = len(order) // 2
            groups = [sorted(order[:k]), sorted(order[k:])]
        elif kind == "isolate":
            node = int(args[0])
            groups = [[node], [j for j in ids if j != node]]
        elif kind == "ring":
            n = len(ids)
            groups = [sorted({ids[k], ids[(k + 1) % n]}) for k in range(n)]
        elif kind == "bridge":
            order = ids[:]
            rng.shuffle(order)
            k = len(order) // 2
            mid = order[k]
            groups = [sorted(order[:k] + [mid]), sorted(order[k:])]
        elif kind == "oneway":
            a, b = int(args[0]), int(args[1])
            self.drop(a, b)
            return [[a, "->x", b]]
        else:
            raise HarnessError(f"unknown partition {kind}")
        self.cut(groups)
        return groups

    def loss(self, pct):
        p = f"{pct / 100.0:.4f}"
        for i in self.ids():
            # Only eth0: the node's packets to itself go over lo and are never dropped.
            self.ipt(i, "-A", "INPUT", "-i", "eth0", "-m", "statistic", "--mode", "random",
                     "--probability", p, "-j", "DROP")

    def delay(self, ms):
        """Every packet a node sends to another node waits `ms` in the node's nfq_delay helper."""
        helper = self.state.get("nfq_delay")
        if not helper or not os.access(helper, os.X_OK):
            raise HarnessError(f"no nfq_delay helper binary: {helper}")
        for i in self.ids():
            log = open(os.path.join(self.state_dir, f"nfq-{i}.log"), "ab")
            proc = subprocess.Popen(["ip", "netns", "exec", self.ns(i), helper, "--queue", "7",
                                     "--delay-ms", str(int(ms))], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            self.state["helpers"][f"delay-{i}"] = {"pid": proc.pid, "match": "nfq_delay"}
            self.save()
        time.sleep(0.3)  # the helper binds its queue before the rule sends it packets
        for i in self.ids():
            # --queue-bypass: if the helper is gone, packets pass instead of vanishing.
            self.ipt(i, "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "7", "--queue-bypass")

    def skew(self, i, seconds):
        """Sets node i's wall-clock offset; libfaketime rereads the file within a second."""
        sign = "+" if seconds >= 0 else "-"
        tmp = self.skew_file(i) + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{sign}{abs(int(seconds))}\n")
        os.replace(tmp, self.skew_file(i))
