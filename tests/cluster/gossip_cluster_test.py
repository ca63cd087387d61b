"""Real-process gossip suite (issue 2): 5 chronik-server nodes on 127.0.0.x, started in random
orders with random delays and partial seed lists; kill -9 detection, SIGTERM as left, rejoin.

Run: /usr/bin/python3 tests/cluster/gossip_cluster_test.py --server build/daemon/chronik-server
CHRONIK_TEST_SEED replays the random choices of one run.
"""
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, connected_seed_lists, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
# The local preset detects a failure within about 2 s (docs/gossip.md "Bounds"); loaded CI machines
# get generous multiples of every bound.
CONVERGE_S = 20
DETECT_S = 20


class GossipCluster(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(SEED + hash(self._testMethodName) % 1000)
        self.cluster = Cluster(SERVER, 5)
        self.failed = True

    def tearDown(self):
        self.cluster.cleanup(keep_logs_on_failure=self.failed)
        if self.failed:
            print(f"replay with CHRONIK_TEST_SEED={SEED}")

    def start_randomly(self):
        seeds = connected_seed_lists(self.rng, self.cluster.nodes)
        order = self.cluster.nodes[:]
        self.rng.shuffle(order)
        for n in order:
            n.start(seeds[n.node_id])
            time.sleep(self.rng.uniform(0, 0.5))  # random start gaps are the scenario, not a sync
        self.cluster.wait_for(self.cluster.converged, CONVERGE_S, "5 nodes to see each other alive")

    def test_any_order_partial_seeds_converge_then_failures(self):
        c = self.cluster
        self.start_randomly()

        victim = self.rng.choice(c.nodes)
        killed_at = time.monotonic()
        victim.kill()
        seen_at = c.wait_for(lambda: c.all_see(victim, "dead"), DETECT_S, f"kill -9 of node {victim.node_id} seen as dead")
        print(f"kill -9 of node {victim.node_id} seen dead by all in {seen_at - killed_at:.2f}s")

        leaver = self.rng.choice([n for n in c.nodes if n.running()])
        leaver.signal(signal.SIGTERM)
        self.assertEqual(leaver.wait_exit(15), 0, "SIGTERM must exit 0 after leaving")
        c.wait_for(lambda: c.all_see(leaver, "left"), DETECT_S, f"node {leaver.node_id} seen as left")

        # The killed node restarts with its data dir (same uuid) and rejoins; so does the leaver.
        survivors = [n for n in c.nodes if n.running()]
        old_inc = c.view(survivors[0])[victim.node_id]["incarnation"]
        victim.start([self.rng.choice(survivors).gossip_addr])
        leaver.start([self.rng.choice(survivors).gossip_addr])
        c.wait_for(c.converged, CONVERGE_S, "restarted nodes to rejoin")
        new_inc = c.view(survivors[0])[victim.node_id]["incarnation"]
        self.assertGreater(new_inc, old_inc, "a rejoin must outbid the dead entry's incarnation")
        self.failed = False

    def test_seeds_down_at_first_and_members_command(self):
        c = self.cluster
        # Every node names only node 1, which starts last: joins must retry until it answers.
        first = c.nodes[0]
        for n in c.nodes[1:]:
            n.start([first.gossip_addr])
        time.sleep(1.0)  # the scenario: seeds unreachable for a while
        first.start([c.nodes[1].gossip_addr])
        c.wait_for(c.converged, CONVERGE_S, "joins to retry until the seed is up")

        out = subprocess.run([SERVER, "cluster", "members", "--admin", first.admin_addr, "--json",
                              "--admin-token-file", first.admin_token_file],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        import json
        members = json.loads(out.stdout)
        self.assertEqual(sorted(m["node_id"] for m in members), [1, 2, 3, 4, 5])
        for m in members:
            for key in ("node_id", "address", "state", "incarnation"):
                self.assertIn(key, m)
        table = subprocess.run([SERVER, "cluster", "members", "--admin", first.admin_addr,
                                "--admin-token-file", first.admin_token_file],
                               capture_output=True, text=True, timeout=10)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertEqual(table.stdout.count("alive"), 5, table.stdout)
        self.failed = False

    def test_bad_config_exits_2_with_one_line(self):
        n = self.cluster.nodes[0]
        cfg = os.path.join(self.cluster.root, "bad.toml")
        with open(cfg, "w") as f:
            f.write("node_id = 1\nno_such_key = 3\n")
        out = subprocess.run([SERVER, "start", "--config", cfg], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("no_such_key", out.stderr)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
        out = subprocess.run(n.command([]) + ["--bind", "300.1.1.1"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("bind", out.stderr)
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "cluster")
