"""What the admin-client suites share (tests/cluster/kafka_admin*_test.py, kafka_epoch_test.py): a
3-node cluster started once per suite on 127.0.0.x and ready when every node has 3 registered
brokers and reads `__meta` linearizably; the bootstrap list; logs kept when a test failed; and
kafkajs installed from npm next to a script of tests/clients/kafkajs/.

A suite subclasses AdminSuite; run_suite (chronik_nodes) stores --server in the suite module's
SERVER, which setUpClass reads.
"""
import os
import shutil
import subprocess
import sys
import unittest

from chronik_nodes import Cluster

READY_S = 20


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


class AdminSuite(unittest.TestCase):
    size = 3

    @classmethod
    def setUpClass(cls):
        server = sys.modules[cls.__module__].SERVER
        cls.cluster = c = Cluster(server, cls.size)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], extra=cls.node_args())
        cls.wait_ready()
        cls.bootstrap = ",".join(kafka_addr(n) for n in c.nodes)
        cls.started = cls.passed = 0

    @classmethod
    def node_args(cls):
        """Extra command-line arguments of every node."""
        return []

    @classmethod
    def wait_ready(cls):
        """Until every running node reads `__meta` linearizably and has every broker registered and
        alive there. Alive, not only registered: a node just restarted is registered but dead until
        the `__meta` leader has seen it back, and until then a topic of replication factor 3 is
        refused with INVALID_REPLICATION_FACTOR (Kafka places replicas on live brokers only)."""
        cls.cluster.wait_ready(READY_S, count=cls.size, alive=True)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.passed < cls.started)

    def setUp(self):
        type(self).started += 1

    def ok(self):
        """Called as a test's last line: the suite's logs are deleted only if every test got here."""
        type(self).passed += 1

    def partition(self, topic, via=None):
        """(leader, replicas, sorted isr) of partition 0 of `topic` as Metadata from `via` (or every
        running broker) shows it, through confluent-kafka; None while there is no leader or the
        broker cannot answer."""
        from confluent_kafka.admin import AdminClient

        nodes = [via] if via else [n for n in self.cluster.nodes if n.running()]
        admin = AdminClient({"bootstrap.servers": ",".join(kafka_addr(n) for n in nodes)})
        try:
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        except Exception:  # noqa: BLE001 - a broker that is starting: ask again
            return None
        if t is None or t.error is not None or 0 not in t.partitions or t.partitions[0].leader < 0:
            return None
        p = t.partitions[0]
        return p.leader, list(p.replicas), sorted(p.isrs)

    def watermarks(self, topic, bootstrap=None):
        """(low, high) of partition 0 of `topic` through a fresh confluent-kafka consumer of
        `bootstrap` (default: every node), or None while its leader is being elected."""
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": bootstrap or self.bootstrap, "group.id": "admin-suite-watermarks"})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)
        except Exception:  # noqa: BLE001 - a leader being elected: ask again
            return None
        finally:
            c.close()

    def kafkajs(self, script):
        """Path of tests/clients/kafkajs/`script` with kafkajs installed next to it ($CHRONIK_NPM_DIR,
        one per suite so parallel suites never share an npm install), or skip when npm is missing."""
        if shutil.which("node") is None or shutil.which("npm") is None:
            self.skipTest("node/npm not installed")
        work = os.environ.get("CHRONIK_NPM_DIR") or os.path.join(self.cluster.root, "npm")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafkajs")
        os.makedirs(work, exist_ok=True)
        for name in ("package.json", script):
            shutil.copy(os.path.join(src, name), os.path.join(work, name))
        if not os.path.isdir(os.path.join(work, "node_modules", "kafkajs")):
            out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, f"npm install kafkajs: {out.stderr}")
        return os.path.join(work, script)
