"""Real-process online gossip key rotation (issue 18, docs/security.md "Key rotation"): three
chronik-server nodes on key K1; `chronik-server keyring install K2` through one node's admin
endpoint reaches every node, `use K2` through another, `remove K1` through the third, without a
restart and without any node ever seeing another suspect or dead (a watcher polls /v1/members
throughout). Refusals (removing the primary, using a key not installed) change nothing; requests
without the admin token, or with a wrong one, get 401, are counted, and change nothing. Afterwards
a node with only K1 is an outsider: its traffic is dropped and counted.

Run: /usr/bin/python3 tests/cluster/gossip_key_rotation_test.py --server build/daemon/chronik-server
"""
import base64
import hashlib
import os
import random
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
CONVERGE_S = 20
SETTLE_S = 3  # many probe rounds of the local preset (probes every 200 ms)


def keygen():
    return subprocess.run([SERVER, "keygen"], check=True, capture_output=True, text=True).stdout.strip()


def fingerprint(key):
    return hashlib.sha256(base64.b64decode(key)).hexdigest()[:8]


class Watcher(threading.Thread):
    """Polls every node's /v1/members until stopped; records any keyed member seen not alive."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes, self.ids = nodes, {n.node_id for n in nodes}
        self.stop_event = threading.Event()
        self.bad, self.polls = [], 0

    def run(self):
        while not self.stop_event.is_set():
            for n in self.nodes:
                view = n.members()
                if view is None:
                    continue
                self.polls += 1
                for i in self.ids:
                    state = view.get(i, {}).get("state")
                    if state != "alive":
                        self.bad.append((time.monotonic(), n.node_id, i, state))
            self.stop_event.wait(0.05)

    def stop(self):
        self.stop_event.set()
        self.join(10)


class GossipKeyRotation(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(SERVER, 4)
        self.failed = True

    def tearDown(self):
        self.cluster.cleanup(keep_logs_on_failure=self.failed)
        if self.failed:
            print(f"replay with CHRONIK_TEST_SEED={SEED}")

    def keyring_cli(self, node, action, key=None, token_file=None):
        cmd = [SERVER, "keyring", action, "--admin", node.admin_addr,
               "--admin-token-file", token_file or node.admin_token_file] + ([key] if key else [])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    def stored(self, node):
        with open(os.path.join(node.data_dir, "gossip_keyring")) as f:
            return f.read().split()

    def fingerprints(self, node):
        """The node's own keyring through the API: [(fingerprint, primary)], primary first."""
        status, doc = node.admin("/v1/keyring?scope=node")
        self.assertEqual(status, 200, doc)
        return [(k["fingerprint"], k["primary"]) for k in doc["keys"]]

    def load(self, node):
        return (node.cluster() or {}).get("load") or {}

    def test_install_use_remove_online_keeps_every_node_alive(self):
        c = self.cluster
        k1, k2, k3 = keygen(), keygen(), keygen()
        keyed, late = c.nodes[:3], c.nodes[3]
        for n in keyed:
            n.start([m.gossip_addr for m in keyed if m is not n], ["--gossip-key", k1])
        c.wait_for(lambda: all({i for i, m in (n.members() or {}).items() if m["state"] == "alive"} == {1, 2, 3}
                               for n in keyed), CONVERGE_S, "3 nodes on K1 to see each other alive")
        watcher = Watcher(keyed)
        watcher.start()
        try:
            # Without the token, or with another one: 401, counted, nothing changes.
            for token in (None, "0" * 64):
                status, _ = keyed[0].admin("/v1/keyring/install", {"key": k2}, token=token)
                self.assertEqual(status, 401)
                status, _ = keyed[0].admin("/v1/keyring", token=token)
                self.assertEqual(status, 401)
                status, _ = keyed[0].admin("/v1/members", token=token)
                self.assertEqual(status, 401)
            bad_token = os.path.join(c.root, "wrong_token")
            with open(os.open(bad_token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write("1" * 64 + "\n")
            refused = self.keyring_cli(keyed[0], "install", k2, token_file=bad_token)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("401", refused.stderr)
            self.assertEqual(self.load(keyed[0])["admin"]["unauthorized_rejected"], 7)
            for n in keyed:
                self.assertEqual(self.stored(n), [k1])
                self.assertEqual(self.fingerprints(n), [(fingerprint(k1), True)])
            status, health = keyed[0].admin("/health", token=None)
            self.assertIn(status, (200, 503))
            self.assertEqual(set(health) - {"status", "node_id", "reason"}, set(), health)

            # 1. install K2 through node 1: every node opens both, still seals with K1.
            out = self.keyring_cli(keyed[0], "install", k2)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertEqual(out.stdout.count(": ok "), 3, out.stdout)
            self.assertNotIn(k1, out.stdout + out.stderr)
            self.assertNotIn(k2, out.stdout + out.stderr)
            for n in keyed:
                self.assertEqual(self.stored(n), [k1, k2], f"node {n.node_id}'s keyring file")
                self.assertEqual(self.fingerprints(n), [(fingerprint(k1), True), (fingerprint(k2), False)])

            # Refusals on every node, and nothing changes: the primary cannot go, an unknown key
            # cannot be used.
            out = self.keyring_cli(keyed[1], "remove", k1)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
            self.assertEqual(out.stdout.count("refused: the primary key cannot be removed"), 3, out.stdout)
            out = self.keyring_cli(keyed[1], "use", k3)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
            self.assertEqual(out.stdout.count("refused: the key is not installed"), 3, out.stdout)
            for n in keyed:
                self.assertEqual(self.stored(n), [k1, k2])

            # 2. use K2 through node 2; 3. remove K1 through node 3.
            out = self.keyring_cli(keyed[1], "use", k2)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            for n in keyed:
                self.assertEqual(self.stored(n), [k2, k1])
                self.assertEqual(self.fingerprints(n)[0], (fingerprint(k2), True))
            time.sleep(SETTLE_S)  # traffic sealed with K2 meets nodes that still hold K1: let it flow
            out = self.keyring_cli(keyed[2], "remove", k1)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            for n in keyed:
                self.assertEqual(self.stored(n), [k2])
            listed = subprocess.run([SERVER, "keyring", "list", "--admin", keyed[0].admin_addr,
                                     "--admin-token-file", keyed[0].admin_token_file],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(listed.returncode, 0, listed.stdout + listed.stderr)
            self.assertEqual(listed.stdout.count(f": ok {fingerprint(k2)}(primary)\n"), 3, listed.stdout)
            self.assertNotIn(k2, listed.stdout)
            status, report = keyed[0].admin("/v1/keyring", timeout=30)
            self.assertEqual(status, 200, report)
            self.assertEqual(sorted(n["node_id"] for n in report["nodes"]), [1, 2, 3])
            for n in report["nodes"]:
                self.assertEqual(n["keys"], [{"fingerprint": fingerprint(k2), "primary": True}])
            time.sleep(SETTLE_S)  # a node cut off by the rotation would be suspected by now
        finally:
            watcher.stop()
        self.assertGreater(watcher.polls, 30)
        self.assertEqual(watcher.bad, [], "a node was seen not alive during the rotation")

        # K1 is locked out: a node holding only K1 is dropped and counted, and never joins.
        before = sum(self.load(n).get("gossip", {}).get("auth_failed_dropped", 0) for n in keyed)
        late.start([m.gossip_addr for m in keyed], ["--gossip-key", k1])
        c.wait_for(lambda: sum(self.load(n).get("gossip", {}).get("auth_failed_dropped", 0) for n in keyed) > before,
                   CONVERGE_S, "traffic sealed with K1 to be dropped")
        time.sleep(SETTLE_S)
        for n in keyed:
            self.assertEqual(set((n.members() or {}).keys()), {1, 2, 3}, f"node {n.node_id}'s members")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "gossip key rotation")
