"""`chronik-server group list|describe|reset-offsets|delete` (daemon/group_command.h) run as the real
binary against a real 3-node cluster on 127.0.0.x, checked against what confluent-kafka produced
and committed and against what kafka-python's admin client reads back (issue 16).

- A topic of 3 partitions gets 10, 7 and 4 records. A confluent-kafka consumer of a group reads and
  commits {p0: 6, p1: 7, p2: 0}; a second one joins and they split the partitions. Both stay.
- `group list` shows the group (Stable, protocol type consumer); `group describe` shows its two
  members with their client ids and disjoint assignments covering the 3 partitions, and per
  partition its owner, the committed offset, the log end offset and the lag (4, 0, 4), in JSON and
  in the table.
- `group reset-offsets --execute` is refused while the members are in the group (exit 1, one line
  saying so), and the dry run prints the plan without committing.
- After the consumers close: --to-earliest --execute moves every committed offset to 0,
  --to-offset 5 on T:0 moves only partition 0, --to-latest moves all to the log ends, each
  checked through kafka-python's OffsetFetch.
- `group delete` removes the group (then describe says it does not exist); a group with a member
  is refused.
- The CLI bootstraps from a node that does not coordinate the group, so every group request
  follows FindCoordinator.
- A broker that is not there is one line and exit 1.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/group_cli_test.py --server build/daemon/chronik-server
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from rolling_group import list_group_offsets  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 60  # for topic leaders, a consumer's assignment, a group to be served
CLI_S = 90  # one CLI run (it retries coordinator moves for about 10 s, each request 10 s at most)
RECORDS = {0: 10, 1: 7, 2: 4}
COMMITS = {0: 6, 1: 7, 2: 0}
CLIENT_IDS = ("group-cli-a", "group-cli-b")


class GroupCli(AdminSuite):

    via = None  # the node the CLI bootstraps from: one that does not coordinate the group

    def cli(self, *args, bootstrap=None):
        """Runs `chronik-server group ARGS --bootstrap B`; returns the completed process."""
        b = bootstrap or kafka_addr(self.via or self.cluster.nodes[1])
        return subprocess.run([SERVER, "group", *args, "--bootstrap", b], capture_output=True, text=True,
                              timeout=CLI_S)

    def cli_json(self, *args):
        out = self.cli(*args, "--json")
        self.assertEqual(out.returncode, 0, f"group {args}: {out.stderr}")
        return json.loads(out.stdout)

    def poll(self, fn, what):
        """Calls fn until it returns a true value or SETTLE_S passes; returns the value."""
        deadline = time.monotonic() + SETTLE_S
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.5)
        self.fail(f"{what} within {SETTLE_S} s; last: {last!r}")

    def make_topic(self, topic):
        """Creates `topic` with 3 partitions and writes RECORDS[p] records to each partition p."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])[topic].result(30)
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
        failed = []
        for p, n in RECORDS.items():
            for i in range(n):
                producer.produce(topic, value=f"{p}-{i}".encode(), partition=p,
                                 on_delivery=lambda err, _msg: err and failed.append(err))
        self.assertEqual(producer.flush(SETTLE_S), 0, "records left unacknowledged")
        self.assertEqual(failed, [])

    def consumer(self, group, topic, client_id):
        from confluent_kafka import Consumer

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "client.id": client_id,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        return c

    def join_and_commit(self, group, topic):
        """Two confluent-kafka consumers of `group`: the first reads a record, owning all 3
        partitions of `topic`, and commits COMMITS; then the second joins and the two split the
        partitions. The caller closes them."""
        from confluent_kafka import TopicPartition

        first = self.consumer(group, topic, CLIENT_IDS[0])
        deadline = time.monotonic() + SETTLE_S
        while len(first.assignment()) < 3 or first.poll(0.2) is None:
            self.assertLess(time.monotonic(), deadline, f"consumer of {group} got no records of all 3 partitions")
            first.poll(0.2)
        done = first.commit(offsets=[TopicPartition(topic, p, o) for p, o in COMMITS.items()], asynchronous=False)
        self.assertEqual([tp.error for tp in done], [None] * 3, done)
        second = self.consumer(group, topic, CLIENT_IDS[1])
        consumers = [first, second]

        def split():
            for c in consumers:  # both poll, so that the first rejoins while the second joins (eager rebalance)
                c.poll(0.2)
            owned = [{tp.partition for tp in c.assignment()} for c in consumers]
            return all(owned) and not owned[0] & owned[1] and owned[0] | owned[1] == {0, 1, 2}

        deadline = time.monotonic() + SETTLE_S
        while not split():
            self.assertLess(time.monotonic(), deadline, f"the two consumers of {group} never split the partitions")
        return consumers

    def coordinator(self, group):
        """The node id FindCoordinator names for `group` (through librdkafka's
        DescribeConsumerGroups), or None while no broker answers for it."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            return admin.describe_consumer_groups([group], request_timeout=10)[group].result().coordinator.id
        except Exception:  # noqa: BLE001 - no coordinator reachable yet: poll asks again
            return None

    def bootstrap_elsewhere(self, group):
        """Points the CLI at a node that does not coordinate `group`, so that it has to follow
        FindCoordinator to the coordinator."""
        c = self.poll(lambda: self.coordinator(group), f"a coordinator for {group}")
        type(self).via = next(n for n in self.cluster.nodes if n.node_id != c)

    def committed(self, group, topic):
        return {p: om.offset for p, om in list_group_offsets(self.bootstrap, group, topic, 3).items()}

    # --- the tests ----------------------------------------------------------------------------------

    def test_describe_list_reset_delete(self):
        topic = group = "cli-orders"
        self.make_topic(topic)
        consumers = self.join_and_commit(group, topic)
        self.bootstrap_elsewhere(group)
        try:
            self.check_list(group)
            self.check_describe(group, topic)
            self.check_reset_refused(group, topic)
            self.check_delete_refused(group)
        finally:
            for c in consumers:
                c.close()
        self.poll(lambda: self.cli_json("describe", group)["state"] == "Empty", f"group {group} Empty after close")
        self.check_reset(group, topic)
        self.check_delete(group)
        self.ok()

    def check_list(self, group):
        listed = self.poll(lambda: [g for g in self.cli_json("list") if g["group"] == group and g["state"] == "Stable"],
                           f"group list shows {group} Stable")
        self.assertEqual(listed[0]["protocol_type"], "consumer")
        table = self.cli("list")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("GROUP", table.stdout.splitlines()[0])
        self.assertTrue(any(line.split()[:3] == [group, "Stable", "consumer"] for line in table.stdout.splitlines()),
                        table.stdout)

    def check_describe(self, group, topic):
        d = self.poll(lambda: (lambda j: j if j["state"] == "Stable" and len(j["members"]) == 2 else None)(
            self.cli_json("describe", group)), f"group describe {group} Stable with 2 members")
        self.assertEqual(d["protocol_type"], "consumer")
        self.assertEqual(sorted(m["client_id"] for m in d["members"]), list(CLIENT_IDS))
        owner = {}
        for m in d["members"]:
            self.assertTrue(m["host"], m)
            self.assertTrue(m["assignment"], m)
            for a in m["assignment"]:
                self.assertEqual(a["topic"], topic)
                self.assertNotIn(a["partition"], owner, f"partition {a['partition']} assigned twice: {d}")
                owner[a["partition"]] = m
        self.assertEqual(sorted(owner), [0, 1, 2], d)
        rows = {r["partition"]: r for r in d["partitions"] if r["topic"] == topic}
        self.assertEqual(sorted(rows), [0, 1, 2], d)
        for p in range(3):
            self.assertEqual((rows[p]["committed"], rows[p]["log_end"], rows[p]["lag"]),
                             (COMMITS[p], RECORDS[p], RECORDS[p] - COMMITS[p]), f"partition {p}: {rows[p]}")
            self.assertEqual(rows[p]["member_id"], owner[p]["member_id"])
        table = self.cli("describe", group)
        self.assertEqual(table.returncode, 0, table.stderr)
        lines = [line.split() for line in table.stdout.splitlines()]
        self.assertIn([topic, "0", "6", "10", "4", owner[0]["member_id"], owner[0]["host"], owner[0]["client_id"]],
                      lines, table.stdout)

    def check_reset_refused(self, group, topic):
        out = self.cli("reset-offsets", group, "--topic", topic, "--to-earliest", "--execute")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("active members", out.stderr)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
        dry = self.cli("reset-offsets", group, "--topic", topic, "--to-earliest", "--json")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        plan = json.loads(dry.stdout)
        self.assertFalse(plan["executed"])
        self.assertEqual({r["partition"]: (r["current"], r["new"]) for r in plan["partitions"]},
                         {p: (COMMITS[p], 0) for p in range(3)})
        self.assertEqual(self.committed(group, topic), COMMITS, "a dry run committed")

    def check_reset(self, group, topic):
        out = self.cli("reset-offsets", group, "--topic", topic, "--to-earliest", "--execute")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.committed(group, topic), {0: 0, 1: 0, 2: 0})
        out = self.cli("reset-offsets", group, "--topic", f"{topic}:0", "--to-offset", "5", "--execute")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.committed(group, topic), {0: 5, 1: 0, 2: 0})
        out = self.cli("reset-offsets", group, "--topic", topic, "--to-latest", "--execute")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.committed(group, topic), RECORDS)
        d = self.cli_json("describe", group)
        self.assertEqual([r["lag"] for r in d["partitions"]], [0, 0, 0], d)

    def check_delete_refused(self, group):
        out = self.cli("delete", group)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("active members", out.stderr)

    def check_delete(self, group):
        out = self.cli("delete", group)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn(group, [g["group"] for g in self.cli_json("list")])
        gone = self.cli("describe", group)
        self.assertEqual(gone.returncode, 1, gone.stdout)
        self.assertIn("does not exist", gone.stderr)

    def test_unreachable_broker(self):
        out = self.cli("list", bootstrap="127.0.0.1:1")
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
        self.assertIn("cannot reach broker 127.0.0.1:1", out.stderr)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "group_cli")
