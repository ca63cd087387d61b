"""Real-process formation suite (issue 4): chronik-server nodes on 127.0.0.x decide their cluster
through gossip and the bootstrap coordinator, run `__meta` over the Cap'n Proto transport, and
register every broker. Checks: every start order of 3 nodes gives one cluster id on all three and
all 3 brokers registered on every node under one `__meta` leader; a restart of every node keeps it
and founds nothing; 5 nodes with bootstrap_expect 3 found a cluster of 3 and the other two join
it (learner, then voter up to 5) without promising; kill -9 of the `__meta` leader elects a new
leader among the other two and keeps the registrations; a 4th node started later joins as a
learner and a broker; a wiped node has its old replica removed and rejoins with its new uuid; a
voter killed with kill -9 is marked dead and, after voter_replace_after, replaced by the live
learner, so the cluster then survives the loss of a second voter (docs/design.md "Formation"
property 6); with snapshots every few entries, a late node is brought up to date by a snapshot of
`__meta`. Every cluster view checked is a linearizable read (ReadIndex).

Run: /usr/bin/python3 tests/cluster/formation_test.py --server build/daemon/chronik-server
"""
import itertools
import os
import random
import shutil
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


def registered(cluster, members):
    """Every running node's /v1/cluster lists exactly `members` brokers, all of them running
    member nodes, under the same known `__meta` leader; returns that view (of the first node)."""
    views = []
    for n in cluster.nodes:
        if not n.running():
            continue
        v = n.cluster()
        # Once a leader is known the view comes from a ReadIndex round (a linearizable read).
        if v is None or not v.get("meta_leader") or v.get("read") != "linearizable":
            return None
        views.append(v)
    if not views or len({v["meta_leader"] for v in views}) != 1 or len({v["cluster_id"] for v in views}) != 1:
        return None
    for v in views:
        if len(v["brokers"]) != members:
            return None
    return views[0]


