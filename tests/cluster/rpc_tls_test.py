"""Real-process suite for mutual TLS between nodes (issue 18, docs/security.md "Between nodes:
mutual TLS"): three chronik-server nodes with certificates from `chronik-server certs` form a
cluster over TLS and serve Kafka produce/consume (python3-confluent-kafka); then rpc_probe, a
hostile peer on the real transport, sends a `__meta` heartbeat with a term a million ahead to a
follower, claiming to be the leader with the leader's uuid and the cluster id:
  - without a certificate (plaintext),
  - with a certificate for the leader's node id signed by another CA,
  - with a valid certificate of the third node,
  - with a certificate for the leader's node id from the cluster CA that binds another node_uuid
    (a key from an incarnation of the node before its data directory was wiped),
and none of them moves any node's `__meta` term or leader; each is counted on the follower
(/v1/cluster load.rpc). Last, the control: the same heartbeat with the leader's own certificate is
delivered and does move the follower's term, so the probe is a real attack that only the
certificate check stops.

Run: /usr/bin/python3 tests/cluster/rpc_tls_test.py --server build/daemon/chronik-server \
         --probe build/tests/cluster/rpc_probe
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, make_certs, run_suite  # noqa: E402

SERVER = None
PROBE = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 60
SETTLE_S = 20
META_GROUP = 1  # metadata/meta_state.h meta_group_id
TERM_JUMP = 1_000_000


class RpcTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(SERVER, 3, rpc_tls=True)
        cls.passed = set()
        try:
            cls.cluster.start_all()
            cls.cluster.wait_brokers(3, timeout=FORM_S)
        except BaseException:
            cls.cluster.cleanup(keep_logs_on_failure=True)  # tearDownClass does not run then
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.passed != {"a", "b", "c"})

    def setUp(self):
        self.nodes = self.cluster.nodes

    def poll(self, fn, what, timeout=SETTLE_S):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.1)
        self.fail(f"{what} within {timeout} s; last: {last!r}")

    def rpc(self, node):
        return ((node.cluster() or {}).get("load") or {}).get("rpc") or {}

    def meta_view(self):
        """Every node's (`__meta` leader, term), once all agree on a leader."""
        def agreed():
            views = [n.cluster() for n in self.nodes]
            if any(v is None or not v.get("meta_leader") for v in views):
                return None
            pairs = [(v["meta_leader"], v["term"]) for v in views]
            return pairs if len({p[0] for p in pairs}) == 1 else None
        return self.poll(agreed, "a `__meta` leader every node agrees on")

    def probe(self, target, claim, cluster_id, uuid, term, cert=None, ca=None):
        cmd = [PROBE, "--target", f"{target.ip}:{target.rpc_port}", "--target-node", str(target.node_id),
               "--claim-node", str(claim), "--claim-uuid", uuid, "--cluster-id", cluster_id,
               "--group", str(META_GROUP), "--term", str(term), "--wait-ms", "5000"]
        if cert:
            cmd += ["--ca", ca, "--cert", cert + ".crt", "--key", cert + ".key"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)
        return json.loads(out.stdout)

    def test_a_cluster_forms_over_tls_and_serves_kafka(self):
        from confluent_kafka import Consumer, Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        for n in self.nodes:
            rpc = self.rpc(n)
            self.assertGreaterEqual(rpc.get("tls_connections", 0), 1, f"node {n.node_id}: {rpc}")
            self.assertEqual(rpc.get("plaintext_connections"), 0, f"node {n.node_id}: {rpc}")
            self.assertEqual(rpc.get("tls_handshake_failures"), 0, f"node {n.node_id}: {rpc}")
        bootstrap = self.cluster.bootstrap()
        topic = "tls-between-nodes"
        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the result
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=3)])[topic].result(30)
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        failed = []
        sent = [f"record-{i}".encode() for i in range(200)]
        for v in sent:
            producer.produce(topic, value=v, on_delivery=lambda err, _m: err and failed.append(err))
        self.assertEqual(producer.flush(30), 0, "records left unacknowledged")
        self.assertEqual(failed, [])
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "tls-group",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topic])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(sent) and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value())
        consumer.close()
        self.assertEqual(sorted(got), sorted(sent))
        self.passed.add("a")

    def test_b_hostile_peers_deliver_nothing(self):
        before = self.meta_view()
        leader_id = before[0][0]
        status = self.nodes[0].cluster()
        cluster_id = status["cluster_id"]
        uuids = {b["node_id"]: b["uuid"] for b in status["brokers"]}
        leader = next(n for n in self.nodes if n.node_id == leader_id)
        follower, third = [n for n in self.nodes if n is not leader]
        term = max(t for _, t in before) + TERM_JUMP
        certs = self.cluster.certs_dir
        ca = os.path.join(certs, "ca.crt")
        other = make_certs(SERVER, os.path.join(self.cluster.root, "other-ca"), [leader_id])

        def counted(key, above):
            return lambda: self.rpc(follower).get(key, 0) > above

        # 1. No certificate: plaintext bytes where a TLS handshake must start.
        failures = self.rpc(follower)["tls_handshake_failures"]
        out = self.probe(follower, leader_id, cluster_id, uuids[leader_id], term)
        self.assertEqual(out["messages_sent"], 0, out)
        self.poll(counted("tls_handshake_failures", failures), "the plaintext peer counted")

        # 2. The leader's node id, certified by another CA.
        failures = self.rpc(follower)["tls_handshake_failures"]
        out = self.probe(follower, leader_id, cluster_id, uuids[leader_id], term,
                         cert=os.path.join(other, f"node-{leader_id}"), ca=ca)
        self.assertEqual(out["messages_sent"], 0, out)
        self.poll(counted("tls_handshake_failures", failures), "the other CA's certificate counted")

        # 3. A valid certificate of the third node, claiming the leader.
        refusals = self.rpc(follower)["tls_identity_refusals"]
        out = self.probe(follower, leader_id, cluster_id, uuids[leader_id], term,
                         cert=os.path.join(certs, f"node-{third.node_id}"), ca=ca)
        self.assertEqual(out["messages_sent"], 0, out)
        self.assertEqual(out["refusals_received"], 1, out)
        self.poll(counted("tls_identity_refusals", refusals), "the claim mismatch counted")

        # 4. The leader's node id from the cluster CA, but bound to another incarnation's uuid.
        stale = os.path.join(self.cluster.root, "stale-pki")
        os.makedirs(stale, mode=0o700)
        for name in ("ca.crt", "ca.key"):
            with open(os.path.join(certs, name), "rb") as src, open(os.path.join(stale, name), "wb") as dst:
                dst.write(src.read())
        make_certs(SERVER, stale, [leader_id], {leader_id: os.path.join(self.cluster.root, "wiped-data")})
        refusals = self.rpc(follower)["tls_identity_refusals"]
        out = self.probe(follower, leader_id, cluster_id, uuids[leader_id], term,
                         cert=os.path.join(stale, f"node-{leader_id}"), ca=ca)
        self.assertEqual(out["messages_sent"], 0, out)
        self.assertEqual(out["refusals_received"], 1, out)
        self.poll(counted("tls_identity_refusals", refusals), "the uuid mismatch counted")

        after = self.meta_view()
        # Every forged heartbeat carries a term TERM_JUMP ahead: had one been delivered, some
        # node's term would be at least `term` now. A leader change by an ordinary election (a
        # loaded machine, seen once at load 9) moves the term by one or two and proves nothing
        # either way, so the leader itself is not compared.
        self.assertLess(max(t for _, t in after), term, f"a hostile term arrived: before {before}, after {after}")
        # The follower's log names the refusals; the refusal text sent back names no identity.
        with open(follower.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("certificate names node", log)
        self.assertIn("TLS", log)

        # Control: the leader's own certificate delivers the same heartbeat, and the follower
        # takes its term. Without it, the four refusals above would prove nothing.
        out = self.probe(follower, leader_id, cluster_id, uuids[leader_id], term,
                         cert=os.path.join(certs, f"node-{leader_id}"), ca=ca)
        self.assertEqual(out["messages_sent"], 1, out)
        self.poll(lambda: (follower.cluster() or {}).get("term", 0) >= term, "the control heartbeat's term")
        self.passed.add("b")

    def test_c_a_wiped_node_refuses_its_old_certificate(self):
        """A node whose data directory was wiped has a new uuid: the certificate issued for the old
        one no longer speaks for it, and `start` says so in one line naming the fix. Restored,
        the same data directory starts and rejoins."""
        node = self.nodes[-1]
        node.signal(signal.SIGTERM)
        self.assertIsNotNone(node.wait_exit(30), "node did not stop")
        kept = node.data_dir + ".kept"
        os.rename(node.data_dir, kept)
        seeds = [m.gossip_addr for m in self.nodes if m is not node]
        node.start(seeds)
        code = node.wait_exit(30)
        self.assertIsNotNone(code, "a node with a certificate for another uuid started")
        self.assertNotEqual(code, 0)
        with open(node.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("rpc_tls_cert_file", log)
        self.assertIn("binds node_uuid", log)
        self.assertIn("chronik-server certs --node", log)
        shutil.rmtree(node.data_dir)
        os.rename(kept, node.data_dir)
        node.start(seeds)
        self.cluster.wait_ready(FORM_S, alive=True)
        self.passed.add("c")


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", required=True)
    args, rest = parser.parse_known_args()
    PROBE = os.path.abspath(args.probe)
    sys.argv = [sys.argv[0]] + rest
    run_suite(globals(), "rpc_tls")
