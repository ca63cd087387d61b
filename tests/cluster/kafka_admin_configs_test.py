"""Topic and broker configs from three stock admin clients against a real 3-node chronik cluster on
127.0.0.x (issue 15, docs/kafka.md "Configs"): confluent-kafka (librdkafka) and kafka-python from
PyPI, and kafkajs from npm.

Each client changes a topic's configs (IncrementalAlterConfigs and AlterConfigs), reads them back
with DescribeConfigs (the set key DYNAMIC_TOPIC_CONFIG, the rest DEFAULT_CONFIG), describes a broker
(read-only settings: broker.id, the advertised listener, the topic defaults), and sees bad or
unsupported values refused with INVALID_CONFIG, at CreateTopics too. The last test shows that a
changed retention.bytes reaches the partition's replicas while they run: the leader drops its old
entries, then the leader is killed and the follower that takes over shows the same log start.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_admin_configs_test.py --server build/daemon/chronik-server
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
TOPIC = "configs-suite-topic"
RETENTION_TOPIC = "configs-retention-topic"
# Kafka's ConfigSource values, as kafkajs and kafka-python report them.
DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 4, 5



def bounded_wait(predicate, timeout_s, what, step_s=0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(step_s)


class KafkaAdminConfigs(AdminSuite):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": cls.bootstrap})
        admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=3)])[TOPIC].result(timeout=30)

    def confluent(self, bootstrap=None):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": bootstrap or self.bootstrap})

    def confluent_topic_configs(self, admin, topic=TOPIC):
        from confluent_kafka.admin import ConfigResource, ResourceType

        res = ConfigResource(ResourceType.TOPIC, topic)
        return admin.describe_configs([res], request_timeout=15)[res].result()

    def assert_kafka_error(self, future, code):
        from confluent_kafka import KafkaException

        with self.assertRaises(KafkaException) as raised:
            future.result()
        self.assertEqual(raised.exception.args[0].code(), code, str(raised.exception))
        return raised.exception.args[0].str()

    # --- confluent-kafka (librdkafka) ---------------------------------------------------------------

    def test_a_confluent_incremental_alter_and_describe(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, ResourceType

        admin = self.confluent()

        def incremental(entries, validate_only=False):
            res = ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=entries)
            return admin.incremental_alter_configs([res], validate_only=validate_only, request_timeout=15)[res]

        set_op = AlterConfigOpType.SET
        incremental([ConfigEntry("retention.ms", "3600000", incremental_operation=set_op),
                     ConfigEntry("segment.ms", "7200000", incremental_operation=set_op)]).result()
        got = self.confluent_topic_configs(admin)
        self.assertEqual(got["retention.ms"].value, "3600000")
        self.assertEqual(got["retention.ms"].source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        self.assertEqual(got["retention.bytes"].value, "-1")
        self.assertEqual(got["retention.bytes"].source, ConfigSource.DEFAULT_CONFIG.value)
        self.assertTrue(got["retention.bytes"].is_default)

        # Refused before anything is proposed: a bad value, an unsupported one, an unknown key.
        for key, value in (("retention.ms", "abc"), ("compression.type", "gzip"), ("retention.minutes", "5")):
            msg = self.assert_kafka_error(incremental([ConfigEntry(key, value, incremental_operation=set_op)]),
                                          KafkaError.INVALID_CONFIG)
            self.assertIn(key, msg)
        # validate_only checks and changes nothing.
        incremental([ConfigEntry("retention.ms", "1000", incremental_operation=set_op)], validate_only=True).result()
        self.assertEqual(self.confluent_topic_configs(admin)["retention.ms"].value, "3600000")
        # DELETE returns a key to its default.
        incremental([ConfigEntry("segment.ms", None, incremental_operation=AlterConfigOpType.DELETE)]).result()
        got = self.confluent_topic_configs(admin)
        self.assertEqual(got["segment.ms"].source, ConfigSource.DEFAULT_CONFIG.value)
        self.assertEqual(got["retention.ms"].value, "3600000")
        self.ok()

    def test_b_confluent_alter_configs_replaces_the_whole_set(self):
        from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

        admin = self.confluent()
        res = ConfigResource(ResourceType.TOPIC, TOPIC, set_config={"retention.bytes": "1048576"})
        admin.alter_configs([res], request_timeout=15)[res].result()
        got = self.confluent_topic_configs(admin)
        self.assertEqual(got["retention.bytes"].value, "1048576")
        self.assertEqual(got["retention.ms"].source, ConfigSource.DEFAULT_CONFIG.value)  # left out: default again
        self.ok()

    def test_c_confluent_describes_every_broker_and_cannot_change_one(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, ResourceType

        admin = self.confluent()
        for n in self.cluster.nodes:  # librdkafka sends each broker's resource to that broker
            res = ConfigResource(ResourceType.BROKER, str(n.node_id))
            got = admin.describe_configs([res], request_timeout=15)[res].result()
            self.assertEqual(got["broker.id"].value, str(n.node_id))
            self.assertTrue(got["broker.id"].is_read_only)
            self.assertEqual(got["broker.id"].source, ConfigSource.STATIC_BROKER_CONFIG.value)
            self.assertEqual(got["advertised.listeners"].value, f"PLAINTEXT://{kafka_addr(n)}")
            self.assertEqual(got["num.partitions"].value, "1")
            self.assertEqual(got["log.retention.ms"].value, "604800000")
            self.assertEqual(got["log.retention.ms"].source, ConfigSource.DEFAULT_CONFIG.value)
            self.assertIn("message.max.bytes", got)
            self.assertIn("auto.create.topics.enable", got)
        res = ConfigResource(ResourceType.BROKER, "1", incremental_configs=[
            ConfigEntry("num.partitions", "3", incremental_operation=AlterConfigOpType.SET)])
        self.assert_kafka_error(admin.incremental_alter_configs([res], request_timeout=15)[res],
                                KafkaError.INVALID_REQUEST)
        self.ok()

    def test_d_confluent_create_topics_refuses_bad_configs(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import NewTopic

        admin = self.confluent()
        for name, config in (("bad-retention", {"retention.ms": "abc"}), ("bad-compression", {"compression.type": "gzip"})):
            fut = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3, config=config)],
                                      request_timeout=15)[name]
            self.assert_kafka_error(fut, KafkaError.INVALID_CONFIG)
            self.assertNotIn(name, admin.list_topics(timeout=10).topics)
        self.ok()

    # --- kafka-python -------------------------------------------------------------------------------

    def test_e_kafka_python_alters_and_describes(self):
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        try:
            for incremental in (True, False):  # IncrementalAlterConfigs, then AlterConfigs
                value = "1800000" if incremental else "900000"
                res = ConfigResource(ConfigResourceType.TOPIC, TOPIC, configs={"retention.ms": value})
                self.assertEqual(admin.alter_configs([res], incremental=incremental), {"topic": {TOPIC: "OK"}})
                got = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)], config_filter="all")
                entry = got["topic"][TOPIC]["retention.ms"]
                self.assertEqual(entry["value"], value, got)
            broker = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "2")], config_filter="all")
            self.assertEqual(broker["broker"]["2"]["broker.id"]["value"], "2", broker)
            for incremental in (True, False):  # kafka-python reports each resource's error as a string
                got = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC,
                                                          configs={"retention.ms": "abc"})], incremental=incremental)
                self.assertIn("InvalidConfiguration", got["topic"][TOPIC])
                self.assertIn("retention.ms", got["topic"][TOPIC])
        finally:
            admin.close()
        self.ok()

    # --- kafkajs ------------------------------------------------------------------------------------

    def kafkajs(self, *args):
        script = super().kafkajs("kafkajs_configs.js")
        out = subprocess.run(["node", script, args[0], self.bootstrap, *args[1:]],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_f_kafkajs_alters_describes_and_is_refused(self):
        got = self.kafkajs("alter", TOPIC, "retention.ms", "600000")
        self.assertNotIn("error", got)
        self.assertEqual(got["resources"][0]["errorCode"], 0, got)
        d = self.kafkajs("describe", TOPIC)
        topic_res, broker_res = d["resources"]
        entries = {e["configName"]: e for e in topic_res["configEntries"]}
        self.assertEqual(entries["retention.ms"]["configValue"], "600000")
        self.assertEqual(entries["retention.ms"]["configSource"], DYNAMIC_TOPIC_CONFIG)
        self.assertEqual(entries["retention.bytes"]["configSource"], DEFAULT_CONFIG)
        b = {e["configName"]: e for e in broker_res["configEntries"]}
        self.assertEqual(b["broker.id"]["configValue"], str(d["controller"]))
        self.assertTrue(b["broker.id"]["readOnly"])
        bad = self.kafkajs("alter", TOPIC, "compression.type", "gzip")
        self.assertIn("error", bad)
        self.assertIn("INVALID_CONFIG", json.dumps(bad))
        refused = self.kafkajs("create", "kafkajs-bad-topic", "retention.ms", "abc")
        self.assertIn("error", refused)
        self.assertIn("INVALID_CONFIG", json.dumps(refused))
        self.ok()

    # --- a changed retention reaches the running replicas --------------------------------------------

    def test_z_retention_change_takes_effect_on_every_replica(self):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

        admin = self.confluent()
        admin.create_topics([NewTopic(RETENTION_TOPIC, num_partitions=1, replication_factor=3)],
                            request_timeout=15)[RETENTION_TOPIC].result()
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0, "acks": "all"})
        for i in range(20):  # one Produce, so one Raft entry, each
            producer.produce(RETENTION_TOPIC, value=b"x" * 100, key=str(i).encode())
            self.assertEqual(producer.flush(15), 0)

        def log_start(bootstrap):
            return self.watermarks(RETENTION_TOPIC, bootstrap)

        self.assertEqual(log_start(self.bootstrap), (0, 20))
        res = ConfigResource(ResourceType.TOPIC, RETENTION_TOPIC, incremental_configs=[
            ConfigEntry("retention.bytes", "1", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([res], request_timeout=15)[res].result()
        # Retention runs every 5 s on each replica; everything but the newest entry goes.
        low, high = bounded_wait(lambda: (w := log_start(self.bootstrap)) and w[0] > 0 and w, 30,
                                 "the leader to drop its old entries")
        self.assertEqual((low, high), (19, 20))

        # The follower that takes over must have taken the new retention too, without a restart.
        leader = admin.list_topics(RETENTION_TOPIC, timeout=10).topics[RETENTION_TOPIC].partitions[0].leader
        victim = next(n for n in self.cluster.nodes if n.node_id == leader)
        victim.kill()
        rest = ",".join(kafka_addr(n) for n in self.cluster.nodes if n is not victim)
        survivors = self.confluent(rest)

        def new_leader():
            leader = survivors.list_topics(RETENTION_TOPIC, timeout=5).topics[RETENTION_TOPIC].partitions[0].leader
            return leader if leader not in (-1, victim.node_id) else None

        self.assertIn(bounded_wait(new_leader, 60, "a follower to lead"), [n.node_id for n in self.cluster.nodes])
        low, high = bounded_wait(lambda: (w := log_start(rest)) and w[0] > 0 and w, 60,
                                 "a new leader with the new retention applied")
        self.assertEqual((low, high), (19, 20))
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin configs")
