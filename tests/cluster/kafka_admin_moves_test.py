"""Replica moves (AlterPartitionReassignments, ListPartitionReassignments; KIP-455) from stock admin
clients against a real 4-node chronik cluster on 127.0.0.x (issue 15; docs/kafka.md "Moving
replicas").

A move is a learner-first Raft membership change driven by the partition's leader, so the tests
check what a user relies on, not only the answers:
- data keeps flowing: a producer with acks=all writes throughout every move, and afterwards every
  acknowledged value is read back at its offset, from the new replicas;
- every broker's Metadata ends with the target replicas, all in sync, and no move in progress;
- the moves that stress the protocol: the leader's own replica moving away (a leadership
  transfer), the replication factor growing and shrinking, a cancel while the new replica cannot
  catch up, and a kill -9 of the new replica in the middle of its move.

Clients: kafka-python 3.0.12 (alter_partition_reassignments, list_partition_reassignments) and
kafkajs 2.2.4 (alterPartitionReassignments, listPartitionReassignments). confluent-kafka 2.16.1 has no
reassignment API; it produces, consumes and reads Metadata here. Kafka 4.0.1's own
kafka-reassign-partitions runs too (test f), from Maven, skipped where java, mvn or Maven are
missing.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_admin_moves_test.py --server build/daemon/chronik-server
"""
import json
import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402
import reassign_clients  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; the suite makes no random choices
SETTLE_S = 40  # for a leader, a finished move, or a replica back in sync


class Writer:
    """A confluent-kafka producer (acks=all) writing unique values to partition 0 of a topic from
    its own thread until stopped; `acked` maps each acknowledged value to its offset."""

    def __init__(self, bootstrap, topic):
        from confluent_kafka import Producer

        self.topic = topic
        self.acked = {}
        self.errors = []
        self.stop_flag = threading.Event()
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                                  "message.timeout.ms": 30000})
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _delivered(self, err, msg):
        if err is None:
            self.acked[msg.value()] = msg.offset()
        else:
            self.errors.append(str(err))

    def _run(self):
        i = 0
        while not self.stop_flag.is_set():
            try:
                self.producer.produce(self.topic, value=b"%s-%d" % (self.topic.encode(), i), partition=0,
                                      on_delivery=self._delivered)
                i += 1
            except BufferError:
                pass
            self.producer.poll(0.005)  # paces the load; delivery reports are served here

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)
        left = self.producer.flush(30)
        return left


def warm(admin):
    """Connects a kafka-python admin client to the controller and the brokers before one is stopped:
    it then sends to a connected broker rather than open a connection to the stopped one."""
    admin.list_partition_reassignments()
    admin.describe_cluster()
    admin.list_topics()


def while_paused(call, attempts=3):
    """Runs a kafka-python admin call while a broker is stopped (SIGSTOP): the client may pick the
    stopped broker for a new connection, whose TCP handshake the kernel completes although nothing
    answers, and then time out (kafka-python 3.0.12 does not try another broker itself). Bounded."""
    from kafka.errors import KafkaTimeoutError, RequestTimedOutError

    for attempt in range(attempts):
        try:
            return call()
        except (KafkaTimeoutError, RequestTimedOutError):
            if attempt == attempts - 1:
                raise


