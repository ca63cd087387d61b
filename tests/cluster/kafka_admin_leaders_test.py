"""Preferred-leader elections (ElectLeaders), DescribeQuorum and DescribeLogDirs from stock admin
clients against a real 3-node chronik cluster on 127.0.0.x (issue 15; docs/kafka.md
"Preferred leaders"): confluent-kafka 2.16.1 (librdkafka) and kafka-python 3.0.12 from PyPI.

kafkajs 2.2.4 has none of these APIs (its admin client sends no ElectLeaders, DescribeQuorum or
DescribeLogDirs), so it has no part here.

ElectLeaders (tests a, b): for each client a topic (1 partition on all 3 brokers) first gets a
leader other than its preferred replica (the first of its replicas): the preferred replica is
killed, another replica leads, and it is started again and waited for until it is back in sync.
The client's election then moves leadership back (NONE), Metadata from every broker names the
preferred replica as leader, a second election is ELECTION_NOT_NEEDED, an unclean election is
INVALID_REQUEST and an unknown partition UNKNOWN_TOPIC_OR_PARTITION. The requests go where the
clients send them: to the controller (the `__meta` leader), which need not lead the partition.

DescribeQuorum (test c, docs/kafka.md "The metadata quorum") and DescribeLogDirs (test d,
"Log directories") are kafka-python's only: confluent-kafka 2.16.1 has neither.

Test e runs Kafka 4.0.1's own kafka-metadata-quorum (describe --status, --replication),
kafka-leader-election (PREFERRED) and kafka-log-dirs (--describe): their classes from Maven
(tests/cluster/kafka-tools/pom.xml) with java; it is skipped where java, mvn or Maven are missing.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_admin_leaders_test.py --server build/daemon/chronik-server
"""
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
import kafka_tools  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 40  # for a partition to have a leader, a new one after a kill, or a replica back in sync



