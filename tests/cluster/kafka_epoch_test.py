"""OffsetForLeaderEpoch (KIP-320) from real clients against a real 3-node chronik cluster on
127.0.0.x (issue 15; docs/kafka.md "Leader epochs").

- confluent-kafka 2.16.1 (librdkafka 2.16) consumes a partition, its leader is killed with -9 in the
  middle, and it keeps consuming from the new leader. librdkafka sees the leader epoch (the Raft
  term) grow in Metadata and, since it holds the epoch of the last record it read, validates its
  position with OffsetForLeaderEpoch before fetching again. The suite checks, from librdkafka's own
  debug log, that the validation was asked of the new leader and succeeded (no truncation, no reset:
  auto.offset.reset=error would surface one), from the new leader's log that it answered, and that
  every offset was read exactly once, in order, with every acknowledged message.
- kafka-python 3.0.12's protocol classes ask every broker directly, at v0-4: the leader answers,
  for each epoch the records carry, the offset where the next epoch's records begin (or the high
  watermark for the latest); followers answer NOT_LEADER_OR_FOLLOWER; current_leader_epoch is fenced.
- kafka-python 3.0.12's consumer does the same validation (its fetcher's KIP-320 path): the killed
  node is restarted, the new leader is killed mid-consume, and the consumer (auto_offset_reset=none,
  so a truncation would raise) sends OffsetForLeaderEpoch, which the next leader answers, and reads
  every offset once.
- kafkajs 2.2.4 never sends OffsetForLeaderEpoch (its consumer has no KIP-320 validation), so it has
  no part here.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt tests/cluster/kafka_epoch_test.py \\
         --server build/daemon/chronik-server
"""
import logging
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
READY_S = 20
TOPIC = "epoch-suite"
BEFORE_KILL = 3000  # messages produced before the leader is killed
AFTER_KILL = 1000   # and after, to the new leader
KILL_AFTER_READ = 1000  # the consumer has read this many when the leader dies

# Kafka error codes the suite expects.
NONE, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER = 0, 3, 6
FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 74, 75


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


