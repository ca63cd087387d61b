"""CreatePartitions from three stock admin clients against a real 3-node chronik cluster on 127.0.0.x
(issue 15; docs/kafka.md "Adding partitions"): confluent-kafka (librdkafka) and kafka-python from
PyPI, and kafkajs from npm.

Each client grows its own topic (created with 1 partition, replication factor 3): validate_only
first, which must change nothing, then for real, automatically placed and with a manual
assignment. The new partitions are new Raft groups: they must get leaders, be listed by Metadata on
every broker, and take records with acks=all that a consumer then reads back. Requests that Kafka
refuses are refused with Kafka's codes: a count that does not grow the topic (INVALID_PARTITIONS),
an unknown topic (UNKNOWN_TOPIC_OR_PARTITION), an assignment naming an unknown broker or one broker
twice (INVALID_REPLICA_ASSIGNMENT). Last, every node is killed and started again: the added
partitions come back with their replicas, leaders and records, and take more.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_admin_partitions_test.py --server build/daemon/chronik-server
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
LEADERS_S = 30  # for new partition groups to elect leaders that Metadata reports



class KafkaAdminPartitions(AdminSuite):

    # --- helpers: the cluster as each broker's Metadata shows it ------------------------------------

    def create_topic(self, name):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3)])[name].result(timeout=30)
        self.wait_partitions(name, 1)

    def partitions_on(self, node, topic):
        """{partition: (leader, replicas)} from one broker's Metadata, or None if it lacks the topic."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": kafka_addr(node)})
        md = admin.list_topics(topic=topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return None
        return {p.id: (p.leader, list(p.replicas)) for p in t.partitions.values()}

    def wait_partitions(self, topic, count):
        """Until every broker lists `count` partitions of `topic`, each with a leader; returns one view."""
        views = {}

        def settled():
            for n in self.cluster.nodes:
                v = self.partitions_on(n, topic)
                if v is None or len(v) != count or any(leader < 0 for leader, _ in v.values()):
                    return False
                views[n.node_id] = v
            return True

        self.cluster.wait_for(settled, LEADERS_S, f"{count} partitions of {topic} with leaders on every broker")
        return views[1]

    def produce_and_consume(self, topic, partition, values):
        """Produces `values` to one partition with acks=all and reads them back from its start."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        acked = []

        def delivered(err, msg):
            self.assertIsNone(err, f"produce to {topic}-{partition}: {err}")
            acked.append((msg.partition(), msg.offset()))

        for v in values:
            producer.produce(topic, value=v.encode(), partition=partition, on_delivery=delivered)
        self.assertEqual(producer.flush(30), 0, "every record acknowledged")
        self.assertEqual([p for p, _ in acked], [partition] * len(values))
        self.assertEqual(sorted(o for _, o in acked), list(range(len(values))))

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"read-{topic}",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 30
        try:
            while len(got) < len(values) and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is None or m.error():
                    continue
                got.append((m.partition(), m.value().decode()))
        finally:
            consumer.close()
        self.assertEqual(got, [(partition, v) for v in values])

    # --- confluent-kafka (librdkafka) ---------------------------------------------------------------

    def test_a_confluent_grows_a_topic(self):
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewPartitions

        topic = "grow-confluent"
        self.create_topic(topic)
        admin = AdminClient({"bootstrap.servers": self.bootstrap})

        def grow(count, assignment=None, validate_only=False, name=topic):
            # confluent-kafka refuses replica_assignment=None; leaving it out asks the broker to place them.
            np = NewPartitions(name, count) if assignment is None else NewPartitions(name, count, assignment)
            return admin.create_partitions([np], validate_only=validate_only, operation_timeout=15,
                                           request_timeout=20)[name]

        def refused(future):
            with self.assertRaises(KafkaException) as ctx:
                future.result()
            return ctx.exception.args[0].code()

        grow(3, validate_only=True).result()
        self.assertEqual(len(self.partitions_on(self.cluster.nodes[0], topic)), 1, "validate_only changes nothing")
        self.assertEqual(refused(grow(3, [[1, 2, 9], [2, 3, 1]], validate_only=True)),
                         KafkaError.INVALID_REPLICA_ASSIGNMENT)

        grow(3).result()
        view = self.wait_partitions(topic, 3)
        for p in (1, 2):
            self.assertEqual(sorted(view[p][1]), [1, 2, 3])  # replication factor 3 over the 3 brokers

        grow(4, [[2, 3, 1]]).result()
        view = self.wait_partitions(topic, 4)
        self.assertEqual(view[3][1], [2, 3, 1], "a manual assignment is taken as given")

        self.assertEqual(refused(grow(4)), KafkaError.INVALID_PARTITIONS)  # the count it has
        self.assertEqual(refused(grow(2)), KafkaError.INVALID_PARTITIONS)
        self.assertEqual(refused(grow(5, [[1, 1, 2]])), KafkaError.INVALID_REPLICA_ASSIGNMENT)
        self.assertEqual(refused(grow(5, [[1, 2, 9]])), KafkaError.INVALID_REPLICA_ASSIGNMENT)
        self.assertEqual(refused(grow(5, name="no-such-topic")), KafkaError.UNKNOWN_TOPIC_OR_PART)
        self.assertEqual(len(self.wait_partitions(topic, 4)), 4, "refusals change nothing")

        self.produce_and_consume(topic, 3, [f"c-{i}" for i in range(5)])
        self.ok()

    # --- kafka-python -------------------------------------------------------------------------------

    def test_b_kafka_python_grows_a_topic(self):
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient
        from kafka.errors import InvalidPartitionsError, InvalidReplicationAssignmentError, UnknownTopicOrPartitionError

        topic = "grow-kafka-python"
        self.create_topic(topic)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=20000)
        try:
            admin.create_partitions({topic: 2}, timeout_ms=15000, validate_only=True)
            self.assertEqual(len(self.partitions_on(self.cluster.nodes[1], topic)), 1,
                             "validate_only changes nothing")
            admin.create_partitions({topic: 2}, timeout_ms=15000)
            self.wait_partitions(topic, 2)
            admin.create_partitions({topic: {"count": 3, "assignments": [[3, 1, 2]]}}, timeout_ms=15000)
            view = self.wait_partitions(topic, 3)
            self.assertEqual(view[2][1], [3, 1, 2])
            with self.assertRaises(InvalidPartitionsError):
                admin.create_partitions({topic: 3}, timeout_ms=15000)
            with self.assertRaises(InvalidReplicationAssignmentError):  # one row for two new partitions
                admin.create_partitions({topic: {"count": 5, "assignments": [[1, 2, 3]]}}, timeout_ms=15000)
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.create_partitions({"no-such-topic-py": 4}, timeout_ms=15000)
        finally:
            admin.close()

        # chronik has no InitProducerId: kafka-python 3 must be told not to be idempotent.
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False)
        try:
            for i in range(3):
                md = producer.send(topic, value=f"p-{i}".encode(), partition=2).get(timeout=30)
                self.assertEqual((md.partition, md.offset), (2, i))
        finally:
            producer.close()
        self.produce_and_consume(topic, 1, ["p-x", "p-y"])
        self.ok()

    # --- kafkajs ------------------------------------------------------------------------------------

    def kafkajs(self):
        return super().kafkajs("kafkajs_partitions.js")

    def node(self, *args):
        out = subprocess.run(["node", *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_c_kafkajs_grows_a_topic(self):
        script = self.kafkajs()
        topic = "grow-kafkajs"
        self.create_topic(topic)

        got = self.node(script, "grow", self.bootstrap, topic, "3", "-", "validate")
        self.assertEqual(len(got["partitions"]), 1, f"validate_only changes nothing: {got}")
        got = self.node(script, "grow", self.bootstrap, topic, "3")
        self.assertNotIn("error", got)
        view = self.wait_partitions(topic, 3)
        got = self.node(script, "grow", self.bootstrap, topic, "4", "[[1,3,2]]")
        self.assertNotIn("error", got)
        view = self.wait_partitions(topic, 4)
        self.assertEqual(view[3][1], [1, 3, 2])

        def refusal(*args):
            got = self.node(script, "grow", self.bootstrap, *args)
            self.assertIn("error", got)
            e = got["error"]
            return e.get("type") or (e["types"][0] if e.get("types") else e["name"])

        self.assertEqual(refusal(topic, "4"), "INVALID_PARTITIONS")
        self.assertEqual(refusal(topic, "5", "[[1,2,2]]"), "INVALID_REPLICA_ASSIGNMENT")
        self.assertEqual(refusal("no-such-topic-js", "5"), "UNKNOWN_TOPIC_OR_PARTITION")

        sent = self.node(script, "produce", self.bootstrap, topic, "2", "3")
        self.assertEqual(sent["offsets"], [{"partition": 2, "offset": i} for i in range(3)])
        self.produce_and_consume(topic, 3, ["j-0", "j-1"])
        self.ok()

    # --- after a restart ----------------------------------------------------------------------------

    def test_d_added_partitions_survive_a_restart_of_every_node(self):
        """The new groups come back from the WAL and `__meta` (groups_for), with their records."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

        topic = "grow-confluent"  # grown to 4 by test_a, 5 records in partition 3
        before = self.partitions_on(self.cluster.nodes[0], topic)
        if before is None or len(before) != 4:
            self.skipTest("test_a did not grow its topic")
        for n in self.cluster.nodes:
            n.kill()
        for n in self.cluster.nodes:
            n.start([m.gossip_addr for m in self.cluster.nodes if m is not n])
        view = self.wait_partitions(topic, 4)
        self.assertEqual({p: r for p, (_, r) in view.items()}, {p: r for p, (_, r) in before.items()})

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "read-after-restart",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 3, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 30
        try:
            while len(got) < 5 and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and not m.error():
                    got.append((m.offset(), m.value().decode()))
        finally:
            consumer.close()
        self.assertEqual(got, [(i, f"c-{i}") for i in range(5)])

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
        acked = []
        producer.produce(topic, value=b"after", partition=3, on_delivery=lambda err, msg: acked.append((err, msg.offset())))
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(acked, [(None, 5)])
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin partitions")
