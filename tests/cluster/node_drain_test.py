"""Maintenance mode (docs/operations.md "Maintenance: drain") against a real 3-node chronik cluster on
127.0.0.x, with confluent-kafka 2.16.1 (librdkafka) as the client, producing the whole time:

  a. a drain that cannot finish (a single-replica topic on node 2) times out with a line naming the
     partition left and exit code 1;
  b. `chronik-server node drain 2` returns once node 2 leads nothing: no partition in Metadata from
     any broker, not `__meta`;
  c. node 2 is restarted while drained: `__meta` still says drained, and once it is back in sync it
     still leads nothing; a preferred-leader election of its partitions answers
     PREFERRED_LEADER_NOT_AVAILABLE and moves nothing;
  d. `chronik-server node undrain 2`, and a preferred-leader election gives node 2 its partitions back;
  e. the ExecStop form `node drain --self --config FILE` drains node 3 and `node undrain --self` ends it;
  f. no acknowledged record was lost: every record the producer saw acknowledged (acks=all,
     idempotent) is read back at its offset, and records were acknowledged during every phase.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/node_drain_test.py --server build/daemon/chronik-server
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acked_producer import Producing, assert_all_readable  # noqa: E402
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 40
TOPICS = ["drain-a", "drain-b", "drain-c"]
PARTITIONS = 3


class NodeDrain(AdminSuite):

    def cli(self, *args, timeout=120):
        node1 = self.cluster.nodes[0]
        cmd = [SERVER, "node", *args]
        if "--self" not in args:
            cmd += ["--admin", node1.admin_addr, "--admin-token-file", node1.admin_token_file]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def leaders(self, via=None):
        """{(topic, partition): leader} of TOPICS as Metadata from `via` (or any broker) shows them;
        None where there is no leader, or for everything when the broker does not answer."""
        from confluent_kafka.admin import AdminClient

        nodes = [via] if via else [n for n in self.cluster.nodes if n.running()]
        admin = AdminClient({"bootstrap.servers": ",".join(kafka_addr(n) for n in nodes)})
        try:
            md = admin.list_topics(timeout=10)
        except Exception:  # noqa: BLE001 - a broker that is starting: ask again
            return None
        out = {}
        for t in TOPICS:
            tm = md.topics.get(t)
            for p in range(PARTITIONS):
                pm = tm.partitions.get(p) if tm is not None and tm.error is None else None
                out[(t, p)] = pm.leader if pm is not None and pm.leader >= 0 else None
        return out

    def replicas(self, via=None):
        """{(topic, partition): (replicas, sorted ISR)} as Metadata from `via` (or any broker) shows them."""
        from confluent_kafka.admin import AdminClient

        bootstrap = kafka_addr(via) if via else self.bootstrap
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        return {(t, p): (list(md.topics[t].partitions[p].replicas), sorted(md.topics[t].partitions[p].isrs))
                for t in TOPICS for p in range(PARTITIONS)}

    def drain_status(self, node_id, via=None):
        via = via or self.cluster.nodes[0]
        return via.admin_json(f"/v1/nodes/{node_id}/drain")

    def leads_nowhere(self, node_id):
        """Every running broker's Metadata names another leader for every partition, and `__meta`
        is led elsewhere."""
        for n in self.cluster.nodes:
            if not n.running():
                continue
            seen = self.leaders(via=n)
            if seen is None or any(v is None or v == node_id for v in seen.values()):
                return False
            c = n.cluster()
            if c is None or c.get("meta_leader") in (None, 0, node_id):
                return False
        return True

    def elect_preferred(self, partitions):
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import AdminClient
        from confluent_kafka import ElectionType

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        tps = [TopicPartition(t, p) for t, p in partitions]
        got = admin.elect_leaders(ElectionType.PREFERRED, tps).result()
        return {(tp.topic, tp.partition): err for tp, err in got.items()}

    def test_drain_restart_undrain(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for f in admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3) for t in TOPICS]).values():
            f.result(timeout=30)
        def all_led():
            seen = self.leaders()
            return seen is not None and None not in seen.values()

        self.cluster.wait_for(all_led, SETTLE_S, "a leader for every partition")

        def all_in_sync():
            # Every running broker's view: Metadata answers from the broker's own copy of `__meta`
            # (docs/kafka.md "Metadata"), and a broker that just restarted may still show the ISR
            # from before it stopped, while ElectLeaders refuses by what the leaders reported since.
            try:
                return all(len(isr) == 3 for n in self.cluster.nodes if n.running()
                           for _, isr in self.replicas(via=n).values())
            except Exception:  # noqa: BLE001 - a broker restarting: ask again
                return False

        self.cluster.wait_for(all_in_sync, SETTLE_S, "every replica in sync")
        replicas = {k: r for k, (r, _) in self.replicas().items()}
        preferred_2 = [k for k, r in replicas.items() if r[0] == 2]
        self.assertTrue(preferred_2, "the assignment rotates preferred leaders over the brokers")
        # Leaders home first, so node 2 leads something to drain.
        for k, err in self.elect_preferred(list(replicas)).items():
            self.assertTrue(err is None or err.code() == KafkaError.ELECTION_NOT_NEEDED, (k, err))
        self.cluster.wait_for(lambda: (self.drain_status(2) or {}).get("partitions_led", 0) >= len(preferred_2),
                              SETTLE_S, "node 2 leading its preferred partitions in __meta")

        producing = Producing(self.bootstrap, TOPICS, PARTITIONS)
        producing.thread.start()
        try:
            producing.wait_more(0, SETTLE_S, "before the drain")

            # a. A single replica on node 2 has nowhere to go: the drain times out and says so.
            admin.create_topics([NewTopic("drain-solo", num_partitions=1, replica_assignment=[[2]])])["drain-solo"].result(timeout=30)
            self.cluster.wait_for(lambda: any(p == "drain-solo-0" for p in (self.drain_status(2) or {}).get("partitions", [])),
                                  SETTLE_S, "node 2 leading drain-solo-0")
            stuck = self.cli("drain", "2", "--timeout-s", "8")
            self.assertEqual(stuck.returncode, 1, stuck.stdout + stuck.stderr)
            self.assertIn("timed out after 8 s", stuck.stderr)
            self.assertIn("drain-solo-0", stuck.stderr)
            self.assertIn("it stays drained", stuck.stderr)
            admin.delete_topics(["drain-solo"])["drain-solo"].result(timeout=30)

            # b. Without it the drain finishes: node 2 leads nothing, seen from every broker.
            before = producing.count()
            done = self.cli("drain", "2", "--timeout-s", "60")
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("node 2 drained: it leads nothing", done.stdout)
            self.cluster.wait_for(lambda: self.leads_nowhere(2), SETTLE_S, "no leadership on node 2 anywhere")
            producing.wait_more(before, SETTLE_S, "after the drain")

            # c. Restart node 2 while drained: it stays drained and leads nothing once back in sync.
            node2 = self.cluster.nodes[1]
            node2.signal(15)
            self.assertEqual(node2.wait_exit(30), 0)
            before = producing.count()
            producing.wait_more(before, SETTLE_S, "while node 2 is down")
            node2.start([m.gossip_addr for m in self.cluster.nodes if m is not node2])
            self.wait_ready()
            self.cluster.wait_for(all_in_sync, SETTLE_S, "node 2 back in sync")
            status = self.drain_status(2, via=node2)
            self.assertTrue(status and status["drained"], status)
            self.assertTrue(self.leads_nowhere(2), self.leaders())
            refused = self.elect_preferred(preferred_2)
            for k in preferred_2:
                self.assertIsNotNone(refused[k], k)
                self.assertEqual(refused[k].code(), KafkaError.PREFERRED_LEADER_NOT_AVAILABLE, (k, refused[k]))
            self.assertTrue(self.leads_nowhere(2), self.leaders())
            before = producing.count()
            producing.wait_more(before, SETTLE_S, "after node 2's restart")

            # d. Undrained, node 2 takes its preferred partitions back in a preferred-leader election.
            back = self.cli("undrain", "2", "--timeout-s", "30")
            self.assertEqual(back.returncode, 0, back.stdout + back.stderr)
            self.assertIn("node 2 undrained", back.stdout)
            # The election asks `__meta`'s ISR, which is what the leaders last reported, a second or
            # so behind their own view. Two fresh-clone runs saw it without node 2 here although the
            # wait after the restart had seen node 2 in it on every broker (cause not found yet):
            # wait until every broker shows node 2 in it again. An ISR that never takes node 2 back
            # still fails here.
            self.cluster.wait_for(all_in_sync, SETTLE_S, "node 2 in every ISR before the election")
            for k, err in self.elect_preferred(preferred_2).items():
                self.assertIsNone(err, (k, err, [(n.node_id, self.replicas(via=n)[k]) for n in self.cluster.nodes]))
            self.cluster.wait_for(lambda: all((self.leaders() or {}).get(k) == 2 for k in preferred_2), SETTLE_S,
                                  "node 2 leading its preferred partitions again")

            # e. The service manager's form: the node a config file describes, through its own admin port.
            node3 = self.cluster.nodes[2]
            config = os.path.join(self.cluster.root, "node-3-drain.toml")
            with open(config, "w") as f:
                f.write(f'node_id = 3\nbind = "{node3.ip}"\nadmin_port = {node3.admin_port}\n'
                        f'data_dir = "{node3.data_dir}"\nadmin_token_file = "{node3.admin_token_file}"\n')
            self_drain = self.cli("drain", "--self", "--config", config, "--timeout-s", "60")
            self.assertEqual(self_drain.returncode, 0, self_drain.stdout + self_drain.stderr)
            self.assertIn("node 3 drained: it leads nothing", self_drain.stdout)
            self.cluster.wait_for(lambda: self.leads_nowhere(3), SETTLE_S, "no leadership on node 3 anywhere")
            self_undrain = self.cli("undrain", "--self", "--config", config, "--timeout-s", "30")
            self.assertEqual(self_undrain.returncode, 0, self_undrain.stdout + self_undrain.stderr)
            before = producing.count()
            producing.wait_more(before, SETTLE_S, "at the end")
        finally:
            producing.finish()

        # f. Nothing acknowledged is lost.
        self.assertEqual(producing.errors, [], "every record was acknowledged")
        assert_all_readable(self, self.bootstrap, producing.acked, "drain-check")
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "node_drain")
