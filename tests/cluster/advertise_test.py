"""Real-process suite for binding every interface and advertising another address (issue 19,
docs/config.md "Addresses"): nodes 1 and 2 bind 127.0.0.11/12 as usual; node 3 binds 0.0.0.0
with --advertise localhost, on ports the kernel picked free, and nodes 1 and 2 find it through a
seed given as a host name ("localhost:<port>"). The cluster forms, every node's /v1/cluster shows
node 3's advertised (resolved) RPC and Kafka addresses, never 0.0.0.0, and a Kafka client
(python3-confluent-kafka) bootstrapping through node 3 produces to and reads back from a topic
replicated on all three.

Run: /usr/bin/python3 tests/cluster/advertise_test.py --server build/daemon/chronik-server
"""
import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
READY_S = 60


def free_ports(count):
    """Ports no process listens on for 0.0.0.0, picked by the kernel (bound, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("0.0.0.0", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class AdvertiseTest(unittest.TestCase):
    def test_a_node_on_every_interface_advertises_its_name(self):
        c = Cluster(SERVER, 3)
        ok = False
        try:
            n1, n2, n3 = c.nodes
            n3.ip, n3.bind = "127.0.0.1", "0.0.0.0"
            n3.gossip_port, n3.rpc_port, n3.kafka_port, n3.admin_port = free_ports(4)
            by_name = f"localhost:{n3.gossip_port}"
            n3.start([n1.gossip_addr, n2.gossip_addr], ["--advertise", "localhost"])
            n1.start([by_name])
            n2.start([by_name])
            c.wait_ready(READY_S, alive=True)
            for n in c.nodes:
                brokers = {b["node_id"]: b for b in n.cluster()["brokers"]}
                self.assertEqual(brokers[3]["kafka_addr"], f"127.0.0.1:{n3.kafka_port}", brokers[3])
                self.assertEqual(brokers[3]["rpc_addr"], f"127.0.0.1:{n3.rpc_port}", brokers[3])
                self.assertNotIn("0.0.0.0", str(brokers))
            members = n1.members()
            self.assertEqual(members[3]["address"], f"127.0.0.1:{n3.gossip_port}", members[3])

            from confluent_kafka import Consumer, Producer
            from confluent_kafka.admin import AdminClient, NewTopic
            bootstrap = f"127.0.0.1:{n3.kafka_port}"
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("everywhere", num_partitions=3, replication_factor=3)])["everywhere"].result(30)
            producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
            failed = []
            sent = [f"r{i}".encode() for i in range(90)]
            for v in sent:
                producer.produce("everywhere", value=v, on_delivery=lambda err, _m: err and failed.append(err))
            self.assertEqual(producer.flush(30), 0, "records left unacknowledged")
            self.assertEqual(failed, [])
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "everywhere",
                                 "auto.offset.reset": "earliest", "enable.auto.commit": False})
            consumer.subscribe(["everywhere"])
            got = []
            deadline = time.monotonic() + 30
            while len(got) < len(sent) and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and m.error() is None:
                    got.append(m.value())
            consumer.close()
            self.assertEqual(sorted(got), sorted(sent))
            ok = True
        finally:
            c.cleanup(keep_logs_on_failure=not ok)


if __name__ == "__main__":
    run_suite(globals(), "advertise")
