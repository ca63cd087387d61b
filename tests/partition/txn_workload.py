"""The transactional workload of the partition suite (issue 17, docs/partition-testing.md
"Transactions").

One transactional producer per node, each inside that node's network namespace (confluent-kafka over
librdkafka, transactional.id `txn-<tag>-<node>`), runs transactions one after another while the
nemesis runs. Each transaction writes TXN_RECORDS values, one per partition in turn, of a 3-partition
topic; a seeded choice ends it with a commit or an abort. Every transaction ends in one of three
outcomes:

  committed      commit_transaction returned: every value must be read by a read_committed
                 consumer, exactly once;
  aborted        abort_transaction returned: no value may ever be read by a read_committed consumer;
  indeterminate  anything else (the commit's answer was lost, a fatal error ended the client, the
                 coordinator timed the transaction out): all of its values are read, or none.

A retriable error from commit_transaction is retried with the same call (librdkafka keeps the
transaction), an error that requires an abort is answered with abort_transaction, and a fatal one
(the producer was fenced, say) ends the client; the next instance's init_transactions fences the old
epoch and aborts or completes what it left open at the coordinator (KIP-98).

After heal the producers stop; once every partition's last stable offset has reached its high
watermark (each transaction decided: the coordinator aborts an abandoned one after
TXN_TIMEOUT_MS), one read_committed consumer reads every partition to its end. The checks, as
Jepsen checks Kafka's transactions:
  - no aborted read: no value of an aborted transaction is read;
  - no lost committed write: every value of a committed transaction is read;
  - atomicity: an indeterminate transaction is read whole or not at all;
  - no duplicate: no value is read twice;
  - order: in each partition one producer's values are read in the order its transactions committed
    (its transactions run one at a time, so transaction n's values precede n+1's);
  - nothing read that was never sent.
"""
import logging
import os
import random
import threading
import time

from observe import enter_netns

PARTITIONS = 3
REPLICATION = 3
TXN_RECORDS = 4            # values per transaction, spread over the partitions
TXN_PERIOD_S = 0.25        # one transaction per producer about this often: paces a 2-core machine
ABORT_RATE = 0.25          # the share of transactions the workload aborts on purpose
TXN_TIMEOUT_MS = 10000     # transaction.timeout.ms: the coordinator aborts an abandoned one after it
CALL_TIMEOUT_S = 15        # each init / commit / abort call of the client
COMMIT_ATTEMPTS = 5        # retriable commit errors retried this often
MAX_INSTANCES = 6          # client instances per producer (a fatal error ends one)
DECIDED_S = 60             # after stop, for every last stable offset to reach its high watermark
READ_S = 60


