"""Real-process gossip encryption suite (issue 18, docs/security.md "Gossip encryption"): three
chronik-server nodes sharing a gossip key form a cluster; a fourth with another key and a fifth
with none cannot join and are counted as dropped; a forged plaintext datagram declaring a member
dead changes nothing; a node restarted without --gossip-key keeps its stored keyring; and a key
rotation by rolling restarts (install, use, remove) keeps the cluster whole and locks the old key out.

Run: /usr/bin/python3 tests/cluster/gossip_encryption_test.py --server build/daemon/chronik-server
"""
import base64
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
CONVERGE_S = 20
# Long enough for many probe and push-pull rounds of the local preset (probes every 200 ms).
SETTLE_S = 3


def keygen():
    out = subprocess.run([SERVER, "keygen"], check=True, capture_output=True, text=True).stdout.strip()
    assert len(base64.b64decode(out, validate=True)) == 32, out
    return out


# --- a hand-written GossipEnvelope (proto/gossip.proto), to forge without Protobuf -------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(num, n):
    return varint(num << 3) + varint(n)


def field_bytes(num, data):
    return varint((num << 3) | 2) + varint(len(data)) + data


def forged_dead(cluster, sender_id, sender_addr, victim_id, incarnation):
    dead = field_varint(1, victim_id) + field_varint(2, incarnation) + field_varint(3, sender_id)
    message = field_bytes(7, dead)  # GossipMessage.dead
    return (field_varint(1, 1) + field_bytes(2, cluster.encode()) + field_varint(3, sender_id)
            + field_bytes(4, sender_addr.encode()) + field_bytes(5, message))


