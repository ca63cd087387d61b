"""Exactly-once processing with Kafka transactions (KIP-98) from real clients against a real 3-node
chronik cluster on 127.0.0.x (issue 17; docs/transactions.md).

- confluent-kafka 2.16.1 runs the consume-transform-produce loop Kafka's exactly-once users run: a
  read_committed consumer reads an input topic, and each batch it read becomes one transaction that
  writes the transformed values to an output topic and commits the consumer's offsets
  (send_offsets_to_transaction: AddOffsetsToTxn, then TxnOffsetCommit at the group coordinator).
  Midway, inside a transaction whose records and offsets are written but whose commit is not yet
  asked, the transaction coordinator of the loop's transactional id (the leader of its
  `__transaction_state` partition) is killed with -9, and later restarted. A transaction whose
  commit failed is aborted (or, after a fatal error, a new producer fences the old one) and the
  consumer goes back to the group's committed offsets, as the pattern prescribes. Read back with
  read_committed: every input value appears in the output exactly once, and the group's committed
  offsets are the input's ends.
- kafkajs 2.2.4 commits and aborts transactions (tests/clients/kafkajs/kafkajs_transactions.js):
  a read_committed consumer reads every committed value once and no aborted one, while a
  read_uncommitted consumer shows that the aborted values were written (and are skipped only
  because they were aborted).

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_exactly_once_test.py --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR.)
"""
import faulthandler
import json
import logging
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
PARTITIONS = 3
INPUT_VALUES = 3000
KILL_AT = 1000  # output values committed when the coordinator is killed
RESTART_AT = 2000  # and when it is started again
LOOP_S = 150  # the loop's bound; with one iteration's calls the test stays inside ctest's 300 s
READ_S = 60
CALL_S = 10  # each transactional call of the client
STALL_S = 20  # no input record for this long while input remains: the loop's consumer is replaced
MAX_REPLACED = 2  # consumers replaced before the stall counts as the brokers' and fails the test
DIAGNOSE_S = 20  # the most a failure message's evidence may take
READY_S = 30
TXN_STATE_PARTITIONS = 50  # transaction_state_log_num_partitions's default
KAFKAJS_PLAN = "commit:30,abort:30,commit:30,abort:5,commit:1"


def java_string_hash(text):
    """Java's String.hashCode of `text` (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def transaction_state_partition(transactional_id, partitions=TXN_STATE_PARTITIONS):
    """Kafka's partitionFor: Utils.abs(hashCode) % partitions (abs of MIN_VALUE is 0 there)."""
    h = java_string_hash(transactional_id)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def bounded(call, timeout_s=DIAGNOSE_S):
    """call()'s result, or a note that it did not answer within timeout_s: evidence for a failure
    message must not keep the failure from being reported (the thread is left to finish alone)."""
    done = {}

    def run():
        try:
            done["value"] = call()
        except Exception as e:  # noqa: BLE001 - evidence only
            done["value"] = f"{type(e).__name__}: {e}"

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout_s)
    return done.get("value", f"no answer within {timeout_s}s")


def retrying(call, attempts=3):
    """call() again while it fails with an error librdkafka calls retriable (the same call may be
    repeated: a commit whose answer was lost, a coordinator that moved)."""
    from confluent_kafka import KafkaException

    for attempt in range(attempts):
        try:
            return call()
        except KafkaException as e:
            if not e.args[0].retriable() or attempt == attempts - 1:
                raise
            time.sleep(0.2)