def formed(cluster, members):
    return one_cluster(cluster, members) and registered(cluster, members) is not None


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

    def form_three_then_a_fourth(self, extra, before_fourth=None):
        """Nodes 1-3 form a cluster; node 4 (seeded with node 1 only) then joins it."""
        c = self.cluster
        for n in c.nodes[:3]:
            n.start([m.gossip_addr for m in c.nodes[:3] if m is not n], extra)
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        if before_fourth:
            before_fourth()
        c.nodes[3].start([c.nodes[0].gossip_addr], extra)
        c.wait_for(lambda: formed(c, 4), FORM_S, "the 4th node to join")

    def test_every_start_order_of_three(self):
        for order in itertools.permutations(range(3)):
            self.cluster = Cluster(SERVER, 3)
            last = self.start(3, order)
            done = self.cluster.wait_for(lambda: one_cluster(self.cluster, 3), FORM_S, f"one cluster, order {order}")
            reg = self.cluster.wait_for(lambda: formed(self.cluster, 3), FORM_S, f"3 brokers registered, order {order}")
            print(f"order {order}: all 3 members {done - last:.2f}s, all 3 brokers registered on every node "
                  f"{reg - last:.2f}s after the last start")
            view = registered(self.cluster, 3)
            self.assertEqual(sorted(b["node_id"] for b in view["brokers"]), [1, 2, 3])
            self.assertEqual(sorted(view["voters"]), [1, 2, 3])
            self.cluster.cleanup()
            self.cluster = None
        self.failed = False

    def test_restart_of_every_node_keeps_the_cluster(self):
        self.cluster = c = Cluster(SERVER, 3)
        self.start(3, [0, 1, 2])
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        cluster_id = next(iter(formations(c).values()))[1]
        for n in c.nodes:
            n.signal(signal.SIGTERM)
            self.assertEqual(n.wait_exit(15), 0)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n])
        c.wait_for(lambda: formed(c, 3), FORM_S, "the cluster and its 3 brokers after restarts")
        self.assertEqual({cid for _, cid in formations(c).values()}, {cluster_id})
        self.assertEqual(registered(c, 3)["cluster_id"], cluster_id)
        for n in c.nodes:
            log = read_log(n)
            # The first run promised once; a restart re-announces membership and never founds.
            self.assertEqual(log.count("formation: promised"), 1, f"node {n.node_id} founded or promised again")
        self.failed = False

    def test_five_nodes_expect_three(self):
        self.cluster = c = Cluster(SERVER, 5)
        order = list(range(5))
        self.rng.shuffle(order)
        last = self.start(5, order)
        c.wait_for(lambda: one_cluster(c, 3) or one_cluster(c, 4) or one_cluster(c, 5), FORM_S, "one cluster among 5")
        # The two nodes outside the founding voter set join it (learner, then voter: 5 brokers
        # make meta_voters 5) and never promise it anything. They may have promised an earlier
        # proposal: when 3-5 start first, node 3 proposes {3,4,5} and withdraws it once 1 and 2
        # appear (docs/bootstrap.md R4/R5); a released node reaches the cluster through R7 only.
        done = c.wait_for(lambda: formed(c, 5), FORM_S, "all 5 members and brokers registered")
        print(f"5 nodes: all 5 brokers registered on every node {done - last:.2f}s after the last start")
        cluster_id = registered(c, 5)["cluster_id"]
        joiners = [n for n in c.nodes if f"asking cluster {cluster_id} to add this node" in read_log(n)]
        self.assertEqual(len(joiners), 2, "exactly the two nodes outside the founding set join")
        for node in joiners:
            formation_lines = [l for l in read_log(node).splitlines() if "formation: " in l]
            self.assertFalse(any("formation: promised" in l and cluster_id in l for l in formation_lines),
                             f"node {node.node_id} joined cluster {cluster_id} yet promised it")
            asked = next(i for i, l in enumerate(formation_lines) if "formation: fresh joining" in l)
            self.assertNotIn("formation: promised", formation_lines[asked - 1] if asked else "",
                             f"node {node.node_id} asked to join while holding a promise")
        c.wait_for(lambda: (registered(c, 5) or {}).get("voters") and len(registered(c, 5)["voters"]) == 5,
                   FORM_S, "5 voters")
        self.failed = False

    def test_kill_of_the_meta_leader(self):
        self.cluster = c = Cluster(SERVER, 3)
        self.start(3, [0, 1, 2])
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        leader_id = registered(c, 3)["meta_leader"]
        leader = c.nodes[leader_id - 1]
        leader.kill()  # SIGKILL: no leave, no flush
        killed = time.monotonic()

        def new_leader():
            v = registered(c, 3)
            return v is not None and v["meta_leader"] not in (0, leader_id)

        done = c.wait_for(new_leader, 20, "a new __meta leader among the other two")
        view = registered(c, 3)
        print(f"kill -9 of __meta leader {leader_id}: leader {view['meta_leader']} {done - killed:.2f}s later")
        self.assertEqual(sorted(b["node_id"] for b in view["brokers"]), [1, 2, 3])
        self.failed = False

    def test_late_fourth_node_and_a_wiped_node(self):
        self.cluster = c = Cluster(SERVER, 4)
        self.start(3, [0, 1, 2])
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        late = c.nodes[3]
        late.start([c.nodes[0].gossip_addr], ["--bootstrap-expect", "3"])
        c.wait_for(lambda: formed(c, 4), FORM_S, "the 4th node to join as a broker")
        view = registered(c, 4)
        # meta_voters is 3 below 5 brokers: the 4th node stays a learner.
        self.assertEqual(sorted(view["voters"]), [1, 2, 3])
        self.assertEqual(view["learners"], [4])
        self.assertNotIn("formation: promised", read_log(late))

        # Wipe a voter that does not lead: it comes back with a new uuid, its old replica is
        # removed first, and it is added again (the learner is promoted meanwhile).
        victim = next(n for n in c.nodes[:3] if n.node_id != view["meta_leader"])
        old_uuid = {b["node_id"]: b["uuid"] for b in view["brokers"]}[victim.node_id]
        victim.kill()
        shutil.rmtree(victim.data_dir)
        victim.start([m.gossip_addr for m in c.nodes if m is not victim])

        def rejoined():
            v = registered(c, 4)
            if v is None or not one_cluster(c, 4):
                return False
            uuid = {b["node_id"]: b["uuid"] for b in v["brokers"]}.get(victim.node_id)
            return uuid not in (None, old_uuid) and victim.node_id in v["voters"] + v["learners"]

        c.wait_for(rejoined, FORM_S, f"wiped node {victim.node_id} to rejoin as a new member")
        self.assertEqual(len(registered(c, 4)["voters"]), 3)
        self.failed = False

    def test_dead_voter_is_replaced_by_the_learner(self):
        self.cluster = c = Cluster(SERVER, 4)
        replace_ms = 1000
        extra = ["--meta-voters", "3", "--voter-replace-after-ms", str(replace_ms)]
        self.form_three_then_a_fourth(extra)
        c.wait_for(lambda: registered(c, 4)["learners"] == [4], FORM_S, "the 4th node as a learner")

        # Any voter, the leader included.
        victim = c.nodes[self.rng.choice(registered(c, 4)["voters"]) - 1]
        victim.kill()
        killed = time.monotonic()

        def replaced():
            views = [n.cluster() for n in c.nodes if n.running()]
            if any(v is None or not v.get("meta_leader") for v in views):
                return False
            if len({v["meta_leader"] for v in views}) != 1:
                return False
            for v in views:
                states = {b["node_id"]: b["state"] for b in v["brokers"]}
                if len(v["voters"]) != 3 or victim.node_id in v["voters"] or states.get(victim.node_id) != "dead":
                    return False
            return True

        done = c.wait_for(replaced, FORM_S, f"voter {victim.node_id} replaced")
        view = next(n.cluster() for n in c.nodes if n.running())
        print(f"kill -9 of voter {victim.node_id}: replaced {done - killed:.2f}s later "
              f"(voter_replace_after {replace_ms} ms); voters {sorted(view['voters'])}")
        self.assertIn(4, view["voters"])
        log = "".join(read_log(n) for n in c.nodes if n.running())
        self.assertIn(f"remove the replaced dead voter node {victim.node_id}", log)

        # A second voter down: the other two still elect a leader and serve the cluster view.
        second = c.nodes[self.rng.choice([v for v in view["voters"]]) - 1]
        second.kill()

        def leader_among_survivors():
            views = [n.cluster() for n in c.nodes if n.running()]
            leaders = {v["meta_leader"] for v in views if v}
            return len(views) == 2 and all(views) and len(leaders) == 1 and leaders.pop() not in (0, second.node_id)

        c.wait_for(leader_among_survivors, FORM_S, f"a leader after voter {second.node_id} is lost too")
        self.failed = False

    def test_snapshot_brings_a_late_node_up_to_date(self):
        self.cluster = c = Cluster(SERVER, 4)
        extra = ["--meta-snapshot-entries", "4"]
        self.form_three_then_a_fourth(extra, before_fourth=lambda: c.wait_for(
            lambda: "__meta: snapshot at index" in read_log(c.nodes[registered(c, 3)["meta_leader"] - 1]),
            FORM_S, "a snapshot on the leader"))
        late = c.nodes[3]
        self.assertIn("__meta: state restored from the snapshot", read_log(late))
        self.assertEqual(sorted(b["node_id"] for b in late.cluster()["brokers"]), [1, 2, 3, 4])
        # Restarting the late node reopens the group from its stored snapshot and log.
        late.signal(signal.SIGTERM)
        self.assertEqual(late.wait_exit(15), 0)
        late.start([c.nodes[0].gossip_addr], extra)
        c.wait_for(lambda: formed(c, 4), FORM_S, "the 4th node back after a restart")
        self.failed = False

    def test_raft_state_of_a_cluster_left_behind_is_discarded(self):
        # The nodes' formation files go (as if each had abandoned its cluster by R8, or crashed
        # before becoming a member), while their Raft state of the old cluster stays: founding
        # again must discard that state, not reopen it as the new cluster's `__meta`.
        self.cluster = c = Cluster(SERVER, 3)
        self.start(3, [0, 1, 2])
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        old_id = registered(c, 3)["cluster_id"]
        for n in c.nodes:
            n.signal(signal.SIGTERM)
            self.assertEqual(n.wait_exit(15), 0)
            os.remove(os.path.join(n.data_dir, "formation"))
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n])
        c.wait_for(lambda: formed(c, 3), FORM_S, "a new cluster with 3 brokers")
        new_id = registered(c, 3)["cluster_id"]
        self.assertNotEqual(new_id, old_id)
        for n in c.nodes:
            self.assertIn(f"belongs to cluster {old_id}", read_log(n))
            with open(os.path.join(n.data_dir, "meta-cluster")) as f:
                self.assertEqual(f.read().strip(), new_id)
        self.failed = False

    def test_kill_of_a_quiesced_meta_leader(self):
        # An idle `__meta` quiesces (docs/raft.md "Quiescence"): nothing ticks, so only SWIM's
        # verdict on the leader's node can wake the followers into an election. Nothing polls
        # /v1/cluster meanwhile: its linearizable read would wake the group by itself.
        self.cluster = c = Cluster(SERVER, 3)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], ["--log-level", "debug"])
        c.wait_for(lambda: formed(c, 3), FORM_S, "one cluster with 3 brokers")
        leader = c.nodes[registered(c, 3)["meta_leader"] - 1]
        marks = {n.node_id: len(read_log(n)) for n in c.nodes}

        # The leader logs its quiescence (debug); its followers quiesce on its quiesce heartbeat.
        c.wait_for(lambda: "quiesced at index" in read_log(leader)[marks[leader.node_id]:], FORM_S,
                   "__meta to quiesce")
        survivors = [n for n in c.nodes if n is not leader]
        marks = {n.node_id: len(read_log(n)) for n in survivors}
        leader.kill()
        killed = time.monotonic()
        done = c.wait_for(lambda: any("became leader" in read_log(n)[marks[n.node_id]:] for n in survivors),
                          FORM_S, "a survivor elected after the quiesced leader died")
        print(f"kill -9 of quiesced __meta leader {leader.node_id}: new leader elected {done - killed:.2f}s later")
        c.wait_for(lambda: registered(c, 3) is not None, FORM_S, "the cluster view from the survivors")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "formation")
