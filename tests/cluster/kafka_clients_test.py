"""Stock Kafka clients against a real 3-node chronik cluster on 127.0.0.x (issue 5): kcat
(librdkafka) lists the 3 brokers and the controller; kafka-python and confluent-kafka create,
describe and delete topics through any broker, and see the outcome the `__meta` state machine
decided (an existing topic is TOPIC_ALREADY_EXISTS on every node). Then data: kcat produces 10,000
keyed messages with acks=all and reads them all back in order per partition; kafka-python and
confluent-kafka produce with acks 0, 1 and all and with every compression codec they support, and
consume by assigned partition from the earliest offset and from a timestamp; kafkajs (npm, installed
into $CHRONIK_NPM_DIR by this suite) produces through the 3-broker bootstrap list and consumes
through a consumer group, and keeps producing while the partition leader is killed with -9: every
acknowledged message is read back, once, at dense offsets.

Run: /usr/bin/python3 tests/cluster/kafka_clients_test.py --server build/daemon/chronik-server
"""
import json
import os
import random
import shutil
import subprocess
import sys
import time
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

        c.wait_ready(READY_S)
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

    def create_topic(self, name, partitions, rf=3):
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap(), request_timeout_ms=15000)
        try:
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=rf)])
        finally:
            admin.close()

        def leaders_known():
            rc, out = kcat_metadata(self.cluster.nodes[0])
            return rc == 0 and f'topic "{name}" with {partitions} partitions' in out and "leader -1" not in out

        self.cluster.wait_for(leaders_known, READY_S, f"leaders of every partition of {name}")

    def bootstrap(self):
        return ",".join(kafka_addr(n) for n in self.cluster.nodes)

    def test_d_kcat_10000_keyed_messages_with_acks_all_come_back_in_order(self):
        self.create_topic("kcat-keyed", 3)
        lines = "".join(f"k{i % 37}:v{i}\n" for i in range(10000))
        prod = subprocess.run(["kcat", "-P", "-b", self.bootstrap(), "-t", "kcat-keyed", "-K:", "-X", "acks=all"],
                              input=lines, capture_output=True, text=True, timeout=120)
        self.assertEqual(prod.returncode, 0, prod.stderr)
        cons = subprocess.run(["kcat", "-C", "-b", self.bootstrap(), "-t", "kcat-keyed", "-o", "beginning", "-e",
                               "-c", "10000", "-f", "%p %o %k %s\n"], capture_output=True, text=True, timeout=120)
        self.assertEqual(cons.returncode, 0, cons.stderr)
        rows = [line.split(" ") for line in cons.stdout.splitlines()]
        self.assertEqual(len(rows), 10000)
        per_partition, key_partition = {}, {}
        for p, o, k, v in rows:
            per_partition.setdefault(int(p), []).append((int(o), int(v[1:])))
            self.assertEqual(key_partition.setdefault(k, p), p, f"key {k} in two partitions")
        seen = set()
        for p, msgs in per_partition.items():
            offsets = [o for o, _ in msgs]
            self.assertEqual(offsets, list(range(len(msgs))), f"partition {p}: offsets not dense from 0")
            values = [v for _, v in msgs]
            self.assertEqual(values, sorted(values), f"partition {p}: out of production order")
            seen.update(values)
        self.assertEqual(seen, set(range(10000)))
        type(self).failed = False

    def test_e_kafka_python_acks_compression_and_assigned_consumers(self):
        import kafka.codec
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        self.create_topic("py-data", 2)
        codecs = [None] + [c for c, ok in (("gzip", kafka.codec.has_gzip()), ("snappy", kafka.codec.has_snappy()),
                                           ("lz4", kafka.codec.has_lz4()), ("zstd", kafka.codec.has_zstd())) if ok]
        sent = []
        for acks in ("all", 1, 0):  # acks=0 last, for test_f's reason
            for codec in codecs:
                producer = KafkaProducer(bootstrap_servers=self.bootstrap(), acks=acks, compression_type=codec,
                                         linger_ms=5, request_timeout_ms=15000)
                for i in range(20):
                    value = f"{acks}-{codec}-{i}".encode()
                    producer.send("py-data", value=value, partition=i % 2)
                    sent.append(value)
                producer.flush(timeout=30)
                producer.close()
        tp = [TopicPartition("py-data", 0), TopicPartition("py-data", 1)]
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap(), enable_auto_commit=False,
                                 consumer_timeout_ms=5000, auto_offset_reset="earliest")
        consumer.assign(tp)
        consumer.seek_to_beginning(*tp)
        got = [m.value for m in consumer]
        self.assertEqual(sorted(got), sorted(sent), "every value, once, whatever the acks and the codec")

        # From a timestamp: everything produced after a marker time, nothing before.
        # The marker lies strictly between the two batches' timestamps (ms clocks): wait for the
        # wall clock to pass it rather than for a guessed time.
        marker = int(time.time() * 1000)
        while int(time.time() * 1000) <= marker:
            pass
        marker += 1
        producer = KafkaProducer(bootstrap_servers=self.bootstrap(), acks="all")
        later = [f"later-{i}".encode() for i in range(10)]
        for v in later:
            producer.send("py-data", value=v, partition=0)
        producer.flush(timeout=30)
        producer.close()
        offsets = consumer.offsets_for_times({tp[0]: marker})
        consumer.assign([tp[0]])
        consumer.seek(tp[0], offsets[tp[0]].offset)
        self.assertEqual([m.value for m in consumer], later)
        consumer.close()
        type(self).failed = False

    def test_f_confluent_kafka_acks_compression_and_assigned_consumer(self):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
        self.create_topic("ck-data", 1)
        sent = []
        # acks=0 last: a broker that cannot append an acks=0 batch (a leader elected but not yet
        # ready, right after the topic is created) has no way to answer but to close the
        # connection, and the batch is lost, as acks=0 allows. The acks=all batches before it
        # retry until the partition accepts writes, so the acks=0 ones meet a ready leader.
        for acks in ("all", "1", "0"):
            for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
                p = Producer({"bootstrap.servers": self.bootstrap(), "acks": acks, "compression.type": codec,
                              "linger.ms": 5})
                for i in range(20):
                    value = f"{acks}-{codec}-{i}".encode()
                    p.produce("ck-data", value=value, partition=0)
                    sent.append(value)
                self.assertEqual(p.flush(30), 0, f"acks={acks} {codec}: undelivered messages")
        c = Consumer({"bootstrap.servers": self.bootstrap(), "group.id": "ck-assigned", "enable.auto.commit": False})
        c.assign([TopicPartition("ck-data", 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(sent) and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is not None and not m.error():
                got.append(m.value())
        self.assertEqual(got, sent, "one partition: every value, in order")

        # By timestamp inside compressed linger batches: ten records stamped base+0..base+9 ms go
        # out in one batch per codec; a timestamp in the middle names the record, not the batch.
        # (Stamped a day ahead, later for each codec: every earlier record's timestamp is smaller.)
        for k, codec in enumerate(("gzip", "snappy", "lz4", "zstd")):
            p = Producer({"bootstrap.servers": self.bootstrap(), "acks": "all", "compression.type": codec,
                          "linger.ms": 200})
            base = int(time.time() * 1000) + 86_400_000 + 1000 * k
            for i in range(10):
                p.produce("ck-data", value=f"ts-{codec}-{i}".encode(), partition=0, timestamp=base + i)
            self.assertEqual(p.flush(30), 0)
            first = c.offsets_for_times([TopicPartition("ck-data", 0, base)], timeout=10)[0].offset
            mid = c.offsets_for_times([TopicPartition("ck-data", 0, base + 6)], timeout=10)[0].offset
            self.assertGreaterEqual(first, 0, codec)
            self.assertEqual(mid, first + 6, f"{codec}: the record stamped base+6, inside the batch")
        c.close()
        type(self).failed = False

    def kafkajs(self):
        """Path of kafkajs_client.js with kafkajs installed next to it, or skip when npm is missing."""
        if shutil.which("node") is None or shutil.which("npm") is None:
            self.skipTest("node/npm not installed")
        work = os.environ.get("CHRONIK_NPM_DIR") or os.path.join(self.cluster.root, "npm")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafkajs")
        os.makedirs(work, exist_ok=True)
        for name in ("package.json", "kafkajs_client.js"):
            shutil.copy(os.path.join(src, name), os.path.join(work, name))
        if not os.path.isdir(os.path.join(work, "node_modules", "kafkajs")):
            out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, f"npm install kafkajs: {out.stderr}")
        return os.path.join(work, "kafkajs_client.js")

    def test_g_kafkajs_produces_and_consumes_through_a_group(self):
        script = self.kafkajs()
        self.create_topic("js-data", 3)
        prod = subprocess.run(["node", script, "produce", self.bootstrap(), "js-data", "300"], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(prod.returncode, 0, prod.stderr)
        acked = [json.loads(line) for line in prod.stdout.splitlines()]
        self.assertEqual(len(acked), 300)
        cons = subprocess.run(["node", script, "consume", self.bootstrap(), "js-data", "300", "60000"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(cons.returncode, 0, cons.stderr)
        read = [json.loads(line) for line in cons.stdout.splitlines()]
        self.assertEqual(sorted(m["value"] for m in read), sorted(m["value"] for m in acked))
        type(self).failed = False

    def test_h_kafkajs_keeps_every_acknowledged_message_when_the_leader_is_killed(self):
        script = self.kafkajs()
        self.create_topic("js-failover", 1)
        rc, out = kcat_metadata(self.cluster.nodes[0])
        leader_id = int(out.split('topic "js-failover"')[1].split("leader ")[1].split(",")[0])
        leader = self.cluster.nodes[leader_id - 1]
        survivors = ",".join(kafka_addr(n) for n in self.cluster.nodes if n is not leader)
        proc = subprocess.Popen(["node", script, "produce", self.bootstrap(), "js-failover", "600"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        acked = []
        try:
            for line in proc.stdout:
                acked.append(json.loads(line))
                if len(acked) == 150:
                    leader.kill()  # -9, mid-produce
            proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 0, proc.stderr.read())
        self.assertEqual(len(acked), 600, "the producer finished after retries")
        cons = subprocess.run(["kcat", "-C", "-b", survivors, "-t", "js-failover", "-o", "beginning", "-e",
                               "-f", "%o %s\n"], capture_output=True, text=True, timeout=120)
        self.assertEqual(cons.returncode, 0, cons.stderr)
        rows = [line.split(" ") for line in cons.stdout.splitlines()]
        offsets = [int(o) for o, _ in rows]
        self.assertEqual(offsets, list(range(len(rows))), "offsets dense and unique")
        values = {v for _, v in rows}
        missing = [m["value"] for m in acked if m["value"] not in values]
        self.assertEqual(missing, [], "every acknowledged message is readable")
        by_offset = {int(o): v for o, v in rows}
        for m in acked:
            self.assertEqual(by_offset.get(m["offset"]), m["value"], f"acknowledged offset {m['offset']}")
        type(self).failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka clients")