class KafkaExactlyOnce(AdminSuite):

    def running_bootstrap(self):
        return ",".join(kafka_addr(n) for n in self.cluster.nodes if n.running())

    def make_topic(self, topic, partitions=PARTITIONS):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])[topic].result(timeout=30)

    def restart(self, node):
        node.start([m.gossip_addr for m in self.cluster.nodes if m is not node])

        self.cluster.wait_ready(READY_S, count=self.size, alive=True)

    def tearDown(self):
        for n in [n for n in self.cluster.nodes if not n.running()]:
            self.restart(n)

    def coordinator_node(self, transactional_id):
        """The running node leading `transactional_id`'s `__transaction_state` partition (its
        transaction coordinator), once there is one."""
        from confluent_kafka.admin import AdminClient

        p = transaction_state_partition(transactional_id)
        found = {}

        def leader():
            admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
            t = admin.list_topics(topic="__transaction_state", timeout=10).topics.get("__transaction_state")
            if t is None or t.error is not None or p not in t.partitions:
                return False
            node = next((n for n in self.cluster.nodes if n.node_id == t.partitions[p].leader and n.running()), None)
            found["node"] = node
            return node is not None

        self.cluster.wait_for(leader, READY_S, f"a live leader of __transaction_state partition {p}")
        return found["node"]

    def partition_view(self, topic):
        """{partition: (leader, low, high)} of `topic` through a fresh confluent-kafka client, for a
        failure message: where a stalled consumer's fetches should go and what they should find."""
        from confluent_kafka import Consumer, TopicPartition

        try:
            c = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": f"{topic}-view",
                          "isolation.level": "read_committed"})
            try:
                meta = c.list_topics(topic=topic, timeout=5).topics[topic].partitions
                return {p: (meta[p].leader, *c.get_watermark_offsets(TopicPartition(topic, p), timeout=5))
                        for p in sorted(meta)}
            finally:
                c.close()
        except Exception as e:  # noqa: BLE001 - evidence only
            return f"{type(e).__name__}: {e}"

    def describe_transaction(self, transactional_id):
        """DescribeTransactions at the id's coordinator (kafka-python), for a failure message."""
        from kafka.admin import KafkaAdminClient

        try:
            admin = KafkaAdminClient(bootstrap_servers=self.running_bootstrap(), request_timeout_ms=5000)
            try:
                return admin.describe_transactions([transactional_id])
            finally:
                admin.close()
        except Exception as e:  # noqa: BLE001 - evidence only
            return f"{type(e).__name__}: {e}"

    def fill(self, topic, count):
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.running_bootstrap(), "enable.idempotence": True})
        for i in range(count):
            producer.produce(topic, value=f"in-{i}".encode(), partition=i % PARTITIONS)
            if i % 500 == 0:
                producer.poll(0)
        self.assertEqual(producer.flush(30), 0, f"filling {topic}")

    def read_all(self, topic, isolation):
        """[values] of every partition of `topic` from the start to the end that `isolation` sees
        (the last stable offset for read_committed), through confluent-kafka."""
        from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING

        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": f"{topic}-check",
                             "enable.auto.commit": False, "enable.partition.eof": True,
                             "isolation.level": isolation})
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
            values, at_end = [], set()
            deadline = time.monotonic() + READ_S
            while len(at_end) < PARTITIONS:
                self.assertLess(time.monotonic(), deadline, f"reading {topic} ({isolation}): ends {sorted(at_end)}")
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    self.assertEqual(msg.error().code(), KafkaError._PARTITION_EOF, f"reading {topic}: {msg.error()}")
                    at_end.add(msg.partition())
                    continue
                values.append(msg.value().decode())
            return values
        finally:
            consumer.close()

    # --- confluent-kafka: consume, transform, produce -----------------------------------------------

    def test_a_consume_transform_produce_across_a_coordinator_kill(self):
        from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

        source, sink, group, txn_id = "eos-in", "eos-out", "eos-group", "eos-loop"
        self.make_topic(source)
        self.make_topic(sink)
        self.fill(source, INPUT_VALUES)
        parts = [TopicPartition(source, p) for p in range(PARTITIONS)]

        # librdkafka's transaction log (coordinator lookups, EndTxn answers, epoch bumps) goes to
        # eos-producer.log, and the consumer's (fetch states, leader changes, offset lookups) to
        # eos-consumer.log, beside the node logs, kept when the test fails.
        def file_logger(name):
            log = logging.getLogger(f"rdkafka-{name}")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            path = os.path.join(self.cluster.root, f"{name}.log")
            handler = logging.FileHandler(path)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            log.addHandler(handler)
            self.addCleanup(lambda: (log.removeHandler(handler), handler.close()))
            return log, path

        log, _ = file_logger("eos-producer")
        consumer_log, consumer_log_path = file_logger("eos-consumer")

        def new_consumer():
            c = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": group,
                          "enable.auto.commit": False, "auto.offset.reset": "earliest",
                          "isolation.level": "read_committed", "debug": "consumer,topic,fetch",
                          "logger": consumer_log})
            c.assign(parts)  # from the group's committed offsets
            return c

        consumer = new_consumer()

        def new_producer():
            p = Producer({"bootstrap.servers": self.running_bootstrap(), "transactional.id": txn_id,
                          "transaction.timeout.ms": 20000, "linger.ms": 5, "debug": "eos", "logger": log})
            p.init_transactions(CALL_S)
            return p

        # The input offsets the committed transactions have consumed: each transaction commits the
        # offsets after the records it read (not the consumer's positions, which a new consumer
        # reports as unset for a partition it has not fetched yet).
        done = {p: 0 for p in range(PARTITIONS)}

        def rewind():
            """Back to the group's committed offsets: what the aborted transaction read is read again."""
            committed = consumer.committed(parts, timeout=CALL_S)
            for tp in committed:
                done[tp.partition] = tp.offset if tp.offset >= 0 else 0
                consumer.seek(TopicPartition(source, tp.partition, done[tp.partition]))

        def stall_evidence():
            tail = open(consumer_log_path, encoding="utf-8", errors="replace").read().splitlines()[-25:]
            return (f"the consumer's positions {bounded(lambda: {tp.partition: tp.offset for tp in consumer.position(parts)})}; "
                    f"{source}: {bounded(lambda: self.partition_view(source))}; its log's last lines:\n" + "\n".join(tail))

        producer = new_producer()
        replaced = []  # the evidence of each consumer that stalled and was replaced
        last_record = time.monotonic()
        committed_values, aborts, new_producers, killed, victim = 0, 0, 0, None, None
        ends = {p: INPUT_VALUES // PARTITIONS + (1 if p < INPUT_VALUES % PARTITIONS else 0) for p in range(PARTITIONS)}
        deadline = time.monotonic() + LOOP_S
        # Should a client call block past the loop's bound (the loop then never reaches its own
        # check), every thread's stack goes to stderr, naming the call.
        faulthandler.dump_traceback_later(LOOP_S + 10)
        try:
            while True:
                producer.poll(0)  # serves librdkafka's queued log lines to the logger
                if time.monotonic() > deadline:
                    self.fail(f"{committed_values} values committed in {LOOP_S}s; the coordinator's view of "
                              f"{txn_id}: {bounded(lambda: self.describe_transaction(txn_id))}; {stall_evidence()}; "
                              f"consumers replaced before: {replaced}")
                if all(done[p] >= e for p, e in ends.items()):
                    break
                if victim is not None and not victim.running() and committed_values >= RESTART_AT:
                    self.restart(victim)
                msgs = [m for m in consumer.consume(200, 0.5) if m.error() is None]
                if not msgs:
                    if time.monotonic() - last_record > STALL_S:
                        # Between transactions: a new consumer starts from the committed offsets, so
                        # nothing is read twice into the output. If the brokers serve it, the stall
                        # was the client's; if not, the next consumers stall too and this fails.
                        evidence = stall_evidence()
                        print(f"consumer stalled {STALL_S}s after {committed_values} values; replaced. {evidence}")
                        replaced.append(evidence)
                        self.assertLessEqual(len(replaced), MAX_REPLACED, f"consumers stalled: {replaced}")
                        consumer.close()
                        consumer = new_consumer()
                        last_record = time.monotonic()
                    continue
                last_record = time.monotonic()
                try:
                    producer.begin_transaction()
                    for m in msgs:
                        producer.produce(sink, value=b"out-" + m.value(), partition=m.partition())
                    after = dict(done)
                    for m in msgs:
                        after[m.partition()] = max(after[m.partition()], m.offset() + 1)
                    offsets = [TopicPartition(source, p, o) for p, o in sorted(after.items())]
                    retrying(lambda: producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(),
                                                                          CALL_S))
                    if killed is None and committed_values >= KILL_AT:
                        # Mid-transaction: its partitions and offsets are added and written, its
                        # commit not asked yet. The next coordinator loads it as Ongoing and ends it.
                        victim = self.coordinator_node(txn_id)
                        victim.kill()
                        killed = time.monotonic()
                    retrying(lambda: producer.commit_transaction(CALL_S))
                    committed_values += len(msgs)
                    done.update(after)
                except KafkaException as e:
                    # librdkafka's rules: an abortable error is answered with an abort; a fatal one
                    # (fenced, or the client gave up) with a new producer, whose init_transactions
                    # completes or aborts what the old one left at the coordinator. Either way the
                    # transaction's offsets went with its output, so reading again from the committed
                    # offsets repeats exactly what did not commit.
                    if e.args[0].txn_requires_abort():
                        aborts += 1
                        retrying(lambda: producer.abort_transaction(CALL_S))
                    else:
                        self.assertTrue(e.args[0].fatal(), f"neither abortable nor fatal: {e}")
                        new_producers += 1
                        producer = new_producer()
                    rewind()
        finally:
            faulthandler.cancel_dump_traceback_later()
            consumer.close()
        self.assertIsNotNone(killed, "the loop ended before the coordinator was killed")
        if victim is not None and not victim.running():
            self.restart(victim)
        out = self.read_all(sink, "read_committed")
        counts = {}
        for v in out:
            counts[v] = counts.get(v, 0) + 1
        twice = sorted(v for v, n in counts.items() if n > 1)
        missing = sorted(f"out-in-{i}" for i in range(INPUT_VALUES) if f"out-in-{i}" not in counts)
        strangers = sorted(set(counts) - {f"out-in-{i}" for i in range(INPUT_VALUES)})
        self.assertEqual(twice[:10], [], f"{len(twice)} input values in the output more than once")
        self.assertEqual(missing[:10], [], f"{len(missing)} input values missing from the output")
        self.assertEqual(strangers, [], "output values no input made")
        check = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": group,
                          "enable.auto.commit": False})
        try:
            offsets = {tp.partition: tp.offset for tp in check.committed(parts, timeout=CALL_S)}
        finally:
            check.close()
        self.assertEqual(offsets, ends, "the group's committed offsets")
        print(f"consume-transform-produce: {INPUT_VALUES} values, each once in the output; coordinator "
              f"(node {victim.node_id}) killed after {KILL_AT}; {aborts} transactions aborted, "
              f"{new_producers} new producers after fatal errors, {len(replaced)} stalled consumers replaced")
        self.ok()

    # --- kafkajs: commit and abort -------------------------------------------------------------------

    def test_b_kafkajs_commit_and_abort(self):
        topic = "eos-kafkajs"
        self.make_topic(topic)
        script = self.kafkajs("kafkajs_transactions.js")
        out = subprocess.run(["node", script, self.running_bootstrap(), topic, "eos-kafkajs-txn", KAFKAJS_PLAN],
                             capture_output=True, text=True, timeout=180)
        self.assertEqual(out.returncode, 0, f"kafkajs: {out.stderr}")
        done = json.loads(out.stdout.strip().splitlines()[-1])
        plan = [(t.split(":")[0], int(t.split(":")[1])) for t in KAFKAJS_PLAN.split(",")]
        self.assertEqual(done["outcomes"], [how for how, _ in plan])
        committed = {f"{topic}-{k}-{i}" for k, (how, n) in enumerate(plan) if how == "commit" for i in range(n)}
        aborted = {f"{topic}-{k}-{i}" for k, (how, n) in enumerate(plan) if how == "abort" for i in range(n)}
        read = self.read_all(topic, "read_committed")
        self.assertEqual(len(read), len(set(read)), "a value read twice")
        self.assertEqual(set(read) & aborted, set(), "aborted values read by read_committed")
        self.assertEqual(set(read), committed)
        everything = self.read_all(topic, "read_uncommitted")
        self.assertEqual(set(everything), committed | aborted, "read_uncommitted sees every value written")
        print(f"kafkajs: {len(plan)} transactions; read_committed read the {len(committed)} committed values and "
              f"none of the {len(aborted)} aborted ones, which read_uncommitted shows were written")
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka exactly-once")
