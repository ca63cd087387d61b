"""Kafka admin APIs from three stock admin clients against a real 3-node chronik cluster on
127.0.0.x (issue 15): confluent-kafka (librdkafka) and kafka-python from PyPI, and kafkajs from npm.

A consumer group is made Stable by a confluent-kafka consumer that stays subscribed. Then each admin
client lists the groups (ListGroups is asked of every broker and merged), describes the group
(DescribeGroups at its coordinator: Stable, one member with its client id and host, the range
assignor, an assignment) and describes the cluster (DescribeCluster, or Metadata for the clients
that use it: 3 brokers, the controller, the cluster id).

Then the newer versions issue 15 asks for, each reached by a stock client (librdkafka's protocol
debug log names the version it sent): topic ids in Metadata v12 (the same id from every broker),
ListOffsets v7's max timestamp, CreateTopics v7's topic id and v5's settings and configs
(kafka-python), Fetch v13 by topic id (confluent-kafka and kafka-python consumers), and Metadata
v12 and Fetch v13 asked by id of every broker directly, known and unknown ids.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt tests/cluster/kafka_admin_test.py \\
         --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR.)
"""
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
GROUP = "admin-suite-group"
UNKNOWN_TOPIC_ID = 100  # Kafka's error code (KIP-516)
TOPIC = "admin-suite-topic"



class LineLogger(logging.Logger):
    """A logger for librdkafka's debug lines (confluent-kafka's `logger` setting) that keeps them."""

    def __init__(self, lines):
        super().__init__("librdkafka", logging.DEBUG)
        self.lines = lines

    def handle(self, record):
        self.lines.append(record.getMessage())


