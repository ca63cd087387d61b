"""DeleteGroups and OffsetDelete from stock clients against a real 3-node chronik cluster on
127.0.0.x (issue 16; docs/kafka.md "Deleting groups and offsets"): confluent-kafka (librdkafka) and
kafka-python from PyPI, kafkajs from npm, and Kafka 4.0.1's own kafka-consumer-groups.

- confluent-kafka's delete_consumer_groups deletes a group without members (its offsets are gone:
  OffsetFetch finds none, ListGroups does not list it), refuses one with a live member
  (NON_EMPTY_GROUP) until the member leaves, and answers GROUP_ID_NOT_FOUND for a group that never
  was.
- kafka-python's delete_group_offsets (OffsetDelete) on a group with a live consumer forgets the
  offsets of a topic nobody subscribes to and refuses the subscribed topic per partition
  (GROUP_SUBSCRIBED_TO_TOPIC); delete_groups refuses the group while the consumer is in it; an
  unknown group is a top-level GROUP_ID_NOT_FOUND.
- kafkajs's deleteGroups deletes an empty group and reports NON_EMPTY_GROUP for a busy one. kafkajs
  2.2.4 has no OffsetDelete at all.
- Durability: after a group is deleted and another loses one offset, their coordinators are killed
  (kill -9) one at a time; whoever serves them next, and the restarted node, still finds the
  deletions (the tombstones are in `__consumer_offsets`): OffsetFetch, ListGroups and a second
  DeleteGroups (GROUP_ID_NOT_FOUND) agree, and an untouched group keeps everything.
- kafka-consumer-groups --delete-offsets and --delete (Kafka 4.0.1's tools, their classpath from
  Maven as kafka_admin_leaders_test gets it; skipped without java, mvn or the artifacts).

Offsets are committed with kafka-python's alter_group_offsets (OffsetCommit without a generation)
or a live consumer's commit, and read back with kafka-python (rolling_group.list_group_offsets: a
fresh client each time, and not librdkafka, which crashes on NOT_COORDINATOR).

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_group_admin_test.py --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR; Kafka's tools into
$CHRONIK_KAFKA_TOOLS_DIR.)
"""
import contextlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402
from rolling_group import list_group_offsets  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 60  # for a group to be served again (a coordinator elected and loaded)
READY_S = 60  # for every node to see every broker alive again after a restart
JOIN_S = 60  # for a consumer to join its group and get an assignment
NON_EMPTY_GROUP = 68  # Kafka's error codes
GROUP_ID_NOT_FOUND = 69
GROUP_TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


