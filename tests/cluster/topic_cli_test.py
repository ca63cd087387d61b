"""`chronik-server topic ...`, `cluster health` and the forming `cluster status` (docs/operations.md)
run as the real binary against real clusters on 127.0.0.x (issue 19).

TopicCliTest, one 3-node cluster:
- `topic create` with --config makes a topic that kafka-python's admin client sees with the same
  partitions, replicas and config; creating it again, or with a config chronik refuses, is one line
  on stderr and exit 1.
- `topic list` (table and --json) names it with its partition count and replication factor.
- `topic describe` shows each partition's leader, replicas and in-sync replicas, the log end
  offset of records kafka-python produced, and the config with its source.
- `topic alter --partitions` grows it (shrinking is refused), `--config` and `--delete-config`
  change the config, each checked with kafka-python; `topic delete` removes it, after which
  describe says it does not exist.
- `cluster health` exits 0 on the healthy cluster (every node answering its /ready); after kill -9 of the node holding a partition
  of replication factor 1 it exits 1 naming that node, the leaderless partition and the
  under-replicated ones, in text and --json.

FormingStatusTest: with 1 of 3 nodes started, `cluster status` says it sees 1 of 3 expected nodes
and names the two seeds not reached yet, and `cluster health` exits 1 saying the cluster has not
formed; with 2 started it names the one seed left; with all 3 the line is gone.

Run: /usr/bin/python3 tests/cluster/topic_cli_test.py --server build/daemon/chronik-server
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

try:
    from kafka import KafkaProducer  # Debian python3-kafka
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
except ImportError:
    KafkaAdminClient = None

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
READY_S = 30
SETTLE_S = 60  # leaders elected, a killed node declared dead, on a loaded 2-core machine
CLI_S = 60


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


def run_cli(*args):
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=CLI_S)


class CliCase(unittest.TestCase):
    def one_line_failure(self, out, pattern):
        """Exit 1 with exactly one line on stderr matching `pattern`."""
        self.assertEqual(out.returncode, 1, f"stdout: {out.stdout} stderr: {out.stderr}")
        lines = out.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, out.stderr)
        self.assertRegex(lines[0], r"^chronik-server: " + pattern)

    def poll(self, fn, what, timeout=SETTLE_S):
        """Calls fn until it returns a true value; returns it, or fails naming the last value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.5)
        self.fail(f"{what} within {timeout} s; last: {last!r}")


