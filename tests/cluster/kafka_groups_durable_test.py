"""Committed consumer offsets survive restarts, shown with three stock clients against a real 3-node
chronik cluster on 127.0.0.x (issue 16): kafka-python and confluent-kafka (librdkafka) from PyPI,
and kafkajs from npm.

- Coordinator restart, once per client, each with its own group and topic (2 partitions of 12
  records): a consumer of the group commits {p0: 11, p1: 2} with a metadata string. The group's
  coordinator (FindCoordinator, through DescribeConsumerGroups) is stopped, by SIGTERM or by
  kill -9; while it is down another node serves the group, and after it is back every committed
  offset and the metadata are there (OffsetFetch), and a new consumer of the group resumes exactly
  at them.
- Every node restarted (all stopped, then all started): three groups' offsets are all there.
- Rolling restart of every node, one at a time, while two consumers of one group read a topic a
  producer keeps writing, committing after processing: committed offsets sampled throughout never
  go backwards (nor vanish), and at the end they reach the end of what was acknowledged, every
  acknowledged record having been delivered to the group.

Clients are left to retry coordinator moves as they do by default (NOT_COORDINATOR,
COORDINATOR_LOAD_IN_PROGRESS); every wait polls a condition until a deadline. The suite reads
committed offsets through kafka-python's admin client (and kafkajs's for its own group), never
librdkafka's, which crashes on NOT_COORDINATOR (rolling_group.list_group_offsets). The rolling
restart's load is rolling_group.RollingGroup.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_groups_durable_test.py --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR.)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from rolling_group import RollingGroup, list_group_offsets  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 60  # for a group to be served (a coordinator elected and loaded) or topic leaders
READY_S = 60  # for every node to see every broker again after a restart
CONSUME_S = 60  # for a consumer to join its group and read what it expects
EXIT_S = 15  # for a node to exit on SIGTERM (it caps its own shutdown at 3 s)
PER_PARTITION = 12  # records in each partition of a scenario-1 topic
COMMITS = {0: 11, 1: 2}  # what scenario 1 commits


def offsets_of(fetched):
    """{partition: (offset, metadata)} of the partitions with a committed offset."""
    return {p: (om.offset, om.metadata or "") for p, om in fetched.items() if om.offset >= 0}


def sent_metadata(client, metadata):
    """The metadata string `client` puts in OffsetCommit for `metadata`. confluent-kafka 2.16.1
    counts the C string's terminating NUL in the metadata's length (py_to_c_parts), so the NUL is
    sent, and a broker keeps the bytes it is given, as Kafka does."""
    return metadata + "\0" if client == "confluent-kafka" else metadata


def fmt(offsets):
    """{partition: (offset, metadata)} for a failure message, in partition order."""
    return "{" + ", ".join(f"p{p}: {o!r}" for p, o in sorted(offsets.items())) + "}"


class KafkaGroupsDurable(AdminSuite):

    # --- the cluster ---------------------------------------------------------------------------------

    def node(self, node_id):
        return next(n for n in self.cluster.nodes if n.node_id == node_id)

    def running_bootstrap(self):
        return ",".join(f"{n.ip}:{n.kafka_port}" for n in self.cluster.nodes if n.running())

    def stop(self, node, how):
        """Stops `node` by SIGTERM (waiting for it to exit) or by SIGKILL."""
        if how == "kill -9":
            node.kill()
            return
        node.signal(signal.SIGTERM)
        self.assertIsNotNone(node.wait_exit(EXIT_S), f"node {node.node_id} did not exit {EXIT_S}s after SIGTERM")

    def start(self, node):
        node.start([m.gossip_addr for m in self.cluster.nodes if m is not node])

    def tearDown(self):
        """A test that failed with nodes down leaves the next one a whole cluster."""
        stopped = [n for n in self.cluster.nodes if not n.running()]
        for n in stopped:
            self.start(n)
        if stopped:
            self.wait_all_ready()

    def wait_all_ready(self):
        """Every running node reads `__meta` linearizably and sees every broker registered and alive
        (a restarted broker is dead in `__meta` until the controller marks it alive again, and
        CreateTopics with replication factor 3 is refused until then)."""
        self.cluster.wait_ready(READY_S, count=self.size, alive=True)

    def views(self):
        """Each running node's `__meta` leader and broker states, for failure messages."""
        out = {}
        for n in self.cluster.nodes:
            v = n.cluster() if n.running() else None
            out[n.node_id] = v and (v.get("meta_leader"), {b["node_id"]: b["state"] for b in v["brokers"]})
        return out

    # --- topics and committed offsets --------------------------------------------------------------

    def make_topic(self, topic, partitions, per_partition):
        """`topic` with `partitions` partitions (replication factor 3), each holding offsets
        0 .. per_partition-1, acknowledged by all replicas."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])[topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0})
        acked = []
        for p in range(partitions):
            for i in range(per_partition):
                producer.produce(topic, value=f"{topic}-{p}-{i}".encode(), partition=p,
                                 on_delivery=lambda err, msg: acked.append((err, msg.partition(), msg.offset())))
        self.assertEqual(producer.flush(SETTLE_S), 0)
        self.assertEqual(sorted(acked), [(None, p, i) for p in range(partitions) for i in range(per_partition)])

    def committed(self, group, topic, partitions):
        """OffsetFetch of `group` through kafka-python's admin client: {partition: (offset,
        metadata)} of the partitions that have a committed offset. Raises while the group has no
        coordinator that answers (moving, loading, or the broker named is down). Not through
        librdkafka, which crashes on NOT_COORDINATOR (rolling_group.list_group_offsets)."""
        return offsets_of(list_group_offsets(self.running_bootstrap(), group, topic, partitions))

    def coordinator(self, group):
        """The node id FindCoordinator names for `group` (librdkafka's DescribeConsumerGroups asks
        it first), or None while no running broker answers for the group."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
        try:
            return admin.describe_consumer_groups([group], request_timeout=10)[group].result().coordinator.id
        except Exception:  # noqa: BLE001 - no coordinator reachable yet: the caller asks again
            return None

    def wait_served(self, group, topic, partitions, not_by=None):
        """Polls until a running node other than `not_by` coordinates `group` and answers OffsetFetch;
        returns (coordinator id, committed offsets)."""
        last = {}

        def served():
            c = self.coordinator(group)
            if c is None or c == not_by or not any(n.node_id == c and n.running() for n in self.cluster.nodes):
                last["why"] = f"coordinator {c}"
                return False
            try:
                last["found"] = (c, self.committed(group, topic, partitions))
            except Exception as e:  # noqa: BLE001 - COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR...
                last["why"] = f"coordinator {c}: {e}"
                return False
            return True

        try:
            self.cluster.wait_for(served, SETTLE_S, f"group {group} served" + (f" by a node other than {not_by}" if not_by else ""))
        except AssertionError as e:
            raise AssertionError(f"{e}; last: {last.get('why')}") from None
        return last["found"]

    def assert_committed(self, group, expected, found, when):
        if found != expected:
            self.fail(f"group {group} {when}: committed offsets expected {fmt(expected)}, found {fmt(found)}"
                      + (" (all lost)" if not found else ""))

    # --- the three clients ----------------------------------------------------------------------------

    def kafkajs_run(self, *args):
        script = self.kafkajs("kafkajs_groups.js")
        out = subprocess.run(["node", script, *args], capture_output=True, text=True, timeout=CONSUME_S + 60)
        self.assertEqual(out.returncode, 0, f"kafkajs_groups.js {args[0]}: {out.stderr}")
        return json.loads(out.stdout)

    def commit(self, client, group, topic, offsets, metadata):
        """A consumer of `group` subscribed to `topic` reads at least one record, then commits
        {partition: offset} with `metadata` through `client`'s consumer API, and leaves."""
        if client == "kafkajs":
            self.kafkajs_run("commit", self.bootstrap, group, topic, json.dumps(offsets), metadata)
        elif client == "kafka-python":
            self.commit_kafka_python(group, topic, offsets, metadata)
        else:
            self.commit_confluent(group, topic, offsets, metadata)

    def commit_kafka_python(self, group, topic, offsets, metadata):
        from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

        consumer = KafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False,
                                 auto_offset_reset="earliest")
        try:
            deadline = time.monotonic() + CONSUME_S
            while not any(consumer.poll(timeout_ms=500, max_records=5).values()):
                self.assertLess(time.monotonic(), deadline, f"kafka-python read nothing of {topic}")
            consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, metadata, -1) for p, o in offsets.items()})
        finally:
            consumer.close()

    def commit_confluent(self, group, topic, offsets, metadata):
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest"})
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + CONSUME_S
            while (m := consumer.poll(0.5)) is None or m.error() is not None:
                self.assertLess(time.monotonic(), deadline, f"confluent-kafka read nothing of {topic}")
            done = consumer.commit(offsets=[TopicPartition(topic, p, o, metadata) for p, o in offsets.items()],
                                   asynchronous=False)
            self.assertEqual([tp.error for tp in done], [None] * len(offsets), done)
        finally:
            consumer.close()

    def resume(self, client, group, topic, count):
        """[(partition, offset)] a new consumer of `group` reads, through `client`, until `count`
        records or CONSUME_S; it starts from the earliest offset where the group has none."""
        if client == "kafkajs":
            got = self.kafkajs_run("resume", self.bootstrap, group, topic, str(count), str(CONSUME_S * 1000))
            return [tuple(r) for r in got["records"]]
        if client == "kafka-python":
            from kafka import KafkaConsumer

            consumer = KafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=group,
                                     enable_auto_commit=False, auto_offset_reset="earliest")
            poll = lambda: [(r.partition, r.offset) for rs in consumer.poll(timeout_ms=500).values() for r in rs]  # noqa: E731
        else:
            from confluent_kafka import Consumer

            consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False,
                                 "auto.offset.reset": "earliest"})
            consumer.subscribe([topic])
            poll = lambda: [(m.partition(), m.offset()) for m in consumer.consume(100, 0.5) if m.error() is None]  # noqa: E731
        records = []
        try:
            deadline = time.monotonic() + CONSUME_S
            while len(records) < count and time.monotonic() < deadline:
                records += poll()
        finally:
            consumer.close()
        return records

    def committed_by_kafkajs(self, group, topic):
        """OffsetFetch through kafkajs's admin.fetchOffsets, as `committed`."""
        got = self.kafkajs_run("fetch", self.bootstrap, group, topic)["offsets"]
        return {o["partition"]: (o["offset"], o["metadata"] or "") for o in got if o["offset"] >= 0}

    def assert_resumes(self, client, group, topic, commits, end):
        """A new `client` consumer of `group` reads exactly the records from each partition's
        committed offset in `commits` up to `end`, none before."""
        want = sorted((p, o) for p, c in commits.items() for o in range(c, end))
        got = self.resume(client, group, topic, len(want))
        if sorted(got) != want:
            first = {p: min((o for q, o in got if q == p), default=None) for p in commits}
            self.fail(f"a new {client} consumer of {group} should resume at {commits} and read {len(want)} records; "
                      f"it read {len(got)}, first offset per partition {first}")

    # --- scenario 1: the coordinator alone restarts ----------------------------------------------------

    def commit_restart_coordinator(self, client, how):
        group = topic = f"durable-{client}"
        metadata = f"{client} was here"
        expected = {p: (o, sent_metadata(client, metadata)) for p, o in COMMITS.items()}
        self.make_topic(topic, 2, PER_PARTITION)
        self.commit(client, group, topic, COMMITS, metadata)
        coordinator, found = self.wait_served(group, topic, 2)
        self.assert_committed(group, expected, found, f"right after the commit (coordinator {coordinator})")

        node = self.node(coordinator)
        self.stop(node, how)
        served_by, found = self.wait_served(group, topic, 2, not_by=coordinator)
        self.assert_committed(group, expected, found,
                              f"while its coordinator node {coordinator} was down ({how}), served by node {served_by}")
        self.start(node)
        self.wait_all_ready()
        served_by, found = self.wait_served(group, topic, 2)
        self.assert_committed(group, expected, found, f"after node {coordinator} restarted, served by node {served_by}")
        if client == "kafkajs":
            self.assert_committed(group, expected, self.committed_by_kafkajs(group, topic),
                                  f"through kafkajs's fetchOffsets after node {coordinator} restarted")

        self.assert_resumes(client, group, topic, COMMITS, PER_PARTITION)
        self.ok()

    def test_a_kafka_python_commits_survive_a_coordinator_restart(self):
        self.commit_restart_coordinator("kafka-python", "SIGTERM")

    def test_b_confluent_commits_survive_a_coordinator_kill(self):
        self.commit_restart_coordinator("confluent-kafka", "kill -9")

    def test_c_kafkajs_commits_survive_a_coordinator_restart(self):
        self.commit_restart_coordinator("kafkajs", "SIGTERM")

    # --- scenario 2: every node restarts -------------------------------------------------------------

    def test_d_commits_survive_a_restart_of_every_node(self):
        topic = "durable-all-nodes"
        self.make_topic(topic, 3, 10)
        commits = {  # group -> (client, {partition: offset}, metadata)
            "durable-all-confluent": ("confluent-kafka", {0: 3, 1: 7, 2: 10}, "all-confluent"),
            "durable-all-kafka-python": ("kafka-python", {0: 1, 1: 2, 2: 3}, "all-kafka-python"),
            "durable-all-kafkajs": ("kafkajs", {0: 10, 1: 0, 2: 5}, "all-kafkajs"),
        }
        for group, (client, offsets, metadata) in commits.items():
            self.commit(client, group, topic, offsets, metadata)
            _, found = self.wait_served(group, topic, 3)
            self.assert_committed(group, {p: (o, sent_metadata(client, metadata)) for p, o in offsets.items()}, found,
                                  "right after the commit")

        for n in self.cluster.nodes:
            self.stop(n, "SIGTERM")
        for n in self.cluster.nodes:
            self.start(n)
        self.wait_all_ready()
        for group, (client, offsets, metadata) in commits.items():
            served_by, found = self.wait_served(group, topic, 3)
            self.assert_committed(group, {p: (o, sent_metadata(client, metadata)) for p, o in offsets.items()}, found,
                                  f"after every node restarted, served by node {served_by}")
        self.assert_resumes("confluent-kafka", "durable-all-confluent", topic, commits["durable-all-confluent"][1], 10)
        self.ok()

    # --- scenario 3: rolling restart under load ------------------------------------------------------

    def test_e_rolling_restart_while_consuming_never_moves_commits_back(self):
        run = RollingGroup(self.bootstrap, "durable-rolling", partitions=3)
        self.make_topic(run.topic, 3, 0)
        run.start()
        step = "starting"
        try:
            run.wait_committed_progress(SETTLE_S)
            for n in self.cluster.nodes:
                step = f"node {n.node_id} down (coordinator was {self.coordinator(run.group)})"
                self.stop(n, "SIGTERM")
                run.wait_committed_progress(SETTLE_S)  # the group consumes while the node is down
                step = f"node {n.node_id} restarted"
                self.start(n)
                self.wait_all_ready()
                run.wait_committed_progress(SETTLE_S)  # and again before the next node goes
            step = "producing stopped"
            ends = run.stop_producing()
            run.wait_committed(ends, SETTLE_S)
        except AssertionError as e:
            raise AssertionError(f"{step}: {e}\ncluster: {self.views()}, coordinator {self.coordinator(run.group)}") from None
        finally:
            run.stop()
        run.check(self, ends)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka groups durable")
