"""The Apache Kafka anchor (issue 20, docs/performance.md "The Apache Kafka anchor (issue 20)"):
a real Apache Kafka cluster in KRaft mode that chronik's benchmarks are measured against.

Three brokers, each also a controller (process.roles=broker,controller), on 127.0.0.21-23, with
replication factor 3 and min.insync.replicas=2. Kafka and its dependencies come from Maven
Central, fetched by Maven (pom.xml beside this file) into a cache outside git; once the cache holds
them nothing is fetched again. The brokers run on the machine's Java 17 with `java -cp lib/*`, as
Kafka's own scripts run them.

Command line (stdlib only; run with /usr/bin/python3):
    kafka_anchor.py fetch                      # Maven -> <cache>/lib (once; offline afterwards)
    kafka_anchor.py start [--fsync]            # format with a random cluster id, start 3 brokers
    kafka_anchor.py wait-ready                 # until every broker's Metadata lists all 3
    kafka_anchor.py status                     # PIDs, RSS, brokers each one lists
    kafka_anchor.py stop [--keep]              # SIGTERM by PID, SIGKILL after a deadline
    kafka_anchor.py tool CLASS [ARGS...]       # a Kafka tool class, e.g.
        org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.21:29092 --list
    kafka_anchor.py up [--fsync]               # fetch + start + wait-ready, prints the figures

As a module (another bench puts this directory on sys.path):
    import kafka_anchor
    anchor = kafka_anchor.Anchor(fsync=True)
    anchor.start(); cold_start_s = anchor.wait_ready()
    ... anchor.bootstrap ... anchor.rss_kib() ... anchor.tool_command("org.apache...", [...])
    anchor.stop()

The cache is build/kafka-anchor under the repository (KAFKA_ANCHOR_CACHE or --cache overrides
it); the run directory (configs, data, logs, PIDs) is <cache>/run unless --run-dir says otherwise.
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

KAFKA_VERSION = "4.4.0"
HOSTS = ["127.0.0.21", "127.0.0.22", "127.0.0.23"]
# chronik's cluster tests take 127.0.0.11+ with ports 20000-28999 (tests/cluster/chronik_nodes.py);
# the anchor's own addresses and ports stay clear of them, and of the ephemeral range (32768+).
DEFAULT_BASE_PORT = 29092  # broker listener; the controller listener is base + 1
DEFAULT_HEAP = "512m"
JAVA = os.environ.get("JAVA", "/usr/bin/java")
BROKER_MAIN = "kafka.Kafka"
STORAGE_MAIN = "kafka.tools.StorageTool"
# The JVM flags of Kafka's kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS), so the anchor runs as
# an operator's broker does; only the heap is smaller than its 1 GiB (2 cores, 3 brokers).
JVM_PERFORMANCE_OPTS = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                        "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
                        "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true"]
STOP_DEADLINE_S = 30.0  # a controlled shutdown moves leaderships first; a few seconds is usual

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
POM = os.path.join(HERE, "pom.xml")
COMPLETE_MARK = ".complete"  # in lib/: the pom's sha256, written once every jar is copied


def default_cache_dir():
    return os.environ.get("KAFKA_ANCHOR_CACHE") or os.path.join(REPO, "build", "kafka-anchor")


def _pom_digest():
    with open(POM, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def lib_complete(cache_dir):
    mark = os.path.join(cache_dir, "lib", COMPLETE_MARK)
    try:
        with open(mark) as f:
            return f.read().strip() == _pom_digest()
    except OSError:
        return False


def fetch(cache_dir=None, quiet=False):
    """Maven copies Kafka and its runtime dependencies into <cache>/lib, with its local repository
    in <cache>/m2. Returns the seconds it took, 0.0 when lib/ is already complete for this pom
    (then Maven does not run at all). With m2 present Maven first tries offline (-o), so a lost
    lib/ is rebuilt without the network."""
    cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    if lib_complete(cache_dir):
        return 0.0
    os.makedirs(cache_dir, exist_ok=True)
    partial = os.path.join(cache_dir, "lib.partial")
    lib = os.path.join(cache_dir, "lib")
    m2 = os.path.join(cache_dir, "m2")
    began = time.monotonic()
    attempts = [["-o"], []] if os.path.isdir(m2) else [[]]
    for extra in attempts:
        shutil.rmtree(partial, ignore_errors=True)
        cmd = ["mvn", "-q", "-B", *extra, "-f", POM, f"-Dmaven.repo.local={m2}",
               "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={partial}"]
        if not quiet:
            print("fetch:", " ".join(cmd), file=sys.stderr)
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode == 0:
            break
    else:
        raise RuntimeError(f"maven failed ({done.returncode}):\n{done.stdout[-4000:]}")
    if not os.path.exists(os.path.join(partial, f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise RuntimeError(f"maven succeeded but {partial} has no kafka_2.13-{KAFKA_VERSION}.jar")
    with open(os.path.join(partial, COMPLETE_MARK), "w") as f:
        f.write(_pom_digest() + "\n")
    shutil.rmtree(lib, ignore_errors=True)
    os.rename(partial, lib)
    return time.monotonic() - began


def classpath(cache_dir=None):
    return os.path.join(os.path.abspath(cache_dir or default_cache_dir()), "lib", "*")


# --- the Kafka protocol, just enough to ask a broker which brokers it knows ----------------------

def _request(sock, api_key, version, correlation_id, body):
    client_id = b"kafka-anchor"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _read_exact(sock, 4))[0]
    data = _read_exact(sock, size)
    if struct.unpack(">i", data[:4])[0] != correlation_id:
        raise ValueError("correlation id mismatch")
    return data[4:]


def _read_exact(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _metadata_version(sock):
    """ApiVersions v0 (every broker answers it), then the lowest Metadata version from 1 to 8 the
    broker accepts: those share one non-flexible layout for the broker list, and Kafka 4 dropped
    some of the oldest versions of several APIs (KIP-896)."""
    data = _request(sock, 18, 0, 1, b"")
    error, count = struct.unpack(">hi", data[:6])
    if error:
        raise ValueError(f"ApiVersions error {error}")
    for i in range(count):
        key, low, high = struct.unpack(">hhh", data[6 + 6 * i:12 + 6 * i])
        if key == 3:
            version = max(low, 1)
            if version > min(high, 8):
                raise ValueError(f"no Metadata version in 1-8 (broker has {low}-{high})")
            return version
    raise ValueError("broker lists no Metadata API")


def metadata_brokers(host, port, timeout=2.0):
    """The node ids in a Metadata response of the broker at host:port (no topics asked for).
    A KRaft broker lists only registered, unfenced brokers."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        version = _metadata_version(sock)
        body = struct.pack(">i", 0)  # an empty topic array: no topics (null would be all)
        if version >= 4:
            body += b"\x00"  # allow_auto_topic_creation
        if version >= 8:
            body += b"\x00\x00"  # include cluster / topic authorized operations
        data = _request(sock, 3, version, 2, body)
        pos = 4 if version >= 3 else 0  # throttle_time_ms
        count = struct.unpack(">i", data[pos:pos + 4])[0]
        pos += 4
        ids = []
        for _ in range(count):
            node_id, host_len = struct.unpack(">ih", data[pos:pos + 6])
            pos += 6 + host_len + 4  # host, port
            rack_len = struct.unpack(">h", data[pos:pos + 2])[0]
            pos += 2 + max(rack_len, 0)
            ids.append(node_id)
        return sorted(ids)


