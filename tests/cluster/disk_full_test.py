"""A full disk on one node of a real 3-node chronik cluster (issue 13, docs/operations.md "Full
disk"). Node 3's data directory is a small tmpfs. Once a filler file takes all of its space, node 3's
next WAL write fails and the node fences itself: /health answers 503 naming the storage failure,
and Metadata from the other nodes lists it in no ISR and as no leader. Producers with acks=all
through nodes 1 and 2 keep working. Deleting the filler gives the space back: node 3 reopens its
WAL by itself, reports ready, and is back in every ISR. Then node 1 is killed, so every commit needs
node 3, and everything ever acknowledged is read back, once.

Needs root (mount -t tmpfs). Run:
  /usr/bin/python3 tests/cluster/disk_full_test.py --server build/daemon/chronik-server
"""
import errno
import json
import os
import random
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
TOPIC = "disk-full"
PARTITIONS = 6
TMPFS_MB = 32


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


def health(node):
    """(HTTP status, JSON body) of /health, or (None, None) when the node does not answer."""
    try:
        with urllib.request.urlopen(f"http://{node.admin_addr}/health", timeout=2) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None, None


def partitions_seen_by(node):
    """{partition: (leader, [isr])} of TOPIC from kcat's Metadata through `node`, or None."""
    out = subprocess.run(["kcat", "-b", kafka_addr(node), "-L", "-t", TOPIC, "-m", "5"], capture_output=True,
                         text=True, timeout=20)
    if out.returncode != 0:
        return None
    parts = {}
    for m in re.finditer(r"partition (\d+), leader (-?\d+), replicas: ([\d,]*), isrs: ([\d,]*)", out.stdout):
        parts[int(m.group(1))] = (int(m.group(2)), [int(x) for x in m.group(4).split(",") if x])
    return parts if len(parts) == PARTITIONS else None


def raw_produce_error(node, partition):
    """The error code `node` answers to a Produce v3 (acks=all) of one record to TOPIC/partition.
    kafka-python 2.0 predates KAFKA_STORAGE_ERROR (56) and reports it as UnknownError, so the code
    is read from the response itself."""
    from kafka.client_async import KafkaClient
    from kafka.protocol.produce import ProduceRequest
    from kafka.record import MemoryRecordsBuilder
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(int(time.time() * 1000), None, b"probe")
    builder.close()
    client = KafkaClient(bootstrap_servers=kafka_addr(node), request_timeout_ms=10000, api_version=(2, 0))
    try:
        deadline = time.monotonic() + 10
        while not client.ready(node.node_id) and time.monotonic() < deadline:
            client.poll(timeout_ms=100)
        request = ProduceRequest[3](transactional_id=None, required_acks=-1, timeout=5000,
                                    topics=[(TOPIC, [(partition, builder.buffer())])])
        future = client.send(node.node_id, request)
        client.poll(timeout_ms=10000, future=future)
        if not future.succeeded():
            return None
        return future.value.topics[0][1][0][1]
    finally:
        client.close()


