"""Real-process suite for /metrics and /ready (docs/operations.md "Metrics and readiness").

- /ready answers 503 with a short reason while the node forms (one node of three started), 200
  once the cluster serves, and 503 again on a node whose `__meta` has no majority left (two of three
  killed). Like /health it needs no token and names nothing but the node id and the reason.
- /metrics needs the admin token (401 without it) and answers Prometheus text format 0.0.4:
  every family has one HELP and one TYPE line before its samples, names follow the conventions
  (chronik_ prefix, _total counters, _seconds/_bytes units), histograms have cumulative buckets
  ending in le="+Inf" equal to _count.
- On a 3-node cluster, after a real client (confluent-kafka, librdkafka) produces and consumes
  records with a consumer group, the series move: Kafka requests, bytes and latencies by API, WAL
  fsyncs and bytes on every replica, Raft commit latency, partition sizes and high watermarks, and
  the group's lag (0 after the consumer committed everything, then the count of records produced
  since).

Run: /usr/bin/python3 tests/cluster/metrics_test.py --server build/daemon/chronik-server
"""
import os
import random
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer, TopicPartition  # Debian python3-confluent-kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:
    Producer = None

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 60
SETTLE_S = 30

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(node, token=True):
    """(status, content type, text) of GET /metrics."""
    req = urllib.request.Request(f"http://{node.admin_addr}/metrics")
    if token:
        req.add_header("Authorization", f"Bearer {node.admin_token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode(errors="replace")


def parse(text):
    """{family: type} and [(name, {labels}, value)]; asserts the text format's rules on the way."""
    types, helps, samples = {}, set(), []
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helps, f"second HELP for {name}"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helps and name not in types, f"TYPE of {name} without HELP, or twice"
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            current = name
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels = m.group(1), dict(LABEL.findall(m.group(3) or ""))
            family = re.sub(r"_(bucket|sum|count)$", "", name) if types.get(current) == "histogram" else name
            assert family == current, f"sample {name} outside its family (open: {current})"
            samples.append((name, labels, float(m.group(4))))
    return types, samples


def value(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == w for k, w in labels.items()))


