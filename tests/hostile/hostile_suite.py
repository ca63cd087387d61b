"""Hostile-client suite (issue 13, "Proof"): each class of hostile input, sent to one real 3-node
chronik cluster (local preset) on 127.0.0.x. After every probe the suite checks that
  - every node process is alive and /health answers 200;
  - a normal client is served: a confluent-kafka producer writes NORMAL_RECORDS records with
    acks=all to a topic with RF=3, every one is acknowledged, and a consumer reading the topic from
    the beginning finds every record acknowledged so far, by any probe (no acknowledged record is
    lost);
  - no node's RSS (VmRSS, sampled every 50 ms during the whole run) went past RSS_BOUND_MB.
Prints one line per probe and "N passed, M failed"; exits 1 on any failure. The probes and bounds
are listed in docs/partition-testing.md "Hostile-client suite".

Run: /usr/bin/python3 tests/hostile/hostile_suite.py --server build/daemon/chronik-server \
       [--raft-forge build/tests/hostile/raft_forge] [--keep-logs]
"""
import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
import gossip_forge  # noqa: E402
import kafka_wire as kw  # noqa: E402
from chronik_nodes import Cluster  # noqa: E402
import node_id_test  # noqa: E402

# An idle node here stays near 20 MB; the bound leaves room for the suite's traffic and still catches
# two 100 MiB allocations from a length prefix (issue 13 saw eight take a node to 836 MB).
RSS_BOUND_MB = 200
NORMAL_TOPIC = "hostile-normal"
NORMAL_PARTITIONS = 3
NORMAL_RECORDS = 100
CLUSTER_NAME = "cluster-test"  # chronik_nodes.Node's --cluster-name
FORM_S = 30
# kafka_connections_max_idle_ms for the suite's nodes (default 10 min): short enough for the idle
# close probe, long past the few seconds the other probes hold their connections.
IDLE_CLOSE_MS = 8000
SERVE_S = 30


def kafka_addr(node):
    return (node.ip, node.kafka_port)


def bootstrap(nodes):
    return ",".join(f"{n.ip}:{n.kafka_port}" for n in nodes)


