"""Kafka 4.4.0's own command-line tools against a real 3-node chronik cluster, as an operator runs
them (issue 20, "Compatibility with the Java client"): each tool's main class with `java -cp`, the
classpath of bench/kafka-anchor/pom.xml (kafka_2.13 and kafka-tools 4.4.0, the Kafka anchor's
version) resolved once by Maven into $CHRONIK_KAFKA_TOOLS_DIR (kafka_tools.py).

- kafka-topics (TopicCommand): --create with partitions, replication factor and --config;
  --describe (leader, replicas and ISR of every partition); --alter --partitions; --list; --delete;
- kafka-consumer-groups (ConsumerGroupCommand): --describe of a group with committed offsets
  (CURRENT-OFFSET, LOG-END-OFFSET, LAG), --reset-offsets --to-earliest (--dry-run, then --execute),
  --to-offset and --shift-by, and --list --type;
- kafka-configs (ConfigCommand): --describe, --alter --add-config and --delete-config of a topic,
  --describe --all of a broker, and the cluster-wide broker defaults (--entity-type brokers
  --entity-default): set, described, enforced by the running replicas of a topic that does not set
  the key (and not of one that does), kept by a restarted node, refused for a named broker, and
  deleted;
- kafka-metadata-quorum (MetadataQuorumCommand): describe --status (through any broker) and
  --replication (through --bootstrap-controller, which reaches the `__meta` leader);
- kafka-features (FeatureCommand): describe lists Kafka 4's client-visible features, each at
  level 0 (none of what their higher levels turn on is built).

Every effect a tool claims is checked with another client (confluent-kafka 2.16.1 and
kafka-python 3.0.12 from kafka_admin's venv): its exit status and output alone prove nothing.
Missing java, mvn or artifacts fail the suite. A JVM start costs 1-2 s, so each tool runs only as
often as a check needs it.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_cli_tools_test.py --server build/daemon/chronik-server
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
import kafka_tools  # noqa: E402
from rolling_group import list_group_offsets  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 40  # for partitions to have leaders, a topic to appear or go, a group's coordinator
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOPICS = "org.apache.kafka.tools.TopicCommand"
GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONFIGS = "org.apache.kafka.tools.ConfigCommand"  # in kafka-tools 4.4.0, not kafka_2.13
QUORUM = "org.apache.kafka.tools.MetadataQuorumCommand"
FEATURES = "org.apache.kafka.tools.FeatureCommand"


class KafkaCliTools(AdminSuite):

    @classmethod
    def setUpClass(cls):
        # Before any node starts: a machine without Java or Maven fails here, with the reason.
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(ROOT, "build", "kafka-tools-4.4")
        began = time.monotonic()
        try:
            cls.classpath = kafka_tools.classpath(work, kafka_tools.ANCHOR_POM, os.path.join(work, "m2"))
        except kafka_tools.Unavailable as e:
            raise AssertionError(f"Kafka 4.4.0's tools are needed: {e}") from None
        print(f"classpath of Kafka 4.4.0's tools ready after {time.monotonic() - began:.1f}s")
        super().setUpClass()
        from confluent_kafka.admin import AdminClient

        # One handle for the suite: a future of a handle that is gone fails with _DESTROY.
        cls.client = AdminClient({"bootstrap.servers": cls.bootstrap})

    # --- helpers ------------------------------------------------------------------------------------

    def tool(self, main, *args, via="--bootstrap-server"):
        """Runs the tool class `main` against the cluster, reached through `via` (or
        --bootstrap-controller); asserts exit status 0, returns stdout."""
        began = time.monotonic()
        out = kafka_tools.run(self.classpath, main, [via, self.bootstrap, *args])
        print(f"{main.rsplit('.', 1)[1]} {' '.join(args)}: exit {out.returncode} after {time.monotonic() - began:.1f}s")
        self.assertEqual(out.returncode, 0, f"{main} {args}:\n{out.stdout}{out.stderr}")
        return out.stdout

    def metadata(self, topic):
        """{partition: (leader, replicas, sorted isr)} of `topic` from confluent-kafka's Metadata, or
        None while the topic is unknown or a partition has no leader."""
        t = self.client.list_topics(topic=topic, timeout=10).topics.get(topic)
        if t is None or t.error is not None or any(p.leader < 0 for p in t.partitions.values()):
            return None
        return {n: (p.leader, list(p.replicas), sorted(p.isrs)) for n, p in t.partitions.items()}

    def wait_partitions(self, topic, count):
        """Until Metadata shows `count` partitions of `topic`, each with a leader; returns them."""
        got = {}

        def ready():
            got["m"] = self.metadata(topic)
            return got["m"] is not None and len(got["m"]) == count

        self.cluster.wait_for(ready, SETTLE_S, f"{count} partitions of {topic} with leaders")
        return got["m"]

    def topic_configs(self, topic):
        """{name: (value, source name)} of DescribeConfigs for `topic`, through confluent-kafka."""
        from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

        resource = ConfigResource(ResourceType.TOPIC, topic)
        entries = self.client.describe_configs([resource])[resource].result(timeout=10)
        return {name: (e.value, ConfigSource(e.source).name) for name, e in entries.items()}

    def committed(self, group, topic, partitions):
        """{partition: committed offset} of `group`, through kafka-python (OffsetFetch)."""
        return {p: om.offset for p, om in list_group_offsets(self.bootstrap, group, topic, partitions).items()}

    @staticmethod
    def rows(table, first_column):
        """The rows of a whitespace-aligned table printed by a tool, as dicts keyed by its header
        (the line that starts with `first_column`); blank and other lines are left out."""
        lines = table.splitlines()
        header = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_column])
        names = lines[header].split()
        return [dict(zip(names, line.split())) for line in lines[header + 1:]
                if len(line.split()) == len(names)]

    # --- tests --------------------------------------------------------------------------------------

    def test_a_kafka_topics(self):
        topic = "cli-topic"
        out = self.tool(TOPICS, "--create", "--topic", topic, "--partitions", "3", "--replication-factor", "3",
                        "--config", "retention.ms=7200000", "--config", "max.message.bytes=500000")
        self.assertIn(f"Created topic {topic}.", out)
        self.wait_partitions(topic, 3)
        configs = self.topic_configs(topic)
        self.assertEqual(configs["retention.ms"][0], "7200000", configs["retention.ms"])
        self.assertEqual(configs["max.message.bytes"][0], "500000", configs["max.message.bytes"])

        # --describe: every partition's leader, replicas and ISR, as Metadata gives them.
        described = self.tool(TOPICS, "--describe", "--topic", topic)
        header = next(line for line in described.splitlines() if line.startswith(f"Topic: {topic}\t"))
        self.assertIn("PartitionCount: 3", header)
        self.assertIn("ReplicationFactor: 3", header)
        self.assertIn("retention.ms=7200000", header)
        partitions = {}
        for line in described.splitlines():
            m = re.search(r"Partition: (\d+)\s+Leader: (-?\d+)\s+Replicas: ([\d,]+)\s+Isr: ([\d,]*)", line)
            if m:
                partitions[int(m[1])] = (int(m[2]), [int(r) for r in m[3].split(",")],
                                         sorted(int(r) for r in m[4].split(",") if r))
        self.assertEqual(sorted(partitions), [0, 1, 2], described)
        for n, (leader, replicas, isr) in partitions.items():
            self.assertEqual(sorted(replicas), [1, 2, 3], f"replicas of partition {n}: {described}")
            self.assertEqual(isr, [1, 2, 3], f"ISR of partition {n}: {described}")
            self.assertIn(leader, replicas)
        # Read after the tool's: a leader elected as the topic was made may have changed since the
        # first leaders appeared, not since the tool asked.
        self.assertEqual(partitions, self.metadata(topic), "kafka-topics --describe against confluent-kafka's Metadata")

        # --alter --partitions: Metadata shows the new partitions, each on 3 replicas.
        self.tool(TOPICS, "--alter", "--topic", topic, "--partitions", "5")
        grown = self.wait_partitions(topic, 5)
        self.assertTrue(all(len(r) == 3 for _, r, _ in grown.values()), grown)

        # --list names what Metadata names; --delete removes it from Metadata.
        listed = set(self.tool(TOPICS, "--list").split())
        self.assertIn(topic, listed)
        self.assertEqual(listed, set(self.client.list_topics(timeout=10).topics), "kafka-topics --list")
        self.tool(TOPICS, "--delete", "--topic", topic)
        self.cluster.wait_for(lambda: topic not in self.client.list_topics(timeout=10).topics, SETTLE_S,
                              f"{topic} gone from Metadata")
        self.ok()

    def test_b_kafka_consumer_groups(self):
        from confluent_kafka import Producer, TopicPartition
        from confluent_kafka.admin import NewTopic
        from kafka import OffsetAndMetadata, TopicPartition as KTopicPartition
        from kafka.admin import KafkaAdminClient

        topic, group = "cli-groups", "cli-group"
        admin = self.client
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=3)])[topic].result(timeout=30)
        self.wait_partitions(topic, 2)
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
        for p, count in ((0, 10), (1, 6)):
            for i in range(count):
                producer.produce(topic, value=f"{p}-{i}".encode(), partition=p)
        self.assertEqual(producer.flush(30), 0, "records left unacknowledged")
        # Partition 0 starts at offset 3, so --to-earliest differs from 0 and from every commit.
        deleted = admin.delete_records([TopicPartition(topic, 0, 3)])
        for f in deleted.values():
            self.assertEqual(f.result(timeout=10).low_watermark, 3)

        def commit(offsets):
            """OffsetCommit for the member-less group (generation -1), retried while the group's
            coordinator is being made (the first FindCoordinator creates `__consumer_offsets`)."""
            def attempt():
                client = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
                try:
                    got = client.alter_group_offsets(group, {KTopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                                                             for p, o in offsets.items()})
                except Exception:  # noqa: BLE001 - no coordinator yet: ask again
                    return False
                finally:
                    client.close()
                return all(e.__name__ == "NoError" for e in got.values())

            self.cluster.wait_for(attempt, SETTLE_S, f"a commit of {offsets} for {group}")

        commit({0: 4, 1: 6})
        self.assertEqual(self.committed(group, topic, 2), {0: 4, 1: 6})

        # --describe: CURRENT-OFFSET as committed, LOG-END-OFFSET as produced, LAG the difference.
        rows = self.rows(self.tool(GROUPS, "--describe", "--group", group), "GROUP")
        got = {int(r["PARTITION"]): (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows}
        self.assertEqual(got, {0: ("4", "10", "6"), 1: ("6", "6", "0")}, rows)
        self.assertTrue(all(r["GROUP"] == group and r["TOPIC"] == topic for r in rows), rows)

        def reset(*how):
            out = self.tool(GROUPS, "--reset-offsets", "--group", group, *how)
            return {int(r["PARTITION"]): int(r["NEW-OFFSET"]) for r in self.rows(out, "GROUP")}

        # --dry-run prints the earliest offsets and commits nothing.
        self.assertEqual(reset("--topic", topic, "--to-earliest", "--dry-run"), {0: 3, 1: 0})
        self.assertEqual(self.committed(group, topic, 2), {0: 4, 1: 6}, "after --dry-run")
        self.assertEqual(reset("--topic", f"{topic}:0", "--to-offset", "8", "--execute"), {0: 8})
        self.assertEqual(self.committed(group, topic, 2), {0: 8, 1: 6}, "after --to-offset 8 on partition 0")
        self.assertEqual(reset("--topic", topic, "--shift-by", "-2", "--execute"), {0: 6, 1: 4})
        self.assertEqual(self.committed(group, topic, 2), {0: 6, 1: 4}, "after --shift-by -2")
        self.assertEqual(reset("--topic", topic, "--to-earliest", "--execute"), {0: 3, 1: 0})
        self.assertEqual(self.committed(group, topic, 2), {0: 3, 1: 0}, "after --to-earliest")

        # --list --type: each group with its type, from ListGroups v5 (with v4 it prints Unknown).
        listed = {r["GROUP"]: r["TYPE"] for r in self.rows(self.tool(GROUPS, "--list", "--type"), "GROUP")}
        self.assertEqual(listed.get(group, "").lower(), "classic", listed)
        self.ok()

    def test_c_kafka_configs(self):
        from confluent_kafka.admin import ConfigResource, NewTopic, ResourceType

        topic = "cli-configs"
        admin = self.client
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(timeout=30)
        self.wait_partitions(topic, 1)
        default = self.topic_configs(topic)["retention.ms"]
        self.assertNotEqual(default[0], "86400000")

        entity = ["--entity-type", "topics", "--entity-name", topic]
        self.tool(CONFIGS, "--alter", *entity, "--add-config", "retention.ms=86400000,retention.bytes=1048576")
        configs = self.topic_configs(topic)
        self.assertEqual(configs["retention.ms"], ("86400000", "DYNAMIC_TOPIC_CONFIG"))
        self.assertEqual(configs["retention.bytes"], ("1048576", "DYNAMIC_TOPIC_CONFIG"))
        described = self.tool(CONFIGS, "--describe", *entity)
        self.assertIn(f"Dynamic configs for topic {topic} are:", described)
        dynamic = dict(re.findall(r"^\s+([\w.]+)=(\S*) sensitive=", described, re.M))
        self.assertEqual(dynamic, {"retention.ms": "86400000", "retention.bytes": "1048576"}, described)

        self.tool(CONFIGS, "--alter", *entity, "--delete-config", "retention.ms")
        configs = self.topic_configs(topic)
        self.assertEqual(configs["retention.ms"], default, "retention.ms back to its default")
        self.assertEqual(configs["retention.bytes"], ("1048576", "DYNAMIC_TOPIC_CONFIG"))

        # A broker's every config, as DescribeConfigs gives it to another client.
        described = self.tool(CONFIGS, "--describe", "--entity-type", "brokers", "--entity-name", "1", "--all")
        self.assertIn("All configs for broker 1 are:", described)
        shown = dict(re.findall(r"^\s+([\w.]+)=(.*?) sensitive=", described, re.M))
        resource = ConfigResource(ResourceType.BROKER, "1")
        entries = admin.describe_configs([resource])[resource].result(timeout=10)
        expected = {name: ("null" if e.value is None else e.value) for name, e in entries.items()}
        self.assertGreater(len(expected), 10, expected)
        self.assertEqual(shown, expected, "kafka-configs --describe --all of broker 1")
        self.ok()

    def test_d_kafka_metadata_quorum(self):
        controller = self.client.list_topics(timeout=10).controller_id
        status = self.tool(QUORUM, "describe", "--status")
        fields = dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line))
        self.assertEqual(int(fields["LeaderId"]), controller, status)
        self.assertGreater(int(fields["HighWatermark"]), 0, status)
        for n in self.cluster.nodes:
            self.assertIn(f'"id": {n.node_id}', fields["CurrentVoters"], status)
            self.assertIn(f"PLAINTEXT://{kafka_addr(n)}", fields["CurrentVoters"], status)
        self.assertEqual(fields["CurrentObservers"], "[]", status)

        # Every voter's progress is known to the `__meta` leader only. Kafka's brokers forward
        # DescribeQuorum to the active controller, chronik's nodes answer for themselves (docs/kafka.md
        # "The metadata quorum"), and with --bootstrap-server the tool asks any broker; with
        # --bootstrap-controller it asks the active controller, which DescribeCluster names.
        rows = self.rows(self.tool(QUORUM, "describe", "--replication", via="--bootstrap-controller"), "NodeId")
        self.assertEqual(sorted(int(r["NodeId"]) for r in rows), [1, 2, 3], rows)
        self.assertEqual({int(r["NodeId"]): r["Status"] for r in rows}[controller], "Leader", rows)
        self.assertEqual(sorted(r["Status"] for r in rows), ["Follower", "Follower", "Leader"], rows)
        # A quiet `__meta`: every voter's log end known and none behind by a negative amount, as
        # one computed from an unknown (-1) end would be.
        for r in rows:
            self.assertGreater(int(r["LogEndOffset"]), 0, rows)
            self.assertGreaterEqual(int(r["Lag"]), 0, rows)
        self.ok()

    def test_e_kafka_configs_cluster_wide_broker_defaults(self):
        from confluent_kafka import Producer
        from confluent_kafka.admin import ConfigResource, ConfigSource, NewTopic, ResourceType

        inherits, own = "cli-defaults-inherit", "cli-defaults-own"
        admin = self.client
        futures = admin.create_topics([NewTopic(inherits, num_partitions=1, replication_factor=3),
                                       NewTopic(own, num_partitions=1, replication_factor=3,
                                                config={"retention.bytes": "-1"})])
        for f in futures.values():
            f.result(timeout=30)
        self.wait_partitions(inherits, 1)
        self.wait_partitions(own, 1)
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0, "acks": "all"})
        for topic in (inherits, own):
            for i in range(10):  # one Produce, so one Raft entry, each
                producer.produce(topic, value=b"x" * 100, key=str(i).encode())
                self.assertEqual(producer.flush(15), 0)

        default = ["--entity-type", "brokers", "--entity-default"]
        try:
            self.tool(CONFIGS, "--alter", *default, "--add-config", "log.retention.bytes=1,log.retention.ms=86400000")
            described = self.tool(CONFIGS, "--describe", *default)
            self.assertIn("Default configs for brokers in the cluster are:", described)
            shown = dict(re.findall(r"^\s+([\w.]+)=(\S*) sensitive=", described, re.M))
            self.assertEqual(shown, {"log.retention.bytes": "1", "log.retention.ms": "86400000"}, described)
            # Every broker (none has a value of its own) and then the cluster's defaults.
            every = self.tool(CONFIGS, "--describe", "--entity-type", "brokers")
            for n in self.cluster.nodes:
                self.assertIn(f"Dynamic configs for broker {n.node_id} are:", every)
            self.assertEqual(every.split("Default configs for brokers in the cluster are:")[1], described.split(
                "Default configs for brokers in the cluster are:")[1], every)
            self.assertEqual(self.topic_configs(inherits)["retention.bytes"],
                             ("1", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.name))
            self.assertEqual(self.topic_configs(own)["retention.bytes"], ("-1", "DYNAMIC_TOPIC_CONFIG"))
            for n in self.cluster.nodes:  # every broker reports the cluster's value as its own
                res = ConfigResource(ResourceType.BROKER, str(n.node_id))
                got = admin.describe_configs([res])[res].result(timeout=10)["log.retention.ms"]
                self.assertEqual((got.value, got.source), ("86400000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value))

            # The running replicas take it: retention (every 5 s) drops all but the newest entry of
            # the topic that inherits it, and nothing of the one that sets its own.
            self.cluster.wait_for(lambda: (w := self.watermarks(inherits)) is not None and w[0] > 0, SETTLE_S,
                                  "the cluster-wide retention to trim the inheriting topic")
            self.assertEqual(self.watermarks(inherits), (9, 10))
            self.assertEqual(self.watermarks(own), (0, 10))

            # A restarted node has them back from its `__meta` log, and the partitions keep trimming.
            node = self.cluster.nodes[0]
            node.kill()
            node.start([m.gossip_addr for m in self.cluster.nodes if m is not node])
            self.cluster.wait_ready(SETTLE_S, count=len(self.cluster.nodes), alive=True)
            res = ConfigResource(ResourceType.BROKER, str(node.node_id))
            self.cluster.wait_for(lambda: admin.describe_configs([res])[res].result(timeout=10).get("log.retention.ms")
                                  is not None, SETTLE_S, "the restarted broker to answer DescribeConfigs")
            got = admin.describe_configs([res])[res].result(timeout=10)["log.retention.ms"]
            self.assertEqual((got.value, got.source), ("86400000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value))
            for i in range(5):
                producer.produce(inherits, value=b"y" * 100, key=str(i).encode())
                self.assertEqual(producer.flush(30), 0)
            self.cluster.wait_for(lambda: self.watermarks(inherits) == (14, 15), SETTLE_S,
                                  "the inheriting topic trimmed again after the restart")

            # One broker's own setting is refused with the way to the cluster default.
            out = kafka_tools.run(self.classpath, CONFIGS, ["--bootstrap-server", self.bootstrap, "--alter",
                                                             "--entity-type", "brokers", "--entity-name", "1",
                                                             "--add-config", "log.retention.ms=1000"])
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertIn("--entity-default", out.stdout + out.stderr)
        finally:
            self.tool(CONFIGS, "--alter", *default, "--delete-config", "log.retention.bytes,log.retention.ms")
        self.assertEqual(self.tool(CONFIGS, "--describe", *default).strip(),
                         "Default configs for brokers in the cluster are:")
        self.assertEqual(self.topic_configs(inherits)["retention.bytes"], ("-1", "DEFAULT_CONFIG"))
        self.ok()

    def test_f_kafka_features_describe(self):
        out = self.tool(FEATURES, "describe")
        rows = {m[0]: m[1:] for m in re.findall(r"^Feature: (\S+)\s+SupportedMinVersion: (\S+)\s+"
                                                 r"SupportedMaxVersion: (\S+)\s+FinalizedVersionLevel: (\S+)", out, re.M)}
        self.assertEqual(sorted(rows), ["eligible.leader.replicas.version", "group.version", "kraft.version",
                                        "share.version", "streams.version", "transaction.version"], out)
        for name, levels in rows.items():
            self.assertEqual(levels, ("0", "0", "0"), f"{name}: {out}")
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka cli tools")