def ready(node):
    try:
        return node.admin("/ready", token=None)
    except OSError:
        return None, None


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if Producer is None:
            raise unittest.SkipTest("python3-confluent-kafka is not installed")
        cls.cluster = Cluster(SERVER, 3)
        cls.ok = False
        c = cls.cluster
        first = c.nodes[0]
        first.start([m.gossip_addr for m in c.nodes[1:]])
        c.wait_for(lambda: ready(first)[0] is not None, FORM_S, "node 1's admin endpoint")
        # Alone, node 1 cannot form a cluster of three: not ready, and it says why.
        cls.forming = ready(first)
        for n in c.nodes[1:]:
            n.start([m.gossip_addr for m in c.nodes if m is not n])
        c.wait_ready(FORM_S)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=not cls.ok)

    def run(self, result=None):
        result = super().run(result)
        type(self).ok = result.wasSuccessful()
        return result

    def test_1_ready_follows_formation(self):
        status, body = self.forming
        self.assertEqual(status, 503, body)
        self.assertEqual(body["status"], "not ready")
        self.assertEqual(body["node_id"], 1)
        self.assertTrue(body["reason"])
        c = self.cluster
        c.wait_for(lambda: all(ready(n)[0] == 200 for n in c.nodes), SETTLE_S, "/ready 200 on every node")
        status, body = ready(c.nodes[1])
        self.assertEqual(body, {"status": "ready", "node_id": 2})  # nothing more, and no token needed

    def test_2_metrics_need_the_token_and_follow_the_format(self):
        node = self.cluster.nodes[0]
        status, _, _ = scrape(node, token=False)
        self.assertEqual(status, 401)
        status, ctype, text = scrape(node)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        types, samples = parse(text)
        for name, kind in types.items():
            self.assertTrue(name.startswith("chronik_"), name)
            self.assertEqual(name.endswith("_total"), kind == "counter", name)
            if kind == "histogram":
                self.assertTrue(name.endswith("_seconds"), name)
        for family in ("chronik_wal_fsync_duration_seconds", "chronik_raft_commit_latency_seconds"):
            self.assertEqual(types[family], "histogram")
            buckets = [(ls["le"], v) for n, ls, v in samples if n == family + "_bucket"]
            self.assertEqual(buckets[-1][0], "+Inf")
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), f"{family} buckets are cumulative")
            self.assertEqual(counts[-1], value(samples, family + "_count"))
        self.assertEqual(value(samples, "chronik_gossip_members", state="alive"), 3)
        # A node probes one member per probe interval, once it has members to probe.
        self.cluster.wait_for(lambda: value(parse(scrape(node)[2])[1], "chronik_gossip_probes_total") > 0, SETTLE_S,
                              "a probe counted in node 1's /metrics")
        self.assertGreater(value(samples, "chronik_gossip_sent_bytes_total"), 0)
        self.assertEqual(value(samples, "chronik_storage_fenced"), 0)
        self.assertEqual(value(samples, "chronik_raft_meta_leader_known"), 1)

    def test_3_client_traffic_moves_the_series(self):
        c = self.cluster
        before = [parse(scrape(n)[2])[1] for n in c.nodes]
        topic, group, count = "metrics-t", "metrics-g", 200
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=3)])[topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "linger.ms": 5})
        payload = b"x" * 100
        for i in range(count):
            producer.produce(topic, value=payload, key=str(i).encode())
        self.assertEqual(producer.flush(30), 0)
        consumer = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": False})
        consumer.subscribe([topic])
        got, deadline = 0, time.monotonic() + 60
        while got < count and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=100, timeout=1.0):
                if m.error() is None:
                    got += 1
        self.assertEqual(got, count)
        consumer.commit(asynchronous=False)
        after = [parse(scrape(n)[2])[1] for n in c.nodes]

        def grew(name, **labels):
            return sum(value(a, name, **labels) for a in after) - sum(value(b, name, **labels) for b in before)

        self.assertGreaterEqual(grew("chronik_kafka_requests_total", api="Produce", error="NONE"), 1)
        self.assertGreaterEqual(grew("chronik_kafka_requests_total", api="Fetch", error="NONE"), 1)
        self.assertGreaterEqual(grew("chronik_kafka_requests_total", api="Metadata"), 1)
        for api in ("JoinGroup", "SyncGroup", "OffsetCommit"):  # the consumer group's requests
            self.assertGreaterEqual(grew("chronik_kafka_requests_total", api=api, error="NONE"), 1, api)
        self.assertGreaterEqual(grew("chronik_kafka_request_duration_seconds_count", api="Produce"), 1)
        self.assertGreater(grew("chronik_kafka_request_duration_seconds_sum", api="Produce"), 0)
        self.assertGreaterEqual(grew("chronik_kafka_received_bytes_total"), count * len(payload))
        self.assertGreaterEqual(grew("chronik_kafka_sent_bytes_total"), count * len(payload))
        self.assertGreaterEqual(grew("chronik_raft_commit_latency_seconds_count"), 1)
        for b, a in zip(before, after):  # every node holds a replica of both partitions
            self.assertGreaterEqual(value(a, "chronik_wal_fsync_duration_seconds_count")
                                    - value(b, "chronik_wal_fsync_duration_seconds_count"), 1)
            self.assertGreaterEqual(value(a, "chronik_wal_written_bytes_total") - value(b, "chronik_wal_written_bytes_total"),
                                    count * len(payload))
            self.assertGreater(value(a, "chronik_kafka_partition_log_size_bytes", topic=topic), count * len(payload) // 2)
        self.assertGreaterEqual(sum(value(a, "chronik_raft_elections_total") for a in after), 1)

        # Every replica's high watermark reaches the count; the group's lag, at its coordinator,
        # is 0 once the consumer committed, then what was produced since.
        def settled(lag):
            views = [parse(scrape(n)[2])[1] for n in c.nodes]
            hw_ok = all(value(v, "chronik_kafka_partition_high_watermark", topic=topic) == count + lag for v in views)
            lags = [(v, value(v, "chronik_kafka_consumer_group_lag", group=group, topic=topic)) for v in views
                    if any(n == "chronik_kafka_consumer_group_lag" and ls.get("group") == group for n, ls, _ in v)]
            return hw_ok and len(lags) == 1 and lags[0][1] == lag and \
                all(value(v, "chronik_kafka_partitions_under_replicated") == 0 for v in views)

        c.wait_for(lambda: settled(0), SETTLE_S, "high watermarks and a lag of 0")
        more = 37
        for i in range(more):
            producer.produce(topic, value=payload)
        self.assertEqual(producer.flush(30), 0)
        c.wait_for(lambda: settled(more), SETTLE_S, f"a lag of {more}")
        consumer.close()
        # One leader per group across the nodes: __meta, both partitions and __consumer_offsets'.
        views = [parse(scrape(n)[2])[1] for n in c.nodes]
        self.assertEqual(sum(value(v, "chronik_kafka_partitions_leaderless") for v in views), 0)
        self.assertGreaterEqual(sum(value(v, "chronik_raft_leaders") for v in views), 3)

    def test_4_not_ready_without_a_majority(self):
        c = self.cluster
        for n in c.nodes[1:]:
            n.kill()
        node = c.nodes[0]
        c.wait_for(lambda: ready(node)[0] == 503, SETTLE_S, "/ready 503 on the last node")
        status, body = ready(node)
        self.assertEqual(set(body), {"status", "node_id", "reason"})
        self.assertEqual(body["status"], "not ready")
        # /metrics still answers, from the node's own view, which sees the others go.
        self.assertEqual(scrape(node)[0], 200)
        c.wait_for(lambda: value(parse(scrape(node)[2])[1], "chronik_gossip_members", state="alive") == 1, SETTLE_S,
                   "one alive member in node 1's /metrics")


if __name__ == "__main__":
    run_suite(globals(), "metrics")