class ListHandler(logging.Handler):
    """Keeps librdkafka's log lines (confluent-kafka forwards them to a Python logger)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class KafkaEpoch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        # debug: the partition replica logs each OffsetForLeaderEpoch answer.
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], ["--log-level", "debug"])

        c.wait_ready(READY_S)
        cls.failed = False
        cls.killed = None

        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": cls.bootstrap()})
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3)])[TOPIC].result(timeout=30)
        cls.leader(timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            type(self).failed = True
        return out

    @classmethod
    def running(cls):
        return [n for n in cls.cluster.nodes if n.running()]

    @classmethod
    def bootstrap(cls):
        return ",".join(kafka_addr(n) for n in cls.running())

    @classmethod
    def leader(cls, timeout):
        """The running node Metadata names as the partition's leader, waiting until there is one."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": cls.bootstrap()})
        alive = {n.node_id: n for n in cls.running()}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            md = admin.list_topics(TOPIC, timeout=5)
            t = md.topics.get(TOPIC)
            if t is not None and t.error is None and 0 in t.partitions and t.partitions[0].leader in alive:
                return alive[t.partitions[0].leader]
            time.sleep(0.2)
        raise AssertionError(f"no live leader of {TOPIC} within {timeout}s")

    @staticmethod
    def produce(bootstrap, values):
        """Produces every value (acks=all, small batches so the log has many entries); returns the
        values acknowledged."""
        from confluent_kafka import Producer
        acked, failed = [], []

        def delivered(err, msg):
            (failed if err else acked).append(msg.value().decode() if not err else str(err))

        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 1, "batch.num.messages": 20,
                      "message.timeout.ms": 60000})
        for v in values:
            while True:
                try:
                    p.produce(TOPIC, value=v.encode(), partition=0, on_delivery=delivered)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(90)
        assert left == 0, f"{left} messages not delivered"
        assert not failed, f"delivery failed: {failed[:3]}"
        return acked

    # --- confluent-kafka (librdkafka) ---------------------------------------------------------------

    def test_a_confluent_validates_its_position_after_the_leader_is_killed(self):
        from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

        self.produce(self.bootstrap(), [f"m-{i}" for i in range(BEFORE_KILL)])
        logs = ListHandler()
        logger = logging.getLogger("librdkafka-epoch-suite")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(logs)
        consumer = Consumer({
            "bootstrap.servers": self.bootstrap(), "group.id": "epoch-suite", "enable.auto.commit": False,
            # A reset would be an error event rather than a silent jump (librdkafka resets on an
            # undefined answer or a truncation it cannot seek past).
            "auto.offset.reset": "error",
            # Small fetches, so the consumer is mid-log, fetching, when the leader dies.
            "max.partition.fetch.bytes": 2048, "queued.max.messages.kbytes": 8, "fetch.wait.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 1000, "debug": "fetch", "logger": logger})
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        read = []  # (offset, value, leader epoch)
        errors = []
        acked_after = None
        killed_at_line = None
        started = time.monotonic()
        deadline = started + 120
        try:
            while time.monotonic() < deadline:
                batch = consumer.consume(100, 0.2)
                for msg in batch:
                    if msg.error():
                        errors.append(msg.error())
                    else:
                        read.append((msg.offset(), msg.value().decode(), msg.leader_epoch()))
                if self.killed is None and len(read) >= KILL_AFTER_READ:
                    leader = self.leader(timeout=10)
                    leader.kill()  # -9, while the consumer is fetching
                    print(f"  killed node {leader.node_id} after reading {len(read)}, "
                          f"{time.monotonic() - started:.1f}s")
                    type(self).killed = leader
                    killed_at_line = len(logs.lines)
                if self.killed is not None and acked_after is None:
                    # The survivors elect a new leader; the producer writes to it in the new term.
                    new_leader = self.leader(timeout=30)
                    acked_after = self.produce(self.bootstrap(),
                                               [f"after-{i}" for i in range(AFTER_KILL)])
                    type(self).new_leader = new_leader
                    print(f"  node {new_leader.node_id} leads; {len(acked_after)} more acknowledged, "
                          f"{time.monotonic() - started:.1f}s")
                if acked_after is not None and (not batch or len(read) >= BEFORE_KILL + AFTER_KILL):
                    try:
                        _, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=5, cached=False)
                    except KafkaException:  # e.g. the killed broker's handle going away: ask again
                        continue
                    if read and read[-1][0] + 1 >= high >= BEFORE_KILL + AFTER_KILL:
                        break
        finally:
            consumer.close()

        self.assertIsNotNone(self.killed, "the leader was never killed")
        self.assertIsNotNone(acked_after, "nothing was produced after the kill")
        bad = [e for e in errors if e.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError._LOG_TRUNCATION,
                                                  KafkaError.OFFSET_OUT_OF_RANGE)]
        self.assertEqual(bad, [], f"the consumer's position was reset or truncated: {bad}")
        # Every offset once, in order: nothing skipped, nothing read twice.
        offsets = [o for o, _, _ in read]
        self.assertEqual(offsets, list(range(len(read))), "offsets skipped or duplicated")
        values = [v for _, v, _ in read]
        self.assertEqual(values[:BEFORE_KILL], [f"m-{i}" for i in range(BEFORE_KILL)])
        self.assertTrue(set(acked_after) <= set(values), "an acknowledged message was not read")
        # The records after the kill carry the new leader's larger epoch (the Raft term).
        before = {e for _, v, e in read if v.startswith("m-")}
        after = {e for _, v, e in read if v.startswith("after-")}
        self.assertTrue(min(before) >= 0 and max(before) < min(after), f"epochs {before} then {after}")

        # librdkafka asked the new leader and accepted its answer; nothing it logged says truncation.
        since_kill = logs.lines[killed_at_line:]
        asked = [line for line in since_kill if "querying broker for epoch validation" in line]
        succeeded = [line for line in since_kill if "offset and epoch validation succeeded" in line]
        for line in asked + succeeded:
            print("  librdkafka:", line)
        print(f"  read {len(read)} offsets, epochs {sorted(before)} then {sorted(after)}, "
              f"{time.monotonic() - started:.1f}s from the first poll")
        self.assertTrue(asked, "librdkafka never sent OffsetForLeaderEpoch after the leader change")
        self.assertTrue(succeeded, "no OffsetForLeaderEpoch validation succeeded:\n" + "\n".join(
            line for line in since_kill if "VALID" in line or "OffsetForLeaderEpoch" in line))
        for line in since_kill:
            self.assertNotIn("truncation", line.lower(), line)
            self.assertNotIn("Reset using configured policy", line)
        # The broker that answered logged it.
        with open(self.new_leader.log_path, errors="replace") as f:
            self.assertIn("OffsetForLeaderEpoch: epoch", f.read())

    # --- kafka-python: the API asked directly ---------------------------------------------------------

    def test_b_kafka_python_asks_every_broker_at_every_version(self):
        from confluent_kafka import Consumer, TopicPartition
        from kafka.net.compat import KafkaNetClient
        from kafka.protocol.consumer import OffsetForLeaderEpochRequest

        # What the records say: each epoch's first offset, from a consumer reading the whole log.
        consumer = Consumer({"bootstrap.servers": self.bootstrap(), "group.id": "epoch-suite-b",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        _, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10, cached=False)
        self.assertGreater(high, 0)
        first = {}  # epoch -> first offset holding it
        deadline = time.monotonic() + 60
        last = -1
        while last + 1 < high and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            last = msg.offset()
            first.setdefault(msg.leader_epoch(), msg.offset())
        consumer.close()
        self.assertEqual(last + 1, high, "could not read the whole log")
        epochs = sorted(first)

        def end_of(epoch):  # where the next epoch's records begin, or the high watermark
            later = [first[e] for e in epochs if e > epoch]
            return min(later) if later else high

        Partition = OffsetForLeaderEpochRequest.OffsetForLeaderTopic.OffsetForLeaderPartition
        client = KafkaNetClient(bootstrap_servers=self.bootstrap(), request_timeout_ms=10000)
        try:
            client.check_version(timeout_ms=10000)

            def ask(node, version, epoch, current=-1, topic=TOPIC, partition=0):
                req = OffsetForLeaderEpochRequest[version](replica_id=-1, topics=[
                    (topic, [Partition(partition=partition, current_leader_epoch=current, leader_epoch=epoch)])])
                resp = client.send_and_receive(node.node_id, req, timeout_ms=10000)
                [t] = resp.topics
                [p] = t.partitions
                self.assertEqual((t.topic, p.partition), (topic, partition))
                return p.error_code, (p.leader_epoch if version >= 1 else None), p.end_offset

            leader = self.leader(timeout=30)
            latest = epochs[-1]
            for n in self.running():
                if n is not leader:
                    self.assertEqual(ask(n, 4, latest)[0], NOT_LEADER_OR_FOLLOWER, f"node {n.node_id}")
            for version in range(5):
                for e in epochs:
                    want_epoch = e if version >= 1 else None
                    self.assertEqual(ask(leader, version, e), (NONE, want_epoch, end_of(e)), f"v{version} epoch {e}")
                # Before every epoch the log holds: that epoch, ending where the log's first begins.
                if epochs[0] > 0:
                    self.assertEqual(ask(leader, version, epochs[0] - 1),
                                     (NONE, epochs[0] - 1 if version >= 1 else None, 0), f"v{version}")
                self.assertEqual(ask(leader, version, latest + 1), (NONE, -1 if version >= 1 else None, -1))
            # KIP-320 fencing from v2; the latest epoch with records is the leader's (no change since).
            for version in (2, 3, 4):
                self.assertEqual(ask(leader, version, latest, current=latest)[0], NONE)
                self.assertEqual(ask(leader, version, latest, current=latest - 1)[0], FENCED_LEADER_EPOCH)
                self.assertEqual(ask(leader, version, latest, current=latest + 1)[0], UNKNOWN_LEADER_EPOCH)
            self.assertEqual(ask(leader, 4, latest, topic="no-such-topic")[0], UNKNOWN_TOPIC_OR_PARTITION)
        finally:
            client.close()

    # --- kafka-python: the consumer's own validation ---------------------------------------------------

    def test_c_kafka_python_consumer_validates_after_the_leader_is_killed(self):
        from confluent_kafka.admin import AdminClient
        from kafka import KafkaConsumer, TopicPartition as KafkaTopicPartition

        # Three replicas again: the node test_a killed restarts on its data directory and catches up.
        for n in self.cluster.nodes:
            if not n.running():
                n.start([m.gossip_addr for m in self.cluster.nodes if m is not n], ["--log-level", "debug"])
        admin = AdminClient({"bootstrap.servers": self.bootstrap()})

        def all_in_sync():
            t = admin.list_topics(TOPIC, timeout=5).topics.get(TOPIC)
            return t is not None and t.error is None and len(t.partitions[0].isrs) == 3

        self.cluster.wait_for(all_in_sync, 60, "three in-sync replicas again")
        tp = KafkaTopicPartition(TOPIC, 0)
        logs = ListHandler()
        fetcher_log = logging.getLogger("kafka.consumer.fetcher")
        fetcher_log.setLevel(logging.DEBUG)
        fetcher_log.addHandler(logs)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap(), group_id=None, enable_auto_commit=False,
                                 auto_offset_reset="none",  # a truncation raises instead of resetting
                                 max_partition_fetch_bytes=2048, metadata_max_age_ms=1000,
                                 request_timeout_ms=10000)
        try:
            start = consumer.end_offsets([tp])[tp]
            produced = self.produce(self.bootstrap(), [f"k-{i}" for i in range(2000)])
            consumer.assign([tp])
            consumer.seek(tp, start)
            read, acked_after, killed, log_sizes = [], None, None, {}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                batch = consumer.poll(timeout_ms=200, max_records=100).get(tp, [])
                read += [(r.offset, r.value.decode(), r.leader_epoch) for r in batch]
                if killed is None and len(read) >= 500:
                    killed = self.leader(timeout=10)
                    log_sizes = {n.node_id: os.path.getsize(n.log_path) for n in self.cluster.nodes}
                    killed.kill()  # -9, while the consumer is fetching
                    kill_line = len(logs.lines)
                if killed is not None and acked_after is None:
                    new_leader = self.leader(timeout=30)
                    acked_after = self.produce(self.bootstrap(), [f"kk-{i}" for i in range(500)])
                if acked_after is not None and (not batch or len(read) >= 2500):
                    try:
                        end = consumer.end_offsets([tp])[tp]
                    except Exception:  # noqa: BLE001 the killed broker may still be asked: again
                        continue
                    if read and read[-1][0] + 1 >= end:
                        break
        finally:
            consumer.close()
            fetcher_log.removeHandler(logs)

        self.assertIsNotNone(acked_after, "the leader was never killed")
        offsets = [o for o, _, _ in read]
        self.assertEqual(offsets, list(range(start, start + len(read))), "offsets skipped or duplicated")
        values = [v for _, v, _ in read]
        self.assertEqual(values[:len(produced)], produced)
        self.assertTrue(set(acked_after) <= set(values), "an acknowledged message was not read")
        before = {e for _, v, e in read if v.startswith("k-")}
        after = {e for _, v, e in read if v.startswith("kk-")}
        self.assertTrue(max(before) < min(after), f"epochs {before} then {after}")
        since_kill = logs.lines[kill_line:]
        sent = [line for line in since_kill if "Sending OffsetForLeaderEpochRequest" in line]
        print(f"  kafka-python: {len(sent)} OffsetForLeaderEpoch request(s) after the kill; epochs "
              f"{sorted(before)} then {sorted(after)}")
        self.assertTrue(sent, "kafka-python never sent OffsetForLeaderEpoch after the leader change")
        for line in since_kill:
            self.assertNotIn("Truncation detected", line)
        with open(new_leader.log_path, errors="replace") as f:
            f.seek(log_sizes[new_leader.node_id])
            self.assertIn("OffsetForLeaderEpoch: epoch", f.read())


if __name__ == "__main__":
    run_suite(globals(), "kafka epoch")