class KafkaGroupAdmin(AdminSuite):

    # --- topics, offsets and members -----------------------------------------------------------------

    def running_bootstrap(self):
        return ",".join(f"{n.ip}:{n.kafka_port}" for n in self.cluster.nodes if n.running())

    def make_topic(self, topic, partitions):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])[topic].result(timeout=30)

    def commit(self, group, offsets):
        """Commits {(topic, partition): offset} for `group` with kafka-python's alter_group_offsets
        (OffsetCommit with generation -1: the group must have no members)."""
        from kafka import OffsetAndMetadata, TopicPartition
        from kafka.admin import KafkaAdminClient

        def attempt():
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
            try:
                got = admin.alter_group_offsets(group, {TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
                                                        for (t, p), o in offsets.items()})
            finally:
                admin.close()
            # A coordinator that moved or is loading answers per partition (NOT_COORDINATOR,
            # COORDINATOR_LOAD_IN_PROGRESS), which alter_group_offsets returns rather than raises;
            # a client finds the coordinator again and retries, so this does too.
            for error in got.values():
                if error.retriable:
                    raise error()
            return got

        got = self.retrying(attempt, f"committing for {group}")
        self.assertEqual({(tp.topic, tp.partition): e.__name__ for tp, e in got.items()},
                         {k: "NoError" for k in offsets}, f"committing for {group}")

    def retrying(self, attempt, what):
        """attempt() until it returns without a retriable kafka-python error (the first
        FindCoordinator creates `__consumer_offsets` and answers COORDINATOR_NOT_AVAILABLE, which
        kafka-python's admin client does not retry; a coordinator may be loading), for SETTLE_S."""
        from kafka.errors import KafkaError

        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                return attempt()
            except KafkaError as e:
                if not e.retriable or time.monotonic() > deadline:
                    raise AssertionError(f"{what}: {e!r}") from e
                time.sleep(0.2)

    def committed(self, group, topic, partitions):
        """{partition: offset} of `group`'s committed offsets of `topic` (OffsetFetch)."""
        got = list_group_offsets(self.running_bootstrap(), group, topic, partitions)
        return {p: om.offset for p, om in got.items() if om.offset >= 0}

    def listed_groups(self):
        """The group ids ListGroups gives from every broker (confluent-kafka)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        result = admin.list_consumer_groups(request_timeout=10).result()
        self.assertEqual(result.errors, [], "ListGroups")
        return {g.group_id for g in result.valid}

    @contextlib.contextmanager
    def member(self, group, topic):
        """A confluent-kafka consumer of `group` subscribed to `topic`, in the group (assigned its
        partitions) for the duration of the block; it leaves the group when the block ends."""
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False,
                             "session.timeout.ms": 10000})
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + JOIN_S
            while not consumer.assignment():
                self.assertLess(time.monotonic(), deadline, f"a consumer of {group} got no assignment")
                consumer.poll(0.2)
            yield consumer
        finally:
            consumer.close()

    def kafkajs_run(self, *args):
        script = self.kafkajs("kafkajs_group_admin.js")
        out = subprocess.run(["node", script, *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, f"kafkajs_group_admin.js {args[0]}: {out.stderr}")
        return json.loads(out.stdout)

    # --- the clients ---------------------------------------------------------------------------------

    def test_a_confluent_deletes_groups(self):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        topic, empty, busy = "ga-topic", "ga-empty", "ga-busy"
        self.make_topic(topic, 2)
        self.commit(empty, {(topic, 0): 5, (topic, 1): 7})
        self.commit(busy, {(topic, 0): 1})
        admin = AdminClient({"bootstrap.servers": self.bootstrap})

        def delete(group):
            """None when deleted, else the Kafka error code."""
            try:
                admin.delete_consumer_groups([group], request_timeout=10)[group].result()
                return None
            except KafkaException as e:
                return e.args[0].code()

        with self.member(busy, topic):
            self.assertIsNone(delete(empty))
            self.assertEqual(delete(busy), NON_EMPTY_GROUP)
            self.assertEqual(self.committed(empty, topic, 2), {})
            self.assertEqual(self.committed(busy, topic, 2), {0: 1})
            listed = self.listed_groups()
            self.assertNotIn(empty, listed)
            self.assertIn(busy, listed)
        self.assertIsNone(delete(busy))  # the member left
        self.assertEqual(self.committed(busy, topic, 2), {})
        self.assertEqual(delete("ga-never-was"), GROUP_ID_NOT_FOUND)
        self.assertFalse({empty, busy} & self.listed_groups())
        self.ok()

    def test_b_kafka_python_deletes_offsets_and_groups(self):
        from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
        from kafka.admin import KafkaAdminClient
        from kafka.errors import GroupIdNotFoundError

        subscribed, other, group = "gb-subscribed", "gb-other", "gb-group"
        self.make_topic(subscribed, 1)
        self.make_topic(other, 1)
        consumer = KafkaConsumer(subscribed, bootstrap_servers=self.bootstrap, group_id=group,
                                 enable_auto_commit=False, session_timeout_ms=10000)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            deadline = time.monotonic() + JOIN_S
            while not consumer.assignment():
                self.assertLess(time.monotonic(), deadline, "the kafka-python consumer got no assignment")
                consumer.poll(timeout_ms=200)
            # A member may commit any partition; the group then holds offsets of a topic it does
            # not consume, which OffsetDelete may forget while the member stays.
            consumer.commit({TopicPartition(subscribed, 0): OffsetAndMetadata(3, "", -1),
                             TopicPartition(other, 0): OffsetAndMetadata(4, "", -1)})
            got = admin.delete_group_offsets(group, [TopicPartition(subscribed, 0), TopicPartition(other, 0)])
            self.assertEqual({tp.topic: e.__name__ for tp, e in got.items()},
                             {subscribed: "GroupSubscribedToTopicError", other: "NoError"})
            self.assertEqual(self.committed(group, subscribed, 1), {0: 3})
            self.assertEqual(self.committed(group, other, 1), {})
            self.assertEqual(admin.delete_groups([group]), {group: "NonEmptyGroupError"})
        finally:
            consumer.close()
        try:
            self.assertEqual(admin.delete_groups([group]), {group: "OK"})
            self.assertEqual(self.committed(group, subscribed, 1), {})
            with self.assertRaises(GroupIdNotFoundError):
                admin.delete_group_offsets(group, [TopicPartition(subscribed, 0)])
        finally:
            admin.close()
        self.ok()

    def test_c_kafkajs_deletes_groups(self):
        topic, empty, busy = "gc-topic", "gc-empty", "gc-busy"
        self.make_topic(topic, 2)
        self.commit(empty, {(topic, 0): 2, (topic, 1): 9})
        self.commit(busy, {(topic, 1): 4})
        with self.member(busy, topic):
            self.assertEqual(self.kafkajs_run("delete", self.bootstrap, empty), {"deleted": [{"groupId": empty, "errorCode": 0}]})
            failed = self.kafkajs_run("delete", self.bootstrap, busy)
            self.assertEqual(failed, {"failed": [{"groupId": busy, "errorCode": NON_EMPTY_GROUP, "type": "NON_EMPTY_GROUP"}]})
        offsets = self.kafkajs_run("fetch", self.bootstrap, empty, topic)["offsets"]
        self.assertEqual([o["offset"] for o in offsets], [-1, -1])
        self.assertEqual(self.committed(busy, topic, 2), {1: 4})
        self.ok()

    # --- durability ----------------------------------------------------------------------------------

    def coordinator(self, group):
        """The node id FindCoordinator names for `group` (through DescribeConsumerGroups), or None."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
        try:
            return admin.describe_consumer_groups([group], request_timeout=10)[group].result().coordinator.id
        except Exception:  # noqa: BLE001 - no coordinator reachable yet: the caller asks again
            return None

    def wait_state(self, expected, when):
        """Polls until every group of `expected` ({group: (topic, partitions, {partition: offset})})
        is served by a running node and OffsetFetch gives its offsets; fails with the last answers."""
        last = {}

        def matches():
            for group, (topic, partitions, offsets) in expected.items():
                c = self.coordinator(group)
                if c is None or not any(n.node_id == c and n.running() for n in self.cluster.nodes):
                    last[group] = f"coordinator {c}"
                    return False
                try:
                    last[group] = self.committed(group, topic, partitions)
                except Exception as e:  # noqa: BLE001 - NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS...
                    last[group] = f"coordinator {c}: {e}"
                    return False
                if last[group] != offsets:
                    return False
            return True

        try:
            self.cluster.wait_for(matches, SETTLE_S, f"the groups' offsets {when}")
        except AssertionError as e:
            raise AssertionError(f"{e}; expected {expected}, last {last}") from None

    def wait_all_ready(self):
        self.cluster.wait_ready(READY_S, count=self.size, alive=True)

    def tearDown(self):
        """A test that failed with a node down leaves the next one a whole cluster."""
        stopped = [n for n in self.cluster.nodes if not n.running()]
        for n in stopped:
            n.start([m.gossip_addr for m in self.cluster.nodes if m is not n])
        if stopped:
            self.wait_all_ready()

    def test_d_deletions_survive_coordinator_restarts(self):
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient

        topic, deleted, trimmed, kept = "gd-topic", "gd-deleted", "gd-trimmed", "gd-kept"
        self.make_topic(topic, 2)
        for g in (deleted, trimmed, kept):
            self.commit(g, {(topic, 0): 10, (topic, 1): 20})
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            self.assertEqual(admin.delete_groups([deleted]), {deleted: "OK"})
            got = admin.delete_group_offsets(trimmed, [TopicPartition(topic, 0)])
            self.assertEqual({tp.partition: e.__name__ for tp, e in got.items()}, {0: "NoError"})
        finally:
            admin.close()
        expected = {deleted: (topic, 2, {}), trimmed: (topic, 2, {1: 20}), kept: (topic, 2, {0: 10, 1: 20})}
        self.wait_state(expected, "after the deletions")

        coordinators = sorted({self.coordinator(deleted), self.coordinator(trimmed)})
        self.assertNotIn(None, coordinators)
        for node_id in coordinators:
            node = next(n for n in self.cluster.nodes if n.node_id == node_id)
            node.kill()
            self.wait_state(expected, f"while node {node_id} (a coordinator) is down after kill -9")
            node.start([m.gossip_addr for m in self.cluster.nodes if m is not node])
            self.wait_all_ready()
            self.wait_state(expected, f"after node {node_id} restarted")
        # The deleted group is gone from its coordinator's memory too, not merely without offsets:
        # ListGroups (once no broker is loading an offsets partition any more) does not list it,
        # and deleting it again finds no group.
        listed = {}

        def listing():
            try:
                listed["groups"] = self.listed_groups()
            except AssertionError:  # a broker still loading answers COORDINATOR_LOAD_IN_PROGRESS
                return False
            return True

        self.cluster.wait_for(listing, SETTLE_S, "ListGroups from every broker")
        self.assertNotIn(deleted, listed["groups"])
        self.assertTrue({trimmed, kept} <= listed["groups"], listed["groups"])
        admin = KafkaAdminClient(bootstrap_servers=self.running_bootstrap(), request_timeout_ms=10000)
        try:
            self.assertEqual(admin.delete_groups([deleted]), {deleted: "GroupIdNotFoundError"})
        finally:
            admin.close()
        self.ok()

    # --- Kafka's own tool ----------------------------------------------------------------------------

    def group_tool(self, *args):
        """kafka-consumer-groups of Kafka 4.0.1 (its main class on Maven's classpath for kafka-tools):
        (exit code, stdout + stderr). Skips when java, mvn or the artifacts are unavailable."""
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        classpath = kafka_tools_classpath(work)
        if classpath is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools from Maven unavailable")
        out = subprocess.run(["java", "-cp", classpath, GROUP_TOOL, "--bootstrap-server", self.bootstrap, *args],
                             capture_output=True, text=True, timeout=120)
        return out.returncode, out.stdout + out.stderr

    def test_e_kafka_consumer_groups_tool(self):
        topic, group, busy = "ge-topic", "ge-group", "ge-busy"
        self.make_topic(topic, 2)
        self.commit(group, {(topic, 0): 2, (topic, 1): 3})
        self.commit(busy, {(topic, 0): 1})

        rc, out = self.group_tool("--delete-offsets", "--group", group, "--topic", f"{topic}:0")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, rf"{topic}\s+0\s+Successful", out)
        self.assertEqual(self.committed(group, topic, 2), {1: 3})

        rc, out = self.group_tool("--delete", "--group", group)
        self.assertEqual(rc, 0, out)
        self.assertIn(f"Deletion of requested consumer groups ('{group}') was successful", out)
        self.assertEqual(self.committed(group, topic, 2), {})

        with self.member(busy, topic):
            rc, out = self.group_tool("--delete", "--group", busy)
            self.assertIn("GroupNotEmptyException", out)
            rc, out = self.group_tool("--delete-offsets", "--group", busy, "--topic", topic)
            self.assertIn("GroupSubscribedToTopicException", out)
        self.assertEqual(self.committed(busy, topic, 2), {0: 1})
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka group admin")