@unittest.skipIf(KafkaAdminClient is None, "python3-kafka is not installed")
class TopicCliTest(CliCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        c.start_all(["--bootstrap-expect", "3"])
        c.wait_ready(READY_S, alive=True)
        cls.via = c.nodes[1]  # the CLI bootstraps from node 2; any broker takes topic requests
        cls.admin = KafkaAdminClient(bootstrap_servers=c.bootstrap(), request_timeout_ms=30000)
        cls.failed = False

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def run(self, result=None):
        result = super().run(result)
        if result is not None and (result.errors or result.failures):
            type(self).failed = True
        return result

    def topic(self, *args):
        return run_cli("topic", *args, "--bootstrap", kafka_addr(self.via))

    def topic_json(self, *args):
        out = self.topic(*args, "--json")
        self.assertEqual(out.returncode, 0, f"topic {args}: {out.stderr}")
        return json.loads(out.stdout)

    def health(self, node, *args):
        return run_cli("cluster", "health", "--admin", node.admin_addr, "--admin-token-file", node.admin_token_file,
                       *args)

    def kafka_configs(self, topic):
        res = self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = res[0].resources[0][4]
        return {e[0]: e[1] for e in entries}

    def kafka_partitions(self, topic):
        """{partition: sorted replicas} as kafka-python's Metadata shows them."""
        (t,) = self.admin.describe_topics([topic])
        return {p["partition"]: sorted(p["replicas"]) for p in t["partitions"]}

    # --- the tests, in name order -------------------------------------------------------------------

    def test_1_topic_create_list_describe_alter_delete(self):
        t = "cli-topic"
        out = self.topic("create", t, "--partitions", "2", "--replication-factor", "3", "--config", "retention.ms=3600000")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, f"Created topic {t} with 2 partitions, replication factor 3\n")
        self.assertEqual(self.kafka_partitions(t), {0: [1, 2, 3], 1: [1, 2, 3]})
        self.assertEqual(self.kafka_configs(t)["retention.ms"], "3600000")

        self.one_line_failure(self.topic("create", t, "--partitions", "1", "--replication-factor", "1"),
                              rf'cannot create topic "{t}": TOPIC_ALREADY_EXISTS')
        self.one_line_failure(self.topic("create", "cli-bad", "--partitions", "1", "--replication-factor", "1",
                                         "--config", "compression.type=gzip"),
                              r'cannot create topic "cli-bad": INVALID_CONFIG.*compression.type')
        bad = self.topic("create", "cli-bad", "--partitions", "1", "--replication-factor", "1", "--config", "nonsense")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("expected NAME=VALUE", bad.stderr)

        listed = {e["topic"]: e for e in self.topic_json("list")}
        self.assertEqual(listed[t], {"topic": t, "partitions": 2, "replication_factor": 3, "internal": False})
        self.assertNotIn("cli-bad", listed)
        table = self.topic("list")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, rf"(?m)^{t}\s+2\s+3\s+no$")

        producer = KafkaProducer(bootstrap_servers=self.cluster.bootstrap(), acks="all")
        for i in range(5):
            producer.send(t, value=f"r{i}".encode(), partition=0)
        producer.flush(30)
        producer.close()

        def described_in_sync():
            d = self.topic_json("describe", t)
            ok = all(p["leader"] in p["replicas"] and p["isr"] == [1, 2, 3] for p in d["partitions"])
            return d if ok and d["partitions"][0]["log_end_offset"] == 5 else None
        d = self.poll(described_in_sync, "every partition led, in sync, 5 records in partition 0")
        self.assertEqual([p["partition"] for p in d["partitions"]], [0, 1])
        self.assertEqual(d["partitions"][0]["log_start_offset"], 0)
        self.assertEqual(d["partitions"][1]["log_end_offset"], 0)
        configs = {c["name"]: c for c in d["configs"]}
        self.assertEqual((configs["retention.ms"]["value"], configs["retention.ms"]["source"]), ("3600000", "topic"))
        self.assertEqual(len(d["topic_id"]), 32)
        text = self.topic("describe", t)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertRegex(text.stdout, rf"^TOPIC {t}  ID [0-9a-f]{{32}}  PARTITIONS 2  REPLICATION-FACTOR 3\n")
        self.assertRegex(text.stdout, r"(?m)^0\s+\d\s+\S+\s+1,2,3\s+-\s+0\s+5$")
        self.assertRegex(text.stdout, r"(?m)^retention\.ms\s+3600000\s+topic$")
        self.assertRegex(text.stdout, r"\n\d+ configs are at the default \(--json lists every config\)\n$")

        out = self.topic("alter", t, "--partitions", "4", "--config", "retention.ms=7200000")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, f"Topic {t} now has 4 partitions\nSet retention.ms=7200000 on topic {t}\n")
        self.assertEqual(sorted(self.kafka_partitions(t)), [0, 1, 2, 3])
        self.assertEqual(self.kafka_configs(t)["retention.ms"], "7200000")
        self.assertEqual(len(self.topic_json("describe", t)["partitions"]), 4)
        self.one_line_failure(self.topic("alter", t, "--partitions", "2"),
                              rf'cannot grow topic "{t}" to 2 partitions: INVALID_PARTITIONS')
        done = self.topic_json("alter", t, "--delete-config", "retention.ms")
        self.assertEqual(done["configs_deleted"], ["retention.ms"])
        after = {c["name"]: c for c in self.topic_json("describe", t)["configs"]}
        self.assertNotEqual(after["retention.ms"]["source"], "topic")
        self.assertNotEqual(self.kafka_configs(t)["retention.ms"], "7200000")

        out = self.topic("delete", t)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, f"Deleted topic {t}\n")
        self.assertNotIn(t, {e["topic"] for e in self.topic_json("list")})
        self.one_line_failure(self.topic("describe", t), rf'topic "{t}" does not exist')
        self.one_line_failure(self.topic("delete", t), rf'topic "{t}" does not exist')
        # A broker that is not there: one line, exit 1.
        gone = run_cli("topic", "list", "--bootstrap", "127.0.0.1:1")
        self.one_line_failure(gone, r"cannot reach broker 127\.0\.0\.1:1")

    def test_2_cluster_health_healthy_then_a_node_killed(self):
        self.assertEqual(self.topic("create", "health-rf3", "--partitions", "3", "--replication-factor", "3").returncode, 0)
        self.assertEqual(self.topic("create", "health-rf1", "--partitions", "3", "--replication-factor", "1").returncode, 0)
        first = self.cluster.nodes[0]

        def healthy():
            out = self.health(first)
            return out if out.returncode == 0 else None
        out = self.poll(healthy, "cluster health exit 0")
        self.assertRegex(out.stdout, r"^healthy: 3 of 3 nodes alive, __meta leader \d, \d+ partitions\n$")
        report = json.loads(self.health(first, "--json").stdout)
        # Every node answered its /ready (one that could not be asked would be a note).
        self.assertEqual((report["healthy"], report["problems"], report["notes"]), (True, [], []))

        # The node holding partition 0 of the replication-factor-1 topic.
        rf1 = self.topic_json("describe", "health-rf1")["partitions"][0]
        victim = next(n for n in self.cluster.nodes if n.node_id == rf1["replicas"][0])
        asked = next(n for n in self.cluster.nodes if n is not victim)
        victim.kill()

        def unhealthy_naming_the_node():
            out = self.health(asked)
            if out.returncode != 1:
                return None
            wanted = [f"node {victim.node_id} is dead", "leaderless partition", "health-rf1:0",
                      "under-replicated partition"]
            return out if all(w in out.stdout for w in wanted) else None
        out = self.poll(unhealthy_naming_the_node, "cluster health exit 1 naming the dead node and partitions")
        self.assertRegex(out.stdout, r"^unhealthy \(\d+ problems?\): 2 of 3 nodes alive")
        self.assertEqual(out.stderr, "")
        report = self.health(asked, "--json")
        self.assertEqual(report.returncode, 1)
        doc = json.loads(report.stdout)
        self.assertFalse(doc["healthy"])
        self.assertTrue(any(p.startswith(f"node {victim.node_id} is dead") for p in doc["problems"]), doc)