class TxnProducer:
    """One transactional producer thread living in node `node`'s network namespace."""

    def __init__(self, workload, node):
        self.w, self.node = workload, node
        self.rng = random.Random(f"{workload.run.seed}/txn/{node}")
        self.txns = []           # (number, outcome, [(partition, value)]), in the order they ran
        self.instances = 0
        self.fatal = []          # the fatal errors that ended a client instance
        self.undecided = []      # the errors that left a transaction undecided
        self.error = None
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"txn-producer-{node}")

    def _main(self):
        try:
            enter_netns(self.w.run.h.ns(self.node))
            self._loop()
        except Exception as e:  # noqa: BLE001 - reported by the workload
            self.error = f"{type(e).__name__}: {e}"

    def _producer(self):
        from confluent_kafka import Producer
        return Producer({
            "bootstrap.servers": self.w.run.h.kafka_addr(self.node), "client.id": f"txn-{self.node}",
            "transactional.id": f"txn-{self.w.tag}-{self.node}", "transaction.timeout.ms": TXN_TIMEOUT_MS,
            "linger.ms": 5, "request.timeout.ms": 2000, "socket.timeout.ms": 3000, "retry.backoff.ms": 100,
            "message.timeout.ms": TXN_TIMEOUT_MS, "topic.metadata.refresh.interval.ms": 1000,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500, "logger": self._logger(),
            # CHRONIK_RDKAFKA_DEBUG=eos (or protocol, ...) adds librdkafka's debug contexts to
            # txn-producer-<node>.log: coordinator lookups, EndTxn outcomes, epoch bumps.
            **({"debug": os.environ["CHRONIK_RDKAFKA_DEBUG"]} if os.environ.get("CHRONIK_RDKAFKA_DEBUG") else {})})

    def _logger(self):
        """librdkafka's log lines go to txn-producer-<node>.log in the scenario's directory, kept
        with the node logs on failure."""
        log = logging.getLogger(f"chronik.partition.txn.{self.w.tag}.{self.node}")
        log.propagate = False
        log.setLevel(logging.DEBUG)
        if not log.handlers:
            handler = logging.FileHandler(os.path.join(self.w.run.dir, f"txn-producer-{self.node}.log"))
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            log.addHandler(handler)
        return log

    def _loop(self):
        """Client instances until stop(): each runs transactions until a fatal error."""
        n = 0
        try:
            # Bounded: at most MAX_INSTANCES instances, each ending with stop() or a fatal error.
            while not self.w.stopping.is_set() and self.instances < MAX_INSTANCES:
                self.instances += 1
                n = self._run_instance(n)
        finally:
            log = logging.getLogger(f"chronik.partition.txn.{self.w.tag}.{self.node}")
            for handler in list(log.handlers):
                handler.close()
                log.removeHandler(handler)

    def _init(self, producer):
        """init_transactions until it succeeds or the workload stops; False when it never did."""
        from confluent_kafka import KafkaException
        # Bounded: ends with success, stop(), or a fatal error.
        while not self.w.stopping.is_set():
            try:
                producer.init_transactions(CALL_TIMEOUT_S)
                return True
            except KafkaException as e:
                err = e.args[0]
                if err.fatal():
                    self.fatal.append(f"init: {err.name()}: {err.str()}")
                    return False
                self.w.stopping.wait(0.5)  # the coordinator is unreachable or loading: ask again
        return False

    def _run_instance(self, n):
        from confluent_kafka import KafkaException
        producer = self._producer()
        try:
            if not self._init(producer):
                return n
            # Bounded: one transaction per iteration, ending with stop() or a fatal error.
            while not self.w.stopping.is_set():
                t_start = time.monotonic()
                n += 1
                values = [(i % PARTITIONS, f"{self.w.tag}/{self.node}/{n}/{i}") for i in range(TXN_RECORDS)]
                abort = self.rng.random() < ABORT_RATE
                try:
                    outcome = self._transaction(producer, values, abort)
                except KafkaException as e:
                    err = e.args[0]
                    self.txns.append((n, "indeterminate", values))
                    self.undecided.append(f"{err.name()}: {err.str()}"[:200])
                    if err.fatal():
                        self.fatal.append(f"{err.name()}: {err.str()}")
                        return n
                    outcome = None
                    # Not fatal but not ended either: abort what is open so the next can begin.
                    if not self._abort_quietly(producer):
                        return n
                if outcome is not None:
                    self.txns.append((n, outcome, values))
                producer.poll(0)  # serves librdkafka's queued log lines to the logger
                self.w.stopping.wait(max(0.0, TXN_PERIOD_S - (time.monotonic() - t_start)))
        finally:
            del producer
        return n

    def _transaction(self, producer, values, abort):
        """Runs one transaction; its outcome, or raises the client's error when it is unknown."""
        from confluent_kafka import KafkaException
        producer.begin_transaction()
        for part, value in values:
            producer.produce(self.w.topic, value=value.encode(), partition=part)
        if abort:
            producer.abort_transaction(CALL_TIMEOUT_S)
            return "aborted"
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                producer.commit_transaction(CALL_TIMEOUT_S)
                return "committed"
            except KafkaException as e:
                err = e.args[0]
                if err.txn_requires_abort():
                    producer.abort_transaction(CALL_TIMEOUT_S)
                    return "aborted"
                if not err.retriable() or attempt == COMMIT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _abort_quietly(self, producer):
        from confluent_kafka import KafkaException
        try:
            producer.abort_transaction(CALL_TIMEOUT_S)
            return True
        except KafkaException as e:
            err = e.args[0]
            if err.fatal():
                self.fatal.append(f"abort: {err.name()}: {err.str()}")
            return False


