"""Transactional offset commits (TxnOffsetCommit, KIP-98 / KIP-447) from real clients against a real
3-node chronik cluster on 127.0.0.x (issue 17; docs/kafka.md "Transactional offsets").

- confluent-kafka 2.16.1: send_offsets_to_transaction in an aborted transaction leaves the group's
  committed offsets as they were; in a committed one it moves them. Read back by a read_committed
  consumer (librdkafka then sends OffsetFetch with require_stable, and retries
  UNSTABLE_OFFSET_COMMIT while the marker is on its way).
- The group's coordinator killed with -9 between send_offsets_to_transaction and
  commit_transaction: the next coordinator loads the offsets as pending, the transaction
  coordinator (another node) writes the commit marker to the offsets partition's new leader, and the
  offsets become the group's.
- kafkajs 2.2.4 (tests/clients/kafkajs/kafkajs_txn_offsets.js): transaction.sendOffsets, which sends
  TxnOffsetCommit v0-1, aborted and then committed.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_txn_offsets_test.py --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR.)
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
READY_S = 30
CALL_S = 60  # each transactional call of the client
OFFSETS_PARTITIONS = 50  # offsets_topic_num_partitions's default
TXN_STATE_PARTITIONS = 50  # transaction_state_log_num_partitions's default


def kafka_partition_for(key, partitions):
    """Kafka's placement of a group or transactional id: abs(Java String.hashCode) % partitions."""
    h = 0
    data = key.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions


class KafkaTxnOffsets(AdminSuite):

    def running_bootstrap(self):
        return ",".join(kafka_addr(n) for n in self.cluster.nodes if n.running())

    def make_topic(self, topic):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(timeout=30)

    def fill(self, topic, count):
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.running_bootstrap()})
        for i in range(count):
            producer.produce(topic, value=f"in-{i}".encode(), partition=0)
        self.assertEqual(producer.flush(30), 0, f"filling {topic}")

    def tearDown(self):
        for n in [n for n in self.cluster.nodes if not n.running()]:
            n.start([m.gossip_addr for m in self.cluster.nodes if m is not n])
            self.wait_ready()

    def leader_of(self, topic, partition):
        """The running node leading `partition` of the internal `topic`, once there is one."""
        from confluent_kafka.admin import AdminClient

        found = {}

        def leader():
            admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
            try:
                t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
            except Exception:  # noqa: BLE001 - a broker that is starting: ask again
                return False
            if t is None or t.error is not None or partition not in t.partitions:
                return False
            node = next((n for n in self.cluster.nodes if n.node_id == t.partitions[partition].leader and n.running()),
                        None)
            found["node"] = node
            return node is not None

        self.cluster.wait_for(leader, READY_S, f"a live leader of {topic} partition {partition}")
        return found["node"]

    def consume(self, topic, group, count):
        """A read_committed member of `group` that has read `count` records of `topic` partition 0."""
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": group,
                             "isolation.level": "read_committed", "enable.auto.commit": False,
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        got = 0
        deadline = time.monotonic() + READY_S
        while got < count and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got += 1
        self.assertEqual(got, count, f"{group} read {topic}")
        return consumer

    def committed(self, topic, group):
        """The group's committed offset of `topic` partition 0 as a read_committed consumer fetches it
        (OffsetFetch with require_stable)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": group,
                             "isolation.level": "read_committed"})
        try:
            return consumer.committed([TopicPartition(topic, 0)], timeout=CALL_S)[0].offset
        finally:
            consumer.close()

    def test_a_an_aborted_transaction_leaves_the_offsets_and_a_committed_one_moves_them(self):
        from confluent_kafka import OFFSET_INVALID, Producer, TopicPartition

        self.make_topic("a-in")
        self.make_topic("a-out")
        self.fill("a-in", 10)
        consumer = self.consume("a-in", "a-group", 10)
        producer = Producer({"bootstrap.servers": self.running_bootstrap(), "transactional.id": "a-txn"})
        producer.init_transactions(CALL_S)
        producer.begin_transaction()
        producer.produce("a-out", value=b"aborted")
        producer.send_offsets_to_transaction([TopicPartition("a-in", 0, 4)], consumer.consumer_group_metadata(), CALL_S)
        producer.abort_transaction(CALL_S)
        self.assertEqual(self.committed("a-in", "a-group"), OFFSET_INVALID, "an aborted transaction commits nothing")
        producer.begin_transaction()
        producer.produce("a-out", value=b"committed")
        producer.send_offsets_to_transaction([TopicPartition("a-in", 0, 10)], consumer.consumer_group_metadata(), CALL_S)
        producer.commit_transaction(CALL_S)
        self.assertEqual(self.committed("a-in", "a-group"), 10)
        # The next transaction's abort does not undo the committed offsets.
        producer.begin_transaction()
        producer.send_offsets_to_transaction([TopicPartition("a-in", 0, 3)], consumer.consumer_group_metadata(), CALL_S)
        producer.abort_transaction(CALL_S)
        self.assertEqual(self.committed("a-in", "a-group"), 10)
        consumer.close()
        print("confluent-kafka: abort left no offset, commit moved it to 10, a later abort kept 10")
        self.ok()

    def test_b_the_group_coordinator_killed_with_the_offsets_pending(self):
        from confluent_kafka import Consumer, Producer, TopicPartition

        self.make_topic("b-in")
        self.make_topic("b-out")
        self.fill("b-in", 10)
        producer = Producer({"bootstrap.servers": self.running_bootstrap(), "transactional.id": "b-txn"})
        producer.init_transactions(CALL_S)
        txn_node = self.leader_of("__transaction_state", kafka_partition_for("b-txn", TXN_STATE_PARTITIONS))
        # `__consumer_offsets` exists once a client looked for a group's coordinator.
        probe = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": "probe"})
        probe.committed([TopicPartition("b-in", 0)], timeout=CALL_S)
        probe.close()
        # A group whose coordinator is not the transaction's, so that killing it leaves the
        # transaction coordinator to write the marker to the offsets partition's next leader.
        group = next(g for g in (f"b-group-{i}" for i in range(1000))
                     if self.leader_of("__consumer_offsets", kafka_partition_for(g, OFFSETS_PARTITIONS)) is not txn_node)
        group_node = self.leader_of("__consumer_offsets", kafka_partition_for(group, OFFSETS_PARTITIONS))
        # The member stays in the group until the end: TxnOffsetCommit v3 names it, and a member
        # that left gets UNKNOWN_MEMBER_ID (KIP-447's zombie fencing).
        consumer = self.consume("b-in", group, 10)
        producer.begin_transaction()
        producer.produce("b-out", value=b"v")
        producer.send_offsets_to_transaction([TopicPartition("b-in", 0, 10)], consumer.consumer_group_metadata(), CALL_S)
        group_node.kill()
        producer.commit_transaction(CALL_S)
        consumer.close()
        self.assertEqual(self.committed("b-in", group), 10, "the next coordinator loaded the pending offsets and the marker")
        print(f"group coordinator (node {group_node.node_id}) killed with the offsets pending; the transaction "
              f"(coordinator node {txn_node.node_id}) committed them at the next one")
        self.ok()

    def test_c_kafkajs_send_offsets(self):
        script = self.kafkajs("kafkajs_txn_offsets.js")
        self.make_topic("c-in")
        out = subprocess.run(["node", script, self.running_bootstrap(), "c-in", "c-group", "c-txn"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual(result["after_abort"], "-1", "kafkajs: an aborted transaction commits nothing")
        self.assertEqual(result["after_commit"], "7")
        print(f"kafkajs: {result}")
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka transactional offsets")