class KafkaAdmin(AdminSuite):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.consumer = None
        cls.make_stable_group()

    @classmethod
    def make_stable_group(cls):
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": cls.bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=3)])[TOPIC].result(timeout=30)
        cls.consumer = Consumer({"bootstrap.servers": cls.bootstrap, "group.id": GROUP, "client.id": "suite-consumer",
                                 "partition.assignment.strategy": "range", "auto.offset.reset": "earliest"})
        cls.consumer.subscribe([TOPIC])
        deadline = time.monotonic() + 60
        while not cls.consumer.assignment():
            if time.monotonic() > deadline:
                raise AssertionError("the consumer group never got an assignment")
            cls.consumer.poll(0.2)

    @classmethod
    def tearDownClass(cls):
        if cls.consumer is not None:
            cls.consumer.close()
        super().tearDownClass()

    # --- confluent-kafka (librdkafka) ---------------------------------------------------------------

    def test_a_confluent_lists_and_describes_the_group(self):
        from confluent_kafka import ConsumerGroupState
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        listed = admin.list_consumer_groups(request_timeout=15).result()
        self.assertEqual(listed.errors, [])
        ids = {g.group_id: g for g in listed.valid}
        self.assertIn(GROUP, ids)
        self.assertEqual(ids[GROUP].state, ConsumerGroupState.STABLE)
        stable = admin.list_consumer_groups(request_timeout=15, states={ConsumerGroupState.STABLE}).result()
        self.assertIn(GROUP, {g.group_id for g in stable.valid})
        empty = admin.list_consumer_groups(request_timeout=15, states={ConsumerGroupState.EMPTY}).result()
        self.assertNotIn(GROUP, {g.group_id for g in empty.valid})

        d = admin.describe_consumer_groups([GROUP], request_timeout=15)[GROUP].result()
        self.assertEqual(d.state, ConsumerGroupState.STABLE)
        self.assertEqual(d.partition_assignor, "range")
        self.assertEqual(len(d.members), 1)
        m = d.members[0]
        self.assertEqual(m.client_id, "suite-consumer")
        self.assertTrue(m.host.startswith("/127."), m.host)  # the client's loopback address
        self.assertEqual(sorted(tp.partition for tp in m.assignment.topic_partitions), [0, 1, 2])
        self.ok()

    def test_b_confluent_describes_the_cluster(self):
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        d = admin.describe_cluster(request_timeout=15).result()
        self.assertEqual(sorted(n.id for n in d.nodes), [1, 2, 3])
        self.assertIn(d.controller.id, [1, 2, 3])
        self.assertTrue(d.cluster_id)
        ports = {n.id: n.port for n in d.nodes}
        for n in self.cluster.nodes:
            self.assertEqual(ports[n.node_id], n.kafka_port)
        self.ok()

    def test_e_confluent_describes_topics_with_ids_over_metadata_v12(self):
        # librdkafka 2.16 sends Metadata v12 once ApiVersions offers it (KIP-516 topic ids); its
        # protocol debug log names the version of every request it sends.
        from confluent_kafka import TopicCollection
        from confluent_kafka.admin import AdminClient

        ids = set()
        for n in self.cluster.nodes:
            sent = []
            admin = AdminClient({"bootstrap.servers": f"{n.ip}:{n.kafka_port}", "debug": "protocol",
                                 "logger": LineLogger(sent)})
            d = admin.describe_topics(TopicCollection([TOPIC]), request_timeout=15)[TOPIC].result()
            admin.poll(0.5)  # serves the queued log lines
            self.assertEqual(d.name, TOPIC)
            self.assertEqual(len(d.partitions), 3)
            self.assertIsNotNone(d.topic_id)
            self.assertNotEqual(str(d.topic_id), "AAAAAAAAAAAAAAAAAAAAAA")  # the zero uuid
            ids.add(str(d.topic_id))
            versions = {int(v) for v in re.findall(r"Sent MetadataRequest \(v(\d+)", "\n".join(sent))}
            self.assertIn(12, versions, sent[-20:])
        self.assertEqual(len(ids), 1, ids)  # every broker knows the topic by the same id (`__meta`)
        self.ok()

    def test_f_confluent_lists_the_offset_of_the_max_timestamp(self):
        # ListOffsets v7+ with timestamp -3 (KIP-734): the record with the largest timestamp, here
        # the second of three, whatever its offset. librdkafka 2.16 sends it once ApiVersions
        # offers v7 (its protocol debug log names the version).
        from confluent_kafka import Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

        topic = "admin-suite-max-timestamp"
        sent = []
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "debug": "protocol", "logger": LineLogger(sent)})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(timeout=30)
        now_ms = int(time.time() * 1000)
        stamps = [now_ms - 3000, now_ms - 1000, now_ms - 2000]
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        for i, ts in enumerate(stamps):
            producer.produce(topic, value=b"m%d" % i, partition=0, timestamp=ts)
            producer.flush(30)  # one batch each: the max is found across batches
        tp = TopicPartition(topic, 0)
        got = admin.list_offsets({tp: OffsetSpec.max_timestamp()}, request_timeout=15)[tp].result()
        self.assertEqual((got.offset, got.timestamp), (1, stamps[1]))
        earliest = admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=15)[tp].result()
        self.assertEqual(earliest.offset, 0)
        admin.poll(0.5)  # serves the queued log lines
        versions = {int(v) for v in re.findall(r"Sent ListOffsetsRequest \(v(\d+)", "\n".join(sent))}
        self.assertTrue(versions and min(versions) >= 7, versions)
        self.ok()

    # --- kafka-python -------------------------------------------------------------------------------

    def test_c_kafka_python_lists_and_describes_the_group(self):
        # kafka-python 3.0's admin API: list_groups, describe_groups, describe_cluster.
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        try:
            listed = admin.list_groups()
            self.assertIn(GROUP, [g["group_id"] for g in listed])
            self.assertIn(GROUP, [g["group_id"] for g in admin.list_groups(states_filter=["Stable"])])
            self.assertNotIn(GROUP, [g["group_id"] for g in admin.list_groups(states_filter=["Empty"])])
            d = admin.describe_groups([GROUP])[GROUP]
            self.assertIsNone(d["error"])
            self.assertEqual((d["group_state"], d["protocol_type"], d["protocol_data"]), ("Stable", "consumer", "range"))
            self.assertEqual(len(d["members"]), 1)
            m = d["members"][0]
            self.assertEqual(m["client_id"], "suite-consumer")
            self.assertTrue(m["client_host"].startswith("/127."), m["client_host"])
            self.assertTrue(m["member_assignment"])  # the leader's assignment, decoded by kafka-python
            cluster = admin.describe_cluster()
            self.assertEqual(sorted(b["broker_id"] for b in cluster["brokers"]), [1, 2, 3])
            self.assertIn(cluster["controller_id"], [1, 2, 3])
            self.assertTrue(cluster["cluster_id"])
        finally:
            admin.close()
        self.ok()

    def test_g_kafka_python_creates_a_topic_over_create_topics_v7(self):
        # kafka-python 3.0.12 sends CreateTopics up to v7 and returns the answer as a dict: the
        # created topic's id (v7 only, KIP-516), partition count, replication factor and configs
        # (v5+, KIP-525). The id is the one every broker's Metadata reports.
        from confluent_kafka import TopicCollection
        from confluent_kafka.admin import AdminClient
        from kafka.admin import KafkaAdminClient

        topic = "admin-suite-created-v7"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        try:
            got = admin.create_topics({topic: {"num_partitions": 2, "configs": {"retention.ms": "3600000"}}})
            dry = admin.create_topics({topic + "-dry": {}}, validate_only=True)
        finally:
            admin.close()
        [t] = got["topics"]
        self.assertEqual((t["name"], t["error_code"]), (topic, 0))
        self.assertEqual((t["num_partitions"], t["replication_factor"]), (2, 3))
        self.assertEqual(t["configs"]["retention.ms"]["value"], "3600000")
        self.assertEqual(t["configs"]["cleanup.policy"]["value"], "delete")
        # to_dict writes a uuid as its string, and the zero uuid as None
        topic_id = uuid.UUID(t["topic_id"]).int
        self.assertNotEqual(topic_id, 0)
        [d] = dry["topics"]
        self.assertEqual((d["error_code"], d["topic_id"], d["replication_factor"]), (0, None, 3))
        confluent = AdminClient({"bootstrap.servers": self.bootstrap})
        described = confluent.describe_topics(TopicCollection([topic]), request_timeout=15)[topic].result()
        high, low = described.topic_id.get_most_significant_bits(), described.topic_id.get_least_significant_bits()
        self.assertEqual(((high & (2**64 - 1)) << 64) | (low & (2**64 - 1)), topic_id)
        self.ok()

    def test_h_consumers_fetch_by_topic_id_over_fetch_v13(self):
        # confluent-kafka 2.16.1 (librdkafka 2.16) and kafka-python 3.0.12 fetch with v13 once
        # ApiVersions offers it, naming the topic by the id Metadata gave them (KIP-516). Every
        # message comes back once, in order; librdkafka's protocol debug log names the version.
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KpTopicPartition

        topic = "admin-suite-fetch-v13"
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
        values = [b"v13-%d" % i for i in range(200)]
        for v in values:
            producer.produce(topic, value=v, partition=0)
        self.assertEqual(producer.flush(30), 0)

        sent = []
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "fetch-v13", "debug": "protocol",
                             "logger": LineLogger(sent), "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition(topic, 0, 0)])
            got = []
            deadline = time.monotonic() + 30
            while len(got) < len(values) and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and m.error() is None:
                    got.append(m.value())
        finally:
            consumer.close()
        self.assertEqual(got, values)
        versions = {int(v) for v in re.findall(r"Sent FetchRequest \(v(\d+)", "\n".join(sent))}
        self.assertEqual(versions, {13}, sent[-20:])

        kp = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
        try:
            kp.assign([KpTopicPartition(topic, 0)])
            kp.seek_to_beginning()
            read = []
            for m in kp:
                read.append(m.value)
                if len(read) == len(values):
                    break
        finally:
            kp.close()
        self.assertEqual(read, values)
        self.ok()

    def test_i_every_broker_answers_by_topic_id(self):
        # KIP-516 asked directly of each broker with kafka-python 3.0.12's protocol classes (no
        # client library asks for a topic by id in Metadata): Metadata v12 names a known id's topic
        # and answers an unknown id UNKNOWN_TOPIC_ID with a null name, creating nothing; Fetch v13
        # answers an unknown id UNKNOWN_TOPIC_ID for each partition.
        from confluent_kafka import TopicCollection
        from confluent_kafka.admin import AdminClient
        from kafka.net.compat import KafkaNetClient
        from kafka.protocol.consumer import FetchRequest
        from kafka.protocol.metadata import MetadataRequest

        confluent = AdminClient({"bootstrap.servers": self.bootstrap})
        d = confluent.describe_topics(TopicCollection([TOPIC]), request_timeout=15)[TOPIC].result()
        high, low = d.topic_id.get_most_significant_bits(), d.topic_id.get_least_significant_bits()
        known = uuid.UUID(int=((high & (2**64 - 1)) << 64) | (low & (2**64 - 1)))
        unknown = uuid.UUID(int=0x5EED << 64 | 0xF00D)
        Asked = MetadataRequest.MetadataRequestTopic
        Topic, Partition = FetchRequest.FetchTopic, FetchRequest.FetchTopic.FetchPartition
        client = KafkaNetClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            client.check_version(timeout_ms=10000)
            for n in self.cluster.nodes:
                req = MetadataRequest[12](topics=[Asked(topic_id=known, name=None), Asked(topic_id=unknown, name=None)],
                                          allow_auto_topic_creation=True)
                resp = client.send_and_receive(n.node_id, req, timeout_ms=10000)
                self.assertEqual([(t.error_code, t.name, t.topic_id) for t in resp.topics],
                                 [(0, TOPIC, known), (UNKNOWN_TOPIC_ID, None, unknown)], f"node {n.node_id}")
                self.assertEqual(len(resp.topics[0].partitions), 3)

                fetch = FetchRequest[13](replica_id=-1, max_wait_ms=5000, min_bytes=1, max_bytes=1 << 20,
                                         isolation_level=0, session_id=0, session_epoch=-1, rack_id="",
                                         forgotten_topics_data=[],
                                         topics=[Topic(topic_id=unknown, partitions=[
                                             Partition(partition=p, current_leader_epoch=-1, fetch_offset=0,
                                                       last_fetched_epoch=-1, log_start_offset=-1,
                                                       partition_max_bytes=1 << 20) for p in (0, 1)])])
                resp = client.send_and_receive(n.node_id, fetch, timeout_ms=10000)
                [t] = resp.responses
                self.assertEqual(t.topic_id, unknown)
                self.assertEqual([(p.partition_index, p.error_code) for p in t.partitions],
                                 [(0, UNKNOWN_TOPIC_ID), (1, UNKNOWN_TOPIC_ID)], f"node {n.node_id}")
        finally:
            client.close()
        self.ok()

    # --- kafkajs ------------------------------------------------------------------------------------

    def kafkajs(self):
        return super().kafkajs("kafkajs_admin.js")

    def test_d_kafkajs_lists_and_describes_the_group_and_the_cluster(self):
        script = self.kafkajs()
        out = subprocess.run(["node", script, "groups", self.bootstrap, GROUP], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        got = json.loads(out.stdout)
        self.assertIn({"groupId": GROUP, "protocolType": "consumer"}, got["listed"])
        d = got["described"]
        self.assertEqual((d["errorCode"], d["state"], d["protocolType"], d["protocol"]), (0, "Stable", "consumer", "range"))
        self.assertEqual(len(d["members"]), 1)
        self.assertEqual(d["members"][0]["clientId"], "suite-consumer")
        self.assertTrue(d["members"][0]["clientHost"].startswith("/127."), d["members"][0]["clientHost"])
        self.assertGreater(d["members"][0]["assignmentBytes"], 0)

        out = subprocess.run(["node", script, "cluster", self.bootstrap], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        cluster = json.loads(out.stdout)
        self.assertEqual(sorted(b["nodeId"] for b in cluster["brokers"]), [1, 2, 3])
        self.assertIn(cluster["controller"], [1, 2, 3])
        self.assertTrue(cluster["clusterId"])
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin")
