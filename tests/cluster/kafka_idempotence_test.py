"""Idempotent producers (KIP-98) from real clients against a real 3-node chronik cluster on
127.0.0.x (issue 17; docs/kafka.md "Idempotent producers"): InitProducerId hands each producer an
id, and every partition keeps its producers' last five batches, so a retry of a batch that was
written gets the original offset and is not appended again.

- confluent-kafka 2.16.1 (librdkafka 2.16), enable.idempotence=true (acks=all, five requests in
  flight, its default unlimited retries), produces a long stream of unique values to an RF=3
  partition in one-message batches; while five of them are in flight the partition's leader is killed
  with -9, and later restarted. Up to three rounds, until librdkafka's debug log shows a batch
  whose request died with the connection ("MsgPossiblyPersisted": the leader may have written
  it) sent again with the same producer id, epoch and sequence. Read back from the start: every
  acknowledged value once, at the offset its delivery report gave, and no value twice.
- kafkajs 2.2.4 `idempotent: true` does the same across a kill -9 of the leader (it has one send
  in flight at a time: tests/clients/kafkajs/kafkajs_idempotent.js).
- Kafka 4.0.1's Java producer (kafka-console-producer, idempotent by default since 3.0, which
  refuses to produce without a working InitProducerId) writes unique lines that are read back once
  each. Skipped without java, mvn or the artifacts.
- On the wire (kafka-python 3.0.12's protocol classes, since no client says which of its retries
  met a batch already written): batches written by a leader that is then killed, sent again with
  their producer id, epoch and sequence to the new leader and after the restart, get their
  original offsets and append nothing; a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER.
- Order across leader changes: an idempotent confluent-kafka producer writes several partitions
  at full rate (five requests in flight per connection, 2 ms linger) while the leaders of those
  partitions are killed with -9 and restarted, one after another; every partition read back
  holds each value once and in send order. Without idempotence a retry after a leader change can
  land behind batches sent after it (issue 17 saw a stream reordered that way); with it, the new
  leader refuses a batch whose predecessors are missing (OUT_OF_ORDER_SEQUENCE_NUMBER) and the
  producer resends in order. The same run without idempotence follows, its reordering and
  duplicates printed as a note and not asserted (they depend on timing).
- A transactional confluent-kafka producer (the same idempotent machinery, under a transaction
  coordinator) commits values that a read_committed consumer reads once each; the transactions
  themselves are tests/cluster/kafka_transactions_test.py's subject.

Run: tests/cluster/venv_run.sh VENV tests/cluster/admin-requirements.txt \\
         tests/cluster/kafka_idempotence_test.py --server build/daemon/chronik-server
(the clients come from PyPI into VENV; kafkajs from npm into $CHRONIK_NPM_DIR; Kafka's tools into
$CHRONIK_KAFKA_TOOLS_DIR.)
"""
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_suite import AdminSuite, kafka_addr  # noqa: E402
from chronik_nodes import run_suite  # noqa: E402
from kafka_tools import kafka_tools_classpath  # noqa: E402

SERVER = None
SEED = 0  # run_suite prints it; this suite makes no random choices
LEADER_S = 30  # for a partition to have a live leader (an election after a kill)
READY_S = 30  # for every node to see every broker alive again after a restart
DELIVER_S = 60  # for a producer to have every value acknowledged across a leader change
READ_S = 30  # to read a partition back
ROUNDS = 3  # leader kills at most, until librdkafka retried a batch
CHUNK = 4000  # values librdkafka is given per round
KILL_AT = 800  # of them acknowledged when the leader dies, the rest queued or in flight
KAFKAJS_COUNT, KAFKAJS_PER_SEND, KAFKAJS_KILL_AT = 3000, 20, 600
JAVA_COUNT = 2000
TXN_S = 30  # init_transactions' and commit_transaction's timeout (the coordinator's topic is made on first use)
ORDER_PARTITIONS = 3  # partitions the ordering test writes, one leader each before the kills
ORDER_CHANGES = 3  # leader kills while it produces
ORDER_RUN_S = 40  # its producer's longest run
ORDER_MAX_VALUES = 2_000_000  # and most values, so reading back stays a few seconds
ORDER_FLOWING = 5_000  # values acknowledged between kills, so each kill meets a flowing stream
# Kafka's error codes.
NONE, OUT_OF_ORDER_SEQUENCE_NUMBER = 0, 45
# Produce errors while leadership moves: NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
# NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND.
RETRIABLE = {6, 7, 19, 20}
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
# librdkafka 2.16's msg debug lines: a batch's request, and its failure with an unknown outcome.
PRODUCE_LINE = re.compile(r"Produce MessageSet with \d+ message\(s\) .*BaseSeq (-?\d+), PID\{Id:(\d+),Epoch:(\d+)\}")
UNKNOWN_OUTCOME_LINE = re.compile(r"BaseSeq (-?\d+)\) encountered error: .*MsgPossiblyPersisted")


