"""Stock Kafka clients against a real 3-node chronik cluster on 127.0.0.x (issue 5): kcat
(librdkafka) lists the 3 brokers and the controller; kafka-python and confluent-kafka create,
describe and delete topics through any broker, and see the outcome the `__meta` state machine
decided (an existing topic is TOPIC_ALREADY_EXISTS on every node).

Run: /usr/bin/python3 tests/cluster/kafka_clients_test.py --server build/daemon/chronik-server
"""
import os
import random
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
READY_S = 20


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


def kcat_metadata(node):
    out = subprocess.run(["kcat", "-b", kafka_addr(node), "-L", "-m", "5"], capture_output=True, text=True,
                         timeout=20)
    return out.returncode, out.stdout + out.stderr


class KafkaClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n])

        def all_ready():
            views = [n.cluster() for n in c.nodes]
            return all(v and v.get("read") == "linearizable" and len(v["brokers"]) == 3 for v in views)

        c.wait_for(all_ready, READY_S, "3 registered brokers on every node")
        cls.failed = True

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def test_a_kcat_lists_three_brokers_from_every_node(self):
        for n in self.cluster.nodes:
            rc, out = kcat_metadata(n)
            self.assertEqual(rc, 0, out)
            self.assertIn("3 brokers:", out)
            for m in self.cluster.nodes:
                self.assertIn(f"broker {m.node_id} at {kafka_addr(m)}", out)
            self.assertIn("(controller)", out)
        type(self).failed = False

    def test_b_kafka_python_admin_creates_describes_and_deletes(self):
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError
        nodes = self.cluster.nodes
        admin = KafkaAdminClient(bootstrap_servers=kafka_addr(nodes[1]), request_timeout_ms=15000)
        try:
            admin.create_topics([NewTopic("py-topic", num_partitions=3, replication_factor=3,
                                          topic_configs={"retention.ms": "3600000"})])
            with self.assertRaises(TopicAlreadyExistsError):
                admin.create_topics([NewTopic("py-topic", num_partitions=1, replication_factor=1)])
            self.assertIn("py-topic", admin.list_topics())
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-topic")])
            entries = {e[0]: e[1] for e in described[0].resources[0][4]}
            self.assertEqual(entries["retention.ms"], "3600000")
            self.assertEqual(entries["cleanup.policy"], "delete")
            admin.delete_topics(["py-topic"])
            self.assertNotIn("py-topic", admin.list_topics())
        finally:
            admin.close()
        # Every node's kcat view agrees that it is gone.
        for n in nodes:
            rc, out = kcat_metadata(n)
            self.assertEqual(rc, 0, out)
            self.assertNotIn('"py-topic"', out)
        type(self).failed = False

    def test_c_confluent_kafka_admin_creates_a_topic_seen_by_kcat(self):
        from confluent_kafka.admin import AdminClient, NewTopic
        nodes = self.cluster.nodes
        admin = AdminClient({"bootstrap.servers": ",".join(kafka_addr(n) for n in nodes)})
        futures = admin.create_topics([NewTopic("ck-topic", num_partitions=2, replication_factor=3)],
                                      operation_timeout=15)
        futures["ck-topic"].result(timeout=20)
        metadata = admin.list_topics(timeout=10)
        self.assertIn("ck-topic", metadata.topics)
        self.assertEqual(len(metadata.topics["ck-topic"].partitions), 2)
        self.assertEqual(sorted(metadata.brokers), [1, 2, 3])
        rc, out = kcat_metadata(nodes[2])
        self.assertIn('topic "ck-topic" with 2 partitions', out)
        type(self).failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka clients")
