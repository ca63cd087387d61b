"""DeleteRecords from three stock admin clients against a real 3-node chronik cluster on 127.0.0.x
(issue 15; docs/kafka.md "Deleting records"): confluent-kafka (librdkafka) and kafka-python from
PyPI, and kafkajs from npm.

Each client deletes records from its own topic (1 partition, replication factor 3, 10 records):
the answer's low watermark is the new log start, and ListOffsets earliest then shows it through
every broker (each asked on its own), a consumer reading from the beginning starts there, and
an offset above the high watermark is refused with OFFSET_OUT_OF_RANGE. Last, the move is shown to
be replicated and durable: a follower is restarted, then the leader is killed so that a follower
answers, and the start stays where the deletion put it.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_admin_records_test.py --server build/daemon/chronik-server
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
SETTLE_S = 30  # for a partition to have a leader, or a new one after a kill
RECORDS = 10



class KafkaAdminRecords(AdminSuite):

    # --- helpers ------------------------------------------------------------------------------------

    def create_topic_with_records(self, name):
        """Topic `name`, 1 partition on all 3 brokers, holding offsets 0 .. RECORDS-1."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3)])[name].result(timeout=30)
        self.cluster.wait_for(lambda: self.leader_of(name) is not None, SETTLE_S, f"a leader for {name}")
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        acked = []
        for i in range(RECORDS):
            producer.produce(name, value=f"{name}-{i}".encode(), partition=0,
                             on_delivery=lambda err, msg: acked.append((err, msg.offset())))
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(acked, [(None, i) for i in range(RECORDS)])

    def leader_of(self, topic, via=None):
        from confluent_kafka.admin import AdminClient

        nodes = [via] if via else [n for n in self.cluster.nodes if n.running()]
        admin = AdminClient({"bootstrap.servers": ",".join(kafka_addr(n) for n in nodes)})
        try:
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        except Exception:  # noqa: BLE001 - a broker that is starting: ask again
            return None
        if t is None or t.error is not None or 0 not in t.partitions or t.partitions[0].leader < 0:
            return None
        return t.partitions[0].leader

    def earliest_via(self, node, topic):
        """ListOffsets earliest of partition 0, bootstrapping from `node` alone; None on an error."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import AdminClient, OffsetSpec

        admin = AdminClient({"bootstrap.servers": kafka_addr(node)})
        tp = TopicPartition(topic, 0)
        try:
            return admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=10)[tp].result().offset
        except Exception:  # noqa: BLE001 - a leader change under way: the caller asks again
            return None

    def assert_start_everywhere(self, topic, start):
        """Every running broker, asked on its own, answers ListOffsets earliest = start."""
        seen = {}

        def all_agree():
            for n in self.cluster.nodes:
                if n.running():
                    seen[n.node_id] = self.earliest_via(n, topic)
            return all(v == start for v in seen.values())

        self.cluster.wait_for(all_agree, SETTLE_S, f"earliest offset {start} of {topic} on every broker")
        self.assertTrue(seen)

    def first_consumed(self, topic):
        """The offset and value a consumer from the beginning reads first."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"read-{topic}-{time.monotonic()}",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and not m.error():
                    return m.offset(), m.value().decode()
        finally:
            consumer.close()
        self.fail(f"nothing consumed from {topic}")

    # --- confluent-kafka (librdkafka) ---------------------------------------------------------------

    def test_a_confluent_deletes_records(self):
        from confluent_kafka import KafkaError, KafkaException, TopicPartition
        from confluent_kafka.admin import AdminClient

        topic = "records-confluent"
        self.create_topic_with_records(topic)
        admin = AdminClient({"bootstrap.servers": self.bootstrap})

        def delete(offset, name=topic):
            tp = TopicPartition(name, 0, offset)
            return admin.delete_records([tp], request_timeout=20, operation_timeout=15)[tp]

        def refused(future):
            with self.assertRaises(KafkaException) as ctx:
                future.result()
            return ctx.exception.args[0].code()

        self.assertEqual(delete(4).result().low_watermark, 4)
        self.assert_start_everywhere(topic, 4)
        self.assertEqual(self.first_consumed(topic), (4, f"{topic}-4"))
        self.assertEqual(refused(delete(RECORDS + 1)), KafkaError.OFFSET_OUT_OF_RANGE)
        # librdkafka 2.16 looks the partition's leader up in Metadata first and fails an unknown
        # topic itself (_NOENT) without sending DeleteRecords; the broker's
        # UNKNOWN_TOPIC_OR_PARTITION is covered by tests/unit/kafka_delete_records_test.cc.
        self.assertEqual(refused(delete(1, name="no-such-topic")), KafkaError._NOENT)
        self.assertEqual(delete(2).result().low_watermark, 4, "below the start: nothing moves")
        self.assertEqual(delete(-1).result().low_watermark, RECORDS, "OFFSET_END: the high watermark")
        self.assert_start_everywhere(topic, RECORDS)
        self.ok()

    # --- kafka-python -------------------------------------------------------------------------------

    def test_b_kafka_python_deletes_records(self):
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient
        from kafka.errors import OffsetOutOfRangeError

        topic = "records-kafka-python"
        self.create_topic_with_records(topic)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=20000)
        tp = TopicPartition(topic, 0)
        try:
            got = admin.delete_records({tp: 6}, timeout_ms=15000)
            self.assertEqual(got[tp]["low_watermark"], 6)
            self.assertEqual(got[tp]["error_code"], 0)
            with self.assertRaises(OffsetOutOfRangeError):
                admin.delete_records({tp: 50}, timeout_ms=15000)
        finally:
            admin.close()
        self.assert_start_everywhere(topic, 6)
        self.assertEqual(self.first_consumed(topic), (6, f"{topic}-6"))
        self.ok()

    # --- kafkajs ------------------------------------------------------------------------------------

    def kafkajs(self):
        return super().kafkajs("kafkajs_records.js")

    def node(self, *args):
        out = subprocess.run(["node", *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_c_kafkajs_deletes_records(self):
        script = self.kafkajs()
        topic = "records-kafkajs"
        self.create_topic_with_records(topic)

        got = self.node(script, "delete", self.bootstrap, topic, "0", "3")
        self.assertEqual(got.get("offsets"), [{"partition": 0, "low": 3, "high": RECORDS}], got)
        self.assert_start_everywhere(topic, 3)

        got = self.node(script, "delete", self.bootstrap, topic, "0", str(RECORDS + 5))
        self.assertIn("error", got)
        self.assertEqual(got["error"]["types"], ["OFFSET_OUT_OF_RANGE"], got)
        self.assert_start_everywhere(topic, 3)
        self.assertEqual(self.first_consumed(topic), (3, f"{topic}-3"))
        self.ok()

    # --- replicated and durable ---------------------------------------------------------------------

    def test_d_the_start_survives_a_follower_restart_and_the_leaders_death(self):
        """The deletion is in the partition's Raft log: a restarted follower replays it, and a
        follower that becomes leader serves the same start."""
        topic = "records-kafka-python"  # start 6 after test_b
        if self.leader_of(topic) is None or self.earliest_via(self.cluster.nodes[0], topic) != 6:
            self.skipTest("test_b did not delete from its topic")
        nodes = {n.node_id: n for n in self.cluster.nodes}
        peers = lambda n: [m.gossip_addr for m in self.cluster.nodes if m is not n]  # noqa: E731

        follower = next(n for i, n in nodes.items() if i != self.leader_of(topic))
        follower.kill()
        follower.start(peers(follower))
        self.wait_ready()
        self.assert_start_everywhere(topic, 6)

        leader = nodes[self.leader_of(topic)]
        leader.kill()
        self.cluster.wait_for(lambda: self.leader_of(topic) not in (None, leader.node_id), SETTLE_S,
                              f"a new leader for {topic}")
        self.assert_start_everywhere(topic, 6)
        self.assertEqual(self.first_consumed(topic), (6, f"{topic}-6"))

        leader.start(peers(leader))
        self.wait_ready()
        self.assert_start_everywhere(topic, 6)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin records")
