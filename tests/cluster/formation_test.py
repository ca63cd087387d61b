"""Real-process formation suite (issue 4, so far): chronik-server nodes on 127.0.0.x decide their
cluster through gossip and the bootstrap coordinator. Checks: every start order of 3 nodes gives
one cluster id on all three; a restart of every node keeps it and founds nothing; 5 nodes with
bootstrap_expect 3 give one cluster of 3 voters while the other two ask to join it.

Run: /usr/bin/python3 tests/cluster/formation_test.py --server build/daemon/chronik-server
"""
import itertools
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 20


def read_log(node):
    with open(node.log_path, errors="replace") as f:
        return f.read()


def formations(cluster):
    """{node_id: (formation, cluster_id)} as every running node reports itself."""
    out = {}
    for n in cluster.nodes:
        if not n.running():
            continue
        view = n.members() or {}
        me = view.get(n.node_id)
        if me is None:
            return None
        out[n.node_id] = (me.get("formation"), me.get("cluster_id"))
    return out


def one_cluster(cluster, members):
    f = formations(cluster)
    if f is None:
        return False
    ids = {cid for state, cid in f.values() if state == "member"}
    count = sum(1 for state, _ in f.values() if state == "member")
    return len(ids) == 1 and count == members


class Formation(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(SEED)
        self.failed = True
        self.cluster = None

    def tearDown(self):
        if self.cluster:
            self.cluster.cleanup(keep_logs_on_failure=self.failed)
        if self.failed:
            print(f"replay with CHRONIK_TEST_SEED={SEED}")

    def start(self, n, order, expect=3):
        c = self.cluster
        for k, idx in enumerate(order):
            node = c.nodes[idx]
            seeds = [c.nodes[j].gossip_addr for j in range(n) if j != idx]
            node.start(self.rng.sample(seeds, 2), ["--bootstrap-expect", str(expect)])
            if k + 1 < len(order):
                time.sleep(self.rng.uniform(0, 0.3))  # random start gaps are the scenario
        return time.monotonic()

    def test_every_start_order_of_three(self):
        for order in itertools.permutations(range(3)):
            self.cluster = Cluster(SERVER, 3)
            last = self.start(3, order)
            done = self.cluster.wait_for(lambda: one_cluster(self.cluster, 3), FORM_S, f"one cluster, order {order}")
            print(f"order {order}: all 3 members {done - last:.2f}s after the last start")
            self.cluster.cleanup()
            self.cluster = None
        self.failed = False

    def test_restart_of_every_node_keeps_the_cluster(self):
        self.cluster = c = Cluster(SERVER, 3)
        self.start(3, [0, 1, 2])
        c.wait_for(lambda: one_cluster(c, 3), FORM_S, "one cluster")
        cluster_id = next(iter(formations(c).values()))[1]
        for n in c.nodes:
            n.signal(signal.SIGTERM)
            self.assertEqual(n.wait_exit(15), 0)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n])
        c.wait_for(lambda: one_cluster(c, 3), FORM_S, "the cluster after restarts")
        self.assertEqual({cid for _, cid in formations(c).values()}, {cluster_id})
        for n in c.nodes:
            log = read_log(n)
            # The first run promised once; a restart re-announces membership and never founds.
            self.assertEqual(log.count("formation: promised"), 1, f"node {n.node_id} founded or promised again")
        self.failed = False

    def test_five_nodes_expect_three(self):
        self.cluster = c = Cluster(SERVER, 5)
        order = list(range(5))
        self.rng.shuffle(order)
        self.start(5, order)
        c.wait_for(lambda: one_cluster(c, 3), FORM_S, "one cluster of 3 among 5")
        f = formations(c)
        fresh = [i for i, (state, _) in f.items() if state != "member"]
        self.assertEqual(len(fresh), 2)
        cluster_id = next(cid for state, cid in f.values() if state == "member")
        for i in fresh:
            node = c.nodes[i - 1]
            c.wait_for(lambda: f"asking cluster {cluster_id} to add this node" in read_log(node), FORM_S,
                       f"node {i} to ask to join")
            self.assertNotIn("formation: promised", read_log(node), f"node {i} was not among the lowest 3 yet promised")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "formation")
