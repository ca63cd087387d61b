"""ACLs against a real 3-node chronik cluster on 127.0.0.x (issue 18; docs/security.md
"Authorization: ACLs"), from confluent-kafka (librdkafka) and kafka-python (PyPI, admin venv).

The clients connect over PLAINTEXT, so their principal is User:ANONYMOUS and the default
`no_acl_found = "allow_unauthenticated"` lets them do anything on a resource without ACLs
(including CreateAcls, while the CLUSTER resource has none). SASL principals are tested where
SASL is (the unit tests decide for User:alice through the dispatcher: tests/unit/
kafka_acl_handlers_test.cc); here the ACL life cycle is shown end to end across brokers:

1. A topic without ACLs takes ANONYMOUS's records.
2. CreateAcls (confluent-kafka, through broker 1) ALLOW User:alice READ on it: the topic now has
   ACLs, none for ANONYMOUS, so a producer bootstrapped at broker 3 gets TOPIC_AUTHORIZATION_FAILED
   (every broker decides from the same `__meta` bindings).
3. DescribeAcls (both clients) lists the binding.
4. CreateAcls (kafka-python) ALLOW User:* WRITE and DESCRIBE: the producer is allowed again.
5. DeleteAcls (kafka-python, then confluent-kafka) removes them; DescribeAcls lists none.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_acls_test.py --server build/daemon/chronik-server
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 30
TOPIC = "acl-orders"


class KafkaAcls(AdminSuite):

    def produce_error(self, via):
        """Produces one record to TOPIC bootstrapped at node `via` alone: None when acknowledged,
        else the librdkafka error code."""
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": kafka_addr(via), "acks": "all", "linger.ms": 0,
                      "message.timeout.ms": 10000, "enable.idempotence": False})
        errors = []
        p.produce(TOPIC, value=b"v", on_delivery=lambda err, msg: errors.append(err))
        p.flush(20)
        self.assertEqual(len(errors), 1)
        return None if errors[0] is None else errors[0].code()

    def wait_produce(self, via, expected):
        deadline = time.monotonic() + SETTLE_S
        seen = None
        while time.monotonic() < deadline:
            seen = self.produce_error(via)
            if seen == expected:
                return
            time.sleep(0.5)
        self.fail(f"produce via {kafka_addr(via)}: expected {expected}, last {seen}")

    def test_acl_life_cycle(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                           AdminClient, NewTopic, ResourcePatternType, ResourceType)
        from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                                 KafkaAdminClient, ResourcePattern, ResourcePatternFilter)
        from kafka.admin import ResourceType as KpResourceType

        first, _, last = self.cluster.nodes
        admin = AdminClient({"bootstrap.servers": kafka_addr(first)})
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3)])[TOPIC].result(timeout=30)
        # 1. No ACLs: ANONYMOUS writes.
        self.wait_produce(last, None)

        # 2. An ACL for someone else closes the topic to ANONYMOUS, on every broker.
        alice = AclBinding(ResourceType.TOPIC, TOPIC, ResourcePatternType.LITERAL, "User:alice", "*",
                           AclOperation.READ, AclPermissionType.ALLOW)
        admin.create_acls([alice])[alice].result(timeout=30)
        self.wait_produce(last, KafkaError.TOPIC_AUTHORIZATION_FAILED)

        # 3. DescribeAcls from both clients.
        any_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                      AclOperation.ANY, AclPermissionType.ANY)
        listed = admin.describe_acls(any_filter).result(timeout=30)
        self.assertEqual([(b.name, b.principal, b.operation) for b in listed],
                         [(TOPIC, "User:alice", AclOperation.READ)])
        kp = KafkaAdminClient(bootstrap_servers=kafka_addr(last), request_timeout_ms=30000)
        try:
            kp_filter = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                  permission_type=ACLPermissionType.ANY,
                                  resource_pattern=ResourcePatternFilter(KpResourceType.ANY, None,
                                                                          ACLResourcePatternType.ANY))
            acls, error = kp.describe_acls(kp_filter)
            self.assertEqual(error.errno, 0)
            self.assertEqual([(a.resource_pattern.resource_name, a.principal) for a in acls], [(TOPIC, "User:alice")])

            # 4. kafka-python grants every user WRITE (which implies DESCRIBE for Metadata).
            everyone = ACL(principal="User:*", host="*", operation=ACLOperation.WRITE,
                           permission_type=ACLPermissionType.ALLOW,
                           resource_pattern=ResourcePattern(KpResourceType.TOPIC, TOPIC, ACLResourcePatternType.LITERAL))
            created = kp.create_acls([everyone])
            self.assertEqual(len(created["succeeded"]), 1, created)
            self.wait_produce(last, None)
            self.wait_produce(first, None)

            # 5. DeleteAcls: kafka-python the wildcard binding, confluent-kafka alice's.
            deleted = kp.delete_acls([ACLFilter(principal="User:*", host="*", operation=ACLOperation.ANY,
                                                permission_type=ACLPermissionType.ANY,
                                                resource_pattern=ResourcePatternFilter(
                                                    KpResourceType.TOPIC, TOPIC, ACLResourcePatternType.LITERAL))])
            self.assertEqual(len(deleted), 1)
            _, matching, error = deleted[0]
            self.assertEqual(error.errno, 0)
            self.assertEqual([a.principal for a in matching], ["User:*"])
        finally:
            kp.close()
        self.wait_produce(last, KafkaError.TOPIC_AUTHORIZATION_FAILED)  # alice's ACL remains
        alice_filter = AclBindingFilter(ResourceType.TOPIC, TOPIC, ResourcePatternType.MATCH, "User:alice", None,
                                        AclOperation.ANY, AclPermissionType.ANY)
        removed = admin.delete_acls([alice_filter])[alice_filter].result(timeout=30)
        self.assertEqual([b.principal for b in removed], ["User:alice"])
        self.assertEqual(admin.describe_acls(any_filter).result(timeout=30), [])
        self.wait_produce(last, None)  # no ACLs again: open to ANONYMOUS
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka_acls")
