"""Log compaction (cleanup.policy=compact) through stock clients against a real 3-node chronik
cluster on 127.0.0.x (issue 20; docs/kafka.md "Log compaction"): confluent-kafka (librdkafka) and
kafka-python from PyPI.

A compacted topic (1 partition, replication factor 3, cleaning as soon as it can: segment.ms 100,
min.cleanable.dirty.ratio 0.01) takes 40 keyed records over 5 keys and one more with a new key.
Within a few retention checks a consumer reading from the beginning sees each of the 5 keys once,
with its last value at its original offset, and a later record's offsets unchanged; the log start
stays 0. Both clients read the same. A keyless record is refused (INVALID_RECORD), DeleteRecords
is refused (POLICY_VIOLATION) and an empty cleanup.policy is refused (INVALID_CONFIG). The cleaned
log is replicated and durable: a follower is restarted, then the leader is killed, and the new
leader serves the same records. Last, a compact,delete topic is cleaned and takes DeleteRecords.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_compaction_test.py --server build/daemon/chronik-server
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 30  # for a partition to have a leader, or a new one after a kill
CLEAN_S = 60  # for the retention checks (every 5 s) to have cleaned
TOPIC = "compacted"
KEYS = 5
RECORDS = 40
COMPACT_NOW = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}


class KafkaCompaction(AdminSuite):

    # --- helpers ------------------------------------------------------------------------------------

    def leader_of(self, topic, via=None):
        p = self.partition(topic, via)
        return p[0] if p else None

    def read_all(self, topic, via=None):
        """[(offset, key, value)] of partition 0 from the beginning to the high watermark, through
        confluent-kafka bootstrapped from `via` (or every running broker); None on an error."""
        from confluent_kafka import Consumer, TopicPartition

        nodes = [via] if via else [n for n in self.cluster.nodes if n.running()]
        c = Consumer({"bootstrap.servers": ",".join(kafka_addr(n) for n in nodes), "group.id": "compaction-reader",
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            tp = TopicPartition(topic, 0)
            _, high = c.get_watermark_offsets(tp, timeout=10)
            c.assign([TopicPartition(topic, 0, 0)])
            out = []
            for _ in range(200):  # bounded: a few polls read the whole small topic
                if out and out[-1][0] >= high - 1:
                    break
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    return None
                out.append((m.offset(), m.key().decode() if m.key() else None,
                            m.value().decode() if m.value() is not None else None))
            return out
        except Exception:  # noqa: BLE001 - a leader change under way: the caller asks again
            return None
        finally:
            c.close()

    @staticmethod
    def expected():
        """What the cleaned topic holds: each key's last record, then the newest record."""
        last = {}
        for i in range(RECORDS):
            last[f"k{i % KEYS}"] = (i, f"k{i % KEYS}", f"v{i}")
        return sorted(last.values()) + [(RECORDS, "fresh", "newest")]

    def wait_cleaned(self, via=None):
        want = self.expected()
        self.cluster.wait_for(lambda: self.read_all(TOPIC, via) == want, CLEAN_S, "the topic cleaned")

    # --- the tests ----------------------------------------------------------------------------------

    def test_a_the_last_record_of_each_key_stays_at_its_offset(self):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, 3, config=COMPACT_NOW)])[TOPIC].result(timeout=30)
        self.cluster.wait_for(lambda: self.leader_of(TOPIC) is not None, SETTLE_S, f"a leader for {TOPIC}")
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        acked = []
        for i in range(RECORDS):
            producer.produce(TOPIC, key=f"k{i % KEYS}".encode(), value=f"v{i}".encode(), partition=0,
                             on_delivery=lambda err, msg: acked.append((err, msg.offset())))
            producer.flush(30)  # one record per batch, so the log has many entries to clean
        producer.produce(TOPIC, key=b"fresh", value=b"newest", partition=0,
                         on_delivery=lambda err, msg: acked.append((err, msg.offset())))
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(acked, [(None, i) for i in range(RECORDS + 1)])

        self.wait_cleaned()
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec
        tp = TopicPartition(TOPIC, 0)
        earliest = admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=10)[tp].result().offset
        self.assertEqual(earliest, 0, "compaction does not move the log start")
        self.ok()

    def test_b_kafka_python_reads_the_same(self):
        from kafka import KafkaConsumer, TopicPartition

        if self.read_all(TOPIC) != self.expected():
            self.skipTest("test_a did not clean its topic")
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000)
        try:
            tp = TopicPartition(TOPIC, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            got = [(m.offset, m.key.decode(), m.value.decode()) for m in consumer]
        finally:
            consumer.close()
        self.assertEqual(got, self.expected())
        self.ok()

    def test_c_what_a_compacted_topic_refuses(self):
        from confluent_kafka import KafkaError, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        # A record without a key: nothing for compaction to keep it by.
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "retries": 0})
        errors = []
        producer.produce(TOPIC, value=b"no key", partition=0, on_delivery=lambda err, msg: errors.append(err))
        producer.flush(30)
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0])
        self.assertEqual(errors[0].code(), KafkaError.INVALID_RECORD, errors[0])
        # DeleteRecords: records of a compacted topic leave only through compaction (Kafka's rule).
        tp = TopicPartition(TOPIC, 0, 1)
        with self.assertRaises(Exception) as deleted:
            admin.delete_records([tp], request_timeout=10)[tp].result()
        self.assertIn("POLICY_VIOLATION", str(deleted.exception))
        # Neither policy is not offered.
        with self.assertRaises(Exception) as neither:
            admin.create_topics([NewTopic("no-policy", 1, 3, config={"cleanup.policy": ""})])["no-policy"].result(
                timeout=30)
        self.assertIn("INVALID_CONFIG", str(neither.exception))
        self.ok()

    def test_e_compact_and_delete_takes_delete_records(self):
        """With both policies DeleteRecords is Kafka's again: the start moves into the cleaned log."""
        from confluent_kafka import Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic

        topic = "compacted-and-deleted"
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        config = dict(COMPACT_NOW, **{"cleanup.policy": "compact,delete"})
        admin.create_topics([NewTopic(topic, 1, 3, config=config)])[topic].result(timeout=30)
        self.cluster.wait_for(lambda: self.leader_of(topic) is not None, SETTLE_S, f"a leader for {topic}")
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        for i in range(10):
            producer.produce(topic, key=f"k{i % 2}".encode(), value=f"v{i}".encode(), partition=0)
            producer.flush(30)
        producer.produce(topic, key=b"fresh", value=b"newest", partition=0)
        self.assertEqual(producer.flush(30), 0)
        want = [(8, "k0", "v8"), (9, "k1", "v9"), (10, "fresh", "newest")]
        self.cluster.wait_for(lambda: self.read_all(topic) == want, CLEAN_S, f"{topic} cleaned")
        tp = TopicPartition(topic, 0, 9)
        low = admin.delete_records([tp], request_timeout=10)[tp].result()
        self.assertEqual(low.low_watermark, 9)
        self.cluster.wait_for(lambda: self.read_all(topic) == want[1:], SETTLE_S, f"{topic} from offset 9")
        self.ok()

    def test_d_the_cleaned_log_survives_a_follower_restart_and_the_leaders_death(self):
        if self.read_all(TOPIC) != self.expected():
            self.skipTest("test_a did not clean its topic")
        nodes = {n.node_id: n for n in self.cluster.nodes}
        peers = lambda n: [m.gossip_addr for m in self.cluster.nodes if m is not n]  # noqa: E731

        follower = next(n for i, n in nodes.items() if i != self.leader_of(TOPIC))
        follower.kill()
        follower.start(peers(follower))
        self.wait_ready()
        self.wait_cleaned()

        leader = nodes[self.leader_of(TOPIC)]
        leader.kill()
        self.cluster.wait_for(lambda: self.leader_of(TOPIC) not in (None, leader.node_id), SETTLE_S,
                              f"a new leader for {TOPIC}")
        self.wait_cleaned()
        leader.start(peers(leader))
        self.wait_ready()
        self.wait_cleaned()
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka compaction")
