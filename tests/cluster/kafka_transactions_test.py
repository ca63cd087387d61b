"""Kafka transactions (KIP-98) from a real client against a real 3-node chronik cluster on
127.0.0.x (issue 17; docs/transactions.md): the transaction coordinator on `__transaction_state`,
FindCoordinator for transactional ids, InitProducerId / AddPartitionsToTxn / EndTxn, and the
markers it writes into partitions led by this node and by the others (WriteTxnMarkers).

- confluent-kafka 2.16.1 (librdkafka 2.16) transactional producer: init_transactions, a committed
  transaction over the three partitions of an RF=3 topic (their leaders spread over the brokers, so
  markers are written both by the coordinator's node and through WriteTxnMarkers), an aborted one,
  and a second committed one. A read_committed consumer reads exactly the
  committed values, in produce order per partition, and stops at the end (the markers closed every
  transaction: the last stable offset reached the high watermark); a read_uncommitted consumer
  sees the aborted values too, so they were really written and then hidden.
- A second producer instance with the same transactional.id fences the first (InitProducerId bumps
  the epoch and aborts the open transaction): the first's commit fails with a fatal error, and its
  values are never read committed.
- DescribeTransactions and ListTransactions through kafka-python 3.0.12's admin client, which asks
  the coordinator FindCoordinator names: an open transaction's state, partitions and start time,
  a committed one's, and the state filter.
- A transaction left open is aborted by the coordinator at its timeout, with the epoch bumped: the
  read_committed readers pass it, and the producer's late commit fails.
- The coordinator of an open transaction is killed with -9: the next leader of its
  `__transaction_state` partition loads the Ongoing state, the producer's commit goes there and
  succeeds, and read_committed reads every value once. The node is then restarted.
- Kafka 4.0.1's kafka-transactions (Java Admin: ListTransactions on every broker, FindCoordinator
  v4 and DescribeTransactions at the coordinator) lists and describes an open transaction. Skipped
  without java, mvn or the artifacts.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_transactions_test.py --server build/daemon/chronik-server
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
TXN_S = 60  # for init_transactions / commit / abort (the coordinator's topic is created on first use)
READ_S = 60  # to read the topic back
LEADER_S = 30
PARTITIONS = 3
PER_TXN = 30  # values per transaction, spread over the partitions
TRANSACTIONS_COMMAND = "org.apache.kafka.tools.TransactionsCommand"


class KafkaTransactions(AdminSuite):

    def make_topic(self, topic):
        """An RF=3 topic of PARTITIONS partitions, once Metadata shows a leader for each; returns
        {partition: leader}."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3)])[topic].result(timeout=30)
        leaders = {}

        def all_led():
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
            if t is None or t.error is not None or len(t.partitions) != PARTITIONS:
                return False
            leaders.update({p: t.partitions[p].leader for p in t.partitions})
            return all(leader >= 0 for leader in leaders.values())

        self.cluster.wait_for(all_led, LEADER_S, f"leaders of every partition of {topic}")
        return leaders

    def producer(self, txn_id):
        from confluent_kafka import Producer

        return Producer({"bootstrap.servers": self.bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 60000, "linger.ms": 5})

    def produce_txn(self, producer, topic, prefix, end):
        """One transaction of PER_TXN values `prefix`-i, value i to partition i % PARTITIONS, ended
        by `end` (producer.commit_transaction or producer.abort_transaction)."""
        producer.begin_transaction()
        values = [f"{prefix}-{i}" for i in range(PER_TXN)]
        for i, v in enumerate(values):
            producer.produce(topic, value=v.encode(), partition=i % PARTITIONS)
        # Written before the end, also for an abort (which would otherwise drop what is queued).
        self.assertEqual(producer.flush(TXN_S), 0, f"{prefix}: every value written")
        end(TXN_S)
        return values

    def read_all(self, topic, isolation, running_only=False):
        """{partition: [values]} of every record of `topic` a consumer with `isolation` returns,
        read from the start until it reached the partition's end (the last stable offset for
        read_committed, which every marker must have moved to the high watermark)."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        bootstrap = ",".join(kafka_addr(n) for n in self.cluster.nodes if n.running()) if running_only else self.bootstrap
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-{isolation}",
                             "enable.auto.commit": False, "isolation.level": isolation,
                             "enable.partition.eof": True})
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
            out = {p: [] for p in range(PARTITIONS)}
            at_end = set()
            deadline = time.monotonic() + READ_S
            while len(at_end) < PARTITIONS:
                self.assertLess(time.monotonic(), deadline, f"{isolation} read of {topic} reached the end of {sorted(at_end)}")
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    self.assertEqual(msg.error().code(), KafkaError._PARTITION_EOF, str(msg.error()))
                    at_end.add(msg.partition())
                    continue
                out[msg.partition()].append(msg.value().decode())
            return out
        finally:
            consumer.close()

    def test_a_commit_abort_commit_over_three_leaders(self):
        topic = "txn-three"
        leaders = self.make_topic(topic)
        print(f"{topic} leaders: {leaders}")
        producer = self.producer("txn-a")
        producer.init_transactions(TXN_S)
        first = self.produce_txn(producer, topic, "c1", producer.commit_transaction)
        aborted = self.produce_txn(producer, topic, "ab", producer.abort_transaction)
        second = self.produce_txn(producer, topic, "c2", producer.commit_transaction)

        committed = self.read_all(topic, "read_committed")
        for p in range(PARTITIONS):
            want = [v for i, v in enumerate(first) if i % PARTITIONS == p] + \
                   [v for i, v in enumerate(second) if i % PARTITIONS == p]
            self.assertEqual(committed[p], want, f"read_committed partition {p}")
        everything = self.read_all(topic, "read_uncommitted")
        self.assertEqual(sorted(v for vs in everything.values() for v in vs), sorted(first + aborted + second),
                         "read_uncommitted sees the aborted transaction's values too")
        self.ok()

    def test_b_a_new_instance_fences_the_old(self):
        from confluent_kafka import KafkaException

        topic = "txn-fence"
        self.make_topic(topic)
        old = self.producer("txn-b")
        old.init_transactions(TXN_S)
        old.begin_transaction()
        for i in range(PER_TXN):
            old.produce(topic, value=f"zombie-{i}".encode(), partition=i % PARTITIONS)
        self.assertEqual(old.flush(TXN_S), 0, "the old instance's values were written (not committed)")

        new = self.producer("txn-b")
        new.init_transactions(TXN_S)  # bumps the epoch: the old transaction is aborted
        with self.assertRaises(KafkaException) as raised:
            old.commit_transaction(TXN_S)
        err = raised.exception.args[0]
        print(f"fenced instance's commit: {err.name()} fatal={err.fatal()} ({err.str()})")
        self.assertTrue(err.fatal() or err.txn_requires_abort(), err.str())
        values = self.produce_txn(new, topic, "new", new.commit_transaction)
        committed = self.read_all(topic, "read_committed")
        self.assertEqual(sorted(v for vs in committed.values() for v in vs), sorted(values))
        self.ok()

    def test_c_describe_and_list(self):
        """kafka-python's admin client sends DescribeTransactions to the coordinator FindCoordinator
        names and ListTransactions to every broker: an open transaction is Ongoing with its
        partitions and start time, a committed one CompleteCommit with none."""
        from kafka import KafkaAdminClient
        from kafka.structs import TopicPartition

        topic = "txn-describe"
        self.make_topic(topic)
        done = self.producer("txn-c-done")
        done.init_transactions(TXN_S)
        self.produce_txn(done, topic, "d", done.commit_transaction)
        open_ = self.producer("txn-c-open")
        open_.init_transactions(TXN_S)
        open_.begin_transaction()
        open_.produce(topic, value=b"pending", partition=1)
        self.assertEqual(open_.flush(TXN_S), 0)

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            described = admin.describe_transactions(["txn-c-done", "txn-c-open"])
            complete, ongoing = described["txn-c-done"], described["txn-c-open"]
            print(f"described: {complete}; {ongoing}")
            self.assertEqual(str(complete.state.value), "CompleteCommit")
            self.assertEqual(complete.topic_partitions, set())
            self.assertEqual(str(ongoing.state.value), "Ongoing")
            self.assertEqual(ongoing.topic_partitions, {TopicPartition(topic, 1)})
            self.assertGreater(ongoing.transaction_start_time_ms, 0)
            self.assertEqual(ongoing.transaction_timeout_ms, 60000)
            by_id = {}
            for listings in admin.list_transactions().values():
                by_id.update({x.transactional_id: x for x in listings})
            self.assertEqual(str(by_id["txn-c-open"].state.value), "Ongoing")
            self.assertEqual(by_id["txn-c-open"].producer_id, ongoing.producer_id)
            self.assertEqual(str(by_id["txn-c-done"].state.value), "CompleteCommit")
            only_open = [x.transactional_id for listings in admin.list_transactions(state_filters=["Ongoing"]).values()
                         for x in listings]
            self.assertIn("txn-c-open", only_open)
            self.assertNotIn("txn-c-done", only_open)
        finally:
            admin.close()
        open_.abort_transaction(TXN_S)
        self.ok()

    def test_d_an_abandoned_transaction_is_aborted_at_its_timeout(self):
        """A producer that opens a transaction and goes quiet: the coordinator aborts it once its
        transaction.timeout.ms passed (checked every 10 s), bumping the epoch, and its markers let
        read_committed readers past it; the producer's late commit is refused."""
        from confluent_kafka import KafkaException, Producer
        from kafka import KafkaAdminClient

        topic = "txn-timeout"
        self.make_topic(topic)
        producer = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": "txn-d",
                             "transaction.timeout.ms": 3000})
        producer.init_transactions(TXN_S)
        producer.begin_transaction()
        for i in range(PER_TXN):
            producer.produce(topic, value=f"abandoned-{i}".encode(), partition=i % PARTITIONS)
        self.assertEqual(producer.flush(TXN_S), 0)

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            state = {}

            def aborted():
                state["d"] = admin.describe_transactions(["txn-d"])["txn-d"]
                return str(state["d"].state.value) == "CompleteAbort"

            self.cluster.wait_for(aborted, 30, "the coordinator aborting txn-d at its timeout")
            print(f"after the timeout: {state['d']}")
            self.assertEqual(state["d"].producer_epoch, 1, "the abort bumped the epoch, fencing the producer")
        finally:
            admin.close()
        self.assertEqual(self.read_all(topic, "read_committed"), {p: [] for p in range(PARTITIONS)})
        with self.assertRaises(KafkaException) as raised:
            producer.commit_transaction(TXN_S)
        print(f"late commit: {raised.exception.args[0].name()} ({raised.exception.args[0].str()})")
        self.ok()

    def test_e_kafka_transactions_tool(self):
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        cp = kafka_tools_classpath(work)
        if cp is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools unavailable")
        topic = "txn-tool"
        self.make_topic(topic)
        producer = self.producer("txn-e")
        producer.init_transactions(TXN_S)
        producer.begin_transaction()
        producer.produce(topic, value=b"open", partition=2)
        self.assertEqual(producer.flush(TXN_S), 0)

        def tool(*args):
            out = subprocess.run(["java", "-cp", cp, TRANSACTIONS_COMMAND, "--bootstrap-server", self.bootstrap, *args],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            print(out.stdout.strip())
            return [line.split() for line in out.stdout.strip().splitlines()]

        listed = tool("list")
        self.assertEqual(listed[0][:4], ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"])
        row = next(r for r in listed[1:] if r[0] == "txn-e")
        self.assertEqual(row[3], "Ongoing")
        described = tool("describe", "--transactional-id", "txn-e")
        header, values = described[0], described[1]
        fields = dict(zip(header, values))
        self.assertEqual(fields["TransactionalId"], "txn-e")
        self.assertEqual(fields["TransactionState"], "Ongoing")
        self.assertEqual(fields["ProducerId"], row[2])
        self.assertIn(f"{topic}-2", described[1])
        producer.commit_transaction(TXN_S)
        self.ok()

    def test_f_the_coordinator_dies_while_a_transaction_is_open(self):
        from kafka import KafkaAdminClient

        topic = "txn-failover"
        self.make_topic(topic)
        producer = self.producer("txn-f")
        producer.init_transactions(TXN_S)
        producer.begin_transaction()
        values = [f"f-{i}" for i in range(PER_TXN)]
        for i, v in enumerate(values):
            producer.produce(topic, value=v.encode(), partition=i % PARTITIONS)
        self.assertEqual(producer.flush(TXN_S), 0)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            coordinator = admin.describe_transactions(["txn-f"])["txn-f"].coordinator_id
        finally:
            admin.close()
        victim = next(n for n in self.cluster.nodes if n.node_id == coordinator)
        print(f"killing coordinator node {coordinator}")
        victim.kill()
        try:
            producer.commit_transaction(TXN_S)
            committed = self.read_all(topic, "read_committed", running_only=True)
            self.assertEqual(sorted(v for vs in committed.values() for v in vs), sorted(values))
        finally:
            victim.start([m.gossip_addr for m in self.cluster.nodes if m is not victim])
            self.wait_ready()
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka transactions")