def health(node):
    try:
        with urllib.request.urlopen(f"http://{node.admin_addr}/health", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    """Samples every running node's VmRSS every 50 ms; keeps the peak per node since reset()."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster, self.lock, self.stop_flag = cluster, threading.Lock(), threading.Event()
        self.peak, self.overall = {}, {}

    def reset(self):
        with self.lock:
            self.peak = {}

    def run(self):
        while not self.stop_flag.wait(0.05):
            for n in self.cluster.nodes:
                if n.running():
                    mb = rss_mb(n.proc.pid)
                    with self.lock:
                        self.peak[n.node_id] = max(self.peak.get(n.node_id, 0), mb)
                        self.overall[n.node_id] = max(self.overall.get(n.node_id, 0), mb)

    def snapshot(self):
        with self.lock:
            return dict(self.peak)


class Suite:
    def __init__(self, server, raft_forge, keep_logs):
        self.cluster = Cluster(server, 3)
        self.raft_forge = raft_forge
        self.keep_logs = keep_logs
        self.rss = RssSampler(self.cluster)
        self.acked = set()
        self.seq = 0
        self.rng = random.Random(int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30)))))
        self.gossip_pb = None

    # --- cluster --------------------------------------------------------------------------

    def start(self):
        c = self.cluster
        config = os.path.join(c.root, "node.toml")
        with open(config, "w") as f:
            f.write(f"kafka_connections_max_idle_ms = {IDLE_CLOSE_MS}\n")
        self.extra = ["--bootstrap-expect", "3", "--config", config]
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], self.extra)
        self.rss.start()
        c.wait_for(lambda: all((v := n.cluster()) and v.get("meta_leader") and len(v["brokers"]) == 3
                               for n in c.nodes), FORM_S, "3 brokers registered on every node")
        self.create_topic(NORMAL_TOPIC, NORMAL_PARTITIONS)

    def create_topic(self, name, partitions):
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=bootstrap(self.live()), request_timeout_ms=15000)
        try:
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3)])
        finally:
            admin.close()
        self.cluster.wait_for(lambda: len(self.leaders(name)) == partitions, SERVE_S, f"leaders for {name}")

    def live(self):
        return [n for n in self.cluster.nodes if n.running()]

    def node(self, node_id):
        return self.cluster.nodes[node_id - 1]

    def leaders(self, topic):
        """{partition: leader node id} with a known leader, from a raw Metadata v1 to a live node."""
        for n in self.live():
            try:
                topics = kw.metadata_topics(kw.roundtrip(kafka_addr(n), kw.metadata_request([topic], 1)), 1)
            except (OSError, ConnectionError):
                continue
            error, leaders = topics.get(topic, (-1, {}))
            if error == 0:
                return {p: l for p, l in leaders.items() if l > 0}
        return {}

    def to_leader(self, topic, partition, request, parse, retry_codes=(5, 6)):
        """Sends `request` to the partition's leader and returns parse(response); retries while
        the leader is unknown or moved (LEADER_NOT_AVAILABLE, NOT_LEADER) within SERVE_S."""
        deadline = time.monotonic() + SERVE_S
        while True:
            leader = self.leaders(topic).get(partition)
            result = None
            if leader is not None:
                try:
                    result = parse(kw.roundtrip(kafka_addr(self.node(leader)), request))
                except (OSError, ConnectionError):
                    result = None
            code = result[0] if isinstance(result, tuple) else result
            if result is not None and code not in retry_codes:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer from the leader of {topic}/{partition}: {result}")
            time.sleep(0.1)  # poll interval while a leader is elected

    def produce_raw(self, topic, partition, records, version=7):
        req = kw.produce_request(topic, partition, records, version=version)
        return self.to_leader(topic, partition, req, lambda r: kw.produce_error(r, version))

    def end_offset(self, topic, partition):
        error, offset = self.to_leader(topic, partition, kw.list_offsets_request(topic, partition, -1),
                                       kw.list_offsets_result)
        assert error == 0, f"ListOffsets latest on {topic}/{partition}: error {error}"
        return offset

    # --- the checks after every probe -------------------------------------------------------

    def check_up(self, nodes=None):
        for n in nodes or self.cluster.nodes:
            assert n.proc.poll() is None, f"node {n.node_id} exited with {n.proc.returncode}"
            self.cluster.wait_for(lambda: health(n) == 200, SERVE_S, f"node {n.node_id} /health 200")

    def check_rss(self):
        over = {i: mb for i, mb in self.rss.snapshot().items() if mb > RSS_BOUND_MB}
        assert not over, f"RSS over {RSS_BOUND_MB} MB: {over}"

    def check_normal_client(self, nodes=None):
        """Produces NORMAL_RECORDS with acks=all through `nodes` (default: all) and reads the topic
        from the beginning: every record ever acknowledged must be there."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
        nodes = nodes or self.cluster.nodes
        self.check_up(nodes)
        self.seq += 1
        values = [f"normal-{self.seq}-{i}".encode() for i in range(NORMAL_RECORDS)]
        acked, failed = [], []

        def done(err, msg):
            (failed if err else acked).append(err or msg.value())
        # librdkafka logs every refused connect to a node the probe stopped: quiet below critical.
        quiet = {"log_level": 2} if len(nodes) < len(self.cluster.nodes) else {}
        producer = Producer({"bootstrap.servers": bootstrap(nodes), "acks": "all", "message.timeout.ms": 30000,
                             "linger.ms": 5, **quiet})
        for i, v in enumerate(values):
            producer.produce(NORMAL_TOPIC, v, partition=i % NORMAL_PARTITIONS, on_delivery=done)
        left = producer.flush(40)
        self.acked.update(acked)
        assert left == 0 and not failed and len(acked) == NORMAL_RECORDS, \
            f"normal producer: {len(acked)} acknowledged, {left} pending, errors {failed[:3]}"

        consumer = Consumer({"bootstrap.servers": bootstrap(nodes), "group.id": f"hostile-{self.seq}",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest", **quiet})
        consumer.assign([TopicPartition(NORMAL_TOPIC, p, OFFSET_BEGINNING) for p in range(NORMAL_PARTITIONS)])
        got, deadline = set(), time.monotonic() + SERVE_S
        try:
            while not self.acked <= got and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is not None and not msg.error():
                    got.add(msg.value())
        finally:
            consumer.close()
        missing = self.acked - got
        assert not missing, f"{len(missing)} of {len(self.acked)} acknowledged records lost, e.g. {sorted(missing)[:3]}"
        self.check_rss()

    # --- probes: see PROBES at the end -----------------------------------------------------

    def probe_remote_crash(self):
        """Issue 13 'Remote crash': a Produce v7 acks=-1 whose one magic-2 batch says
        records_count = 0x7fffffff around one real record (valid CRC-32C) is refused with
        CORRUPT_MESSAGE (INVALID_RECORD from v8 on, here v9); ListOffsets by timestamp on that
        partition then answers and every node stays up."""
        topic = "hostile-crash"
        self.create_topic(topic, 1)
        assert self.produce_raw(topic, 0, kw.record_batch([b"honest"])) == 0, "an honest raw batch"
        before = self.end_offset(topic, 0)
        lying = kw.record_batch([b"one real record"], records_count=0x7FFFFFFF)
        assert (e := self.produce_raw(topic, 0, lying, 7)) == kw.CORRUPT_MESSAGE, f"Produce v7 answered {e}"
        assert (e := self.produce_raw(topic, 0, lying, 9)) == kw.INVALID_RECORD, f"Produce v9 answered {e}"
        assert self.end_offset(topic, 0) == before, "a refused batch moved the end offset"
        ts = int(time.time() * 1000) - 600_000
        error, offset = self.to_leader(topic, 0, kw.list_offsets_request(topic, 0, ts), kw.list_offsets_result)
        assert (error, offset) == (0, 0), f"ListOffsets by timestamp: error {error}, offset {offset}"
        for n in self.cluster.nodes:  # followers answer NOT_LEADER; nobody may crash
            kw.roundtrip(kafka_addr(n), kw.list_offsets_request(topic, 0, ts))
        self.check_up()

    def probe_batches_unchecked(self):
        """Issue 13 'Batches stored unchecked': a lying last_offset_delta, garbage compressed
        payloads under the gzip, snappy, lz4 and zstd ids, and the unknown codec id 5 are each
        refused and leave the end offset where it was; kafka-python and kcat still read the topic."""
        topic = "hostile-batches"
        self.create_topic(topic, 1)
        assert self.produce_raw(topic, 0, kw.record_batch([b"first"])) == 0
        end = self.end_offset(topic, 0)
        bad = {"last_offset_delta": kw.record_batch([b"a", b"b"], last_offset_delta=5)}
        for name, codec in kw.CODEC_IDS.items():
            bad[f"garbage {name}"] = kw.record_batch(records_section=os.urandom(200), codec=codec)
        bad["codec 5"] = kw.record_batch([b"c"], codec=5)
        for name, batch in bad.items():
            for version in (7, 9):
                e = self.produce_raw(topic, 0, batch, version)
                assert e in (kw.CORRUPT_MESSAGE, kw.INVALID_RECORD), f"{name} (Produce v{version}) answered {e}"
            assert self.end_offset(topic, 0) == end, f"{name} moved the end offset"
        assert self.produce_raw(topic, 0, kw.record_batch([b"second"])) == 0
        assert self.end_offset(topic, 0) == end + 1
        want = [b"first", b"second"]
        assert self.read_kafka_python(topic, len(want)) == want, "kafka-python read"
        leader = self.node(self.leaders(topic)[0])
        out = subprocess.run(["kcat", "-C", "-b", bootstrap([leader]), "-t", topic, "-p", "0", "-o", "beginning",
                              "-e", "-q", "-f", "%s\\n"], capture_output=True, timeout=30)
        assert out.returncode == 0 and out.stdout.split() == want, f"kcat: {out.returncode} {out.stdout} {out.stderr}"
        self.check_up()

    def read_kafka_python(self, topic, count):
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=bootstrap(self.live()), enable_auto_commit=False,
                                 consumer_timeout_ms=5000, auto_offset_reset="earliest")
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        try:
            return [r.value for _, r in zip(range(count), consumer)]
        finally:
            consumer.close()

    def probe_gossip_wrap(self):
        """Issue 13 'Counters that wrap' (gossip): Suspect, Dead and Alive claims at incarnation
        2^64-1 about every live node, in one forged datagram to every node's gossip port. Each node
        drops them (its log names the claim past the ceiling) and nobody leaves alive for 3 s."""
        if self.gossip_pb is None:
            self.gossip_pb = gossip_forge.load_gossip_pb2(REPO)
        c = self.cluster
        offsets = {n.node_id: os.path.getsize(n.log_path) for n in c.nodes}
        for target in c.nodes:
            sender = self.node(target.node_id % 3 + 1)
            gossip_forge.send_datagram(gossip_forge.accusations(self.gossip_pb, CLUSTER_NAME, sender, c.nodes),
                                       target)
        c.wait_for(lambda: all("past the ceiling" in self.log_since(n, offsets[n.node_id]) for n in c.nodes),
                   5, "every node logging the dropped claims")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # a few seconds of views: nobody suspect, dead or moved
            for n in c.nodes:
                view = n.members() or {}
                bad = {i: (m["state"], m["address"], m["incarnation"]) for i, m in view.items()
                       if m["state"] != "alive" or m["address"] != self.node(i).gossip_addr
                       or m["incarnation"] >= 1 << 62}
                assert len(view) == 3 and not bad, f"node {n.node_id} sees {bad or view}"
            time.sleep(0.1)  # poll interval

    def log_since(self, node, offset):
        with open(node.log_path, errors="replace") as f:
            f.seek(offset)
            return f.read()

    def probe_raft_wrap(self):
        """Issue 13 'Counters that wrap' (Raft): raft_forge poses as node 3 (its uuid, the
        cluster id) and sends node 1 and node 2 a heartbeat, a vote and an append at term 2^64-1
        for __meta (group 1) and for a partition group. Both drop them; the partition keeps a
        leader and takes produce, and no group's term reaches 1000."""
        if not self.raft_forge:
            raise Skip("no --raft-forge binary")
        view = self.node(1).cluster()
        uuid3 = next(b["uuid"] for b in view["brokers"] if b["node_id"] == 3)
        groups = sorted(int(g) for g in view["load"]["groups"] if int(g) != 1)[:1]
        offsets = {n.node_id: os.path.getsize(n.log_path) for n in self.cluster.nodes[:2]}
        for target in self.cluster.nodes[:2]:
            cmd = [self.raft_forge, "--self", "3", "--uuid", uuid3, "--cluster-id", view["cluster_id"],
                   "--bind", "127.0.0.98", "--to", str(target.node_id), "--address", f"{target.ip}:{target.rpc_port}",
                   "--groups", ",".join(str(g) for g in [1] + groups)]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, f"raft_forge: {out.returncode} {out.stdout} {out.stderr}"
        self.cluster.wait_for(lambda: all("out of range" in self.log_since(n, offsets[n.node_id])
                                          for n in self.cluster.nodes[:2]), 5, "nodes 1 and 2 logging the drop")
        self.check_normal_client()
        for n in self.cluster.nodes:
            terms = (n.cluster() or {}).get("load", {}).get("groups", {})
            assert terms and max(terms.values()) < 1000, f"node {n.node_id} terms {terms}"

    def probe_size_prefix(self):
        """Issue 13 'Unbounded resources': 8 connections to node 1 each announce a 100 MiB request
        and send nothing more. RSS stays under the bound and a normal client is served meanwhile."""
        socks = []
        try:
            for _ in range(8):
                s = socket.create_connection(kafka_addr(self.node(1)), timeout=5)
                s.sendall((100 << 20).to_bytes(4, "big"))
                socks.append(s)
            self.check_normal_client()
        finally:
            for s in socks:
                s.close()

    def probe_idle_connections(self):
        """Issue 13 'Unbounded resources': 1,100 idle connections from 127.0.0.1 to node 1. The
        per-IP cap (1024) closes the rest at once; a Metadata from 127.0.0.99 is still answered and
        /health stays 200 while they are held."""
        n1, socks = self.node(1), []
        try:
            for _ in range(1100):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.settimeout(5)
                s.connect(kafka_addr(n1))
                socks.append(s)
            closed = set()

            def count_closed():
                for i, s in enumerate(socks):
                    if i not in closed:
                        s.setblocking(False)
                        try:
                            if s.recv(1) == b"":
                                closed.add(i)
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed.add(i)
                return len(closed) >= 1100 - 1024
            self.cluster.wait_for(count_closed, 10, "the per-IP cap closing the connections past 1024")
            topics = kw.metadata_topics(kw.roundtrip(kafka_addr(n1), kw.metadata_request([NORMAL_TOPIC], 1),
                                                     source="127.0.0.99"), 1)
            assert topics.get(NORMAL_TOPIC, (-1,))[0] == 0, f"Metadata from 127.0.0.99: {topics}"
            assert health(n1) == 200
            print(f"    {len(closed)} of 1100 closed by the per-IP cap")
        finally:
            for s in socks:
                s.close()

    def probe_idle_close(self):
        """Issue 13 'Unbounded resources': idle connections were never closed. A connection that
        sent half a request header and one that sent nothing are both closed once idle for
        kafka_connections_max_idle_ms (documented: within 1.1 times it; waited for up to 2.5 times)."""
        silent = socket.create_connection(kafka_addr(self.node(3)), timeout=5)
        half = socket.create_connection(kafka_addr(self.node(3)), timeout=5)
        half.sendall(kw.metadata_request([NORMAL_TOPIC], 1)[:9])
        started = time.monotonic()
        try:
            for s in (silent, half):
                s.settimeout(max(0.1, started + 2.5 * IDLE_CLOSE_MS / 1000 - time.monotonic()))
                try:
                    assert s.recv(1) == b"", "a byte from the node on an idle connection"
                except socket.timeout:
                    raise AssertionError(f"still open {time.monotonic() - started:.1f}s after going idle") from None
                except ConnectionResetError:
                    pass
            print(f"    both closed after {time.monotonic() - started:.1f}s idle (limit {IDLE_CLOSE_MS} ms)")
        finally:
            silent.close()
            half.close()

    def probe_auto_create(self):
        """Issue 13 'Unbounded resources': one Metadata v4 asking to auto-create 1,000 topics
        creates at most 16 (the per-request cap); the node stays up."""
        names = [f"hostile-auto-{i}" for i in range(1000)]
        n1 = self.node(1)
        kw.roundtrip(kafka_addr(n1), kw.metadata_request(names, 4, allow_auto_create=True))

        def created():
            topics = kw.metadata_topics(kw.roundtrip(kafka_addr(n1), kw.metadata_request(None, 1)), 1)
            return [t for t in topics if t.startswith("hostile-auto-")]
        # Creation goes through __meta: wait until the count holds still for a second.
        seen, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 10
        while time.monotonic() < deadline and time.monotonic() - stable_since < 1:
            count = len(created())
            if count != seen:
                seen, stable_since = count, time.monotonic()
            time.sleep(0.1)  # poll interval
        assert 0 < seen <= 16, f"{seen} topics auto-created from one request"
        print(f"    {seen} of 1000 auto-created")

    def probe_duplicate_node_id(self):
        """Issue 13 'Duplicate node id': a 4th process with node id 2, a fresh data dir and its
        own address exits 2 naming the holder (tests/cluster/node_id_test.py's check, run against
        this cluster); broker 2 stays the real node."""
        real = self.node(2)
        holder = next(b for b in real.cluster()["brokers"] if b["node_id"] == 2)
        imp = node_id_test.start_impostor(self.cluster, real, self.rng)
        try:
            assert node_id_test.refusal(imp) == (holder["uuid"], real.gossip_addr)
        finally:
            imp.kill()
        for n in self.cluster.nodes:
            b = next(b for b in n.cluster()["brokers"] if b["node_id"] == 2)
            assert (b["uuid"], b["kafka_addr"]) == (holder["uuid"], holder["kafka_addr"]), b

    def probe_wiped_node(self):
        """Issue 13 'Wiped node': node 2 is killed, its data dir wiped, and it restarts with the
        same id and seeds. Once it has rejoined __meta and caught up in every partition group it
        hosted, node 1 is killed: nodes 2 and 3 still serve every acknowledged record (a wiped
        voter must not help elect a leader that lacks committed entries). Node 1 restarts after."""
        c, n1, n2 = self.cluster, self.node(1), self.node(2)
        before = n2.cluster()
        groups = {g for g in before["load"]["groups"] if g != "1"}
        old_uuid = next(b["uuid"] for b in before["brokers"] if b["node_id"] == 2)
        n2.kill()
        shutil.rmtree(n2.data_dir)
        offset = os.path.getsize(n2.log_path)
        n2.start([m.gossip_addr for m in c.nodes if m is not n2], self.extra)

        state = {}

        def caught_up():
            # "[g1024] [2 t3] caught up after rejoining": a partition replica that votes again.
            state["groups"] = groups - set(re.findall(r"\[g(\d+)\] \[2 t\d+\] caught up after rejoining",
                                                      self.log_since(n2, offset)))
            # __meta: the old replica removed, the new uuid added as a learner and promoted.
            view = n1.cluster() or {}
            uuid = next((b["uuid"] for b in view.get("brokers", []) if b["node_id"] == 2), None)
            state["meta"] = (uuid != old_uuid, view.get("voters"), view.get("learners"), view.get("read"))
            return not state["groups"] and state["meta"] == (True, [1, 2, 3], [], "linearizable")
        try:
            c.wait_for(caught_up, 60, "node 2 to catch up")
        except AssertionError as e:
            raise AssertionError(f"{e}: groups not caught up {sorted(state['groups'])}, __meta "
                                 f"(new uuid, voters, learners, read) {state['meta']}") from None
        n1.kill()
        self.check_normal_client([self.node(2), self.node(3)])
        n1.start([m.gossip_addr for m in c.nodes if m is not n1], self.extra)
        c.wait_for(lambda: health(n1) == 200, SERVE_S, "node 1 back")

    PROBES = ["probe_remote_crash", "probe_batches_unchecked", "probe_gossip_wrap", "probe_raft_wrap",
              "probe_size_prefix", "probe_idle_connections", "probe_idle_close",
              "probe_auto_create", "probe_duplicate_node_id",
              "probe_wiped_node"]

    # --- runner ----------------------------------------------------------------------------

    def run(self):
        passed = failed = 0
        started = time.monotonic()
        try:
            self.start()
            self.check_normal_client()
            print(f"cluster formed and served in {time.monotonic() - started:.1f}s", flush=True)
        except Exception as e:  # noqa: BLE001: reported, then the suite stops
            print(f"setup FAIL: {e}")
            return self.finish(0, 1)
        for name in self.PROBES:
            self.rss.reset()
            t0 = time.monotonic()
            try:
                getattr(self, name)()
                self.check_normal_client()
                status = "ok"
                passed += 1
            except Skip as e:
                status = f"skipped ({e})"
            except Exception as e:  # noqa: BLE001: one line per probe, then the next probe
                status = f"FAIL: {type(e).__name__}: {e}"
                failed += 1
            peak = " ".join(f"{i}:{mb:.0f}MB" for i, mb in sorted(self.rss.snapshot().items())) or "not sampled"
            print(f"{name[len('probe_'):]:<20} {status:<4} {time.monotonic() - t0:5.1f}s  peak RSS {peak}",
                  flush=True)
        overall = " ".join(f"{i}:{mb:.0f}MB" for i, mb in sorted(self.rss.overall.items()))
        print(f"acknowledged records checked: {len(self.acked)}; peak RSS over the run {overall} "
              f"(bound {RSS_BOUND_MB} MB); {time.monotonic() - started:.1f}s in all")
        return self.finish(passed, failed)

    def finish(self, passed, failed):
        self.rss.stop_flag.set()
        self.cluster.cleanup(keep_logs_on_failure=failed > 0 or self.keep_logs)
        print(f"{passed} passed, {failed} failed")
        return 1 if failed else 0


class Skip(Exception):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--raft-forge")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    forge = os.path.abspath(args.raft_forge) if args.raft_forge else None
    suite = Suite(os.path.abspath(args.server), forge, args.keep_logs)
    try:
        return suite.run()
    finally:
        suite.cluster.stop_all()  # also on an interrupt: every node was started here, ended by PID


if __name__ == "__main__":
    sys.exit(main())
