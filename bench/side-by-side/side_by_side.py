#!/usr/bin/python3
"""chronik and Apache Kafka side by side (issue 20, "One load, both systems, in the same call";
docs/performance.md "Side by side with Apache Kafka (issue 20)").

In one call, each system started fresh on loopback, with the same loads:
  - chronik: 3 chronik-server nodes (lan preset, the default), every acknowledged record fsynced
    on a majority;
  - kafka: Apache Kafka 4.4.0, 3 KRaft brokers (bench/kafka-anchor), RF 3, min.insync.replicas=2,
    its default durability (the page cache, safety from replication);
  - kafka-fsync: the same with log.flush.interval.messages=1 (chronik's durability).
The Kafka systems run first: the latency load runs at half of Kafka's own peak.

Figures (each printed per system, with the chronik / Kafka ratios against issue 20's goals):
  produce   MB/s of 1 KiB records with acks=all, batching as each tool defaults: Kafka's
            ProducerPerformance (kafka-producer-perf-test, a fixed record count), librdkafka
            (rdkafka_produce.py, the same count) and kafka_load (6 connections x 256 records per
            request, for --load-seconds); broker CPU seconds per GB produced and the brokers'
            peak RSS during each of those runs. An unmeasured ProducerPerformance run of
            --warmup-records goes first (a JVM broker compiles its hot paths in its first minute).
  latency   ProducerPerformance p50 / p99 at a fixed rate: half of Kafka's (default durability)
            ProducerPerformance peak from this call, or --latency-rate; in steady state (its own
            --warmup-records: the first --latency-warmup-seconds left out) and over the whole run
  requests  kafka_load acks=all Produce requests/s, 1 record each, 1 and 100 connections
  consume   MB/s reading a topic of --consume-mb from the start: ConsumerPerformance
            (kafka-consumer-perf-test) and kafka_load consume
  failover  kill -9 of the partition leader under a librdkafka producer (acks=all, one record
            every 10 ms) until a record sent after the kill is acknowledged
  cold      cold start: from starting 3 brokers (Kafka: format + start) until a Metadata
            request to each lists all 3
  idle      RSS per broker and CPU per broker at idle with no topics (--idle-settle s after
            ready, over --idle-window s)
  partitions  on a fresh cluster: one topic of --partitions partitions RF 3, the time from
            CreateTopics until each broker's Metadata shows a leader for every partition, then
            idle CPU per broker over 10 s starting 30 s later, and RSS per broker
Never asserts on speed: it prints figures (and --json writes them).

Run (chronik binaries from a build; Kafka from the anchor's Maven cache, fetched if missing):
  /usr/bin/python3 bench/side-by-side/side_by_side.py --server build/daemon/chronik-server \\
      --load build/bench/kafka/kafka_load [--quick] [--only produce,consume] \\
      [--systems chronik,kafka,kafka-fsync] [--work DIR] [--json FILE]

Addresses: chronik on 127.0.3.1-3 (ports 33000-33003), Kafka on 127.0.3.21-23 (33092-33093), clear
of the cluster tests (127.0.0.11+) and of the anchor's own default (127.0.0.21-23), so this bench
can run beside them.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "kafka-anchor"))
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
import kafka_anchor  # noqa: E402
from chronik_nodes import Cluster, Node  # noqa: E402

RECORD_BYTES = 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYSTEM_ORDER = ["kafka", "kafka-fsync", "chronik"]  # Kafka's peak is known before chronik's latency run
FIGURE_GROUPS = ["cold", "idle", "produce", "latency", "requests", "consume", "failover", "partitions"]
PRODUCE_TOPIC, CONSUME_TOPIC, FAILOVER_TOPIC, SCALE_TOPIC = "perf", "consume", "failover", "scale"
PRODUCE_PARTITIONS = 3  # one leader per broker
PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance"


# --- the brokers' processes ---------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process (all its threads), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def rss_kib(pid, field="VmRSS"):
    """VmRSS (or RssAnon: the part of it that is not mapped files) in KiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Usage:
    """The brokers' CPU seconds over a run and their peak RSS during it (sampled every 0.25 s),
    VmRSS and its anonymous part, as maxima kept in `peaks` {(field, node): KiB} across runs.
    Used as a context around one load."""
    FIELDS = ("VmRSS", "RssAnon")

    def __init__(self, pids, peaks):
        self.pids = dict(pids)
        self.cpu_s = None
        self.peaks = peaks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while True:
            for n, pid in self.pids.items():
                for field in self.FIELDS:
                    self.peaks[(field, n)] = max(self.peaks.get((field, n), 0), rss_kib(pid, field) or 0)
            if self._stop.wait(0.25):
                return

    def __enter__(self):
        self._begin = {n: cpu_seconds(p) for n, p in self.pids.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        end = {n: cpu_seconds(p) for n, p in self.pids.items()}
        self.cpu_s = sum(end[n] - self._begin[n] for n in self.pids if end[n] is not None and self._begin[n] is not None)
        return False


def idle_window(pids, seconds):
    """CPU per broker in % of one core over `seconds` (a fixed measurement window), and RSS per
    broker in MiB at its end."""
    begin = {n: cpu_seconds(p) for n, p in pids.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - t0
    cpu = {n: 100.0 * (cpu_seconds(p) - begin[n]) / took for n, p in pids.items()}
    rss = {n: rss_kib(p) / 1024 for n, p in pids.items()}
    return cpu, rss


# --- Metadata, raw, to ask each broker for itself ------------------------------------------------

def _string(data, pos):
    n = struct.unpack(">h", data[pos:pos + 2])[0]
    return (data[pos + 2:pos + 2 + n].decode() if n >= 0 else None), pos + 2 + max(n, 0)


def topic_leaders(host, port, topic, timeout=5.0):
    """{partition: leader id} of `topic` in the Metadata of the broker at host:port (only
    partitions without an error and with a leader), or None while the broker does not answer or
    does not know the topic. Metadata v1-v8 (one non-flexible layout), as the anchor's ready check
    asks for the broker list; the wire helpers are the anchor's."""
    import socket
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            version = kafka_anchor._metadata_version(sock)
            name = topic.encode()
            body = struct.pack(">ih", 1, len(name)) + name
            if version >= 4:
                body += b"\x00"  # allow_auto_topic_creation: false
            if version >= 8:
                body += b"\x00\x00"
            data = kafka_anchor._request(sock, 3, version, 2, body)
    except (OSError, ValueError, struct.error):
        return None
    pos = 4 if version >= 3 else 0
    (brokers,) = struct.unpack(">i", data[pos:pos + 4])
    pos += 4
    for _ in range(brokers):
        pos += 4
        _, pos = _string(data, pos)
        pos += 4
        _, pos = _string(data, pos)  # rack
    if version >= 2:
        _, pos = _string(data, pos)  # cluster id
    pos += 4  # controller id
    (topics,) = struct.unpack(">i", data[pos:pos + 4])
    pos += 4
    leaders = None
    for _ in range(topics):
        (topic_error,) = struct.unpack(">h", data[pos:pos + 2])
        got_name, pos = _string(data, pos + 2)
        pos += 1  # is_internal
        (count,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        found = {}
        for _ in range(count):
            error, index, leader = struct.unpack(">hii", data[pos:pos + 10])
            pos += 10
            if version >= 7:
                pos += 4  # leader epoch
            for _ in range(3 if version >= 5 else 2):  # replicas, isr, offline replicas
                (n,) = struct.unpack(">i", data[pos:pos + 4])
                pos += 4 + 4 * max(n, 0)
            if error == 0 and leader >= 0:
                found[index] = leader
        if version >= 8:
            pos += 4
        if got_name == topic and topic_error == 0:
            leaders = found
    return leaders


def wait_until(predicate, timeout, what, poll_s=0.05):
    """Polls `predicate` until it is true; returns the monotonic time it was first seen true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll_s)


# --- the systems ---------------------------------------------------------------------------------

class ChronikSystem:
    """A fresh 3-node chronik cluster (tests/cluster/chronik_nodes.py) on its own addresses."""
    durability = "fsync on a majority"

    def __init__(self, server, work, hosts, base_port):
        self.name = "chronik"
        self.server = os.path.abspath(server)
        self.work = work
        self.host_ips = hosts
        self.base_port = base_port
        self.cluster = None

    def start(self):
        """Starts 3 nodes with empty data dirs; returns the cold start in seconds."""
        saved, tempfile.tempdir = tempfile.tempdir, self.work  # the cluster's root under our work dir
        try:
            self.cluster = Cluster(self.server, 3)
        finally:
            tempfile.tempdir = saved
        self.cluster.nodes = [Node(self.server, i + 1, ip, self.base_port, self.cluster.root, "lan")
                              for i, ip in enumerate(self.host_ips)]
        # The anchor's setting (bench/kafka-anchor, as Kafka's shipped server.properties): a consumer
        # group's first join is not held for 3 s, which ConsumerPerformance's MB/s includes.
        config = os.path.join(self.cluster.root, "chronik.toml")
        with open(config, "w") as f:
            f.write("group_initial_rebalance_delay_ms = 0\n")
        for n in self.cluster.nodes:
            n.config_path = config
        began = time.monotonic()
        self.cluster.start_all()
        want = [n.node_id for n in self.cluster.nodes]

        def ready():
            for n in self.cluster.nodes:
                if not n.running():
                    raise RuntimeError(f"chronik node {n.node_id} exited; log {n.log_path}")
            try:
                return all(kafka_anchor.metadata_brokers(ip, port, 1.0) == want for ip, port in self.hosts)
            except (OSError, ValueError, struct.error):
                return False

        return wait_until(ready, 120, "chronik Metadata listing 3 brokers on each node") - began

    @property
    def hosts(self):
        return [(n.ip, n.kafka_port) for n in self.cluster.nodes]

    @property
    def bootstrap(self):
        return self.cluster.bootstrap()

    def pids(self):
        return {n.node_id: n.proc.pid for n in self.cluster.nodes if n.running()}

    def kill9(self, node_id):
        self.cluster.nodes[node_id - 1].signal(signal.SIGKILL)

    def stop(self):
        if self.cluster is not None:
            self.cluster.cleanup()  # SIGKILL by PID, then the data dirs go
            self.cluster = None


class KafkaSystem:
    """A fresh Apache Kafka anchor cluster (bench/kafka-anchor), default durability or fsync."""

    def __init__(self, cache, work, fsync, hosts, base_port):
        self.name = "kafka-fsync" if fsync else "kafka"
        self.durability = "log.flush.interval.messages=1" if fsync else "page cache + replication"
        self.anchor = kafka_anchor.Anchor(cache_dir=cache, run_dir=os.path.join(work, self.name),
                                          base_port=base_port, fsync=fsync, hosts=hosts)

    def start(self):
        self.anchor.start()
        try:
            return self.anchor.wait_ready()
        except BaseException:
            self.anchor.stop()
            raise

    @property
    def hosts(self):
        return [(h, self.anchor.broker_port) for h in self.anchor.hosts]

    @property
    def bootstrap(self):
        return self.anchor.bootstrap

    def pids(self):
        return {n: p for n, p in self.anchor.pids.items() if self.anchor.alive(n)}

    def kill9(self, node_id):
        if self.anchor.alive(node_id):
            os.kill(self.anchor.pids[node_id], signal.SIGKILL)

    def stop(self):
        if self.anchor.pids:
            self.anchor.stop()  # SIGTERM by PID (SIGKILL after 30 s), then the run dir goes
            self.anchor.pids = {}


# --- the loads -----------------------------------------------------------------------------------

class Loads:
    def __init__(self, kafka_cache, load_binary):
        self.tools = kafka_anchor.Anchor(cache_dir=kafka_cache)  # only for its tools' command line
        self.load_binary = os.path.abspath(load_binary) if load_binary else None

    def java_tool(self, main, args, timeout):
        cmd = self.tools.tool_command(main, [str(a) for a in args])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{main} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def producer_perf(self, bootstrap, topic, records, rate=-1, warmup=0):
        """ProducerPerformance with acks=all and the producer's other defaults; its summary line,
        and with `warmup` records its steady-state line too (under "steady": the records after
        the first `warmup`, which leaves the client's own start out: metadata, connections and
        its JVM's first compilations)."""
        args = ["--bootstrap-server", bootstrap, "--topic", topic, "--num-records", records,
                "--record-size", RECORD_BYTES, "--throughput", rate, "--command-property", "acks=all"]
        if warmup:
            args += ["--warmup-records", warmup]
        out = self.java_tool(PRODUCER_PERF, args, timeout=3600)
        tail = (r"records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th")

        def summary(m):
            sent, rps = int(m.group(1)), float(m.group(2))
            return {"records": sent, "records_per_s": rps, "mb_per_s": rps * RECORD_BYTES / 1e6,
                    "avg_ms": float(m.group(4)), "max_ms": float(m.group(5)), "p50_ms": float(m.group(6)),
                    "p95_ms": float(m.group(7)), "p99_ms": float(m.group(8))}

        m = re.search(r"(\d+) " + tail, out)
        if not m:
            raise RuntimeError(f"no summary in ProducerPerformance's output:\n{out[-2000:]}")
        got = summary(m)
        if warmup:
            s = re.search(r"(\d+) steady state " + tail, out)
            if not s:
                raise RuntimeError(f"no steady-state summary in ProducerPerformance's output:\n{out[-2000:]}")
            got["steady"] = summary(s)
        return got

    def consumer_perf(self, bootstrap, topic, records):
        """ConsumerPerformance from the start of `topic` until `records` were read."""
        out = self.java_tool(CONSUMER_PERF, ["--bootstrap-server", bootstrap, "--topic", topic,
                                             "--num-records", records, "--timeout", 60000], timeout=3600)
        lines = [l for l in out.splitlines() if l.strip()]
        header = next(i for i, l in enumerate(lines) if l.startswith("start.time"))
        names = [s.strip() for s in lines[header].split(",")]
        values = [s.strip() for s in lines[header + 1].split(",")]
        row = dict(zip(names, values))
        consumed = int(row["data.consumed.in.nMsg"])
        # the tool's MB is MiB; MB here is 10^6 bytes as in the other figures
        return {"records": consumed, "mb_per_s": float(row["MB.sec"]) * 1.048576,
                "fetch_mb_per_s": float(row["fetch.MB.sec"]) * 1.048576,
                "rebalance_ms": float(row["rebalance.time.ms"])}

    def rdkafka_produce(self, bootstrap, topic, records):
        cmd = [sys.executable, os.path.join(HERE, "rdkafka_produce.py"), "--bootstrap", bootstrap,
               "--topic", topic, "--records", str(records), "--record-bytes", str(RECORD_BYTES)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if not done.stdout.strip():
            raise RuntimeError(f"rdkafka_produce.py exited {done.returncode}: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def kafka_load(self, *args):
        done = subprocess.run([self.load_binary, *map(str, args)], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"kafka_load {' '.join(map(str, args))}: {done.stderr.strip()[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def create_topic(system, topic, partitions):
    """CreateTopics through librdkafka's admin client, then waits until every broker's Metadata
    shows a leader for every partition; returns the seconds from the request until then."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": system.bootstrap})
    began = time.monotonic()
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)],
                                  request_timeout=120)
    futures[topic].result(timeout=180)

    def led_everywhere():
        return all(len(topic_leaders(ip, port, topic) or ()) == partitions for ip, port in system.hosts)

    return wait_until(led_everywhere, 300, f"a leader for each of {partitions} partitions of {topic}", 0.1) - began


def leader_failover(system, timeout=120.0):
    """Seconds from kill -9 of the broker leading a partition until a record sent to it after the
    kill is acknowledged (librdkafka, acks=all, linger 0, one record every 10 ms, retries and
    metadata refresh as the client defaults)."""
    from confluent_kafka import Producer
    create_topic(system, FAILOVER_TOPIC, 1)
    acks = []  # (sent, acknowledged, ok), appended by the delivery callbacks in the probe thread
    stop = threading.Event()
    # log_level 2: the client's connection-refused lines after the kill are expected, not news
    producer = Producer({"bootstrap.servers": system.bootstrap, "acks": "all", "linger.ms": 0, "log_level": 2})
    value = b"x" * RECORD_BYTES

    def probe():
        while not stop.is_set():
            sent = time.monotonic()
            producer.produce(FAILOVER_TOPIC, value, partition=0,
                             on_delivery=lambda err, _m, sent=sent: acks.append((sent, time.monotonic(), err is None)))
            producer.poll(0.01)
        producer.flush(10)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        wait_until(lambda: sum(1 for a in list(acks) if a[2]) >= 20, 60, "20 acknowledged probe records")
        leader = None
        for ip, port in system.hosts:
            leader = (topic_leaders(ip, port, FAILOVER_TOPIC) or {}).get(0)
            if leader is not None:
                break
        if leader is None:
            raise RuntimeError("no broker names a leader of the failover partition")
        killed = time.monotonic()
        system.kill9(leader)

        def first_after():
            return next((acked for sent, acked, ok in list(acks) if ok and sent > killed), None)

        wait_until(lambda: first_after() is not None, timeout, "a record sent after the kill to be acknowledged", 0.02)
        return first_after() - killed, leader
    finally:
        stop.set()
        thread.join(30)


# --- one system's blocks -------------------------------------------------------------------------

class Bench:
    def __init__(self, args, loads, log):
        self.args = args
        self.loads = loads
        self.log = log
        self.results = {}  # system name -> figure key -> value
        self.latency_rate = args.latency_rate  # records/s; else set by Kafka's peak
        self.latency_rate_source = "--latency-rate" if args.latency_rate else None

    def put(self, system, key, value):
        self.results.setdefault(system.name, {})[key] = value
        self.log(f"  {system.name}: {key} = {value}")

    def run_main_block(self, system, only):
        a = self.args
        self.log(f"{system.name}: starting ({system.durability})")
        cold = system.start()
        self.results.setdefault(system.name, {}).setdefault("cold_s_all", []).append(cold)
        self.put(system, "cold_s", cold)
        pids = system.pids()
        if "idle" in only:
            time.sleep(a.idle_settle)  # the window starts a fixed time after ready, as issue 20 measures
            cpu, rss = idle_window(pids, a.idle_window)
            self.put(system, "idle_cpu_pct", max(cpu.values()))
            self.put(system, "idle_rss_mib", max(rss.values()))
            self.put(system, "idle_rss_mib_each", sorted(round(v) for v in rss.values()))
        if only & {"produce", "latency", "requests"}:
            create_topic(system, PRODUCE_TOPIC, PRODUCE_PARTITIONS)
            # Unmeasured: a JVM broker's first minute of load is spent compiling its hot paths
            # (the first 200k-record run on a fresh Kafka was half as fast as the third), and the
            # figures are of a broker in service. chronik gets the same load.
            self.loads.producer_perf(system.bootstrap, PRODUCE_TOPIC, a.warmup_records)
        peaks = {}
        if "produce" in only:
            with Usage(pids, peaks) as use:
                got = self.loads.producer_perf(system.bootstrap, PRODUCE_TOPIC, a.produce_records)
            self.put(system, "pp_mb_s", got["mb_per_s"])
            self.put(system, "pp_records_s", got["records_per_s"])
            self.put(system, "pp_cpu_s_per_gb", use.cpu_s / (got["records"] * RECORD_BYTES / 1e9))
            with Usage(pids, peaks) as use:
                got = self.loads.rdkafka_produce(system.bootstrap, PRODUCE_TOPIC, a.produce_records)
            self.put(system, "rd_mb_s", got["mb_per_s"])
            self.put(system, "rd_failed", got["failed"] + got["undelivered"])
            self.put(system, "rd_cpu_s_per_gb", use.cpu_s / max(got["acked"] * RECORD_BYTES / 1e9, 1e-9))
            if self.loads.load_binary:
                with Usage(pids, peaks) as use:
                    got = self.loads.kafka_load("produce", "--broker", system.bootstrap.split(",")[0],
                                                "--topic", PRODUCE_TOPIC, "--partitions", PRODUCE_PARTITIONS,
                                                "--record-bytes", RECORD_BYTES, "--records-per-request", 256,
                                                "--concurrency", 6, "--seconds", a.load_seconds)
                self.put(system, "kl_mb_s", got["mb_per_s"])
                self.put(system, "kl_errors", got["errors"])
                self.put(system, "kl_cpu_s_per_gb", use.cpu_s / max(got["mb_per_s"] * got["seconds"] / 1e3, 1e-9))
            rss = [peaks[("VmRSS", n)] / 1024 for n in pids]
            self.put(system, "load_rss_mib", max(rss))
            self.put(system, "load_rss_mib_each", sorted(round(v) for v in rss))
            self.put(system, "load_rss_anon_mib_each", sorted(round(peaks[("RssAnon", n)] / 1024) for n in pids))
            if system.name == "kafka" and self.latency_rate is None:
                self.latency_rate = max(1, round(self.results["kafka"]["pp_records_s"] / 2))
                self.latency_rate_source = "half of Kafka's ProducerPerformance peak in this call"
        if "latency" in only:
            if self.latency_rate is None:
                # No peak measured yet (no produce figures asked for): half of this system's own
                # peak, which is Kafka default's whenever it runs (it runs first).
                peak = self.loads.producer_perf(system.bootstrap, PRODUCE_TOPIC, a.produce_records)
                self.latency_rate = max(1, round(peak["records_per_s"] / 2))
                self.latency_rate_source = (f"half of {system.name}'s ProducerPerformance peak, measured for it"
                                            + ("" if system.name == "kafka" else " (no Kafka default in this call)"))
            got = self.loads.producer_perf(system.bootstrap, PRODUCE_TOPIC,
                                           int(self.latency_rate * a.latency_seconds), self.latency_rate,
                                           warmup=int(self.latency_rate * a.latency_warmup_seconds))
            self.put(system, "lat_rate_records_s", self.latency_rate)
            self.put(system, "lat_achieved_records_s", got["records_per_s"])
            self.put(system, "lat_p50_ms", got["steady"]["p50_ms"])
            self.put(system, "lat_p99_ms", got["steady"]["p99_ms"])
            self.put(system, "lat_max_ms", got["steady"]["max_ms"])
            self.put(system, "lat_all_p50_ms", got["p50_ms"])
            self.put(system, "lat_all_p99_ms", got["p99_ms"])
        if "requests" in only and self.loads.load_binary:
            for clients in (1, 100):
                got = self.loads.kafka_load("produce", "--broker", system.bootstrap.split(",")[0],
                                            "--topic", PRODUCE_TOPIC, "--partitions", PRODUCE_PARTITIONS,
                                            "--record-bytes", RECORD_BYTES, "--records-per-request", 1,
                                            "--concurrency", clients, "--seconds", a.load_seconds)
                self.put(system, f"req{clients}_per_s", got["requests_per_s"])
                self.put(system, f"req{clients}_p50_ms", got["p50_ms"])
                self.put(system, f"req{clients}_errors", got["errors"])
        if "consume" in only:
            create_topic(system, CONSUME_TOPIC, PRODUCE_PARTITIONS)
            target = a.consume_mb * 1e6
            written = records = 0
            if self.loads.load_binary:
                deadline = time.monotonic() + 3600
                rate = None  # bytes/s, measured by the first chunk
                while written < target and time.monotonic() < deadline:  # bounded: an hour at most
                    # a short first chunk, then chunks sized by the measured rate, so each system's
                    # topic ends close to the target (10 s chunks at 230 MB/s overshot 2 GB by 1.3 GB)
                    seconds = 2.0 if rate is None else min(10.0, max(0.5, (target - written) / rate))
                    got = self.loads.kafka_load("produce", "--broker", system.bootstrap.split(",")[0],
                                                "--topic", CONSUME_TOPIC, "--partitions", PRODUCE_PARTITIONS,
                                                "--record-bytes", RECORD_BYTES, "--records-per-request", 256,
                                                "--concurrency", 6, "--seconds", seconds)
                    rate = max(got["mb_per_s"] * 1e6, 1e6)
                    # acknowledged requests x 256 records (the rate is printed rounded)
                    acked = round(got["records_per_s"] * got["seconds"] / 256) * 256
                    records += acked
                    written += acked * RECORD_BYTES
            else:
                records = int(target // RECORD_BYTES)
                records = self.loads.producer_perf(system.bootstrap, CONSUME_TOPIC, records)["records"]
                written = records * RECORD_BYTES
            self.put(system, "consume_topic_mb", written / 1e6)
            got = self.loads.consumer_perf(system.bootstrap, CONSUME_TOPIC, records)
            self.put(system, "cp_mb_s", got["mb_per_s"])
            self.put(system, "cp_fetch_mb_s", got["fetch_mb_per_s"])
            self.put(system, "cp_rebalance_ms", got["rebalance_ms"])
            if self.loads.load_binary:
                got = self.loads.kafka_load("consume", "--broker", system.bootstrap.split(",")[0],
                                            "--topic", CONSUME_TOPIC, "--partitions", PRODUCE_PARTITIONS,
                                            "--seconds", 600)
                self.put(system, "klc_mb_s", got["mb_per_s"])
        if "failover" in only:  # last: it kills a broker
            took, leader = leader_failover(system)
            self.put(system, "failover_s", took)
            self.put(system, "failover_killed_node", leader)

    def run_scale_block(self, system):
        a = self.args
        self.log(f"{system.name}: starting for {a.partitions} partitions")
        cold = system.start()
        self.results.setdefault(system.name, {}).setdefault("cold_s_all", []).append(cold)
        took = create_topic(system, SCALE_TOPIC, a.partitions)
        ready = time.monotonic()
        self.put(system, "scale_create_s", took)
        time.sleep(max(0.0, ready + a.scale_settle - time.monotonic()))  # issue 20: measured 30 s after
        cpu, rss = idle_window(system.pids(), a.scale_window)
        self.put(system, "scale_cpu_pct", max(cpu.values()))
        self.put(system, "scale_cpu_pct_each", sorted(round(v, 1) for v in cpu.values()))
        self.put(system, "scale_rss_mib", max(rss.values()))
        self.put(system, "scale_rss_mib_each", sorted(round(v) for v in rss.values()))


# --- the table -----------------------------------------------------------------------------------

# (key, label, format, higher is better, goal factor vs Kafka default, goal factor vs Kafka fsync);
# a goal factor None: printed without a goal.
ROWS = [
    ("pp_mb_s", "produce MB/s, ProducerPerformance (Java), acks=all", "{:.1f}", True, 1.0, 2.0),
    ("rd_mb_s", "produce MB/s, librdkafka (confluent-kafka), acks=all", "{:.1f}", True, 1.0, 2.0),
    ("kl_mb_s", "produce MB/s, kafka_load 6 conns x 256 records", "{:.1f}", True, 1.0, 2.0),
    ("lat_p50_ms", "produce p50 ms at the fixed rate, steady state (ProducerPerformance)", "{:.0f}", False, None, None),
    ("lat_p99_ms", "produce p99 ms at the fixed rate, steady state (ProducerPerformance)", "{:.0f}", False, 0.5, 0.5),
    ("lat_all_p99_ms", "produce p99 ms at the fixed rate, whole run with the client's start", "{:.0f}", False, None, None),
    ("req1_per_s", "acks=all requests/s, 1 client (kafka_load)", "{:.0f}", True, 1.5, 1.5),
    ("req100_per_s", "acks=all requests/s, 100 clients (kafka_load)", "{:.0f}", True, 1.5, 1.5),
    ("cp_mb_s", "consume MB/s from the start, ConsumerPerformance", "{:.1f}", True, 1.0, 1.0),
    ("cp_fetch_mb_s", "consume MB/s, ConsumerPerformance, fetch time only", "{:.1f}", True, 1.0, 1.0),
    ("klc_mb_s", "consume MB/s from the start, kafka_load", "{:.1f}", True, 1.0, 1.0),
    ("failover_s", "kill -9 of the leader until produce succeeds, s", "{:.2f}", False, 0.5, 0.5),
    ("cold_s", "cold start of 3 brokers until Metadata lists 3, s", "{:.2f}", False, 0.2, 0.2),
    ("idle_rss_mib", "RSS per broker at idle, MiB (max of 3)", "{:.0f}", False, 0.25, 0.25),
    ("load_rss_mib", "RSS per broker under produce load, MiB (max of 3)", "{:.0f}", False, 0.25, 0.25),
    ("idle_cpu_pct", "CPU per broker at idle, no topics, % of a core (max)", "{:.1f}", False, None, None),
    ("pp_cpu_s_per_gb", "broker CPU s per GB produced (ProducerPerformance)", "{:.1f}", False, 0.5, 0.5),
    ("rd_cpu_s_per_gb", "broker CPU s per GB produced (librdkafka)", "{:.1f}", False, 0.5, 0.5),
    ("kl_cpu_s_per_gb", "broker CPU s per GB produced (kafka_load)", "{:.1f}", False, 0.5, 0.5),
    ("scale_create_s", "N partitions RF 3: create until all led, s", "{:.2f}", False, 0.5, 0.5),
    ("scale_cpu_pct", "N partitions: idle CPU per broker, % of a core (max)", "{:.1f}", False, 0.5, 0.5),
    ("scale_rss_mib", "N partitions: RSS per broker, MiB (max of 3)", "{:.0f}", False, 0.5, 0.5),
]


def table(results, partitions):
    """The figure table as text lines: each system's value, chronik's ratio to each Kafka and
    whether the goal is met (yes/NO per Kafka)."""
    names = [("chronik", "chronik"), ("kafka", "Kafka"), ("kafka-fsync", "Kafka fsync")]
    head = ["figure", *[n for _, n in names], "c/K", "c/Kf", "goal (c/K, c/Kf)", "met"]
    out = []
    for key, label, fmt, higher, goal_k, goal_kf in ROWS:
        if not any(key in results.get(s, {}) for s, _ in names):
            continue
        label = label.replace("N partitions", f"{partitions} partitions")
        cells = [label]
        for s, _ in names:
            v = results.get(s, {}).get(key)
            cells.append(fmt.format(v) if v is not None else "-")
        ours = results.get("chronik", {}).get(key)
        ratios, mets = [], []
        for s, goal in (("kafka", goal_k), ("kafka-fsync", goal_kf)):
            theirs = results.get(s, {}).get(key)
            if ours is None or theirs is None or theirs == 0:
                ratios.append("-")
                mets.append("-")
                continue
            r = ours / theirs
            ratios.append(f"{r:.2f}x")
            if goal is None:
                mets.append("-")
            else:
                mets.append("yes" if (r >= goal if higher else r <= goal) else "NO")
        cells += ratios
        sign = ">=" if higher else "<="
        cells.append("-" if goal_k is None else f"{sign} {goal_k}x, {sign} {goal_kf}x")
        cells.append("/".join(mets))
        out.append(cells)
    widths = [max(len(str(r[i])) for r in [head] + out) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [head] + out]
    return lines


def git_head():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default=os.path.join(REPO, "build", "daemon", "chronik-server"))
    ap.add_argument("--load", default=os.path.join(REPO, "build", "bench", "kafka", "kafka_load"))
    ap.add_argument("--kafka-cache", default=None, help="the anchor's Maven cache (default: its own default)")
    ap.add_argument("--work", default=None, help="data dirs of every cluster (made, then removed; default a temp dir)")
    ap.add_argument("--systems", default="chronik,kafka,kafka-fsync")
    ap.add_argument("--only", default=",".join(FIGURE_GROUPS), help="figure groups: " + ",".join(FIGURE_GROUPS))
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the plumbing only")
    ap.add_argument("--produce-records", type=int, default=None, help="records per produce run (default 500000)")
    ap.add_argument("--warmup-records", type=int, default=None,
                    help="an unmeasured ProducerPerformance run before the produce figures (default 200000)")
    ap.add_argument("--load-seconds", type=float, default=None, help="kafka_load runs (default 10)")
    ap.add_argument("--latency-seconds", type=float, default=None, help="the fixed-rate run (default 20)")
    ap.add_argument("--latency-rate", type=int, default=None, help="records/s (default: half of Kafka's peak)")
    ap.add_argument("--latency-warmup-seconds", type=float, default=None,
                    help="the fixed-rate run's first seconds, left out of its steady-state figures (default 5)")
    ap.add_argument("--consume-mb", type=float, default=None, help="the consumed topic's size (default 2000)")
    ap.add_argument("--partitions", type=int, default=None, help="the scale topic (default 1000)")
    ap.add_argument("--idle-settle", type=float, default=None, help="s after ready before the idle window (default 10)")
    ap.add_argument("--idle-window", type=float, default=None, help="default 10")
    ap.add_argument("--scale-settle", type=float, default=None, help="s after all led (default 30)")
    ap.add_argument("--scale-window", type=float, default=None, help="default 10")
    ap.add_argument("--chronik-hosts", default="127.0.3.1,127.0.3.2,127.0.3.3")
    ap.add_argument("--chronik-base-port", type=int, default=33000, help="gossip; rpc, kafka, admin follow")
    ap.add_argument("--kafka-hosts", default="127.0.3.21,127.0.3.22,127.0.3.23")
    ap.add_argument("--kafka-base-port", type=int, default=33092, help="broker listener; controller +1")
    ap.add_argument("--json", default=None, help="write the figures and the run's facts here")
    args = ap.parse_args()
    full = {"produce_records": 500000, "warmup_records": 200000, "load_seconds": 10.0, "latency_seconds": 20.0,
            "latency_warmup_seconds": 5.0, "consume_mb": 2000.0, "partitions": 1000, "idle_settle": 10.0, "idle_window": 10.0, "scale_settle": 30.0, "scale_window": 10.0}
    quick = {"produce_records": 20000, "warmup_records": 5000, "load_seconds": 2.0, "latency_seconds": 3.0,
             "latency_warmup_seconds": 1.0, "consume_mb": 50.0, "partitions": 100, "idle_settle": 1.0, "idle_window": 2.0, "scale_settle": 2.0, "scale_window": 2.0}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    for s in systems:
        if s not in SYSTEM_ORDER:
            ap.error(f"unknown system {s}")
    for g in only:
        if g not in FIGURE_GROUPS:
            ap.error(f"unknown figure group {g}")
    systems.sort(key=SYSTEM_ORDER.index)
    if "chronik" in systems and not os.access(args.server, os.X_OK):
        ap.error(f"no chronik-server at {args.server}")
    if only & {"produce", "requests", "consume"} and not os.access(args.load, os.X_OK):
        if "chronik" in systems:
            ap.error(f"no kafka_load at {args.load}")
        args.load = None  # Kafka alone: its figures are skipped, the consumed topic filled by Java

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    kafka_cache = os.path.abspath(args.kafka_cache or kafka_anchor.default_cache_dir())
    took = kafka_anchor.fetch(kafka_cache, quiet=True)  # the tools run against chronik too
    if took:
        log(f"fetched Kafka {kafka_anchor.KAFKA_VERSION} into {kafka_cache} in {took:.1f} s")
    if args.work:
        work = os.path.abspath(args.work)
        os.makedirs(work, exist_ok=False)
    else:
        work = tempfile.mkdtemp(prefix="side-by-side-")
    facts = {"date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git_head(),
             "command": " ".join([os.path.basename(sys.executable)] + sys.argv), "loadavg_start": loadavg(),
             "kafka_version": kafka_anchor.KAFKA_VERSION, "settings": {k: getattr(args, k) for k in full}}
    bench = Bench(args, Loads(kafka_cache, args.load), log)
    try:
        for name in systems:
            def make():
                if name == "chronik":
                    return ChronikSystem(args.server, work, args.chronik_hosts.split(","), args.chronik_base_port)
                return KafkaSystem(kafka_cache, work, name == "kafka-fsync", args.kafka_hosts.split(","),
                                   args.kafka_base_port)
            blocks = []
            if only - {"partitions"}:
                blocks.append(("main", lambda system: bench.run_main_block(system, only)))
            if "partitions" in only:
                blocks.append(("partitions", bench.run_scale_block))
            for block, run in blocks:
                system = make()
                try:
                    run(system)
                except Exception as e:  # the other blocks' figures still count; this one says why not
                    log(f"{name}: {block} block failed: {e!r}")
                    bench.results.setdefault(name, {})[f"error_{block}"] = repr(e)
                finally:
                    system.stop()
            starts = bench.results.get(name, {}).get("cold_s_all")
            if starts:
                bench.results[name]["cold_s"] = statistics.median(starts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        facts["loadavg_end"] = loadavg()
        facts["latency_rate"] = bench.latency_rate
        facts["latency_rate_source"] = bench.latency_rate_source
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"facts": facts, "results": bench.results}, f, indent=1)
    print(f"side by side, {facts['date_utc']}, commit {facts['commit']}, load average "
          f"{facts['loadavg_start']} -> {facts['loadavg_end']}, Kafka {kafka_anchor.KAFKA_VERSION}")
    print(f"1 KiB records, acks=all, RF 3; MB = 10^6 bytes; c/K = chronik / Kafka default, c/Kf = chronik / "
          f"Kafka with log.flush.interval.messages=1")
    if bench.latency_rate:
        print(f"fixed rate for latency: {bench.latency_rate} records/s ({bench.latency_rate_source})")
    for line in table(bench.results, args.partitions):
        print(line)
    for name, figures in bench.results.items():
        for key, value in figures.items():
            if key.startswith("error_"):
                print(f"{name}: the {key[6:]} block failed: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