def idempotent_batch(topic, producer_id, first_seq, count):
    """A record batch of `count` values "<topic>-<first_seq + i>" from producer `producer_id`, epoch
    0, base sequence `first_seq`, as kafka-python builds it."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=producer_id,
                                        producer_epoch=0, base_sequence=first_seq, batch_size=1 << 20)
    # Now, not a fixed time: a batch older than retention.ms (7 days) would be deleted by the next
    # retention check, and the read-back would start past it.
    now_ms = int(time.time() * 1000)
    for i in range(count):
        builder.append(i, timestamp=now_ms, key=None, value=f"{topic}-{first_seq + i}".encode(), headers=[])
    return bytes(builder.build())


class LogLines(logging.Handler):
    """Keeps librdkafka's log lines (confluent-kafka forwards them to a Python logger)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def resent_batches(lines):
    """{(producer id, epoch, base sequence)} of the batches librdkafka's debug log shows failing with
    an unknown outcome (the connection died: the leader may have written them) and then sent again,
    with the same producer id, epoch and sequence, which the partition must recognise."""
    sent, unknown = {}, set()
    for line in lines:
        if m := PRODUCE_LINE.search(line):
            key = (int(m[2]), int(m[3]), int(m[1]))
            sent[key] = sent.get(key, 0) + 1
        elif m := UNKNOWN_OUTCOME_LINE.search(line):
            unknown.add(int(m[1]))
    return {k for k, n in sent.items() if n > 1 and k[2] in unknown}