class FormingStatusTest(CliCase):
    def setUp(self):
        self.cluster = Cluster(SERVER, 3)

    def tearDown(self):
        failed = any(e for _, e in self._outcome.result.errors + self._outcome.result.failures)
        self.cluster.cleanup(keep_logs_on_failure=failed)

    def start(self, node):
        node.start([m.gossip_addr for m in self.cluster.nodes if m is not node], ["--bootstrap-expect", "3"])

    def status_line(self, node):
        out = run_cli("cluster", "status", "--admin", node.admin_addr, "--admin-token-file", node.admin_token_file)
        if out.returncode != 0:
            return None
        waiting = [line for line in out.stdout.splitlines() if line.startswith("waiting:")]
        return waiting[0] if waiting else ""

    def test_a_forming_node_says_what_it_waits_for(self):
        n1, n2, n3 = self.cluster.nodes
        self.start(n1)
        want = (f"waiting:      sees 1 of 3 expected nodes: seeds {n2.gossip_addr} and {n3.gossip_addr} "
                "not reached yet")
        self.poll(lambda: self.status_line(n1) == want, f"status line {want!r}", READY_S)
        health = run_cli("cluster", "health", "--admin", n1.admin_addr, "--admin-token-file", n1.admin_token_file)
        self.assertEqual(health.returncode, 1, health.stderr)
        self.assertEqual(health.stdout.splitlines()[0], "unhealthy: the cluster has not formed")
        self.assertIn("this node is not a member of a cluster yet (fresh): sees 1 of 3 expected nodes", health.stdout)

        self.start(n2)
        want = f"waiting:      sees 2 of 3 expected nodes: seed {n3.gossip_addr} not reached yet"
        self.poll(lambda: self.status_line(n1) == want, f"status line {want!r}", READY_S)

        self.start(n3)
        self.cluster.wait_ready(READY_S)
        self.assertEqual(self.status_line(n1), "")


if __name__ == "__main__":
    run_suite(globals(), "topic_cli")
