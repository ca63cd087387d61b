"""WriteTxnMarkers (key 27, KIP-98) from real clients against a real 3-node chronik cluster on
127.0.0.x (issue 17; docs/transactions.md "Markers between brokers"): a transaction left open in a
partition holds its last stable offset until a marker ends it; a commit makes its records visible
to read_committed consumers, an abort hides them for good.

No coordinator opens the transactions here: each test writes a transactional batch by hand
(kafka-python 3.0.12's record builder and Produce v9, with a producer id from InitProducerId), the
state a coordinator leaves when it dies before its markers are written. Then:

- kafka-python 3.0.12's KafkaAdminClient.abort_transaction (the admin abort of KIP-664's hanging
  transaction tooling) sends WriteTxnMarkers to the leader: the open transaction is aborted, a
  read_committed confluent-kafka 2.16.1 consumer skips its records and reads the ones after it.
- kafka-python's raw WriteTxnMarkersRequest v1, as a coordinator sends it: a commit to a follower
  is NOT_LEADER_OR_FOLLOWER, a partition that does not exist UNKNOWN_TOPIC_OR_PARTITION, and the
  commit to the leader makes the records visible to read_committed; a marker with an older
  producer epoch than the partition knows is INVALID_PRODUCER_EPOCH.
- Kafka 4.0.1's own kafka-transactions abort (the Java Admin's abortTransaction), as an operator
  ends a hanging transaction. Skipped without java, mvn or the artifacts.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_txn_markers_test.py --server build/daemon/chronik-server
(Kafka's tools are resolved by Maven into $CHRONIK_KAFKA_TOOLS_DIR.)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
SETTLE_S = 40  # for a partition to have a leader
READ_S = 30  # to read a partition up to its last stable offset
TRANSACTIONS_COMMAND = "org.apache.kafka.tools.TransactionsCommand"
# Kafka's error codes.
NONE, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH = 0, 3, 6, 47


class KafkaTxnMarkers(AdminSuite):

    # --- helpers ------------------------------------------------------------------------------------

    def create_topic(self, name):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=3)])[name].result(timeout=30)
        self.cluster.wait_for(lambda: self.partition(name) is not None, SETTLE_S, f"a leader for {name}")

    def net_client(self):
        from kafka.net.compat import KafkaNetClient

        client = KafkaNetClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        client.check_version(timeout_ms=10000)
        return client

    def open_transaction(self, client, topic, values, epoch=0):
        """Writes `values` to partition 0 of `topic` as one transactional batch of a new producer
        (id from InitProducerId), then one plain record "after"; returns the producer id."""
        from kafka.protocol.producer import InitProducerIdRequest, ProduceRequest
        from kafka.record.default_records import DefaultRecordBatchBuilder

        leader = self.partition(topic)[0]
        got = client.send_and_receive(leader, InitProducerIdRequest[4](
            transactional_id=None, transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1), timeout_ms=10000)
        self.assertEqual(got.error_code, NONE)
        pid = got.producer_id
        now_ms = int(time.time() * 1000)
        txn = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True, producer_id=pid,
                                        producer_epoch=epoch, base_sequence=0, batch_size=1 << 20)
        for i, v in enumerate(values):
            txn.append(i, timestamp=now_ms, key=None, value=v.encode(), headers=[])
        plain = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                          producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
        plain.append(0, timestamp=now_ms, key=None, value=b"after", headers=[])
        Topic = ProduceRequest.TopicProduceData
        for records in (bytes(txn.build()), bytes(plain.build())):
            request = ProduceRequest[9](transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
                Topic(name=topic, partition_data=[Topic.PartitionProduceData(index=0, records=records)])])
            resp = client.send_and_receive(leader, request, timeout_ms=10000)
            self.assertEqual(resp.responses[0].partition_responses[0].error_code, NONE)
        return pid

    def offsets(self, topic):
        """(last stable offset, high watermark) of partition 0 of `topic`: ListOffsets latest at
        read_committed and read_uncommitted, through confluent-kafka."""
        from confluent_kafka import Consumer, TopicPartition

        found = []
        for level in ("read_committed", "read_uncommitted"):
            c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{topic}-offsets",
                          "isolation.level": level})
            try:
                found.append(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
            finally:
                c.close()
        return tuple(found)

    def read(self, topic, level):
        """The values of partition 0 of `topic` a consumer at `level` is given, from offset 0
        through "after", the last record every test writes (markers and, at read_committed, aborted
        records are never given)."""
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{topic}-{level}", "isolation.level": level,
                      "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, 0, 0)])
            values = []
            deadline = time.monotonic() + READ_S
            while not values or values[-1] != "after":
                self.assertLess(time.monotonic(), deadline, f"{level} read {values} of {topic}")
                msg = c.poll(0.5)
                if msg is None:
                    continue
                self.assertIsNone(msg.error(), f"reading {topic}")
                values.append(msg.value().decode())
            return values
        finally:
            c.close()

    def markers(self, client, node, topic, partition, pid, epoch, commit):
        """The error code of one WriteTxnMarkers v1 (coordinator epoch 0) for `topic`-`partition`,
        sent to broker `node`."""
        from kafka.protocol.producer.transaction import WriteTxnMarkersRequest

        Marker = WriteTxnMarkersRequest.WritableTxnMarker
        request = WriteTxnMarkersRequest[1](markers=[Marker(
            producer_id=pid, producer_epoch=epoch, transaction_result=commit,
            topics=[Marker.WritableTxnMarkerTopic(name=topic, partition_indexes=[partition])], coordinator_epoch=0)])
        resp = client.send_and_receive(node, request, timeout_ms=15000)
        self.assertEqual(len(resp.markers), 1)
        self.assertEqual(resp.markers[0].producer_id, pid)
        return resp.markers[0].topics[0].partitions[0].error_code

    # --- tests --------------------------------------------------------------------------------------

    def test_a_kafka_python_abort_transaction(self):
        from kafka import KafkaAdminClient, TopicPartition
        from kafka.admin import AbortTransactionSpec

        topic = "markers-abort"
        self.create_topic(topic)
        client = self.net_client()
        try:
            pid = self.open_transaction(client, topic, ["doomed-0", "doomed-1", "doomed-2"])
        finally:
            client.close()
        self.assertEqual(self.offsets(topic), (0, 4), "the open transaction holds the last stable offset")
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        try:
            admin.abort_transaction(AbortTransactionSpec(TopicPartition(topic, 0), pid, 0))
        finally:
            admin.close()
        self.assertEqual(self.offsets(topic), (5, 5), "the abort marker (offset 4) ended it")
        self.assertEqual(self.read(topic, "read_committed"), ["after"])
        self.assertEqual(self.read(topic, "read_uncommitted"), ["doomed-0", "doomed-1", "doomed-2", "after"])
        self.ok()

    def test_b_wire_commit_refusals_and_stale_epoch(self):
        topic = "markers-commit"
        self.create_topic(topic)
        client = self.net_client()
        try:
            pid = self.open_transaction(client, topic, ["kept-0", "kept-1"], epoch=2)
            leader, replicas, _ = self.partition(topic)
            follower = next(r for r in replicas if r != leader)
            self.assertEqual(self.markers(client, follower, topic, 0, pid, 2, True), NOT_LEADER_OR_FOLLOWER)
            self.assertEqual(self.markers(client, leader, topic, 7, pid, 2, True), UNKNOWN_TOPIC_OR_PARTITION)
            self.assertEqual(self.markers(client, leader, topic, 0, pid, 1, True), INVALID_PRODUCER_EPOCH)
            self.assertEqual(self.offsets(topic), (0, 3), "refused markers change nothing")
            self.assertEqual(self.markers(client, leader, topic, 0, pid, 2, True), NONE)
        finally:
            client.close()
        self.assertEqual(self.offsets(topic), (4, 4))
        self.assertEqual(self.read(topic, "read_committed"), ["kept-0", "kept-1", "after"])
        self.ok()

    def test_c_kafka_transactions_abort(self):
        """Kafka 4.0.1's kafka-transactions abort with the producer's id, epoch and coordinator
        epoch, as an operator ends a hanging transaction."""
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        cp = kafka_tools_classpath(work)
        if cp is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools unavailable")
        topic = "markers-tool"
        self.create_topic(topic)
        client = self.net_client()
        try:
            pid = self.open_transaction(client, topic, ["hanging"])
        finally:
            client.close()
        self.assertEqual(self.offsets(topic), (0, 2))
        out = subprocess.run(["java", "-cp", cp, TRANSACTIONS_COMMAND, "--bootstrap-server", self.bootstrap, "abort",
                              "--topic", topic, "--partition", "0", "--producer-id", str(pid), "--producer-epoch", "0",
                              "--coordinator-epoch", "0"], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(self.offsets(topic), (3, 3))
        self.assertEqual(self.read(topic, "read_committed"), ["after"])
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka txn markers")