def fill(path):
    """Writes zeros to `path` until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        for _ in range(TMPFS_MB * 4):  # bounded: the tmpfs holds TMPFS_MB MiB
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return written


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.cluster = c = Cluster(SERVER, 3)
        self.fenced = c.nodes[2]
        os.makedirs(self.fenced.data_dir)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", self.fenced.data_dir],
                       check=True, timeout=10)
        self.failed = True
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n])

    def tearDown(self):
        self.cluster.stop_all()
        subprocess.run(["umount", self.fenced.data_dir], timeout=10)
        self.cluster.cleanup(keep_logs_on_failure=self.failed)

    def produce(self, nodes, values):
        """Sends every value with acks=all through `nodes`; returns those acknowledged."""
        from kafka import KafkaProducer
        producer = KafkaProducer(bootstrap_servers=[kafka_addr(n) for n in nodes], acks="all", retries=50,
                                 retry_backoff_ms=200, request_timeout_ms=10000, max_in_flight_requests_per_connection=1)
        futures = [(v, producer.send(TOPIC, value=v, partition=i % PARTITIONS)) for i, v in enumerate(values)]
        acked, errors = [], {}
        for v, f in futures:
            try:
                f.get(timeout=30)
                acked.append(v)
            except Exception as e:  # noqa: BLE001: an unacknowledged message may or may not be stored
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
        producer.close(timeout=10)
        if errors:
            print(f"{len(values) - len(acked)} of {len(values)} not acknowledged: {errors}")
        return acked

    def read_all(self, nodes, at_least):
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=[kafka_addr(n) for n in nodes], enable_auto_commit=False,
                                 consumer_timeout_ms=5000, auto_offset_reset="earliest")
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = []
        deadline = time.monotonic() + 40
        while len(got) < at_least and time.monotonic() < deadline:
            got += [m.value for m in consumer]
        consumer.close()
        return got

    def test_full_disk_fences_the_node_and_loses_nothing_acknowledged(self):
        c, fenced = self.cluster, self.fenced
        others = [n for n in c.nodes if n is not fenced]
        c.wait_for(lambda: all(health(n)[0] == 200 for n in c.nodes), 20, "every node ready")
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=kafka_addr(others[0]), request_timeout_ms=15000)
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)])
        admin.close()
        c.wait_for(lambda: (p := partitions_seen_by(others[0])) and all(l > 0 and len(i) == 3 for l, i in p.values()),
                   20, "a leader and a full ISR for every partition")
        acked = self.produce(c.nodes, [f"before-{i}".encode() for i in range(300)])
        self.assertEqual(len(acked), 300, "a healthy cluster acknowledges everything")
        led = [p for p, (l, _) in partitions_seen_by(others[0]).items() if l == fenced.node_id]
        print(f"node {fenced.node_id} leads partitions {led} before its disk fills")

        filler = os.path.join(fenced.data_dir, "filler")
        print(f"filler: {fill(filler) >> 20} MiB")
        # Its next WAL write fails: as a follower of every partition it gets the next appends. The
        # messages for partitions it led are answered KAFKA_STORAGE_ERROR, which kafka-python 2.0
        # does not retry: they count only if acknowledged.
        during = self.produce(others, [f"during-{i}".encode() for i in range(300)])
        c.wait_for(lambda: health(fenced)[0] == 503, 20, "the full node reporting not ready")
        status, body = health(fenced)
        self.assertIn("storage failed", body.get("reason", ""), body)
        self.assertTrue(fenced.running(), "a full disk must not crash the node")
        self.assertEqual(raw_produce_error(fenced, 0), 56, "KAFKA_STORAGE_ERROR from the fenced node")

        def moved_off():
            parts = partitions_seen_by(others[0])
            return parts and all(l > 0 and l != fenced.node_id and fenced.node_id not in isr and len(isr) == 2
                                 for l, isr in parts.values())
        c.wait_for(moved_off, 20, f"node {fenced.node_id} out of every ISR and leadership")
        while_fenced = self.produce(others, [f"fenced-{i}".encode() for i in range(300)])
        self.assertEqual(len(while_fenced), 300, "nodes 1 and 2 acknowledge everything while node 3 is fenced")
        acked += during + while_fenced

        os.remove(filler)
        c.wait_for(lambda: health(fenced)[0] == 200, 30, "the node recovering once space is back")
        c.wait_for(lambda: (p := partitions_seen_by(others[0])) and all(len(isr) == 3 for _, isr in p.values()),
                   20, f"node {fenced.node_id} back in every ISR")
        acked += self.produce(c.nodes, [f"after-{i}".encode() for i in range(300)])

        # Without node 1 every commit needs node 3, and the partitions node 1 led move to 2 or 3.
        others[0].kill()
        late = self.produce([others[1], fenced], [f"two-{i}".encode() for i in range(100)])
        self.assertEqual(len(late), 100, "nodes 2 and 3 form a quorum after node 3's recovery")
        acked += late
        got = self.read_all([others[1], fenced], len(acked))
        missing = set(acked) - set(got)
        self.assertFalse(missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}")
        dupes = len(got) - len(set(got))
        print(f"acknowledged {len(acked)}, read {len(got)}, duplicates from retries {dupes}")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "disk_full")
