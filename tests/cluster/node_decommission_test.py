"""Decommission (docs/operations.md "Decommissioning a node") against a real 4-node chronik cluster on
127.0.0.x, with confluent-kafka 2.16.1 (librdkafka) as the client, producing the whole time:

  a. a decommission that would leave fewer brokers than a topic's replicas is refused at once, with
     the reason and exit code 1, and changes nothing;
  b. a decommission that cannot finish (its only taker is down) reports the partition stuck, and a
     cancel stops it: the node takes replicas and leads again;
  c. `chronik-server node decommission 2` (node 2 a `__meta` voter, node 4 its learner) prints its
     progress and returns once `__meta` records node 2 done: no partition lists node 2 and each
     keeps 3 replicas all in sync, `__meta` has 3 voters without node 2, Metadata from every broker
     (node 2's own included) lists 3 brokers, node 2's /health says it is decommissioned, and node
     2, still running, is not added back;
  d. a second decommission is then refused (two brokers left for replication factor 3), and node 2
     stops;
  e. no acknowledged record was lost: every record the producer saw acknowledged (acks=all,
     idempotent) is read back at its offset, and records were acknowledged during every phase.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/node_decommission_test.py --server build/daemon/chronik-server
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acked_producer import Producing, assert_all_readable  # noqa: E402
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 60
TOPICS = ["decom-a", "decom-b"]
PARTITIONS = 4


class NodeDecommission(AdminSuite):
    size = 4

    def cli(self, *args, timeout=300):
        node1 = self.cluster.nodes[0]
        cmd = [SERVER, "node", "decommission", *args, "--admin", node1.admin_addr,
               "--admin-token-file", node1.admin_token_file]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def metadata(self):
        """(broker ids, {(topic, partition): (replicas, sorted isr, leader)}) as Metadata shows them."""
        from confluent_kafka.admin import AdminClient

        md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=10)
        parts = {}
        for t in TOPICS:
            tm = md.topics.get(t)
            for p in range(PARTITIONS):
                pm = tm.partitions.get(p) if tm is not None and tm.error is None else None
                if pm is not None:
                    parts[(t, p)] = (list(pm.replicas), sorted(pm.isrs), pm.leader)
        return sorted(md.brokers), parts

    def settled(self, without=None):
        """Every partition has a leader and 3 replicas, all in sync, none on `without`."""
        try:
            _, parts = self.metadata()
        except Exception:  # noqa: BLE001 - a broker busy for a moment: ask again
            return False
        return len(parts) == len(TOPICS) * PARTITIONS and all(
            leader >= 0 and len(r) == 3 and sorted(r) == isr and without not in r for r, isr, leader in parts.values())

    def progress(self, node_id):
        return self.cluster.nodes[0].admin_json(f"/v1/nodes/{node_id}/decommission")

    def broker_state(self, node_id):
        c = self.cluster.nodes[0].cluster() or {}
        return next((b["state"] for b in c.get("brokers", []) if b["node_id"] == node_id), None)

    def meta_conf(self):
        c = self.cluster.nodes[0].cluster() or {}
        return sorted(c.get("voters", [])), sorted(c.get("learners", []))

    def test_decommission_a_voter_under_load(self):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for f in admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3) for t in TOPICS]).values():
            f.result(timeout=30)
        self.cluster.wait_for(self.settled, SETTLE_S, "every partition led and in sync")
        self.cluster.wait_for(lambda: self.meta_conf() == ([1, 2, 3], [4]), SETTLE_S,
                              "__meta voters 1-3 and learner 4")

        producing = Producing(self.bootstrap, TOPICS, PARTITIONS)
        producing.thread.start()
        try:
            producing.wait_more(0, SETTLE_S, "before the decommission")

            # a. Four replicas need four brokers: refused at once, nothing changes.
            admin.create_topics([NewTopic("decom-wide", num_partitions=1, replication_factor=4)])["decom-wide"].result(timeout=30)
            refused = self.cli("2", "--timeout-s", "30")
            self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
            self.assertIn("HTTP 409", refused.stderr)
            self.assertIn("too few brokers", refused.stderr)
            self.assertEqual(self.progress(2)["state"], "none")
            admin.delete_topics(["decom-wide"])["decom-wide"].result(timeout=30)

            # b. A decommission that cannot finish reports what is stuck, and a cancel stops it: a
            # partition pinned on 1, 2 and 4 can only go to node 3, which is down meanwhile (moves
            # whose target keeps node 3 wait for it too, as Kafka's do for every target replica).
            admin.create_topics([NewTopic("decom-pinned", num_partitions=1, replica_assignment=[[1, 2, 4]])])[
                "decom-pinned"].result(timeout=30)
            node3 = self.cluster.nodes[2]
            node3.signal(15)
            self.assertEqual(node3.wait_exit(30), 0)
            self.cluster.wait_for(lambda: self.broker_state(3) in ("dead", "left"), SETTLE_S, "broker 3 down in __meta")
            started = self.cli("4", "--timeout-s", "5")
            self.assertEqual(started.returncode, 1, started.stdout + started.stderr)
            self.assertIn("stuck: no broker can take them", started.stderr)
            self.assertIn("it goes on", started.stderr)
            status = self.progress(4)
            self.assertEqual(status["state"], "moving", status)
            self.assertGreaterEqual(status["stuck"], 1, status)  # decom-pinned-0 at least
            cancelled = self.cli("4", "--cancel", "--timeout-s", "60")
            self.assertEqual(cancelled.returncode, 0, cancelled.stdout + cancelled.stderr)
            self.assertIn("decommission cancelled", cancelled.stdout)
            self.assertEqual(self.progress(4)["state"], "none")
            node3.start([m.gossip_addr for m in self.cluster.nodes if m is not node3])
            self.wait_ready()
            admin.delete_topics(["decom-pinned"])["decom-pinned"].result(timeout=30)
            self.cluster.wait_for(self.settled, SETTLE_S, "every partition settled after the cancel")
            # While node 3 was down, node 4 may have replaced it as a voter once the cancel made it
            # eligible again; either way three voters and a learner.
            self.cluster.wait_for(lambda: [len(x) for x in self.meta_conf()] == [3, 1], SETTLE_S,
                                  "three __meta voters and a learner again")

            # c. Node 2, a voter of __meta, leaves for good while the producer writes.
            self.assertIn(2, self.meta_conf()[0])
            before = producing.count()
            done = self.cli("2", "--timeout-s", "240")
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("node 2: decommissioned", done.stdout)
            producing.wait_more(before, SETTLE_S, "during the decommission")
            status = self.progress(2)
            self.assertEqual((status["state"], status["partitions_left"], status["meta_member"]), ("done", 0, "none"))
            self.cluster.wait_for(lambda: self.settled(without=2), SETTLE_S, "3 replicas in sync off node 2")
            voters, learners = self.meta_conf()
            self.assertEqual((voters, learners), ([1, 3, 4], []))
            brokers, _ = self.metadata()
            self.assertEqual(brokers, [1, 3, 4])
            self.assertTrue(self.cluster.nodes[1].running(), "node 2 still runs, out of the cluster")
            health_status, health = self.cluster.nodes[1].admin("/health", token=None)
            self.assertEqual(health_status, 503, health)
            self.assertTrue(health.get("reason", "").startswith("decommissioned"), health)

            # d. Two brokers cannot hold replication factor 3; node 2 stops and nothing moves back.
            again = self.cli("3", "--timeout-s", "30")
            self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
            self.assertIn("too few brokers", again.stderr)
            node2 = self.cluster.nodes[1]
            node2.signal(15)
            self.assertEqual(node2.wait_exit(30), 0)
            before = producing.count()
            producing.wait_more(before, SETTLE_S, "after node 2 stopped")
            self.assertEqual(self.meta_conf(), ([1, 3, 4], []))
            self.assertTrue(self.settled(without=2))
        finally:
            producing.finish()

        # e. Nothing acknowledged is lost.
        self.assertEqual(producing.errors, [], "every record was acknowledged")
        assert_all_readable(self, self.bootstrap, producing.acked, "decommission-check")
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "node_decommission")