class KafkaAdminMoves(AdminSuite):
    size = 4

    # --- helpers ------------------------------------------------------------------------------------

    def admin(self):
        from kafka.admin import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30000)

    def create_topic(self, name, replicas):
        from kafka.admin import NewTopic

        admin = self.admin()
        try:
            admin.create_topics([NewTopic(name, 1, replica_assignments={0: replicas})])
        finally:
            admin.close()
        seen = []

        def in_sync():
            p = self.partition(name)
            if p is not None and p[2] == sorted(replicas):
                seen.append(p)
            return bool(seen)

        self.cluster.wait_for(in_sync, SETTLE_S, f"{name} led and in sync on {replicas}")
        return seen[-1]  # (leader, replicas, isr) as Metadata showed them then

    def writing(self, topic, replicas, acked):
        """Creates `topic` on `replicas` and starts a Writer on it; returns it once `acked` values
        are acknowledged."""
        self.create_topic(topic, replicas)
        writer = Writer(self.bootstrap, topic)
        self.cluster.wait_for(lambda: len(writer.acked) >= acked, SETTLE_S, f"writes to {topic} before the move")
        return writer

    def wait_moved(self, topic, target):
        """Until no move of `topic` is in progress and every broker's Metadata lists `target` as the
        replicas, all in sync, with a leader among them."""
        from kafka import TopicPartition

        admin = self.admin()
        try:
            self.cluster.wait_for(lambda: TopicPartition(topic, 0) not in admin.list_partition_reassignments(),
                                  SETTLE_S, f"the move of {topic} to end")
        finally:
            admin.close()
        seen = {}

        def everywhere():
            for n in self.cluster.nodes:
                if n.running():
                    seen[n.node_id] = self.partition(topic, via=n)
            return all(v is not None and v[1] == target and v[2] == sorted(target) and v[0] in target
                       for v in seen.values())

        self.cluster.wait_for(everywhere, SETTLE_S, f"{topic} on {target} on every broker")
        return seen

    def read_all(self, topic, last):
        """Every value of partition 0 from offset 0 through offset `last`: value -> offset."""
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"read-{topic}", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        try:
            c.assign([TopicPartition(topic, 0, 0)])
            got = {}
            errors = []
            idle = 30  # empty polls of up to 1 s each: a bound, not a synchronization
            while idle > 0 and (not got or max(got.values()) < last):
                batch = c.consume(num_messages=1000, timeout=1)
                idle -= not batch
                for m in batch:
                    if m.error() is None:
                        got[m.value()] = m.offset()
                    else:
                        errors.append(str(m.error()))
            if errors:
                print(f"consumer errors on {topic}: {errors[:3]}")
            return got
        finally:
            c.close()

    def assert_nothing_lost(self, writer):
        self.assertEqual(writer.stop(), 0, "every produced value answered")
        self.assertGreater(len(writer.acked), 0)
        got = self.read_all(writer.topic, max(writer.acked.values()))
        lost = {v: o for v, o in writer.acked.items() if got.get(v) != o}
        if lost:
            print(f"read {len(got)} values, offsets {min(got.values(), default=None)}..{max(got.values(), default=None)}; "
                  f"acked offsets {min(writer.acked.values())}..{max(writer.acked.values())}; first lost {min(lost.values())}")
        self.assertEqual(lost, {}, f"acknowledged values missing or moved ({len(lost)} of {len(writer.acked)})")

    def node(self, node_id):
        return next(n for n in self.cluster.nodes if n.node_id == node_id)

    def spare(self):
        """A node to stop with SIGSTOP: not the controller (the `__meta` leader), whose pause would
        stall the records these tests propose; and the bootstrap list without it, since a new
        client's connection to a stopped node hangs."""
        from confluent_kafka.admin import AdminClient

        controller = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10).controller_id
        spare = max(n.node_id for n in self.cluster.nodes if n.node_id != controller)
        awake = ",".join(kafka_addr(n) for n in self.cluster.nodes if n.node_id != spare)
        others = sorted(n.node_id for n in self.cluster.nodes if n.node_id != spare)
        return self.node(spare), awake, others

    # --- kafka-python: a move while writing, and its refusals ---------------------------------------

    def test_a_kafka_python_moves_a_replica_there_and_back_while_writing(self):
        from kafka import TopicPartition
        from kafka.errors import InvalidReplicationAssignmentError, NoReassignmentInProgressError
        from kafka.errors import UnknownTopicOrPartitionError

        topic = "move-kafka-python"
        writer = self.writing(topic, [1, 2, 3], 200)
        admin = self.admin()
        tp = TopicPartition(topic, 0)
        try:
            self.assertEqual(admin.alter_partition_reassignments({tp: [4, 2, 3]}), {tp: None})
            self.wait_moved(topic, [4, 2, 3])
            before = len(writer.acked)
            self.cluster.wait_for(lambda: len(writer.acked) >= before + 200, SETTLE_S, "writes after the move")

            missing = TopicPartition(topic, 3)
            self.assertIs(admin.alter_partition_reassignments({missing: [1, 2]})[missing], UnknownTopicOrPartitionError)
            self.assertIs(admin.alter_partition_reassignments({tp: [4, 9]})[tp], InvalidReplicationAssignmentError,
                          "no broker 9")
            self.assertIs(admin.alter_partition_reassignments({tp: [4, 4, 2]})[tp], InvalidReplicationAssignmentError)
            self.assertIs(admin.alter_partition_reassignments({tp: None})[tp], NoReassignmentInProgressError)
            self.assertEqual(admin.list_partition_reassignments(), {})
            # Back to node 1, whose host deleted its copy when it left: the group is revived there
            # and node 1 rejoins as a new replica (docs/raft.md "Reviving a removed group").
            self.assertEqual(admin.alter_partition_reassignments({tp: [1, 2, 3]}), {tp: None})
            self.wait_moved(topic, [1, 2, 3])
            before = len(writer.acked)
            self.cluster.wait_for(lambda: len(writer.acked) >= before + 100, SETTLE_S, "writes after moving back")
        finally:
            admin.close()
        self.assert_nothing_lost(writer)
        self.ok()

    def test_b_the_leaders_own_replica_moves_away(self):
        from kafka import TopicPartition

        topic = "move-leader"
        # The leader Metadata showed once the topic was in sync: asked again, a broker may answer
        # without one for a moment (a clean-clone run got None).
        leader = self.create_topic(topic, [1, 2, 3])[0]
        target = [4] + [r for r in (1, 2, 3) if r != leader]
        writer = Writer(self.bootstrap, topic)
        self.cluster.wait_for(lambda: len(writer.acked) >= 200, SETTLE_S, "writes before the move")
        admin = self.admin()
        try:
            tp = TopicPartition(topic, 0)
            self.assertEqual(admin.alter_partition_reassignments({tp: target}), {tp: None})
            seen = self.wait_moved(topic, target)
            self.assertNotIn(leader, {v[0] for v in seen.values()}, "leadership left the removed replica")
        finally:
            admin.close()
        self.assert_nothing_lost(writer)
        self.ok()

    def test_c_the_replication_factor_grows_and_shrinks(self):
        from kafka import TopicPartition

        topic = "move-factor"
        writer = self.writing(topic, [2, 3], 100)
        admin = self.admin()
        tp = TopicPartition(topic, 0)
        try:
            self.assertEqual(admin.alter_partition_reassignments({tp: [2, 3, 4]}), {tp: None})
            self.wait_moved(topic, [2, 3, 4])
            self.assertEqual(admin.alter_partition_reassignments({tp: [4]}), {tp: None})
            self.wait_moved(topic, [4])
            before = len(writer.acked)
            self.cluster.wait_for(lambda: len(writer.acked) >= before + 100, SETTLE_S, "writes to one replica")
        finally:
            admin.close()
        self.assert_nothing_lost(writer)
        self.ok()

    def test_d_a_cancel_while_the_new_replica_cannot_catch_up(self):
        """A spare node is stopped (SIGSTOP) before the move to it is accepted, so it stays a learner
        that never catches up and the move stays in progress: List shows it, and a cancel brings the
        partition back to the replicas it began with. The spare deletes its copy when it resumes."""
        from kafka import KafkaAdminClient, TopicPartition

        topic = "move-cancel"
        paused, awake, (a, b, c) = self.spare()
        writer = self.writing(topic, [a, b, c], 100)
        tp = TopicPartition(topic, 0)
        spare = paused.node_id
        admin = KafkaAdminClient(bootstrap_servers=awake, request_timeout_ms=30000)
        try:
            warm(admin)
            paused.signal(signal.SIGSTOP)
            # Repeating the alter, or the lists, changes nothing.
            self.assertEqual(while_paused(lambda: admin.alter_partition_reassignments({tp: [spare, b, c]})), {tp: None})
            listed = while_paused(admin.list_partition_reassignments)
            self.assertEqual(listed.get(tp), {"replicas": [spare, b, c, a], "adding_replicas": [spare],
                                              "removing_replicas": [a]})
            self.assertEqual(while_paused(lambda: admin.list_partition_reassignments({topic: [0]})), listed)
            self.assertEqual(while_paused(lambda: admin.list_partition_reassignments({topic: [1]})), {}, "no partition 1")
            # A repeated cancel may find the move already back at its origin.
            from kafka.errors import NoReassignmentInProgressError
            cancelled = while_paused(lambda: admin.alter_partition_reassignments({tp: None}))
            self.assertIn(cancelled[tp], (None, NoReassignmentInProgressError))
            paused.signal(signal.SIGCONT)
            paused = None
            self.wait_moved(topic, [a, b, c])  # the origin, in its order
        finally:
            if paused is not None:
                paused.signal(signal.SIGCONT)
            admin.close()
        self.assert_nothing_lost(writer)
        self.ok()

    def test_e_the_new_replica_is_killed_mid_move(self):
        """kill -9 of node 4 right after the move to it is accepted, then a restart: its replica
        comes back (empty or with what it had synced) and the move ends as if nothing happened."""
        from kafka import TopicPartition

        topic = "move-killed"
        writer = self.writing(topic, [1, 2, 3], 200)
        admin = self.admin()
        tp = TopicPartition(topic, 0)
        victim = self.node(4)
        try:
            self.assertEqual(admin.alter_partition_reassignments({tp: [1, 2, 4]}), {tp: None})
            victim.kill()
            victim.start([m.gossip_addr for m in self.cluster.nodes if m is not victim])
            self.wait_ready()
            self.wait_moved(topic, [1, 2, 4])
        finally:
            admin.close()
        self.assert_nothing_lost(writer)
        self.ok()

    # --- kafkajs ------------------------------------------------------------------------------------

    def test_f_kafkajs_moves_and_lists(self):
        """kafkajs 2.2.4's alterPartitionReassignments and listPartitionReassignments (v0): a move
        while writing, a refusal, and a growth to node 4 kept in progress (node 4 stopped) as kafkajs
        lists it. kafkajs cannot cancel, so kafka-python ends that move."""
        script = self.kafkajs("kafkajs_reassign.js")
        topic = "move-kafkajs"
        paused, awake, (a, b, c) = self.spare()
        spare = paused.node_id
        writer = self.writing(topic, [a, b], 100)
        self.assertEqual(reassign_clients.kafkajs_alter(script, self.bootstrap, {(topic, 0): [a, c]}), {"ok": True})
        self.wait_moved(topic, [a, c])
        refused = reassign_clients.kafkajs_alter(script, self.bootstrap, {(topic, 0): [a, 9]})
        self.assertEqual([p["type"] for p in refused["error"]["partitions"]], ["INVALID_REPLICA_ASSIGNMENT"], refused)

        from kafka import KafkaAdminClient, TopicPartition

        admin = KafkaAdminClient(bootstrap_servers=awake, request_timeout_ms=30000)
        try:
            warm(admin)
            paused.signal(signal.SIGSTOP)
            self.assertEqual(reassign_clients.kafkajs_alter(script, awake, {(topic, 0): [a, c, spare]}), {"ok": True})
            listed = reassign_clients.kafkajs_list(script, awake)
            want = {(topic, 0): {"replicas": [a, c, spare], "adding_replicas": [spare], "removing_replicas": []}}
            self.assertEqual(listed, want)
            self.assertEqual(reassign_clients.kafkajs_list(script, awake, [(topic, 0)]), want)
            from kafka.errors import NoReassignmentInProgressError
            tp = TopicPartition(topic, 0)
            cancelled = while_paused(lambda: admin.alter_partition_reassignments({tp: None}))
            self.assertIn(cancelled[tp], (None, NoReassignmentInProgressError))
        finally:
            paused.signal(signal.SIGCONT)
            admin.close()
        self.wait_moved(topic, [a, c])
        self.assert_nothing_lost(writer)
        self.ok()

    # --- Kafka's own kafka-reassign-partitions ------------------------------------------------------

    def test_g_kafkas_reassign_tool(self):
        """Kafka 4.0.1's kafka-reassign-partitions as an operator runs it: --execute, then --verify
        until it reports the move complete, and --list with nothing in progress."""
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        cp = kafka_tools_classpath(work)
        if cp is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools from Maven unavailable")
        topic = "move-kafka-tool"
        writer = self.writing(topic, [2, 3, 4], 100)
        moves = {(topic, 0): [1, 3, 4]}
        code, out = reassign_clients.kafka_reassign_tool(cp, self.bootstrap, "--execute", moves)
        self.assertEqual(code, 0, out)
        self.assertIn("Successfully started partition reassignment", out)

        def verified():
            code, out = reassign_clients.kafka_reassign_tool(cp, self.bootstrap, "--verify", moves)
            self.assertEqual(code, 0, out)
            return f"Reassignment of partition {topic}-0 is completed" in out

        self.cluster.wait_for(verified, SETTLE_S, "kafka-reassign-partitions --verify to report completion")
        self.wait_moved(topic, [1, 3, 4])
        code, out = reassign_clients.kafka_reassign_tool(cp, self.bootstrap, "--list")
        self.assertEqual(code, 0, out)
        self.assertIn("No partition reassignments found", out)
        self.assert_nothing_lost(writer)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka admin moves")
