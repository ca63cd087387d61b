"""DescribeProducers (key 61, KIP-664) from real admin clients against a real 3-node chronik cluster
on 127.0.0.x (issue 17; docs/kafka.md "Idempotent producers"): after idempotent confluent-kafka
2.16.1 producers wrote to a partition, its leader lists each of them with its epoch, the last
sequence and the last timestamp it wrote; no transactions exist, so no coordinator epoch and no open
transaction.

- kafka-python 3.0.12's KafkaAdminClient.describe_producers: through the leader, and sent to a
  follower (NOT_LEADER_OR_FOLLOWER) and for a partition that does not exist
  (UNKNOWN_TOPIC_OR_PARTITION). `__consumer_offsets` is described like any topic, as Kafka does.
- Kafka 4.0.1's own kafka-transactions describe-producers (the Java Admin's describeProducers),
  through the leader and with --broker-id of a follower. Skipped without java, mvn or the artifacts.

confluent-kafka 2.16.1 (librdkafka) and kafkajs 2.2.4 have no DescribeProducers in their admin
clients, so they only produce here.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_describe_producers_test.py --server build/daemon/chronik-server
(Kafka's tools are resolved by Maven into $CHRONIK_KAFKA_TOOLS_DIR.)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 40  # for a partition to have a leader
DELIVER_S = 60  # for a producer's values to be acknowledged
COUNT = 50  # values each producer writes
TRANSACTIONS_COMMAND = "org.apache.kafka.tools.TransactionsCommand"


class KafkaDescribeProducers(AdminSuite):

    # --- helpers ------------------------------------------------------------------------------------

    def create_topic(self, name):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3)])[name].result(timeout=30)
        self.cluster.wait_for(lambda: self.partition(name) is not None, SETTLE_S, f"a leader for {name}")

    def produce_idempotently(self, topic, count):
        """One idempotent confluent-kafka producer writes `count` values to partition 0 of `topic`,
        one message per batch (so the last sequence is count - 1); returns the wall-clock window
        (ms) that contains every record's timestamp."""
        from confluent_kafka import Producer

        before = int(time.time() * 1000)
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "linger.ms": 0})
        errors = []

        def report(err, _msg):
            if err is not None:
                errors.append(err)

        for i in range(count):
            p.produce(topic, value=f"v{i}".encode(), partition=0, on_delivery=report)
            p.flush(DELIVER_S)  # one at a time: each value its own batch
        self.assertEqual(p.flush(DELIVER_S), 0)
        self.assertEqual(errors, [])
        return before, int(time.time() * 1000)

    def admin(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)

    def followers(self, topic):
        leader, replicas, _ = self.partition(topic)
        return [r for r in replicas if r != leader]

    def transactions_tool(self, *args):
        """Kafka 4.0.1's kafka-transactions (its main class on Maven's classpath); returns
        (exit code, stdout, stderr). Skips when java, mvn or the artifacts are unavailable."""
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        cp = kafka_tools_classpath(work)
        if cp is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools unavailable")
        out = subprocess.run(["java", "-cp", cp, TRANSACTIONS_COMMAND, "--bootstrap-server", self.bootstrap, *args],
                             capture_output=True, text=True, timeout=120)
        return out.returncode, out.stdout, out.stderr

    # --- tests --------------------------------------------------------------------------------------

    def test_a_kafka_python_describes_each_producer(self):
        from kafka import TopicPartition
        from kafka.errors import NotLeaderForPartitionError, UnknownTopicOrPartitionError

        topic = "producers-python"
        self.create_topic(topic)
        window1 = self.produce_idempotently(topic, COUNT)
        window2 = self.produce_idempotently(topic, COUNT // 2)
        tp = TopicPartition(topic, 0)
        admin = self.admin()
        try:
            state = admin.describe_producers([tp])[tp]
            rows = sorted(state.active_producers, key=lambda r: r.last_timestamp)
            self.assertEqual(len(rows), 2, rows)
            self.assertNotEqual(rows[0].producer_id, rows[1].producer_id)
            for row, count, (lo, hi) in zip(rows, (COUNT, COUNT // 2), (window1, window2)):
                self.assertGreaterEqual(row.producer_id, 0, row)
                self.assertEqual(row.producer_epoch, 0, row)
                self.assertEqual(row.last_sequence, count - 1, row)
                self.assertTrue(lo <= row.last_timestamp <= hi, (row, lo, hi))
                self.assertEqual(row.coordinator_epoch, -1, row)
                self.assertEqual(row.current_transaction_start_offset, -1, row)

            for follower in self.followers(topic):
                with self.assertRaises(NotLeaderForPartitionError):
                    admin.describe_producers([tp], broker_id=follower)
            leader, _, _ = self.partition(topic)
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.describe_producers([TopicPartition(topic, 7)], broker_id=leader)
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.describe_producers([TopicPartition("no-such-topic", 0)], broker_id=leader)
        finally:
            admin.close()
        self.ok()

    def test_b_consumer_offsets_is_described_like_any_topic(self):
        """A group's committed offsets make `__consumer_offsets` exist; each of its partitions is
        described by its leader (no producer writes there with an id)."""
        from confluent_kafka import Consumer, TopicPartition as CkTopicPartition
        from confluent_kafka.admin import AdminClient
        from kafka import TopicPartition

        topic = "producers-offsets"
        self.create_topic(topic)
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "describe-producers", "enable.auto.commit": False})
        try:
            c.commit(offsets=[CkTopicPartition(topic, 0, 0)], asynchronous=False)
        finally:
            c.close()
        meta = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10)
        internal = meta.topics.get("__consumer_offsets")
        self.assertIsNotNone(internal, sorted(meta.topics))
        tps = [TopicPartition("__consumer_offsets", p) for p in sorted(internal.partitions)]
        admin = self.admin()
        try:
            described = admin.describe_producers(tps)
        finally:
            admin.close()
        self.assertEqual(sorted(described), tps)
        for tp, state in described.items():
            self.assertEqual(state.active_producers, [], tp)
        self.ok()

    def test_c_kafka_transactions_describe_producers(self):
        """Kafka 4.0.1's kafka-transactions describe-producers, as an operator runs it."""
        topic = "producers-tool"
        self.create_topic(topic)
        lo, hi = self.produce_idempotently(topic, COUNT)
        code, out, err = self.transactions_tool("describe-producers", "--topic", topic, "--partition", "0")
        self.assertEqual(code, 0, out + err)
        lines = [line.split() for line in out.splitlines() if line.strip()]
        self.assertEqual(lines[0], ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                                    "LastTimestamp", "CurrentTransactionStartOffset"], out)
        self.assertEqual(len(lines), 2, out)
        producer_id, epoch, coordinator_epoch, last_seq, last_ts, txn_start = lines[1]
        self.assertGreaterEqual(int(producer_id), 0, out)
        self.assertEqual((int(epoch), int(coordinator_epoch), int(last_seq)), (0, -1, COUNT - 1), out)
        self.assertTrue(lo <= int(last_ts) <= hi, (out, lo, hi))
        self.assertEqual(txn_start, "None", out)  # the Java Admin's empty OptionalLong for -1

        follower = self.followers(topic)[0]
        code, out, err = self.transactions_tool("describe-producers", "--broker-id", str(follower),
                                                "--topic", topic, "--partition", "0")
        self.assertNotEqual(code, 0, out + err)
        # The Java Admin's NotLeaderOrFollowerException for a request pinned to a broker (its
        # message, not its class name, is what the tool prints).
        self.assertIn(f"Failed to describe active producers for partition {topic}-0 on brokerId {follower}",
                      out + err)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka describe producers")