class KafkaIdempotence(AdminSuite):

    # --- the cluster ---------------------------------------------------------------------------------

    def running_bootstrap(self):
        return ",".join(kafka_addr(n) for n in self.cluster.nodes if n.running())

    def make_topic(self, topic):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result(timeout=30)
        self.leader_node(topic)

    def leader_node(self, topic):
        """The running node Metadata names as leader of `topic`'s partition 0, once there is one."""
        found = {}

        def live_leader():
            p = self.partition(topic)
            node = next((n for n in self.cluster.nodes if p and n.node_id == p[0] and n.running()), None)
            found["node"] = node
            return node is not None

        self.cluster.wait_for(live_leader, LEADER_S, f"a live leader of {topic}")
        return found["node"]

    def restart(self, node):
        node.start([m.gossip_addr for m in self.cluster.nodes if m is not node])
        self.wait_all_alive()

    def wait_all_alive(self):
        self.cluster.wait_ready(READY_S, count=self.size, alive=True)

    def tearDown(self):
        """A test that failed with a node down leaves the next one a whole cluster."""
        for n in [n for n in self.cluster.nodes if not n.running()]:
            self.restart(n)

    # --- reading back --------------------------------------------------------------------------------

    def read_back(self, topic):
        """Every record of `topic`'s partition 0 from offset 0 to the high watermark, as
        [(offset, value)], through confluent-kafka."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": f"{topic}-reader",
                             "enable.auto.commit": False, "auto.offset.reset": "error"})
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            consumer.assign([TopicPartition(topic, 0, 0)])
            records = []
            deadline = time.monotonic() + READ_S
            while (records[-1][0] + 1 if records else 0) < high:
                self.assertLess(time.monotonic(), deadline, f"read {len(records)} records of {topic}, high {high}")
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                self.assertIsNone(msg.error(), f"reading {topic}")
                records.append((msg.offset(), msg.value().decode()))
            return records
        finally:
            consumer.close()

    def check_once(self, topic, acked, produced):
        """Asserts that the partition holds every acknowledged value at the offset it was acknowledged
        with, nothing twice, and only values that were produced. `acked` is {value: offset}."""
        records = self.read_back(topic)
        seen = {}
        duplicates = []
        for offset, value in records:
            if value in seen:
                duplicates.append((value, seen[value], offset))
            seen[value] = offset
        self.assertEqual(duplicates[:10], [], f"{len(duplicates)} values of {topic} written twice")
        missing = sorted(set(acked) - set(seen))
        self.assertEqual(missing[:10], [], f"{len(missing)} acknowledged values of {topic} missing")
        moved = [(v, o, seen[v]) for v, o in acked.items() if seen[v] != o]
        self.assertEqual(moved[:10], [], f"{len(moved)} values of {topic} not at their acknowledged offset")
        strangers = set(seen) - set(produced)
        self.assertEqual(strangers, set(), f"values nobody produced in {topic}")
        return len(records)

    # --- confluent-kafka -----------------------------------------------------------------------------

    def test_a_confluent_kafka_across_leader_kills(self):
        from confluent_kafka import Producer

        topic = "idem-rdkafka"
        self.make_topic(topic)
        log = LogLines()
        logger = logging.getLogger("rdkafka-idempotence")
        logger.addHandler(log)
        logger.setLevel(logging.DEBUG)
        acked, failed = {}, []

        def delivered(err, msg):
            if err is not None:
                failed.append((msg.value().decode(), str(err)))
            else:
                acked[msg.value().decode()] = msg.offset()

        # One message per batch: librdkafka caps an idempotent partition's in-flight *messages*
        # at five (its de-duplication window), so only one-message batches put five requests in
        # flight for the kill to catch.
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
                             "max.in.flight.requests.per.connection": 5, "linger.ms": 1,
                             "batch.num.messages": 1, "debug": "msg,eos", "logger": logger})
        produced, resent = [], set()
        for round_no in range(1, ROUNDS + 1):
            leader = self.leader_node(topic)
            values = [f"{topic}-{len(produced) + i}" for i in range(CHUNK)]
            produced += values
            unacked = self.produce_killing(producer, topic, values, delivered, acked, leader)
            self.assertEqual(failed, [], "librdkafka gave up on values")
            self.restart(leader)
            resent = resent_batches(log.lines)
            print(f"round {round_no}: killed node {leader.node_id} with {unacked} values unacknowledged; "
                  f"batches sent again after an unknown outcome so far: {len(resent)}")
            if resent:
                break
        self.assertTrue(resent, f"no batch was sent again in {ROUNDS} leader kills: the test proved nothing")
        total = self.check_once(topic, acked, produced)
        print(f"confluent-kafka: {len(acked)} values acknowledged, {total} records read back, 0 duplicates; "
              f"{len(resent)} batches (producer id, epoch, base sequence) {sorted(resent)[:5]} were sent "
              f"again after their first attempt's connection died")
        self.ok()

    def produce_killing(self, producer, topic, values, delivered, acked, leader):
        """Produces `values` to `topic`, kills `leader` (-9) once KILL_AT of them are acknowledged, and waits
        until every value is delivered; returns how many were unacknowledged at the kill."""
        start = len(acked)
        unacked_at_kill = None

        def maybe_kill():
            nonlocal unacked_at_kill
            if unacked_at_kill is None and len(acked) - start >= KILL_AT:
                unacked_at_kill = len(values) - (len(acked) - start)
                leader.kill()

        for v in values:
            while True:
                try:
                    producer.produce(topic=topic, value=v, partition=0, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
            maybe_kill()
        deadline = time.monotonic() + DELIVER_S
        while len(producer) > 0:
            self.assertLess(time.monotonic(), deadline, f"{len(producer)} values still undelivered")
            producer.poll(0.1)
            maybe_kill()
        self.assertIsNotNone(unacked_at_kill, "the leader was never killed")
        return unacked_at_kill

    # --- kafkajs -------------------------------------------------------------------------------------

    def test_b_kafkajs_across_a_leader_kill(self):
        topic = "idem-kafkajs"
        self.make_topic(topic)
        script = self.kafkajs("kafkajs_idempotent.js")
        leader = self.leader_node(topic)
        err_path = os.path.join(self.cluster.root, "kafkajs-idempotent.err")
        with open(err_path, "w") as err:
            proc = subprocess.Popen(["node", script, self.bootstrap, topic, str(KAFKAJS_COUNT), str(KAFKAJS_PER_SEND),
                                     str(KAFKAJS_KILL_AT)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        lines, acked = [], {}

        def read_lines():
            for line in proc.stdout:
                lines.append(line)

        reader = threading.Thread(target=read_lines, daemon=True)
        reader.start()
        try:
            def kill_time():
                return any('"paused"' in line for line in list(lines)) or proc.poll() is not None

            # kafkajs pauses once KAFKAJS_KILL_AT values are acknowledged, so its next send surely
            # meets the dead leader (unpaced, it once finished all 3000 before the kill landed).
            self.cluster.wait_for(kill_time, DELIVER_S, f"kafkajs acknowledging {KAFKAJS_KILL_AT} values")
            leader.kill()
            proc.stdin.write("go\n")
            proc.stdin.close()
            proc.wait(timeout=DELIVER_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            reader.join(timeout=10)
            proc.stdout.close()
        with open(err_path) as err:
            self.assertEqual(proc.returncode, 0, f"kafkajs: {err.read()}")
        done = None
        for line in lines:
            doc = json.loads(line)
            if doc.get("done"):
                done = doc
                continue
            if "paused" in doc:
                continue
            for i in range(doc["count"]):
                acked[f"{topic}-{doc['first'] + i}"] = doc["offset"] + i
        self.assertIsNotNone(done, "kafkajs did not finish")
        self.restart(leader)
        total = self.check_once(topic, acked, [f"{topic}-{i}" for i in range(KAFKAJS_COUNT)])
        self.assertEqual(len(acked), KAFKAJS_COUNT)
        print(f"kafkajs: {len(acked)} values acknowledged in {done['sends']} sends, {done['produce_requests']} "
              f"Produce requests answered, {done['failed_attempts']} failed attempts retried {done['errors']}; "
              f"{total} records read back, 0 duplicates")
        # The send after the kill went to the dead leader: kafkajs must have retried it.
        self.assertGreater(done["failed_attempts"], 0, "kafkajs never retried: the kill came too late")
        self.ok()

    # --- Kafka's Java producer -----------------------------------------------------------------------

    def test_c_java_producer(self):
        topic = "idem-java"
        self.make_topic(topic)
        work = os.environ.get("CHRONIK_KAFKA_TOOLS_DIR") or os.path.join(self.cluster.root, "kafka-tools")
        classpath = kafka_tools_classpath(work)
        if classpath is None:
            self.skipTest("java, mvn or Kafka 4.0.1's tools from Maven unavailable")
        values = [f"{topic}-{i}" for i in range(JAVA_COUNT)]
        # enable.idempotence and acks=all are Java's defaults; said anyway, so a changed default
        # cannot make this test quietly stop testing idempotence.
        out = subprocess.run(["java", "-cp", classpath, CONSOLE_PRODUCER, "--bootstrap-server", self.bootstrap,
                              "--topic", topic, "--producer-property", "enable.idempotence=true",
                              "--producer-property", "acks=all", "--producer-property", "partitioner.ignore.keys=true"],
                             input="\n".join(values) + "\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn("ERROR", out.stdout + out.stderr)
        records = self.read_back(topic)
        self.assertEqual(sorted(v for _, v in records), sorted(values), "what the Java producer wrote, once each")
        print(f"Java: {len(records)} records read back, each value once")
        self.ok()

    # --- the partition's answers, on the wire --------------------------------------------------------

    def test_e_retry_after_leader_change_gets_original_offset(self):
        """What the clients above cannot show, asked directly with kafka-python's protocol classes:
        a batch written by the old leader and sent again to the new one, with its producer id, epoch
        and sequence, is answered with its original offset and not appended again; a gap in the
        sequence is OUT_OF_ORDER_SEQUENCE_NUMBER."""
        from confluent_kafka import Consumer, TopicPartition
        from kafka.net.compat import KafkaNetClient
        from kafka.protocol.producer import InitProducerIdRequest

        topic = "idem-wire"
        self.make_topic(topic)
        client = KafkaNetClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            client.check_version(timeout_ms=10000)
            leader = self.leader_node(topic)
            got = client.send_and_receive(leader.node_id, InitProducerIdRequest[4](
                transactional_id=None, transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1),
                timeout_ms=10000)
            self.assertEqual(got.error_code, NONE)
            batches = [idempotent_batch(topic, got.producer_id, seq, 5) for seq in (0, 5, 10)]
            self.assertEqual(self.wire_produce(client, topic, batches[0]), (NONE, 0))
            self.assertEqual(self.wire_produce(client, topic, batches[1]), (NONE, 5))
            leader.kill()
            # The retries of both written batches, to whichever node leads now.
            self.assertEqual(self.wire_produce(client, topic, batches[1]), (NONE, 5), "retry of the last batch")
            self.assertEqual(self.wire_produce(client, topic, batches[0]), (NONE, 0), "retry of an earlier batch")
            self.restart(leader)
            self.assertEqual(self.wire_produce(client, topic, batches[1]), (NONE, 5), "retry after the restart")
            self.assertEqual(self.wire_produce(client, topic, batches[2]), (NONE, 10), "the next batch")
            gap = idempotent_batch(topic, got.producer_id, 30, 5)
            self.assertEqual(self.wire_produce(client, topic, gap)[0], OUT_OF_ORDER_SEQUENCE_NUMBER)
        finally:
            client.close()
        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": f"{topic}-hw"})
        try:
            self.assertEqual(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1], 15)
        finally:
            consumer.close()
        self.check_once(topic, {f"{topic}-{i}": i for i in range(15)}, [f"{topic}-{i}" for i in range(15)])
        print("wire: 3 retries of written batches (2 across a leader kill, 1 after the restart) answered with "
              "their original offsets, nothing appended twice; a sequence gap refused")
        self.ok()

    def wire_produce(self, client, topic, records):
        """(error code, base offset) of a Produce v9 (acks=all) of `records` to `topic`'s partition 0,
        sent to its current leader; asked again while the partition has no leader that answers."""
        from kafka.protocol.producer import ProduceRequest

        Topic = ProduceRequest.TopicProduceData
        request = ProduceRequest[9](transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
            Topic(name=topic, partition_data=[Topic.PartitionProduceData(index=0, records=records)])])
        answer = {}

        def answered():
            leader = self.leader_node(topic)
            try:
                resp = client.send_and_receive(leader.node_id, request, timeout_ms=10000)
            except Exception as e:  # noqa: BLE001 - the connection to a node that just died
                answer["last"] = repr(e)
                return False
            p = resp.responses[0].partition_responses[0]
            answer["last"] = (p.error_code, p.base_offset)
            return p.error_code not in RETRIABLE

        try:
            self.cluster.wait_for(answered, LEADER_S, f"a leader of {topic} answering a Produce")
        except AssertionError as e:
            raise AssertionError(f"{e}; last answer {answer.get('last')}") from None
        return answer["last"]

    # --- order across leader changes -----------------------------------------------------------------

    def leaders(self, topic):
        """{partition: leader id} of `topic` as Metadata from the running brokers shows it, for the
        partitions whose leader is a running node."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.running_bootstrap()})
        try:
            t = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        except Exception:  # noqa: BLE001 - a broker that is starting: the caller asks again
            return {}
        running = {n.node_id for n in self.cluster.nodes if n.running()}
        if t is None or t.error is not None:
            return {}
        return {p: m.leader for p, m in t.partitions.items() if m.leader in running}

    def read_partition(self, topic, partition):
        """The values of `topic`'s `partition` from offset 0 to the high watermark, in offset order."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.running_bootstrap(), "group.id": f"{topic}-reader",
                             "enable.auto.commit": False, "auto.offset.reset": "error"})
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            consumer.assign([TopicPartition(topic, partition, 0)])
            values, next_offset = [], 0
            deadline = time.monotonic() + READ_S
            while next_offset < high:
                self.assertLess(time.monotonic(), deadline, f"read {len(values)} of {high} records of {topic}/{partition}")
                for msg in consumer.consume(num_messages=10000, timeout=0.5):
                    self.assertIsNone(msg.error(), f"reading {topic}/{partition}")
                    values.append(msg.value().decode())
                    next_offset = msg.offset() + 1
            return values
        finally:
            consumer.close()

    def produce_across_leader_kills(self, topic, idempotent):
        """Produces to `topic`'s ORDER_PARTITIONS partitions at full rate, each partition's values
        its send sequence 0, 1, 2, ..., while ORDER_CHANGES times the leader of one of them is
        killed -9 (once ORDER_FLOWING more values were acknowledged) and restarted; returns (values
        sent per partition, acknowledged per partition, failed deliveries, the kills as (victim id,
        partitions it led, values unacknowledged in them at the kill)) once everything is delivered
        and every killed leader's partitions got acknowledgements after its kill."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=ORDER_PARTITIONS, replication_factor=3)])[topic].result(
            timeout=30)
        self.cluster.wait_for(lambda: len(self.leaders(topic)) == ORDER_PARTITIONS, LEADER_S, f"leaders of {topic}")
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": idempotent, "acks": "all",
                             "max.in.flight.requests.per.connection": 5, "linger.ms": 2})
        sent, acked, failed = [0] * ORDER_PARTITIONS, [0] * ORDER_PARTITIONS, []
        stop = threading.Event()

        def delivered(err, msg):
            if err is not None:
                failed.append((msg.partition(), msg.value().decode(), str(err)))
            else:
                acked[msg.partition()] += 1

        def produce():
            """No waits but librdkafka's own queue being full."""
            total = 0
            while not stop.is_set() and total < ORDER_MAX_VALUES:
                p = total % ORDER_PARTITIONS
                try:
                    producer.produce(topic, value=str(sent[p]).encode(), partition=p, on_delivery=delivered)
                except BufferError:
                    producer.poll(0.01)
                    continue
                sent[p] += 1
                total += 1
                if total % 1000 == 0:
                    producer.poll(0)

        writer = threading.Thread(target=produce, daemon=True)
        started = time.monotonic()
        kills = []  # (victim id, partitions it led, (sent, acked) per partition at the kill)
        writer.start()
        try:
            for change in range(ORDER_CHANGES):
                self.assertTrue(writer.is_alive(), "the producer stopped before the leader changes were done")
                floor = sum(acked)
                self.cluster.wait_for(lambda: sum(acked) >= floor + ORDER_FLOWING, DELIVER_S,
                                      f"{ORDER_FLOWING} more values acknowledged")
                before = self.leaders(topic)
                victim_id = before[change % ORDER_PARTITIONS]
                victim = next(n for n in self.cluster.nodes if n.node_id == victim_id)
                moved = sorted(p for p, leader in before.items() if leader == victim_id)
                at_kill = (list(sent), list(acked))
                victim.kill()
                self.cluster.wait_for(lambda: all(self.leaders(topic).get(p) not in (None, victim_id) for p in moved),
                                      LEADER_S, f"new leaders of {topic} partitions {moved}")
                self.restart(victim)
                kills.append((victim_id, moved, at_kill))
                self.assertLess(time.monotonic() - started, ORDER_RUN_S, "the leader changes outlasted the run")
            # Mid-stream: every killed leader's partitions got acknowledgements after its kill.
            self.cluster.wait_for(lambda: all(acked[p] > at[1][p] for _, moved, at in kills for p in moved),
                                  DELIVER_S, "values acknowledged after every kill")
        finally:
            stop.set()
            writer.join(timeout=30)
        remaining = producer.flush(DELIVER_S)
        self.assertEqual(remaining, 0, f"{remaining} values undelivered")
        return sent, acked, failed, [(v, moved, sum(at[0][p] - at[1][p] for p in moved)) for v, moved, at in kills]

    def test_f_order_across_leader_changes(self):
        """An idempotent producer at full rate across kill -9 of its partitions' leaders: each
        partition holds every value once, in the order it was sent."""
        started = time.monotonic()
        sent, acked, failed, kills = self.produce_across_leader_kills("idem-order", idempotent=True)
        produced_s = time.monotonic() - started
        self.assertEqual(failed[:10], [], f"{len(failed)} values failed")
        self.assertTrue(any(n > 0 for _, _, n in kills), "no kill caught values unacknowledged: nothing was mid-stream")
        for p in range(ORDER_PARTITIONS):
            seqs = [int(v) for v in self.read_partition("idem-order", p)]
            self.assertEqual(acked[p], sent[p])
            backwards = [(i, a, b) for i, (a, b) in enumerate(zip(seqs, seqs[1:])) if b <= a]
            self.assertEqual(backwards[:10], [], f"{len(backwards)} places where idem-order/{p} does not follow send order")
            self.assertEqual(seqs, list(range(sent[p])), f"idem-order/{p}: every value once, in send order")
        print(f"order: {sum(sent)} values over {ORDER_PARTITIONS} partitions produced in {produced_s:.1f} s, "
              f"{len(kills)} leader kills (node, partitions moved, values unacknowledged at the kill): {kills}; "
              f"each partition read back once and in send order ({time.monotonic() - started:.1f} s in all)")
        self.contrast_without_idempotence()
        self.ok()

    def contrast_without_idempotence(self):
        """The same run from a producer without idempotence, printed and not asserted: whether a
        retry after a leader change landed behind later batches, or twice, depends on timing."""
        try:
            sent, _, failed, kills = self.produce_across_leader_kills("idem-order-plain", idempotent=False)
        except AssertionError as e:
            print(f"note, without idempotence (not asserted): the run did not complete: {e}")
            return
        found = []
        for p in range(ORDER_PARTITIONS):
            seqs = [int(v) for v in self.read_partition("idem-order-plain", p)]
            backwards = sum(b <= a for a, b in zip(seqs, seqs[1:]))
            found.append(f"partition {p}: {len(seqs)} records for {sent[p]} sent, {len(seqs) - len(set(seqs))} "
                         f"duplicates, {backwards} places out of send order")
        print(f"note, without idempotence (not asserted): {len(kills)} leader kills, {len(failed)} failed deliveries; "
              + "; ".join(found))

    # --- transactions ------------------------------------------------------------------------------

    def test_d_transactional_producer_commits(self):
        """A transactional producer's committed values are read once each by a read_committed
        consumer, which reaches the partition's end: the commit marker moved the last stable offset
        past them."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

        topic = "idem-txn"
        self.make_topic(topic)
        producer = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": "idem-txn"})
        producer.init_transactions(TXN_S)
        producer.begin_transaction()
        values = [f"txn-{i}" for i in range(100)]
        for v in values:
            producer.produce(topic, value=v.encode(), partition=0)
        producer.commit_transaction(TXN_S)
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{topic}-reader",
                             "enable.auto.commit": False, "isolation.level": "read_committed",
                             "enable.partition.eof": True})
        try:
            consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            read = []
            deadline = time.monotonic() + READ_S
            while True:
                self.assertLess(time.monotonic(), deadline, f"read_committed read {len(read)} values of {topic}")
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    self.assertEqual(msg.error().code(), KafkaError._PARTITION_EOF, str(msg.error()))
                    break
                read.append(msg.value().decode())
        finally:
            consumer.close()
        self.assertEqual(read, values)
        self.ok()


if __name__ == "__main__":
    run_suite(globals(), "kafka idempotence")
