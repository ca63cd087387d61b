"""In-sync replicas against a real 3-node chronik cluster on 127.0.0.x (issue 15, "A real ISR";
docs/kafka.md "In-sync replicas"). Every node runs with replica_lag_time_max_ms = 1000.

A topic with 3 replicas starts with all three in sync (kcat's Metadata "isrs", and 0
under-replicated partitions in /v1/cluster). One follower is frozen with SIGSTOP while a producer
keeps the leader's log growing: the leader drops it from the ISR, every node's Metadata shows two in
sync, and /v1/cluster counts the partition under-replicated. After SIGCONT the follower catches up
and the ISR is whole again, with nothing acknowledged lost.

Run: /usr/bin/python3 tests/cluster/kafka_isr_test.py --server build/daemon/chronik-server
"""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
READY_S = 20
TOPIC = "isr-topic"


def kafka_addr(node):
    return f"{node.ip}:{node.kafka_port}"


def metadata(node):
    """(leader, replicas, isrs) of TOPIC's partition 0 as kcat sees it through `node`, or None."""
    out = subprocess.run(["kcat", "-b", kafka_addr(node), "-L", "-t", TOPIC, "-m", "5"], capture_output=True,
                         text=True, timeout=20)
    m = re.search(r"partition 0, leader (-?\d+), replicas: ([\d,]*), isrs: ([\d,]*)", out.stdout)
    if out.returncode != 0 or not m:
        return None
    ids = lambda s: sorted(int(x) for x in s.split(",") if x)  # noqa: E731
    return int(m.group(1)), ids(m.group(2)), ids(m.group(3))


class KafkaIsr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        conf = os.path.join(c.root, "isr.toml")
        with open(conf, "w") as f:
            f.write("replica_lag_time_max_ms = 1000\n")
        for n in c.nodes:
            n.start([m.gossip_addr for m in c.nodes if m is not n], extra=["--config", conf])

        c.wait_ready(READY_S)
        cls.bootstrap = ",".join(kafka_addr(n) for n in c.nodes)
        cls.failed = True

    @classmethod
    def tearDownClass(cls):
        for n in cls.cluster.nodes:
            n.signal(signal.SIGCONT)
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def produce(self, first, count):
        lines = "".join(f"v{i}\n" for i in range(first, first + count))
        out = subprocess.run(["kcat", "-P", "-b", self.bootstrap, "-t", TOPIC, "-p", "0", "-X", "acks=all"],
                             input=lines, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)

    def under_replicated(self, node):
        v = node.cluster()
        return None if v is None else v.get("under_replicated_partitions")

    def test_a_a_frozen_follower_leaves_the_isr_and_returns(self):
        c = self.cluster
        from_node = c.nodes[0]
        self.produce(0, 10)  # Metadata auto-creates the topic with 3 replicas (docs/kafka.md "Metadata")
        c.wait_for(lambda: (m := metadata(from_node)) is not None and m[0] > 0 and len(m[2]) == 3, READY_S,
                   "a leader and 3 in-sync replicas")
        c.wait_for(lambda: all(self.under_replicated(n) == 0 for n in c.nodes), READY_S,
                   "no under-replicated partitions")
        leader_id = metadata(from_node)[0]
        follower = next(n for n in c.nodes if n.node_id != leader_id)
        others = [n for n in c.nodes if n is not follower]

        follower.signal(signal.SIGSTOP)
        try:
            sent = 10
            deadline = time.monotonic() + 30
            shrunk = False
            while time.monotonic() < deadline and not shrunk:
                self.produce(sent, 20)  # the leader's log grows; the frozen follower cannot follow
                sent += 20
                views = [metadata(n) for n in others]
                shrunk = all(v is not None and v[2] == sorted(m.node_id for m in others) for v in views)
            self.assertTrue(shrunk, "the frozen follower left the ISR on every live node")
            c.wait_for(lambda: all(self.under_replicated(n) == 1 for n in others), READY_S,
                       "1 under-replicated partition in /v1/cluster")
        finally:
            follower.signal(signal.SIGCONT)

        self.produce(sent, 10)
        sent += 10
        c.wait_for(lambda: all((m := metadata(n)) is not None and len(m[2]) == 3 for n in c.nodes), 60,
                   "the follower back in the ISR on every node")
        c.wait_for(lambda: all(self.under_replicated(n) == 0 for n in c.nodes), 60,
                   "no under-replicated partitions again")
        cons = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", TOPIC, "-p", "0", "-o", "beginning", "-e"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(cons.returncode, 0, cons.stderr)
        self.assertEqual(sorted(cons.stdout.split()), sorted(f"v{i}" for i in range(sent)))
        type(self).failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka isr")
