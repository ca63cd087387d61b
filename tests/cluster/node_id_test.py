"""Real-process suite for one holder per node id (docs/bootstrap.md property 7, issue 13).

A 3-node cluster forms; a 4th process is started with --node-id 2, a fresh data directory and its
own address. It must exit 2 within a bounded time, with one log line naming the holder's uuid and
gossip address; broker 2 must stay registered at the real node's addresses, under its uuid, on
every node; and a Kafka client must still produce to and read from the cluster. (The wiped-node
case, same id and a new uuid after the old process died, is formation_test.py's
test_late_fourth_node_and_a_wiped_node.)

Run: /usr/bin/python3 tests/cluster/node_id_test.py --server build/daemon/chronik-server
"""
import os
import random
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, Node, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 20
# The impostor learns of the holder from the answer to its first join (a few ms); the bound covers
# a slow start on a loaded 2-core machine.
REFUSE_S = 10


def brokers(view):
    return {b["node_id"]: b for b in view["brokers"]}


def registered_everywhere(cluster, count):
    """Every node's /v1/cluster, read linearizably, lists `count` brokers under one leader."""
    views = []
    for n in cluster.nodes:
        v = n.cluster()
        if v is None or not v.get("meta_leader") or v.get("read") != "linearizable":
            return None
        if len(v["brokers"]) != count:
            return None
        views.append(v)
    return views if len({v["meta_leader"] for v in views}) == 1 else None


def start_impostor(cluster, real, rng, ip="127.0.0.14"):
    """Starts a process with `real`'s node id, a fresh data directory and its own address `ip`,
    seeded with every member (the real node included, so it pushes its claim at the holder itself
    too). Shared with tests/hostile/hostile_suite.py, which runs it against its own cluster."""
    root = os.path.join(cluster.root, f"impostor-{ip}")
    os.makedirs(root, exist_ok=True)
    imp = Node(real.server, real.node_id, ip, real.gossip_port, root)
    imp.start([n.gossip_addr for n in rng.sample(cluster.nodes, len(cluster.nodes))])
    return imp


def refusal(imp):
    """Waits up to REFUSE_S for the impostor to exit 2 and returns (holder uuid, holder address)
    from its one 'refusing to start' line; AssertionError otherwise."""
    started = time.monotonic()
    code = imp.wait_exit(REFUSE_S)
    if code != 2:
        raise AssertionError(f"the impostor must exit 2 within {REFUSE_S}s, got {code}")
    print(f"impostor refused after {time.monotonic() - started:.2f}s")
    with open(imp.log_path, errors="replace") as f:
        lines = [line for line in f if "refusing to start" in line]
    if len(lines) != 1:
        raise AssertionError(f"expected one 'refusing to start' line, got {lines}")
    m = re.search(rf"node id {imp.node_id} is held by node ([0-9a-f]{{32}}) at (\S+);", lines[0])
    if m is None:
        raise AssertionError(lines[0])
    return m.group(1), m.group(2)


