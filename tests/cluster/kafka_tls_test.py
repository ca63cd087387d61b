"""Kafka listeners and TLS on a real 3-node chronik cluster on 127.0.0.x (issue 18, clients): every
node has a PLAINTEXT listener and an SSL listener (a throwaway CA made with the openssl CLI,
chronik_nodes.TestPki). Over SSL, Metadata answers every broker's SSL endpoint (and over PLAINTEXT
the plaintext ones); kcat, confluent-kafka and kafka-python produce and consume over SSL, the two
Python clients through consumer groups (FindCoordinator must answer the coordinator's SSL
endpoint). A plaintext Kafka client on the SSL port and random bytes to it are refused with a log
line, and the node keeps serving.

Run: /usr/bin/python3 tests/cluster/kafka_tls_test.py --server build/daemon/chronik-server
"""
import os
import random
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
READY_S = 30


def kcat(node, *args, listener="SSL", ca=None, timeout=60):
    cmd = ["kcat", "-b", node.listener_addr(listener)]
    if listener == "SSL":
        cmd += ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={ca}"]
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def api_versions_frame():
    """A plaintext ApiVersions v0 request, as a Kafka client's first bytes."""
    client_id = b"plain"
    body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    return struct.pack(">i", len(body)) + body


def closed_by_peer(sock, timeout=10):
    """Reads until the peer closes (True) or the timeout passes (False)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


class KafkaTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        cls.pki = c.add_kafka_listener("SSL")
        c.start_all()

        c.wait_ready(READY_S)
        cls.failed = True

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def ssl_bootstrap(self):
        return ",".join(n.listener_addr("SSL") for n in self.cluster.nodes)

    def wait_metadata(self, node, listener, want):
        """kcat -L through `listener` until every string of `want` is in its output (bounded)."""
        deadline = time.monotonic() + 30
        out = ""
        while time.monotonic() < deadline:
            rc, out, err = kcat(node, "-L", "-m", "5", listener=listener, ca=self.pki.ca)
            out += err
            if rc == 0 and all(w in out for w in want):
                return out
            time.sleep(0.2)
        self.fail(f"metadata over {listener} never showed {want}:\n{out}")

    def test_a_metadata_answers_the_endpoints_of_the_listener_asked(self):
        nodes = self.cluster.nodes
        # The SSL endpoints are registered once gossip has carried them to the controller.
        ssl_view = self.wait_metadata(nodes[0], "SSL", [f"broker {m.node_id} at {m.listener_addr('SSL')}" for m in nodes])
        self.assertIn("3 brokers:", ssl_view)
        for m in nodes:
            self.assertNotIn(f"at {m.listener_addr('PLAINTEXT')}", ssl_view)
        for n in nodes:
            plain = self.wait_metadata(n, "PLAINTEXT", [f"broker {m.node_id} at {m.listener_addr('PLAINTEXT')}" for m in nodes])
            for m in nodes:
                self.assertNotIn(f"at {m.listener_addr('SSL')}", plain)
        type(self).failed = False

    def test_b_kcat_produces_and_consumes_over_ssl(self):
        n = self.cluster.nodes[1]
        self.wait_metadata(n, "SSL", [f"broker {m.node_id} at {m.listener_addr('SSL')}" for m in self.cluster.nodes])
        lines = "".join(f"k{i}:tls-{i}\n" for i in range(1000))
        out = subprocess.run(["kcat", "-b", self.ssl_bootstrap(), "-X", "security.protocol=ssl",
                              "-X", f"ssl.ca.location={self.pki.ca}", "-X", "topic.request.required.acks=-1",
                              "-P", "-t", "tls-kcat", "-K", ":"], input=lines, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        rc, got, err = kcat(n, "-C", "-t", "tls-kcat", "-o", "beginning", "-e", "-q", "-f", "%s\n", ca=self.pki.ca)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(got.split()), sorted(f"tls-{i}" for i in range(1000)))
        type(self).failed = False

    def test_c_confluent_kafka_produces_and_consumes_in_a_group_over_ssl(self):
        from confluent_kafka import Consumer, Producer
        from confluent_kafka.admin import AdminClient
        conf = {"bootstrap.servers": self.ssl_bootstrap(), "security.protocol": "ssl", "ssl.ca.location": self.pki.ca}
        md = AdminClient(conf).list_topics(timeout=20)
        self.assertEqual({b.id: f"{b.host}:{b.port}" for b in md.brokers.values()},
                         {n.node_id: n.listener_addr("SSL") for n in self.cluster.nodes})
        producer = Producer({**conf, "acks": "all"})
        errors = []
        for i in range(500):
            producer.produce("tls-ck", value=f"ck-{i}".encode(), key=str(i).encode(),
                             on_delivery=lambda err, _m: errors.append(err) if err else None)
        self.assertEqual(producer.flush(60), 0)
        self.assertEqual(errors, [])
        consumer = Consumer({**conf, "group.id": "tls-ck-group", "auto.offset.reset": "earliest"})
        consumer.subscribe(["tls-ck"])
        seen = set()
        deadline = time.monotonic() + 60
        try:
            while len(seen) < 500 and time.monotonic() < deadline:
                m = consumer.poll(1.0)
                if m is not None and not m.error():
                    seen.add(m.value().decode())
            consumer.commit(asynchronous=False)
        finally:
            consumer.close()
        self.assertEqual(seen, {f"ck-{i}" for i in range(500)})
        type(self).failed = False

    def test_d_kafka_python_produces_and_consumes_in_a_group_over_ssl(self):
        from kafka import KafkaConsumer, KafkaProducer
        ssl = {"security_protocol": "SSL", "ssl_cafile": self.pki.ca}
        producer = KafkaProducer(bootstrap_servers=self.ssl_bootstrap(), acks="all", **ssl)
        futures = [producer.send("tls-py", f"py-{i}".encode()) for i in range(300)]
        for f in futures:
            f.get(timeout=30)
        brokers = {b.nodeId: f"{b.host}:{b.port}" for b in producer._metadata.brokers()}
        producer.close()
        self.assertEqual(brokers, {n.node_id: n.listener_addr("SSL") for n in self.cluster.nodes})
        consumer = KafkaConsumer("tls-py", bootstrap_servers=self.ssl_bootstrap(), group_id="tls-py-group",
                                 auto_offset_reset="earliest", consumer_timeout_ms=20000, **ssl)
        try:
            seen = set()
            deadline = time.monotonic() + 60
            while len(seen) < 300 and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=1000).values():
                    seen.update(r.value.decode() for r in records)
            consumer.commit()
        finally:
            consumer.close()
        self.assertEqual(seen, {f"py-{i}" for i in range(300)})
        type(self).failed = False

    def test_e_plaintext_and_garbage_on_the_ssl_port_are_refused_and_the_node_stays_up(self):
        node = self.cluster.nodes[2]
        host, port = node.ip, node.listener_ports["SSL"]
        # A plaintext Kafka client: kcat without TLS gets no metadata; its bytes are closed on.
        plain = subprocess.run(["kcat", "-b", node.listener_addr("SSL"), "-L", "-m", "3"], capture_output=True,
                               text=True, timeout=30)
        self.assertNotEqual(plain.returncode, 0, plain.stdout)
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(api_versions_frame())
            self.assertTrue(closed_by_peer(s))
        # Random bytes, and a TLS record header announcing a huge handshake.
        rng = random.Random(SEED)
        for junk in (bytes(rng.randrange(256) for _ in range(65536)), b"\x16\x03\x01\xff\xff" + b"\x01" * 100):
            with socket.create_connection((host, port), timeout=5) as s:
                try:
                    s.sendall(junk)
                except (ConnectionResetError, BrokenPipeError):
                    pass
                self.assertTrue(closed_by_peer(s))
        self.assertTrue(node.running())
        self.wait_metadata(node, "SSL", [f"broker {node.node_id} at {node.listener_addr('SSL')}"])
        with open(node.log_path, errors="replace") as f:
            self.assertIn("TLS handshake on listener SSL from", f.read())
        type(self).failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka_tls")