class TxnWorkload:
    def __init__(self, run):
        self.run = run
        self.tag = f"txn-{run.name}-{run.seed % 100000}"
        self.topic = f"txn-{run.name}-{run.seed % 100000}"
        self.stopping = threading.Event()
        self.producers = []
        self.stats = None

    def start(self):
        run = self.run
        node = run.rng.choice(run.h.ids())
        code = run.create_topic(node, self.topic, PARTITIONS, 5000, REPLICATION)
        if code != 0:
            raise RuntimeError(f"creating {self.topic} through node {node}: {code}")
        for i in run.h.ids():
            p = TxnProducer(self, i)
            self.producers.append(p)
            p.thread.start()

    def stop(self):
        self.stopping.set()
        for p in self.producers:
            p.thread.join(3 * CALL_TIMEOUT_S + 10)

    def _read(self, node):
        """{partition: [values]} a read_committed consumer reads from the log start to the end,
        after waiting until every partition's last stable offset is its high watermark."""
        def job():
            from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
            conf = {"bootstrap.servers": self.run.h.kafka_addr(node), "group.id": f"check-{self.tag}",
                    "enable.auto.commit": False, "enable.partition.eof": True, "fetch.wait.max.ms": 200}
            committed = Consumer({**conf, "isolation.level": "read_committed"})
            uncommitted = Consumer({**conf, "isolation.level": "read_uncommitted"})
            try:
                tps = [TopicPartition(self.topic, p) for p in range(PARTITIONS)]
                deadline = time.monotonic() + DECIDED_S
                # Bounded by the deadline: the coordinator decides abandoned transactions in time.
                while True:
                    lso = {tp.partition: committed.get_watermark_offsets(tp, timeout=5, cached=False)[1] for tp in tps}
                    hw = {tp.partition: uncommitted.get_watermark_offsets(tp, timeout=5, cached=False)[1] for tp in tps}
                    if lso == hw:
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"transactions still open after {DECIDED_S}s: last stable offsets {lso}, "
                                           f"high watermarks {hw}")
                    time.sleep(0.5)
                committed.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
                out = {p: [] for p in range(PARTITIONS)}
                at_end = {p for p in range(PARTITIONS) if hw[p] == 0}
                deadline = time.monotonic() + READ_S
                # Bounded by the deadline; each poll waits at most 0.5 s.
                while len(at_end) < PARTITIONS:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"read_committed read reached the end of only {sorted(at_end)}")
                    msg = committed.poll(0.5)
                    if msg is None:
                        continue
                    if msg.error():
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            at_end.add(msg.partition())
                            continue
                        raise RuntimeError(f"read_committed read: {msg.error()}")
                    out[msg.partition()].append(msg.value().decode(errors="replace"))
                return {"end": hw, "records": out}
            finally:
                committed.close()
                uncommitted.close()
        return self.run.client(node).call(job, DECIDED_S + READ_S + 30)

    def finish(self):
        """Stops the producers, reads everything back read_committed and checks it."""
        run = self.run
        self.stop()
        failures = [f"txn producer {p.node}: {p.error}" for p in self.producers if p.error]
        nodes = [i for i in run.h.ids() if run.h.running(i)]
        read, last_error = None, None
        deadline = time.monotonic() + DECIDED_S + READ_S
        while read is None and time.monotonic() < deadline:
            try:
                read = self._read(run.rng.choice(nodes))
            except Exception as e:  # noqa: BLE001 - an election may still be settling: try another node
                last_error = f"{type(e).__name__}: {e}"[:300]
                time.sleep(0.5)
        self.stats = counts(self.producers)
        if read is None:
            return failures + [f"txn: could not read {self.topic} back: {last_error}"]
        return failures + check_txn_history(self.producers, read["records"])


def counts(producers):
    out = {"committed": 0, "aborted": 0, "indeterminate": 0}
    for p in producers:
        for _, outcome, _ in p.txns:
            out[outcome] += 1
    out["instances"] = sum(p.instances for p in producers)
    out["fatal"] = [f for p in producers for f in p.fatal][:3]
    out["undecided_by"] = [u for p in producers for u in p.undecided][:3]
    return out


def check_txn_history(producers, records):
    """The checks over one history (pure: each producer's transactions and what a read_committed
    consumer read, {partition: [values in offset order]}). Returns the failures."""
    failures = []
    seen = {}
    for part, values in records.items():
        for pos, v in enumerate(values):
            seen.setdefault(v, []).append((part, pos))
    txn_of = {}
    for p in producers:
        for n, outcome, values in p.txns:
            for _, v in values:
                txn_of[v] = (p.node, n, outcome)
    aborted_read, lost, partial = [], [], []
    for p in producers:
        for n, outcome, values in p.txns:
            read = [v for _, v in values if v in seen]
            if outcome == "aborted" and read:
                aborted_read.append(read[0])
            elif outcome == "committed" and len(read) != len(values):
                lost.append(next(v for _, v in values if v not in seen))
            elif outcome == "indeterminate" and read and len(read) != len(values):
                partial.append(read[0])
    if aborted_read:
        failures.append(f"txn: {len(aborted_read)} aborted transactions read, e.g. {aborted_read[:3]}")
    if lost:
        failures.append(f"txn: {len(lost)} committed transactions not read whole, e.g. missing {lost[:3]}")
    if partial:
        failures.append(f"txn: {len(partial)} undecided transactions read in part, e.g. {partial[:3]}")
    dups = sorted(v for v, places in seen.items() if len(places) > 1)
    if dups:
        failures.append(f"txn: {len(dups)} values read more than once, e.g. {[(v, seen[v]) for v in dups[:3]]}")
    unsent = sorted(v for v in seen if v not in txn_of)
    if unsent:
        failures.append(f"txn: values read that were never sent: {unsent[:3]}")
    # Order: one producer's transactions run one at a time, so in each partition its values must be
    # read in increasing (transaction, index) order.
    disorder = []
    for part, values in records.items():
        last = {}
        for v in values:
            if v not in txn_of:
                continue
            node, n, _ = txn_of[v]
            key = (n, int(v.rsplit("/", 1)[1]))
            if node in last and key <= last[node]:
                disorder.append((part, v, last[node]))
            last[node] = key
    if disorder:
        failures.append(f"txn: {len(disorder)} values read out of their commit order, e.g. {disorder[:3]}")
    return failures
