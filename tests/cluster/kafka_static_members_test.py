"""Static membership (KIP-345) and incremental cooperative rebalancing with a stock client,
confluent-kafka (librdkafka) from PyPI, against a real 3-node chronik cluster on 127.0.0.x
(issue 16; docs/kafka.md "Static membership").

- Static restart: two consumers of one group with group.instance.id s1 and s2 share a 4-partition
  topic. s2 is closed (librdkafka sends no LeaveGroup for a static member) and created again with
  the same instance id, as a restarted process would be. The group does not rebalance: s1's
  rebalance callbacks never fire again, the new s2 gets exactly the partitions the old one had,
  s1 keeps its member id while s2 has a new one, and DescribeGroups shows both instance ids.
- Cooperative: a consumer with partition.assignment.strategy=cooperative-sticky owns all 6
  partitions of a topic; a second one joins. librdkafka runs the incremental protocol on top of
  the broker's classic rebalances: the first consumer gives up only the partitions that move (it
  never loses the ones it keeps), the two are never assigned the same partition at any moment
  this process observes, and at the end they own disjoint sets covering every partition.

Every wait polls a condition until a deadline; the consumers are polled from this one thread, so
the ownership seen after each poll is a consistent picture of both.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_static_members_test.py --server build/daemon/chronik-server
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 60  # for topic leaders, a group's coordinator, a join
QUIET_S = 4  # s1 keeps polling this long after the restart: 4 heartbeats, enough to hear of a rebalance
HEARTBEAT_MS = 1000
SESSION_MS = 10000


class Tracked:
    """A confluent-kafka consumer with the partitions it owns, kept from its rebalance callbacks
    (which librdkafka runs inside poll), and every callback it got."""

    def __init__(self, bootstrap, group, topic, instance=None, strategy=None):
        from confluent_kafka import Consumer

        conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": HEARTBEAT_MS,
                "enable.auto.commit": False}
        if instance:
            conf["group.instance.id"] = instance
        if strategy:
            conf["partition.assignment.strategy"] = strategy
        self.owned = set()
        self.events = []  # ("assign" | "revoke" | "lost", sorted partitions)
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_lost)

    def on_assign(self, _consumer, partitions):
        got = {tp.partition for tp in partitions}
        self.events.append(("assign", sorted(got)))
        self.owned |= got  # eager: the whole assignment; cooperative: what is added

    def on_revoke(self, _consumer, partitions):
        gone = {tp.partition for tp in partitions}
        self.events.append(("revoke", sorted(gone)))
        self.owned -= gone

    def on_lost(self, _consumer, partitions):
        gone = {tp.partition for tp in partitions}
        self.events.append(("lost", sorted(gone)))
        self.owned -= gone

    def poll(self):
        msg = self.consumer.poll(0.1)
        if msg is not None and msg.error() is not None and not msg.error().retriable():
            raise AssertionError(f"consumer error: {msg.error()}")

    def member_id(self):
        return self.consumer.memberid()

    def close(self):
        self.consumer.close()


class KafkaStaticMembers(AdminSuite):

    def make_topic(self, topic, partitions):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])[topic].result(timeout=30)
        self.cluster.wait_for(lambda: self.leaders(admin, topic, partitions), SETTLE_S, f"leaders of {topic}")

    @staticmethod
    def leaders(admin, topic, partitions):
        try:
            t = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        except Exception:  # noqa: BLE001 - asked again
            return False
        return t is not None and t.error is None and len(t.partitions) == partitions and \
            all(p.leader >= 0 for p in t.partitions.values())

    def describe(self, group):
        """DescribeConsumerGroups of `group`, or None while it cannot be answered."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            return admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        except Exception:  # noqa: BLE001 - no coordinator yet: asked again
            return None

    def poll_until(self, consumers, done, what, check=None):
        """Polls every consumer in turn until done(); check() runs after every poll."""
        deadline = time.monotonic() + SETTLE_S
        while not done():
            self.assertLess(time.monotonic(), deadline, f"{what}: {[c.events for c in consumers]}")
            for c in consumers:
                c.poll()
                if check:
                    check()

    def stable_with(self, group, count):
        from confluent_kafka import ConsumerGroupState

        d = self.describe(group)
        return d is not None and d.state == ConsumerGroupState.STABLE and len(d.members) == count

    def test_a_restarted_static_member_takes_its_place_without_a_rebalance(self):
        topic = group = "static-restart"
        self.make_topic(topic, 4)
        s1 = Tracked(self.bootstrap, group, topic, instance="s1")
        s2 = Tracked(self.bootstrap, group, topic, instance="s2")
        restarted = None
        try:
            self.poll_until([s1, s2], lambda: len(s1.owned) + len(s2.owned) == 4 and s1.owned and s2.owned
                            and self.stable_with(group, 2), "two static members share 4 partitions")
            before = {"s1": (s1.member_id(), set(s1.owned)), "s2": (s2.member_id(), set(s2.owned))}
            s1_events = len(s1.events)
            s2.close()  # a static member sends no LeaveGroup: its place waits for it
            s2 = None
            restarted = Tracked(self.bootstrap, group, topic, instance="s2")
            self.poll_until([s1, restarted], lambda: restarted.owned, "the restarted s2 is assigned")
            quiet_until = time.monotonic() + QUIET_S
            self.poll_until([s1, restarted], lambda: time.monotonic() >= quiet_until, "s1 keeps polling")
            self.assertEqual(s1.events[s1_events:], [], "s1 saw a rebalance")
            self.assertEqual(restarted.events, [("assign", sorted(before["s2"][1]))])
            self.assertEqual(s1.owned, before["s1"][1])
            self.assertEqual(s1.member_id(), before["s1"][0])
            self.assertNotEqual(restarted.member_id(), before["s2"][0])
            d = self.describe(group)
            self.assertIsNotNone(d)
            members = {m.group_instance_id: m.member_id for m in d.members}
            self.assertEqual(members, {"s1": before["s1"][0], "s2": restarted.member_id()})
        finally:
            for c in (s1, s2, restarted):
                if c is not None:
                    c.close()
        self.ok()

    def test_b_cooperative_sticky_moves_only_what_it_must(self):
        topic = group = "cooperative"
        partitions = set(range(6))
        self.make_topic(topic, len(partitions))
        first = Tracked(self.bootstrap, group, topic, strategy="cooperative-sticky")
        second = None
        overlaps = []
        try:
            self.poll_until([first], lambda: first.owned == partitions, "the first consumer owns everything")
            second = Tracked(self.bootstrap, group, topic, strategy="cooperative-sticky")

            def disjoint():
                if first.owned & second.owned:
                    overlaps.append((sorted(first.owned), sorted(second.owned)))

            self.poll_until([first, second], lambda: second.owned and first.owned | second.owned == partitions
                            and not first.owned & second.owned and self.stable_with(group, 2),
                            "both consumers own disjoint shares of every partition", check=disjoint)
            self.assertEqual(overlaps, [], "a partition was owned by both consumers at once")
            self.assertEqual(len(first.owned), 3)
            self.assertEqual(len(second.owned), 3)
            # Incremental: the first consumer was never told to give up what it kept, and gave up
            # exactly what the second one got; the second was only ever added to.
            # (librdkafka reports every cooperative rebalance to both, often with nothing in it.)
            revoked = set()
            for kind, ps in first.events[1:]:
                self.assertTrue(kind == "revoke" or not ps, f"first consumer: {first.events}")
                revoked |= set(ps) if kind == "revoke" else set()
            self.assertEqual(revoked, second.owned)
            self.assertTrue(all(kind == "assign" for kind, _ in second.events), second.events)
        finally:
            for c in (first, second):
                if c is not None:
                    c.close()
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka static members")