class KafkaAdminLeaders(AdminSuite):

    # --- helpers ------------------------------------------------------------------------------------

    def create_topic(self, name):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3)])[name].result(timeout=30)
        self.cluster.wait_for(lambda: self.partition(name) is not None, SETTLE_S, f"a leader for {name}")

    def lead_elsewhere(self, topic):
        """Kills the preferred replica of `topic` (whether it leads or not) so that another replica
        leads, and starts it again; returns its broker id once it is back in sync, not leading."""
        _, replicas, _ = self.partition(topic)
        preferred = replicas[0]
        victim = next(n for n in self.cluster.nodes if n.node_id == preferred)
        victim.kill()
        self.cluster.wait_for(lambda: (self.partition(topic) or (None,))[0] not in (None, preferred), SETTLE_S,
                              f"a leader of {topic} other than {preferred}")
        victim.start([m.gossip_addr for m in self.cluster.nodes if m is not victim])
        self.wait_ready()

        def back_in_sync():
            p = self.partition(topic)
            return p is not None and p[0] != preferred and preferred in p[2] and len(p[2]) == 3

        self.cluster.wait_for(back_in_sync, SETTLE_S, f"{preferred} in sync again, not leading {topic}")
        return preferred

    def assert_leader_everywhere(self, topic, leader):
        seen = {}

        def all_agree():
            for n in self.cluster.nodes:
                seen[n.node_id] = (self.partition(topic, via=n) or (None,))[0]
            return all(v == leader for v in seen.values())

        self.cluster.wait_for(all_agree, SETTLE_S, f"leader {leader} of {topic} on every broker")
        self.assertTrue(seen)

    # --- ElectLeaders: confluent-kafka (librdkafka) -------------------------------------------------

    def test_a_confluent_elects_the_preferred_leader(self):
        from confluent_kafka import KafkaError, TopicPartition
        from confluent_kafka.admin import AdminClient
        from confluent_kafka import ElectionType

        topic = "elect-confluent"
        self.create_topic(topic)
        preferred = self.lead_elsewhere(topic)
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        tp = TopicPartition(topic, 0)

        def elect(kind, partitions):
            # No timeout keywords: confluent-kafka 2.16.1's binding fails on any ("more argument
            # specifiers than keyword list entries"), so timeout_ms is socket.timeout.ms (60 s).
            return admin.elect_leaders(kind, partitions).result()

        def code(result):  # the partition's KafkaError (librdkafka 2.16 gives the error itself)
            return result.code()

        got = elect(ElectionType.PREFERRED, [tp])
        self.assertIsNone(got[tp], "the preferred replica leads")
        self.assert_leader_everywhere(topic, preferred)

        again = elect(ElectionType.PREFERRED, [tp])
        self.assertEqual(code(again[tp]), KafkaError.ELECTION_NOT_NEEDED)
        unclean = elect(ElectionType.UNCLEAN, [tp])
        self.assertEqual(code(unclean[tp]), KafkaError.INVALID_REQUEST, "Raft never elects an unclean leader")
        missing = TopicPartition(topic, 5)
        self.assertEqual(code(elect(ElectionType.PREFERRED, [missing])[missing]),
                         KafkaError.UNKNOWN_TOPIC_OR_PART)
        self.ok()

    # --- ElectLeaders: kafka-python -----------------------------------------------------------------

    def test_b_kafka_python_elects_the_preferred_leader(self):
        from kafka.admin import KafkaAdminClient

        topic = "elect-kafka-python"
        self.create_topic(topic)
        preferred = self.lead_elsewhere(topic)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=40000)

        def codes(response):
            return {(r.topic, p.partition_id): p.error_code
                    for r in response.replica_election_results for p in r.partition_result}

        try:
            got = admin.elect_leaders(0, {topic: [0]}, timeout_ms=30000)
            self.assertEqual(codes(got), {(topic, 0): 0})
            self.assert_leader_everywhere(topic, preferred)
            again = admin.elect_leaders(0, {topic: [0]}, timeout_ms=30000)  # ELECTION_NOT_NEEDED is not raised
            self.assertEqual(codes(again), {(topic, 0): 84})
            unclean = admin.elect_leaders(1, {topic: [0]}, timeout_ms=30000, raise_errors=False)
            self.assertEqual(codes(unclean), {(topic, 0): 42})
        finally:
            admin.close()
        self.ok()

    # --- DescribeQuorum: kafka-python ---------------------------------------------------------------

    def test_c_kafka_python_describes_the_metadata_quorum(self):
        """`__meta` as KRaft's __cluster_metadata partition 0, through kafka-python 3.0.12's
        describe_metadata_quorum (sent to any broker) and its DescribeQuorumRequest class sent to
        the `__meta` leader and to a follower, which forwards it to the leader (Kafka's own
        kafka-metadata-quorum: test e).
        confluent-kafka 2.16.1 and kafkajs 2.2.4 have no DescribeQuorum."""
        from kafka.admin import KafkaAdminClient
        from kafka.protocol.admin.cluster import DescribeQuorumRequest

        topic_data = DescribeQuorumRequest.TopicData
        request = DescribeQuorumRequest(topics=[
            topic_data(topic_name="__cluster_metadata", partitions=[topic_data.PartitionData(partition_index=0)])])
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=20000)

        async def ask(node_id):
            return await admin._manager.send(request, node_id=node_id)  # noqa: SLF001 - a chosen broker

        def partition0(response):
            self.assertEqual(response.error_code, 0)
            (t,) = response.topics
            self.assertEqual(t.topic_name, "__cluster_metadata")
            (p,) = t.partitions
            self.assertEqual(p.error_code, 0)
            return p

        try:
            # Metadata's controller id (kafka-python 3.0.12's describe_cluster needs DescribeCluster v1).
            from confluent_kafka.admin import AdminClient
            controller = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10).controller_id
            anywhere = admin.describe_metadata_quorum()
            p = anywhere["topics"][0]["partitions"][0]
            self.assertIsNone(p["error"])
            self.assertEqual(p["leader_id"], controller, "the __meta leader is the controller")
            self.assertGreaterEqual(p["leader_epoch"], 1)
            self.assertGreater(p["high_watermark"], 0)
            self.assertEqual(sorted(v["replica_id"] for v in p["current_voters"]), [1, 2, 3])
            self.assertEqual(p["observers"], [])
            self.assertEqual(sorted(n["node_id"] for n in anywhere["nodes"]), [1, 2, 3])
            ports = {n["node_id"]: n["listeners"][0]["port"] for n in anywhere["nodes"]}
            self.assertEqual(ports, {n.node_id: n.kafka_port for n in self.cluster.nodes})

            lead = partition0(admin._manager.run(ask, controller))  # noqa: SLF001
            self.assertEqual(lead.leader_id, controller)
            for v in lead.current_voters:  # the leader knows every voter's progress
                self.assertGreater(v.log_end_offset, 0, v)
            dirs = {str(v.replica_directory_id) for v in lead.current_voters}  # each node's data-directory uuid
            self.assertEqual(len(dirs), 3)
            self.assertNotIn(str(uuid.UUID(int=0)), dirs)
            me = next(v for v in lead.current_voters if v.replica_id == controller)
            self.assertGreaterEqual(me.log_end_offset, lead.high_watermark)
            self.assertGreater(me.last_caught_up_timestamp, 0, "the leader is caught up now (KIP-836)")

            # A follower asks the leader, as Kafka's brokers forward to the active controller: its
            # answer has every voter's progress too.
            follower = next(n.node_id for n in self.cluster.nodes if n.node_id != controller)
            other = partition0(admin._manager.run(ask, follower))  # noqa: SLF001
            self.assertEqual(other.leader_id, controller, "a follower names the leader")
            self.assertEqual(other.leader_epoch, lead.leader_epoch)
            known = {v.replica_id: v.log_end_offset for v in other.current_voters}
            self.assertEqual(sorted(known), [1, 2, 3])
            self.assertTrue(all(end > 0 for end in known.values()), f"every voter's progress: {known}")
            me = next(v for v in other.current_voters if v.replica_id == controller)
            self.assertGreater(me.last_caught_up_timestamp, 0, "the leader's view, forwarded")
        finally:
            admin.close()
        self.ok()

    # --- DescribeLogDirs: kafka-python -------------------------------------------------------------

    def test_d_kafka_python_describes_log_dirs(self):
        """Each broker's data directory as its one log dir, with the replica's size from its log
        (kafka-python 3.0.12 asks every broker; confluent-kafka 2.16.1 and kafkajs 2.2.4 have no
        DescribeLogDirs)."""
        from confluent_kafka import Producer
        from kafka.admin import KafkaAdminClient

        topic = "log-dirs"
        self.create_topic(topic)
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        for i in range(20):
            producer.produce(topic, value=b"x" * 100, partition=0)
        self.assertEqual(producer.flush(30), 0)

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=20000)
        dirs = {n.node_id: os.path.abspath(n.data_dir) for n in self.cluster.nodes}
        seen = {}

        def sizes():
            for answer in admin.describe_log_dirs({topic: [0]}):
                (d,) = answer["log_dirs"]
                seen[answer["broker"]] = d
            return {b: [p["partition_size"] for t in d["topics"] for p in t["partitions"]] for b, d in seen.items()}

        try:
            # Every replica applies the same 20 batches; a follower may be a moment behind.
            self.cluster.wait_for(lambda: len(set(map(tuple, sizes().values()))) == 1 and len(seen) == 3,
                                  SETTLE_S, "equal sizes of log-dirs-0 on the three brokers")
            for broker, d in seen.items():
                self.assertEqual(d["error_code"], 0)
                self.assertEqual(d["log_dir"], dirs[broker])
                (t,) = d["topics"]
                self.assertEqual(t["name"], topic)
                (p,) = t["partitions"]
                self.assertEqual(p["partition_index"], 0)
                self.assertGreaterEqual(p["partition_size"], 20 * 100, "at least the values' bytes")
                self.assertEqual(p["offset_lag"], 0)
                self.assertFalse(p["is_future_key"])
                self.assertGreater(d["usable_bytes"], 0, "v4: statvfs of the data directory")
                self.assertGreaterEqual(d["total_bytes"], d["usable_bytes"])
            everything = admin.describe_log_dirs()  # every topic: the election topics are there too
            names = {t["name"] for a in everything for d in a["log_dirs"] for t in d["topics"]}
            self.assertTrue({"log-dirs", "elect-confluent", "elect-kafka-python"} <= names, names)
        finally:
            admin.close()
        self.ok()

    # --- Kafka's own tools --------------------------------------------------------------------------

    def kafka_tool(self, main, *args):
        """Runs Kafka 4.0.1's tool class `main` (org.apache.kafka.tools.*) with java; its classpath
        comes from Maven (tests/cluster/kafka-tools/pom.xml, kafka_tools.py), resolved once into
        $CHRONIK_KAFKA_TOOLS_DIR. Skips when java or mvn is missing or Maven cannot resolve it."""
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        cp = kafka_tools_classpath(work)
        if cp is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools from Maven unavailable")
        out = kafka_tools.run(cp, f"org.apache.kafka.tools.{main}", args)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def test_e_kafkas_own_tools(self):
        """kafka-metadata-quorum, kafka-leader-election and kafka-log-dirs of Kafka 4.0.1, as an
        operator runs them (their main classes, on Maven's classpath for kafka-tools)."""
        from confluent_kafka.admin import AdminClient

        controller = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10).controller_id
        at_controller = next(kafka_addr(n) for n in self.cluster.nodes if n.node_id == controller)

        status = self.kafka_tool("MetadataQuorumCommand", "--bootstrap-server", at_controller, "describe", "--status")
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        self.assertEqual(int(fields["LeaderId"]), controller, status)
        self.assertGreater(int(fields["HighWatermark"]), 0, status)
        for n in self.cluster.nodes:
            self.assertIn(f'"id": {n.node_id}', fields["CurrentVoters"], status)
            self.assertIn(f"PLAINTEXT://{kafka_addr(n)}", fields["CurrentVoters"], status)
        replication = self.kafka_tool("MetadataQuorumCommand", "--bootstrap-server", at_controller,
                                      "describe", "--replication")
        rows = [line.split() for line in replication.splitlines()[1:] if line.strip()]
        self.assertEqual(sorted(int(r[0]) for r in rows), [1, 2, 3], replication)
        self.assertEqual(sorted(r[-1] for r in rows), ["Follower", "Follower", "Leader"], replication)
        # Through a broker that does not lead `__meta`, which forwards the request to the leader as
        # Kafka's brokers forward it to the active controller: every voter's log end and a lag >= 0
        # (unforwarded, the other voters' log end read -1 and the answering node's lag negative).
        at_follower = next(kafka_addr(n) for n in self.cluster.nodes if n.node_id != controller)
        forwarded = self.kafka_tool("MetadataQuorumCommand", "--bootstrap-server", at_follower,
                                    "describe", "--replication")
        rows = [line.split() for line in forwarded.splitlines()[1:] if line.strip()]
        self.assertEqual(sorted(int(r[0]) for r in rows), [1, 2, 3], forwarded)
        self.assertTrue(all(int(r[2]) > 0 and int(r[3]) >= 0 for r in rows), forwarded)

        topic = "elect-kafka-tool"
        self.create_topic(topic)
        preferred = self.lead_elsewhere(topic)
        elected = self.kafka_tool("LeaderElectionCommand", "--bootstrap-server", self.bootstrap,
                                  "--election-type", "PREFERRED", "--topic", topic, "--partition", "0")
        self.assertIn(f"Successfully completed leader election (PREFERRED) for partitions {topic}-0", elected)
        self.assert_leader_everywhere(topic, preferred)

        dirs = self.kafka_tool("LogDirsCommand", "--bootstrap-server", self.bootstrap, "--describe",
                               "--topic-list", topic)
        described = json.loads(next(line for line in dirs.splitlines() if line.startswith("{")))
        brokers = {b["broker"]: b["logDirs"] for b in described["brokers"]}
        self.assertEqual(sorted(brokers), [1, 2, 3], dirs)
        for n in self.cluster.nodes:
            (d,) = brokers[n.node_id]
            self.assertEqual(d["logDir"], os.path.abspath(n.data_dir))
            self.assertEqual([p["partition"] for p in d["partitions"]], [f"{topic}-0"], dirs)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin leaders")
