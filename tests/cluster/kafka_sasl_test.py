"""SASL on a real 3-node chronik cluster on 127.0.0.x (issue 18, clients; docs/security.md "Client
authentication: SASL"): every node has a PLAINTEXT listener and a SASL_SSL listener (a throwaway
CA, chronik_nodes.TestPki). A user is created with `chronik-server user create` through the
PLAINTEXT listener (SCRAM-SHA-512 and SCRAM-SHA-256 credentials); then kcat, confluent-kafka,
kafka-python 2.0 (SaslHandshake v0 and raw tokens) and kafkajs each produce and consume over
SASL_SSL with SCRAM-SHA-512 and with PLAIN (checked against the same SCRAM credential). A client
with a wrong password is refused with an error, nothing it sent is written (its topic is never
created), and the node keeps serving and logs the failure. `user delete` then refuses the user.

Run: /usr/bin/python3 tests/cluster/kafka_sasl_test.py --server build/daemon/chronik-server
"""
import json
import os
import random
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
READY_S = 30
USER, PASSWORD = "alice", "wonder-land-42"
# kafkajs and librdkafka names of the two mechanisms every client is run with.
MECHANISMS = ("SCRAM-SHA-512", "PLAIN")


class KafkaSasl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        cls.pki = c.add_kafka_listener("SASL_SSL")
        # Resources without ACLs are open to every authenticated user here: authorization is
        # kafka_acls_test's subject, not this one's (docs/security.md "Authorization: ACLs").
        for n in c.nodes:
            with open(n.config_path, "a") as f:
                f.write('no_acl_found = "allow"\n')
        c.start_all()

        c.wait_ready(READY_S)
        cls.failed = True

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    def cli(self, *args):
        node = self.cluster.nodes[0]
        out = subprocess.run([SERVER, "user", *args, "--bootstrap", node.listener_addr("PLAINTEXT")],
                             capture_output=True, text=True, timeout=60)
        return out.returncode, out.stdout, out.stderr

    def sasl_bootstrap(self):
        return ",".join(n.listener_addr("SASL_SSL") for n in self.cluster.nodes)

    def kcat_args(self, mechanism, password=PASSWORD):
        return ["kcat", "-b", self.sasl_bootstrap(), "-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={self.pki.ca}",
                "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={USER}", "-X", f"sasl.password={password}"]

    def topic_exists(self, topic):
        node = self.cluster.nodes[0]
        # Every topic: Metadata naming the topic would auto-create it.
        out = subprocess.run(["kcat", "-b", node.listener_addr("PLAINTEXT"), "-L", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        return f'topic "{topic}" with' in out.stdout

    def test_a_cli_creates_and_lists_the_user(self):
        rc, out, err = self.cli("create", "--name", USER, "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512",
                                "--mechanism", "SCRAM-SHA-256")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("list", "--json")
        self.assertEqual(rc, 0, err)
        users = {u["user"]: sorted(c["mechanism"] for c in u["credentials"]) for u in json.loads(out)}
        self.assertEqual(users, {USER: ["SCRAM-SHA-256", "SCRAM-SHA-512"]})
        # Every broker must know the user before the clients log in anywhere: each answers logins
        # from its own replica of __meta, which the user list through node 0 does not wait for.
        for n in self.cluster.nodes:
            self.cluster.wait_for(lambda n=n: self.kcat_login_works(n), 30, f"{USER} known at node {n.node_id}")
        type(self).failed = False

    def kcat_login_works(self, node):
        out = subprocess.run(["kcat", "-b", node.listener_addr("SASL_SSL"), "-X", "security.protocol=SASL_SSL",
                              "-X", f"ssl.ca.location={self.pki.ca}", "-X", "sasl.mechanisms=SCRAM-SHA-512",
                              "-X", f"sasl.username={USER}", "-X", f"sasl.password={PASSWORD}", "-L", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and "3 brokers:" in out.stdout

    def test_b_kcat(self):
        for mechanism in MECHANISMS:
            topic = f"sasl-kcat-{mechanism.lower()}"
            lines = "".join(f"kcat-{i}\n" for i in range(200))
            out = subprocess.run(self.kcat_args(mechanism) + ["-X", "topic.request.required.acks=-1", "-P", "-t", topic],
                                 input=lines, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            got = subprocess.run(self.kcat_args(mechanism) + ["-C", "-t", topic, "-o", "beginning", "-e", "-q"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(got.returncode, 0, got.stderr)
            self.assertEqual(sorted(got.stdout.split()), sorted(f"kcat-{i}" for i in range(200)), mechanism)
        type(self).failed = False

    def test_c_confluent_kafka(self):
        from confluent_kafka import Consumer, Producer
        for mechanism in MECHANISMS:
            topic = f"sasl-ck-{mechanism.lower()}"
            conf = {"bootstrap.servers": self.sasl_bootstrap(), "security.protocol": "SASL_SSL",
                    "ssl.ca.location": self.pki.ca, "sasl.mechanisms": mechanism, "sasl.username": USER,
                    "sasl.password": PASSWORD}
            producer = Producer({**conf, "acks": "all"})
            errors = []
            for i in range(200):
                producer.produce(topic, value=f"ck-{i}".encode(), on_delivery=lambda err, _m: errors.append(err) if err else None)
            self.assertEqual(producer.flush(60), 0)
            self.assertEqual(errors, [])
            consumer = Consumer({**conf, "group.id": f"sasl-ck-{mechanism}", "auto.offset.reset": "earliest"})
            consumer.subscribe([topic])
            seen = set()
            deadline = time.monotonic() + 60
            try:
                while len(seen) < 200 and time.monotonic() < deadline:
                    m = consumer.poll(1.0)
                    if m is not None and not m.error():
                        seen.add(m.value().decode())
            finally:
                consumer.close()
            self.assertEqual(seen, {f"ck-{i}" for i in range(200)}, mechanism)
        type(self).failed = False

    def test_d_kafka_python(self):
        from kafka import KafkaConsumer, KafkaProducer
        for mechanism in MECHANISMS:
            topic = f"sasl-py-{mechanism.lower()}"
            conf = {"security_protocol": "SASL_SSL", "ssl_cafile": self.pki.ca, "sasl_mechanism": mechanism,
                    "sasl_plain_username": USER, "sasl_plain_password": PASSWORD}
            producer = KafkaProducer(bootstrap_servers=self.sasl_bootstrap(), acks="all", **conf)
            for f in [producer.send(topic, f"py-{i}".encode()) for i in range(200)]:
                f.get(timeout=30)
            producer.close()
            consumer = KafkaConsumer(topic, bootstrap_servers=self.sasl_bootstrap(), group_id=f"sasl-py-{mechanism}",
                                     auto_offset_reset="earliest", consumer_timeout_ms=20000, **conf)
            try:
                seen = set()
                deadline = time.monotonic() + 60
                while len(seen) < 200 and time.monotonic() < deadline:
                    for records in consumer.poll(timeout_ms=1000).values():
                        seen.update(r.value.decode() for r in records)
            finally:
                consumer.close()
            self.assertEqual(seen, {f"py-{i}" for i in range(200)}, mechanism)
        type(self).failed = False

    def kafkajs(self):
        """Path of kafkajs_sasl.js with kafkajs installed next to it, or skip when npm is missing."""
        if shutil.which("node") is None or shutil.which("npm") is None:
            self.skipTest("node/npm not installed")
        work = os.environ.get("CHRONIK_NPM_DIR") or os.path.join(self.cluster.root, "npm")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafkajs")
        os.makedirs(work, exist_ok=True)
        for name in ("package.json", "kafkajs_sasl.js"):
            shutil.copy(os.path.join(src, name), os.path.join(work, name))
        if not os.path.isdir(os.path.join(work, "node_modules", "kafkajs")):
            out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, f"npm install kafkajs: {out.stderr}")
        return os.path.join(work, "kafkajs_sasl.js")

    def test_e_kafkajs(self):
        script = self.kafkajs()
        for mechanism in MECHANISMS:
            topic = f"sasl-js-{mechanism.lower()}"
            out = subprocess.run(["node", script, self.sasl_bootstrap(), self.pki.ca, mechanism.lower(), USER, PASSWORD,
                                  topic, "100"], capture_output=True, text=True, timeout=180)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout.strip().splitlines()[-1]), {"produced": 100, "consumed": 100}, mechanism)
        type(self).failed = False

    def test_f_wrong_password_is_refused_and_nothing_is_written(self):
        topic = "sasl-denied"
        for mechanism in MECHANISMS:
            out = subprocess.run(self.kcat_args(mechanism, password="not-the-password") +
                                 ["-X", "message.timeout.ms=5000", "-P", "-t", topic],
                                 input="secret-record\n", capture_output=True, text=True, timeout=60)
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertIn("Authentication failed", out.stderr)
        from confluent_kafka import Producer
        errors = []
        producer = Producer({"bootstrap.servers": self.sasl_bootstrap(), "security.protocol": "SASL_SSL",
                             "ssl.ca.location": self.pki.ca, "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": USER,
                             "sasl.password": "wrong", "message.timeout.ms": 5000,
                             "error_cb": lambda e: errors.append(e)})
        outcomes = []
        producer.produce(topic, value=b"secret-record", on_delivery=lambda err, _m: outcomes.append(err))
        producer.flush(20)
        # The record fails when message.timeout.ms passes: it was never written.
        self.assertEqual(len(outcomes), 1)
        self.assertIsNotNone(outcomes[0])
        self.assertTrue(any("Authentication failed" in e.str() for e in errors), errors)
        self.assertFalse(self.topic_exists(topic))
        for n in self.cluster.nodes:
            self.assertTrue(n.running())
        self.assertTrue(self.kcat_login_works(self.cluster.nodes[0]))
        logs = "".join(open(n.log_path, errors="replace").read() for n in self.cluster.nodes)
        self.assertIn("SASL authentication failed", logs)
        type(self).failed = False

    def test_g_deleted_user_is_refused(self):
        rc, _, err = self.cli("delete", "--name", USER)
        self.assertEqual(rc, 0, err)
        self.cluster.wait_for(lambda: not any(self.kcat_login_works(n) for n in self.cluster.nodes), 30,
                              "the deleted user refused everywhere")
        rc, out, _ = self.cli("list")
        self.assertEqual((rc, out), (0, ""))
        type(self).failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka_sasl")
