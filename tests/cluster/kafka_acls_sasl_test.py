"""ACLs for SASL principals on a real 3-node chronik cluster on 127.0.0.x (issue 18; docs/security.md
"Authorization: ACLs"). Every node has a PLAINTEXT listener and a SASL_SSL listener, and
`no_acl_found = "deny"`: a resource without ACLs is closed to everyone but the super users,
`User:admin` and `User:ANONYMOUS`. The latter is the operator's door: the PLAINTEXT listener
(loopback in production) is where `chronik-server user create`, which speaks no SASL, makes the
users, and creating users needs ALTER on the cluster. Users admin, alice and bob log in with
SCRAM-SHA-512 on SASL_SSL, which is all this suite's clients use.

1. The super user needs no ACL: admin creates two topics, produces and consumes in any group,
   and creates ACLs through kafka-python's KafkaAdminClient (CreateAcls over SASL_SSL).
2. alice, with WRITE and READ on `alice-orders` and READ on group `alice-group`, produces there and
   consumes with that group (confluent-kafka, through every broker).
3. alice is refused elsewhere, as the clients report it: TOPIC_AUTHORIZATION_FAILED producing to
   `other-orders` or consuming it, GROUP_AUTHORIZATION_FAILED consuming in `other-group`; she
   cannot create ACLs or topics either (CLUSTER_ / TOPIC_AUTHORIZATION_FAILED).
4. bob has no ACL at all: he sees no topic and is refused producing, consuming, creating topics
   and creating ACLs.

InterBrokerMarkers, on a second cluster (PLAINTEXT only, the default no-ACL rule): once the CLUSTER
resource has a binding, User:ANONYMOUS no longer holds CLUSTER_ACTION by the ACLs, yet the brokers'
own WriteTxnMarkers (sent over the inter-broker listener as ANONYMOUS) still pass: a transaction
over partitions led by different brokers commits and a read_committed consumer reads it. The same
binding takes ANONYMOUS's ALTER and DESCRIBE on the cluster: `chronik-server user create` and
`user list` through PLAINTEXT, which worked before it, are refused CLUSTER_AUTHORIZATION_FAILED.

Run: /usr/bin/python3 tests/cluster/kafka_acls_sasl_test.py --server build/daemon/chronik-server
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
READY_S = 30
SETTLE_S = 30  # the bound on waiting for a binding or a user to reach every broker
MECHANISM = "SCRAM-SHA-512"
USERS = {"admin": "admin-secret-42", "alice": "alice-secret-42", "bob": "bob-secret-42"}
ALICE_TOPIC, OTHER_TOPIC = "alice-orders", "other-orders"
ALICE_GROUP, OTHER_GROUP = "alice-group", "other-group"


def allow_acl(principal, resource_type, name, operation):
    """A kafka-python ALLOW binding on a literal resource, from every host."""
    from kafka.admin import ACL, ACLPermissionType, ACLResourcePatternType, ResourcePattern
    return ACL(principal=principal, host="*", operation=operation, permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(resource_type, name, ACLResourcePatternType.LITERAL))


class KafkaAclsSasl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(SERVER, 3)
        cls.pki = c.add_kafka_listener("SASL_SSL")
        for n in c.nodes:
            with open(n.config_path, "a") as f:
                f.write('super_users = ["User:admin", "User:ANONYMOUS"]\nno_acl_found = "deny"\n')
        c.start_all()

        c.wait_ready(READY_S)
        cls.failed = True

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=cls.failed)

    # --- clients ---------------------------------------------------------------------------

    def bootstrap(self, nodes=None):
        return ",".join(n.listener_addr("SASL_SSL") for n in (nodes or self.cluster.nodes))

    def ck_conf(self, user, nodes=None):
        """confluent-kafka (librdkafka) settings of `user` on the SASL_SSL listener."""
        return {"bootstrap.servers": self.bootstrap(nodes), "security.protocol": "SASL_SSL",
                "ssl.ca.location": self.pki.ca, "sasl.mechanisms": MECHANISM, "sasl.username": user,
                "sasl.password": USERS[user]}

    def kp_admin(self, user):
        from kafka.admin import KafkaAdminClient
        return KafkaAdminClient(bootstrap_servers=self.bootstrap(), security_protocol="SASL_SSL",
                                ssl_cafile=self.pki.ca, sasl_mechanism=MECHANISM, sasl_plain_username=user,
                                sasl_plain_password=USERS[user], request_timeout_ms=30000)

    def produce(self, user, topic, count, nodes=None):
        """Produces `count` records as `user`; the delivery error codes (None: acknowledged)."""
        from confluent_kafka import Producer
        p = Producer({**self.ck_conf(user, nodes), "acks": "all", "linger.ms": 0, "message.timeout.ms": 15000})
        outcomes = []
        for i in range(count):
            p.produce(topic, value=f"{user}-{i}".encode(),
                      on_delivery=lambda err, _m: outcomes.append(None if err is None else err.code()))
        p.flush(30)
        self.assertEqual(len(outcomes), count, f"{user} -> {topic}: not every record was answered")
        return outcomes

    def consume(self, user, topic, group, want):
        """Consumes `topic` in `group` as `user` until `want` values are seen or a consumer error
        comes: (values seen, error codes seen), bounded by SETTLE_S."""
        from confluent_kafka import Consumer
        consumer = Consumer({**self.ck_conf(user), "group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": True})
        consumer.subscribe([topic])
        seen, errors = set(), []
        deadline = time.monotonic() + SETTLE_S
        try:
            while len(seen) < want and not errors and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    errors.append(m.error().code())
                else:
                    seen.add(m.value().decode())
        finally:
            consumer.close()
        return seen, errors

    def wait_produce_ok(self, user, topic, nodes):
        """Until one record of `user` is acknowledged through `nodes` alone: a new binding takes
        effect at each broker when its `__meta` record applies there."""
        deadline = time.monotonic() + SETTLE_S
        last = None
        while time.monotonic() < deadline:
            last = self.produce(user, topic, 1, nodes)[0]
            if last is None:
                return
            time.sleep(0.5)
        self.fail(f"{user} could not produce to {topic} through {self.bootstrap(nodes)}: last error {last}")

    def login_works(self, node, user):
        out = subprocess.run(["kcat", "-b", node.listener_addr("SASL_SSL"), "-X", "security.protocol=SASL_SSL",
                              "-X", f"ssl.ca.location={self.pki.ca}", "-X", f"sasl.mechanisms={MECHANISM}",
                              "-X", f"sasl.username={user}", "-X", f"sasl.password={USERS[user]}", "-L", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and "3 brokers:" in out.stdout

    # --- the suite, in order ----------------------------------------------------------------

    def test_a_users_are_created_and_known_everywhere(self):
        node = self.cluster.nodes[0]
        for user, password in USERS.items():
            out = subprocess.run([SERVER, "user", "create", "--name", user, "--password", password,
                                  "--mechanism", MECHANISM, "--bootstrap", node.listener_addr("PLAINTEXT")],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
        for n in self.cluster.nodes:
            for user in USERS:
                self.cluster.wait_for(lambda n=n, user=user: self.login_works(n, user), SETTLE_S,
                                      f"{user} known at node {n.node_id}")
        type(self).failed = False

    def test_b_the_super_user_needs_no_acl(self):
        from kafka.admin import ACLOperation, NewTopic, ResourceType
        type(self).failed = True
        admin = self.kp_admin("admin")
        try:
            admin.create_topics([NewTopic(t, 1, 3) for t in (ALICE_TOPIC, OTHER_TOPIC)], timeout_ms=30000)
            created = admin.create_acls([
                allow_acl("User:alice", ResourceType.TOPIC, ALICE_TOPIC, ACLOperation.WRITE),
                allow_acl("User:alice", ResourceType.TOPIC, ALICE_TOPIC, ACLOperation.READ),
                allow_acl("User:alice", ResourceType.GROUP, ALICE_GROUP, ACLOperation.READ),
            ])
            self.assertEqual(len(created["succeeded"]), 3, created)
            self.assertEqual(created["failed"], [])
        finally:
            admin.close()
        # Without any binding on OTHER_TOPIC or on any group of its own.
        for topic in (ALICE_TOPIC, OTHER_TOPIC):
            self.assertEqual(self.produce("admin", topic, 20), [None] * 20, topic)
            seen, errors = self.consume("admin", topic, "admin-group-" + topic, 20)
            self.assertEqual(errors, [], topic)
            self.assertEqual(seen, {f"admin-{i}" for i in range(20)}, topic)
        type(self).failed = False

    def test_c_alice_uses_what_her_acls_grant(self):
        type(self).failed = True
        for n in self.cluster.nodes:  # the bindings are in effect on every broker
            self.wait_produce_ok("alice", ALICE_TOPIC, [n])
        self.assertEqual(self.produce("alice", ALICE_TOPIC, 50), [None] * 50)
        # Distinct values: alice-0..49 (wait_produce_ok's records are alice-0 too) and admin's 20.
        seen, errors = self.consume("alice", ALICE_TOPIC, ALICE_GROUP, 50 + 20)
        self.assertEqual(errors, [])
        self.assertEqual(seen, {f"alice-{i}" for i in range(50)} | {f"admin-{i}" for i in range(20)})
        type(self).failed = False

    def test_d_alice_is_refused_elsewhere(self):
        from confluent_kafka import KafkaError
        type(self).failed = True
        self.assertEqual(self.produce("alice", OTHER_TOPIC, 3), [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3)
        seen, errors = self.consume("alice", ALICE_TOPIC, OTHER_GROUP, 1)
        self.assertEqual((seen, errors), (set(), [KafkaError.GROUP_AUTHORIZATION_FAILED]))
        seen, errors = self.consume("alice", OTHER_TOPIC, ALICE_GROUP, 1)
        self.assertEqual((seen, errors), (set(), [KafkaError.TOPIC_AUTHORIZATION_FAILED]))
        self.assert_no_admin_rights("alice")
        type(self).failed = False

    def test_e_a_principal_without_acls_gets_nothing(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AdminClient
        type(self).failed = True
        listed = AdminClient(self.ck_conf("bob")).list_topics(timeout=20)
        self.assertEqual(set(listed.topics), set(), "bob may describe no topic")
        self.assertEqual(len(listed.brokers), 3)
        for topic in (ALICE_TOPIC, OTHER_TOPIC):
            self.assertEqual(self.produce("bob", topic, 2), [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 2, topic)
        seen, errors = self.consume("bob", ALICE_TOPIC, ALICE_GROUP, 1)
        self.assertEqual(seen, set())
        self.assertEqual(len(errors), 1)
        self.assertIn(errors[0], (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED))
        self.assert_no_admin_rights("bob")
        # Nothing of theirs was written: admin reads OTHER_TOPIC's 20 records and no more.
        seen, errors = self.consume("admin", OTHER_TOPIC, "admin-recount", 21)
        self.assertEqual(errors, [])
        self.assertEqual(seen, {f"admin-{i}" for i in range(20)})
        type(self).failed = False

    def assert_no_admin_rights(self, user):
        """`user` can neither grant itself anything nor create a topic (no ALTER or CREATE on the
        cluster), and the ACLs are unchanged."""
        from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, NewTopic
        from kafka.admin import ResourcePatternFilter, ResourceType
        from kafka.errors import ClusterAuthorizationFailedError, TopicAuthorizationFailedError
        client = self.kp_admin(user)
        try:
            grab = allow_acl(f"User:{user}", ResourceType.TOPIC, OTHER_TOPIC, ACLOperation.ALL)
            result = client.create_acls([grab])
            self.assertEqual(result["succeeded"], [], result)
            self.assertEqual(len(result["failed"]), 1)
            self.assertIs(result["failed"][0][1], ClusterAuthorizationFailedError)  # kafka-python gives the class
            with self.assertRaises(TopicAuthorizationFailedError):
                client.create_topics([NewTopic(f"{user}-topic", 1, 3)], timeout_ms=30000)
        finally:
            client.close()
        admin = self.kp_admin("admin")
        try:
            every = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                              permission_type=ACLPermissionType.ANY,
                              resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
            acls, error = admin.describe_acls(every)
            self.assertEqual(error.errno, 0)
            self.assertEqual(sorted((a.principal, a.resource_pattern.resource_name, a.operation.name) for a in acls),
                             [("User:alice", ALICE_GROUP, "READ"), ("User:alice", ALICE_TOPIC, "READ"),
                              ("User:alice", ALICE_TOPIC, "WRITE")])
        finally:
            admin.close()


class InterBrokerMarkers(unittest.TestCase):
    def setUp(self):
        self.cluster = c = Cluster(SERVER, 3)
        c.start_all()
        c.wait_ready(READY_S)
        self.failed = True

    def tearDown(self):
        self.cluster.cleanup(keep_logs_on_failure=self.failed)

    def user_cli(self, *args):
        node = self.cluster.nodes[0]
        return subprocess.run([SERVER, "user", *args, "--bootstrap", f"{node.ip}:{node.kafka_port}"],
                              capture_output=True, text=True, timeout=60)

    def test_brokers_markers_pass_when_the_cluster_has_acls(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        from kafka.admin import ACLOperation, KafkaAdminClient, ResourceType
        topic, partitions = "txn-orders", 6
        bootstrap = self.cluster.bootstrap()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])[topic].result(timeout=30)

        def leaders():
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
            return {p.leader for p in t.partitions.values()} if t and t.error is None else set()
        self.cluster.wait_for(lambda: len(leaders() - {-1}) >= 2 and -1 not in leaders(), SETTLE_S,
                              "partitions led by at least two brokers")
        self.assertEqual(self.user_cli("create", "--name", "carol", "--password", "carol-secret-42").returncode, 0)
        # A binding on the CLUSTER resource (for someone else): ANONYMOUS's CLUSTER_ACTION is no
        # longer granted by the no-ACL rule (kafka/acl/acl_authorizer.h step 4).
        kp = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
        try:
            grant = allow_acl("User:ops", ResourceType.CLUSTER, "kafka-cluster", ACLOperation.ALTER)
            self.assertEqual(len(kp.create_acls([grant])["succeeded"]), 1)
        finally:
            kp.close()
        # Nor its ALTER and DESCRIBE, which the user CLI needs (AlterUserScramCredentials,
        # DescribeUserScramCredentials): ANONYMOUS can no longer make itself a user.
        for args in (("create", "--name", "mallory", "--password", "mallory-secret-42"), ("list",)):
            refused = self.user_cli(*args)
            self.assertNotEqual(refused.returncode, 0, refused.stdout)
            self.assertIn("CLUSTER_AUTHORIZATION_FAILED", refused.stderr)

        producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "acl-txn", "acks": "all"})
        producer.init_transactions(30)
        producer.begin_transaction()
        for i in range(60):
            producer.produce(topic, value=f"txn-{i}".encode(), partition=i % partitions)
        producer.commit_transaction(60)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "acl-txn-reader",
                             "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        seen = set()
        deadline = time.monotonic() + SETTLE_S
        try:
            while len(seen) < 60 and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and not m.error():
                    seen.add(m.value().decode())
        finally:
            consumer.close()
        self.assertEqual(seen, {f"txn-{i}" for i in range(60)}, "committed records behind a marker")
        self.failed = False


if __name__ == "__main__":
    run_suite(globals(), "kafka_acls_sasl")