class NodeId(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(SEED)
        self.failed = True
        self.cluster = None
        self.impostor = None

    def tearDown(self):
        if self.impostor:
            self.impostor.kill()
            if self.failed and os.path.exists(self.impostor.log_path):
                with open(self.impostor.log_path, errors="replace") as f:
                    print("--- impostor log tail ---\n" + "".join(f.readlines()[-15:]))
        if self.cluster:
            self.cluster.cleanup(keep_logs_on_failure=self.failed)
        if self.failed:
            print(f"replay with CHRONIK_TEST_SEED={SEED}")

    def test_second_process_with_a_live_node_id_is_refused(self):
        self.cluster = c = Cluster(SERVER, 3)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], ["--bootstrap-expect", "3"])
        views = c.wait_for(lambda: registered_everywhere(c, 3), FORM_S, "3 brokers registered") and \
            registered_everywhere(c, 3)
        real = c.nodes[1]
        before = brokers(views[0])[2]
        self.assertTrue(before["kafka_addr"].startswith(real.ip))

        self.impostor = start_impostor(c, real, self.rng)
        self.assertEqual(refusal(self.impostor), (before["uuid"], real.gossip_addr))

        # The members kept the holder: broker 2 is the real node everywhere, alive, and the
        # gossip view of every node holds the real node 2 alive.
        for n in c.nodes:
            view = n.cluster()
            self.assertIsNotNone(view)
            b = brokers(view)[2]
            self.assertEqual((b["uuid"], b["kafka_addr"], b["rpc_addr"], b["state"]),
                             (before["uuid"], before["kafka_addr"], before["rpc_addr"], "alive"), n.node_id)
            member = (n.members() or {}).get(2)
            self.assertIsNotNone(member)
            self.assertEqual((member["address"], member["state"]), (real.gossip_addr, "alive"), n.node_id)
        for n in c.nodes:
            self.assertTrue(n.running(), f"node {n.node_id} stopped")

        self.kafka_still_works(c, real)
        self.failed = False

    def test_taking_over_a_dead_node_id_needs_replace_node(self):
        """A copied node id is never a takeover, even of a dead holder; --replace-node is."""
        self.cluster = c = Cluster(SERVER, 3)
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], ["--bootstrap-expect", "3"])
        views = c.wait_for(lambda: registered_everywhere(c, 3), FORM_S, "3 brokers registered") and \
            registered_everywhere(c, 3)
        gone = c.nodes[2]
        before = brokers(views[0])[3]
        gone.kill()
        c.wait_for(lambda: c.all_see(gone, "dead"), FORM_S, "node 3 dead in every view")

        self.impostor = copied = start_impostor(c, gone, self.rng, ip="127.0.0.15")
        code = copied.wait_exit(REFUSE_S)
        self.assertEqual(code, 2, "a process with a dead node's id and no --replace-node must exit 2")
        with open(copied.log_path, errors="replace") as f:
            lines = [line for line in f if "--replace-node to take it over" in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(f"was held by node {before['uuid']} at {gone.gossip_addr}, now dead", lines[0])
        for n in c.nodes[:2]:
            self.assertEqual(brokers(n.cluster())[3]["uuid"], before["uuid"], n.node_id)

        root = os.path.join(c.root, "replacement")
        os.makedirs(root, exist_ok=True)
        self.impostor = new = Node(gone.server, gone.node_id, "127.0.0.16", gone.gossip_port, root)
        new.start([n.gossip_addr for n in c.nodes[:2]], ["--replace-node"])

        def replaced():
            for n in c.nodes[:2]:
                b = brokers(n.cluster() or {"brokers": []}).get(3)
                if not b or b["uuid"] == before["uuid"] or not b["kafka_addr"].startswith("127.0.0.16:"):
                    return False
                if b["state"] != "alive":
                    return False
            return True
        c.wait_for(replaced, FORM_S, "broker 3 re-registered at the replacement's address")
        self.assertTrue(new.running())
        self.failed = False

    def kafka_still_works(self, c, real):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        bootstrap = [f"{n.ip}:{n.kafka_port}" for n in c.nodes]
        # Retries, as a client has: the topic is auto-created by the first send, and its new leader
        # answers NOT_LEADER_OR_FOLLOWER until it is ready (kafka-python 2.0.2 defaults to none).
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5, retry_backoff_ms=200,
                                 max_in_flight_requests_per_connection=1)
        for i in range(10):
            producer.send("node-id-test", f"m{i}".encode()).get(timeout=30)
        hosts = {b.nodeId: (b.host, b.port) for b in producer._metadata.brokers()}
        producer.close()
        self.assertEqual(hosts.get(2), (real.ip, real.kafka_port))
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                 consumer_timeout_ms=10000)
        tp = TopicPartition("node-id-test", 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = [r.value for _, r in zip(range(10), consumer)]
        consumer.close()
        self.assertEqual(got, [f"m{i}".encode() for i in range(10)])


if __name__ == "__main__":
    run_suite(globals(), "node id")