# --- the cluster ---------------------------------------------------------------------------------

def _random_cluster_id():
    # Kafka's Uuid.toString: 16 random bytes, base64url without padding; Kafka avoids a leading
    # '-' so the id cannot be taken for a command-line option.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _proc_start(pid):
    """(state, start time in clock ticks since boot) from /proc/PID/stat, or None if no such
    process. The start time tells our broker from a later process that reuses its PID."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])  # fields 3 and 22 of proc(5)


def _is_running(pid, start_ticks):
    """The process we started under this PID still runs. An exited child of ours is reaped here
    (a zombie is not running; one whose parent is gone is reaped by init)."""
    got = _proc_start(pid)
    if got is None or got[1] != start_ticks:
        return False
    if got[0] in ("Z", "X"):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # it exited between the check and the signal


LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by kafka_anchor.py: INFO to server.log in the node's log dir, as Kafka's own config -->
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="${sys:kafka.logs.dir}/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
"""


TOOLS_LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by kafka_anchor.py: tools log warnings to stderr, their figures go to stdout -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
"""


class Anchor:
    """One 3-broker KRaft cluster in run_dir. start() formats and starts it, wait_ready() returns
    the cold-start seconds (format included), stop() ends it by PID. Anchor.load(run_dir) picks up
    a cluster started by another process (its state is in run_dir/anchor.json)."""

    def __init__(self, cache_dir=None, run_dir=None, base_port=DEFAULT_BASE_PORT, fsync=False,
                 heap=DEFAULT_HEAP, hosts=HOSTS):
        self.cache_dir = os.path.abspath(cache_dir or default_cache_dir())
        self.run_dir = os.path.abspath(run_dir or os.path.join(self.cache_dir, "run"))
        self.base_port = base_port
        self.fsync = fsync
        self.heap = heap
        self.hosts = list(hosts)
        self.pids = {}
        self.start_ticks = {}  # node id -> /proc start time of its broker process
        self._procs = {}  # the Popen of each broker this process started (none after load())
        self.cluster_id = None
        self.began = None  # time.time() before the format: the cold start counts from here
        self.format_s = None
        self.ready_s = None

    # -- layout
    @property
    def broker_port(self):
        return self.base_port

    @property
    def controller_port(self):
        return self.base_port + 1

    @property
    def bootstrap(self):
        return ",".join(f"{h}:{self.broker_port}" for h in self.hosts)

    def node_dir(self, node_id):
        return os.path.join(self.run_dir, f"node-{node_id}")

    def config_path(self, node_id):
        return os.path.join(self.node_dir(node_id), "server.properties")

    def node_ids(self):
        return list(range(1, len(self.hosts) + 1))

    def state_path(self):
        return os.path.join(self.run_dir, "anchor.json")

    def _save(self):
        state = {"cache_dir": self.cache_dir, "base_port": self.base_port, "fsync": self.fsync,
                 "heap": self.heap, "hosts": self.hosts, "pids": self.pids,
                 "start_ticks": self.start_ticks,
                 "cluster_id": self.cluster_id, "began": self.began, "format_s": self.format_s,
                 "ready_s": self.ready_s, "kafka_version": KAFKA_VERSION}
        tmp = self.state_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.state_path())

    @classmethod
    def load(cls, run_dir=None, cache_dir=None):
        cache_dir = os.path.abspath(cache_dir or default_cache_dir())
        run_dir = os.path.abspath(run_dir or os.path.join(cache_dir, "run"))
        with open(os.path.join(run_dir, "anchor.json")) as f:
            state = json.load(f)
        anchor = cls(state["cache_dir"], run_dir, state["base_port"], state["fsync"],
                     state["heap"], state["hosts"])
        anchor.pids = {int(k): v for k, v in state["pids"].items()}
        anchor.start_ticks = {int(k): v for k, v in state["start_ticks"].items()}
        for key in ("cluster_id", "began", "format_s", "ready_s"):
            setattr(anchor, key, state[key])
        return anchor

    def properties(self, node_id):
        host = self.hosts[node_id - 1]
        voters = ",".join(f"{i}@{h}:{self.controller_port}" for i, h in zip(self.node_ids(), self.hosts))
        props = {
            "process.roles": "broker,controller",
            "node.id": node_id,
            # a static quorum of the three controllers: the format needs no directory ids
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{host}:{self.broker_port},CONTROLLER://{host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{host}:{self.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": os.path.join(self.node_dir(node_id), "data"),
            "num.partitions": 1,
            "default.replication.factor": 3,
            "min.insync.replicas": 2,
            "offsets.topic.replication.factor": 3,
            "transaction.state.log.replication.factor": 3,
            "transaction.state.log.min.isr": 2,
            "share.coordinator.state.topic.replication.factor": 3,
            "share.coordinator.state.topic.min.isr": 2,
            # as Kafka's shipped config/server.properties: a consumer group's first join is not
            # held for 3 s (the perf tools start one consumer)
            "group.initial.rebalance.delay.ms": 0,
        }
        if self.fsync:
            # chronik's durability: every append is fsynced before it returns, on the leader
            # and on each follower, so an acknowledged record is on disk on min.insync replicas
            props["log.flush.interval.messages"] = 1
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _java(self, main, args, node_id, heap):
        log_dir = os.path.join(self.node_dir(node_id), "logs")
        return [JAVA, f"-Xms{heap}", f"-Xmx{heap}", *JVM_PERFORMANCE_OPTS,
                f"-Dkafka.logs.dir={log_dir}",
                f"-Dlog4j2.configurationFile={os.path.join(self.run_dir, 'log4j2.xml')}",
                "-cp", classpath(self.cache_dir), main, *args]

    def tool_command(self, main, args=()):
        """The command line of a Kafka tool class (e.g. org.apache.kafka.tools.ProducerPerformance)
        on the anchor's classpath, logging warnings to stderr as Kafka's tools script does."""
        config = os.path.join(self.cache_dir, "tools-log4j2.xml")
        if not os.path.exists(config):
            with open(config + ".tmp", "w") as f:
                f.write(TOOLS_LOG4J2_XML)
            os.replace(config + ".tmp", config)
        return [JAVA, "-Xmx512m", *JVM_PERFORMANCE_OPTS, f"-Dlog4j2.configurationFile={config}",
                "-cp", classpath(self.cache_dir), main, *args]

    def start(self):
        """Format each node's log dir with one random cluster id, then start the three brokers.
        The clock for the cold start starts before the format, as issue 20 counts it."""
        if not lib_complete(self.cache_dir):
            raise RuntimeError(f"{self.cache_dir}/lib is not complete: run `kafka_anchor.py fetch`")
        if os.path.exists(self.state_path()):
            raise RuntimeError(f"{self.run_dir} holds a cluster already: stop it first")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.makedirs(self.run_dir)
        with open(os.path.join(self.run_dir, "log4j2.xml"), "w") as f:
            f.write(LOG4J2_XML)
        for node_id in self.node_ids():
            os.makedirs(os.path.join(self.node_dir(node_id), "logs"))
            with open(self.config_path(node_id), "w") as f:
                f.write(self.properties(node_id))
        self.cluster_id = _random_cluster_id()
        self.began = time.time()
        self._save()
        # the three formats run at once, as on three machines; each is a JVM start
        formats = []
        for node_id in self.node_ids():
            out = open(os.path.join(self.node_dir(node_id), "logs", "format.out"), "w")
            args = ["format", "--cluster-id", self.cluster_id, "--config", self.config_path(node_id)]
            cmd = self._java(STORAGE_MAIN, args, node_id, "256m")
            formats.append((node_id, subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT), out))
        failed = []
        for node_id, proc, out in formats:
            if proc.wait() != 0:
                failed.append(node_id)
            out.close()
        if failed:
            os.replace(self.state_path(), self.state_path() + ".failed")  # the logs stay for a look
            tails = "".join(self._tail(n, "format.out") for n in failed)
            raise RuntimeError(f"format failed on nodes {failed}:\n{tails}")
        self.format_s = time.time() - self.began
        for node_id in self.node_ids():
            out = open(os.path.join(self.node_dir(node_id), "logs", "stdout.log"), "w")
            # its own session: a Ctrl-C in the shell that started it reaches only us, and stop()
            # decides how the brokers end
            proc = subprocess.Popen(self._java(BROKER_MAIN, [self.config_path(node_id)], node_id, self.heap),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            out.close()
            self._procs[node_id] = proc
            self.pids[node_id] = proc.pid
            got = _proc_start(proc.pid)  # still there even if it already exited: not yet reaped
            self.start_ticks[node_id] = got[1] if got else None
        self._save()

    def _tail(self, node_id, name, lines=30):
        path = os.path.join(self.node_dir(node_id), "logs", name)
        try:
            with open(path, errors="replace") as f:
                text = f.readlines()[-lines:]
        except OSError:
            return f"--- node {node_id}: no {name}\n"
        return f"--- node {node_id} {name}\n" + "".join(text)

    def alive(self, node_id):
        pid = self.pids.get(node_id)
        return pid is not None and _is_running(pid, self.start_ticks.get(node_id))

    def brokers_seen(self, node_id):
        """What the node's Metadata lists, or None while it does not answer."""
        try:
            return metadata_brokers(self.hosts[node_id - 1], self.broker_port, timeout=1.0)
        except (OSError, ValueError, struct.error):
            return None

    def wait_ready(self, timeout=180.0, poll_s=0.05):
        """Polls until every broker's Metadata lists all brokers; returns the seconds since the
        format began (the cold start). Raises with the log tails if a broker exits or time runs
        out."""
        want = self.node_ids()
        deadline = time.monotonic() + timeout
        while True:
            dead = [n for n in want if not self.alive(n)]
            if dead:
                tails = "".join(self._tail(n, "stdout.log") + self._tail(n, "server.log") for n in dead)
                raise RuntimeError(f"brokers {dead} exited:\n{tails}")
            if all(self.brokers_seen(n) == want for n in want):
                self.ready_s = time.time() - self.began
                self._save()
                return self.ready_s
            if time.monotonic() > deadline:
                seen = {n: self.brokers_seen(n) for n in want}
                raise TimeoutError(f"not ready after {timeout} s; Metadata per broker: {seen}")
            time.sleep(poll_s)  # polling a condition with a deadline, not waiting for one

    def rss_kib(self):
        return {n: (_rss_kib(pid) if self.alive(n) else None) for n, pid in self.pids.items()}

    def status(self):
        out = {}
        for n, pid in self.pids.items():
            alive = self.alive(n)
            out[n] = {"pid": pid, "alive": alive, "rss_kib": _rss_kib(pid) if alive else None,
                      "metadata_brokers": self.brokers_seen(n) if alive else None}
        return out

    def stop(self, keep=False, deadline_s=STOP_DEADLINE_S):
        """SIGTERM to each broker by PID (a controlled shutdown), SIGKILL to any still running
        after the deadline; then removes the run dir unless keep. Returns the node ids killed."""
        live = [n for n in self.pids if self.alive(n)]
        for n in live:
            _signal(self.pids[n], signal.SIGTERM)
        end = time.monotonic() + deadline_s
        while live and time.monotonic() < end:
            live = [n for n in live if self.alive(n)]
            time.sleep(0.05)
        for n in live:
            _signal(self.pids[n], signal.SIGKILL)
        end = time.monotonic() + 10
        while any(self.alive(n) for n in live) and time.monotonic() < end:
            time.sleep(0.05)
        still = [n for n in self.pids if self.alive(n)]
        if still:
            raise RuntimeError(f"brokers {still} (PIDs {[self.pids[n] for n in still]}) survived SIGKILL")
        for proc in self._procs.values():
            proc.wait(timeout=1)  # already reaped by alive(); this settles the Popen
        self._procs.clear()
        if keep:
            os.replace(self.state_path(), self.state_path() + ".stopped")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return live


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=None, help="cache dir (default build/kafka-anchor, or $KAFKA_ANCHOR_CACHE)")
    parser.add_argument("--run-dir", default=None, help="configs, data, logs, PIDs (default <cache>/run)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="Maven fetches Kafka into <cache>/lib (nothing when complete)")
    for name in ("start", "up"):
        p = sub.add_parser(name, help="format and start 3 brokers" + (", wait until ready" if name == "up" else ""))
        p.add_argument("--fsync", action="store_true", help="log.flush.interval.messages=1 (chronik's durability)")
        p.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT, help="broker port; controller is +1")
        p.add_argument("--heap", default=DEFAULT_HEAP, help="-Xms/-Xmx per broker")
        if name == "up":
            p.add_argument("--timeout", type=float, default=180.0)
    p = sub.add_parser("wait-ready", help="until every broker's Metadata lists all 3; prints the cold start")
    p.add_argument("--timeout", type=float, default=180.0)
    sub.add_parser("status", help="PID, RSS and Metadata per broker (JSON)")
    p = sub.add_parser("stop", help="SIGTERM by PID, SIGKILL after a deadline, remove the run dir")
    p.add_argument("--keep", action="store_true", help="keep the run dir (logs, data)")
    p.add_argument("--deadline", type=float, default=STOP_DEADLINE_S)
    p = sub.add_parser("tool", help="run a Kafka tool class on the anchor's classpath")
    p.add_argument("main_class")
    p.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "fetch":
        took = fetch(args.cache)
        print(f"lib complete in {os.path.join(os.path.abspath(args.cache or default_cache_dir()), 'lib')}"
              + (f" (fetched in {took:.1f} s)" if took else " (already; nothing fetched)"))
        return 0
    if args.command in ("start", "up"):
        if args.command == "up":
            took = fetch(args.cache)
            if took:
                print(f"fetched in {took:.1f} s")
        anchor = Anchor(args.cache, args.run_dir, args.base_port, args.fsync, args.heap)
        anchor.start()
        print(f"started Kafka {KAFKA_VERSION} cluster {anchor.cluster_id}: {anchor.bootstrap} "
              f"(PIDs {anchor.pids}; format {anchor.format_s:.2f} s; fsync {'on' if anchor.fsync else 'off'})")
        if args.command == "up":
            try:
                print(f"ready: cold start {anchor.wait_ready(args.timeout):.2f} s (format included)")
            except BaseException:
                anchor.stop(keep=True)  # no brokers left behind; their logs stay in the run dir
                raise
        return 0
    if args.command == "tool":
        cmd = Anchor(args.cache, args.run_dir).tool_command(args.main_class, args.args)
        return subprocess.call(cmd)
    try:
        anchor = Anchor.load(args.run_dir, args.cache)
    except FileNotFoundError as e:
        print(f"no cluster started: {e.filename} is missing", file=sys.stderr)
        return 1
    if args.command == "wait-ready":
        print(f"ready: cold start {anchor.wait_ready(args.timeout):.2f} s (format included, "
              f"format {anchor.format_s:.2f} s)")
    elif args.command == "status":
        print(json.dumps({"cluster_id": anchor.cluster_id, "bootstrap": anchor.bootstrap, "fsync": anchor.fsync,
                          "ready_s": anchor.ready_s, "nodes": anchor.status()}, indent=1))
    elif args.command == "stop":
        killed = anchor.stop(keep=args.keep, deadline_s=args.deadline)
        print("stopped" + (f"; SIGKILL to nodes {killed} after {args.deadline} s" if killed else " (all by SIGTERM)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