class GossipEncryption(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(SERVER, 5)
        self.failed = True

    def tearDown(self):
        self.cluster.cleanup(keep_logs_on_failure=self.failed)
        if self.failed:
            print(f"replay with CHRONIK_TEST_SEED={SEED}")

    def load(self, node):
        return ((node.cluster() or {}).get("load") or {}).get("gossip") or {}

    def alive_ids(self, node):
        return {i for i, m in (node.members() or {}).items() if m["state"] == "alive"}

    def test_only_nodes_with_the_key_join_and_forgeries_change_nothing(self):
        c = self.cluster
        key, other_key = keygen(), keygen()
        self.assertNotEqual(key, other_key)
        keyed, stranger, plain = c.nodes[:3], c.nodes[3], c.nodes[4]
        for n in keyed:
            n.start([m.gossip_addr for m in keyed if m is not n], ["--gossip-key", key])
        c.wait_for(lambda: all(self.alive_ids(n) == {1, 2, 3} for n in keyed), CONVERGE_S,
                   "3 nodes with the same key to see each other alive")

        seeds = [m.gossip_addr for m in keyed]
        stranger.start(seeds, ["--gossip-key", other_key])
        plain.start(seeds)
        c.wait_for(lambda: sum(self.load(n).get("auth_failed_dropped", 0) for n in keyed) > 0
                   and sum(self.load(n).get("plaintext_dropped", 0) for n in keyed) > 0,
                   CONVERGE_S, "the keyed nodes to count the outsiders' traffic as dropped")
        time.sleep(SETTLE_S)  # give a wrong join every chance to happen; the check follows
        for n in keyed:
            self.assertEqual(set((n.members() or {}).keys()), {1, 2, 3}, f"node {n.node_id}'s members")
        self.assertEqual(self.alive_ids(stranger), {4})
        self.assertEqual(self.alive_ids(plain), {5})

        # A forged plaintext Dead about node 3, claiming to come from node 2, sent to node 1.
        victim, target, claimed = keyed[2], keyed[0], keyed[1]
        inc = target.members()[victim.node_id]["incarnation"]
        before = self.load(target).get("plaintext_dropped", 0)
        datagram = forged_dead("cluster-test", claimed.node_id, claimed.gossip_addr, victim.node_id, inc)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((claimed.ip, 0))  # from the claimed member's own IP, as an on-path forger could
            s.sendto(datagram, (target.ip, target.gossip_port))
        c.wait_for(lambda: self.load(target).get("plaintext_dropped", 0) > before, CONVERGE_S,
                   "the forged datagram to be counted as dropped")
        time.sleep(SETTLE_S)  # a believed Dead would have made node 3 refute with a higher incarnation
        for n in keyed:
            m = n.members()[victim.node_id]
            self.assertEqual(m["state"], "alive", f"node {n.node_id}'s view of node 3")
            self.assertEqual(m["incarnation"], inc, "node 3 had to refute: the forgery was believed")

        # The keyring persists, owner-only: node 1 restarted without --gossip-key rejoins.
        ring = os.path.join(target.data_dir, "gossip_keyring")
        self.assertEqual(stat.S_IMODE(os.stat(ring).st_mode), 0o600)
        with open(ring) as f:
            self.assertEqual(f.read().split(), [key])
        target.kill()
        c.wait_for(lambda: all((n.members() or {}).get(1, {}).get("state") == "dead" for n in keyed[1:]), CONVERGE_S,
                   "node 1 to be seen dead")
        target.start([m.gossip_addr for m in keyed[1:]])
        c.wait_for(lambda: all(self.alive_ids(n) == {1, 2, 3} for n in keyed), CONVERGE_S,
                   "node 1 to rejoin with its stored key")
        self.failed = False

    def keyring(self, node, action, key=None):
        cmd = [SERVER, "keyring", action, "--data-dir", node.data_dir] + ([key] if key else [])
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split("\n")

    def restart(self, node, keyed, action=None, extra=()):
        """SIGTERM (a graceful leave), optionally one keyring action on the stopped node, start."""
        others = [m for m in keyed if m is not node]
        inc = max(m.members()[node.node_id]["incarnation"] for m in others)
        node.signal(signal.SIGTERM)
        self.assertEqual(node.wait_exit(15), 0, f"node {node.node_id} must exit 0 after SIGTERM")
        if action:
            self.keyring(node, *action)
        node.start([m.gossip_addr for m in others], list(extra))

        # The restarted node read the others (its fresh view holds them alive), and they read it
        # (they hold its new, higher incarnation alive).
        def whole():
            if self.alive_ids(node) != {1, 2, 3}:
                return False
            views = [(m.members() or {}).get(node.node_id, {}) for m in others]
            return all(v.get("state") == "alive" and v.get("incarnation", 0) > inc for v in views)
        self.cluster.wait_for(whole, CONVERGE_S, f"the cluster whole again after restarting node {node.node_id}")

    def test_rotation_by_rolling_restarts_keeps_the_cluster_and_locks_the_old_key_out(self):
        c = self.cluster
        old, new = keygen(), keygen()
        keyed, late = c.nodes[:3], c.nodes[3]
        for n in keyed:
            n.start([m.gossip_addr for m in keyed if m is not n], ["--gossip-key", old])
        c.wait_for(lambda: all(self.alive_ids(n) == {1, 2, 3} for n in keyed), CONVERGE_S, "3 keyed nodes")
        for n in keyed:  # 1. install: every node opens both keys, still seals with the old one
            self.restart(n, keyed, ("install", new), ["--gossip-key", old])
        for n in keyed:  # 2. use: nodes sealing with the new key mix with nodes still on the old
            self.restart(n, keyed, None, ["--gossip-key", new])
        for n in keyed:  # 3. remove the old key
            self.restart(n, keyed, ("remove", old), ["--gossip-key", new])
        for n in keyed:
            with open(os.path.join(n.data_dir, "gossip_keyring")) as f:
                self.assertEqual(f.read().split(), [new], f"node {n.node_id}'s keyring")
        # A node that only has the old key is now an outsider.
        late.start([m.gossip_addr for m in keyed], ["--gossip-key", old])
        c.wait_for(lambda: sum(self.load(n).get("auth_failed_dropped", 0) for n in keyed) > 0, CONVERGE_S,
                   "the old key's traffic to be dropped")
        time.sleep(SETTLE_S)  # give a wrong join every chance to happen; the check follows
        for n in keyed:
            self.assertEqual(set((n.members() or {}).keys()), {1, 2, 3}, f"node {n.node_id}'s members")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "gossip encryption")
