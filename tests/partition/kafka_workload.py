"""The Kafka data workload of the partition suite (issue 6, docs/partition-testing.md "Kafka").

One producer per node, each inside that node's network namespace (so on that node's side of every
partition), writes unique values while the nemesis runs. Each is an idempotent, retrying producer
(issue 17; confluent-kafka over librdkafka): acks=all, enable.idempotence, up to 5 requests in
flight per connection, and the client's own retries within a bounded delivery timeout. chronik
answers a retry of a batch it already holds with the original offset instead of appending it again
(docs/kafka.md "Idempotent producers"), so no value may be read more than once. Every send ends in
one of three outcomes, from its delivery report:

  acked          no error, with the (partition, offset): the value must be read back there. A
                 report without an offset (librdkafka infers a retried batch was written once a
                 later one of the same producer is acknowledged) must be read back somewhere;
  failed         an error that would be the same for every attempt of the batch (the broker refused
                 its contents: corrupt, too large, bad timestamp, ...), so no attempt was written:
                 the value must never be read;
  indeterminate  anything else: the delivery timeout, or a broker error after retries. With
                 retries, one attempt's refusal says nothing about an earlier attempt that timed
                 out and may still commit, and confluent-kafka 1.7 does not expose librdkafka's
                 per-message persistence status, so the value may or may not be in the log
                 (Jepsen's :info).

A fatal client error stops the producer and fails the scenario, except librdkafka 2.0.2's known
sequence bug (KNOWN_CLIENT_FATAL), after which a new client instance carries on.

After heal the producers stop and one consumer reads every partition from its log start to its
high watermark. `verify` turns that into the checks of the issue: no acknowledged value lost, one
value per (partition, offset), offsets dense, no failed value read, no value read that was never
sent, and no value read twice.
"""
import json
import logging
import os
import threading
import time

from observe import enter_netns

PARTITIONS = 3
REPLICATION = 3
RATE_PER_PRODUCER = 100        # values/s: paces the load on a 2-core machine, not a synchronization
REQUEST_TIMEOUT_MS = 1000      # the broker's acks=all deadline per request (request.timeout.ms)
SOCKET_TIMEOUT_MS = 2000       # a request unanswered this long is retried on a fresh connection
# The client's retries end here, so every outcome is known within 30 s of the send. Longer than
# any fault a scenario holds: a message that times out makes librdkafka 2.0.2 bump its epoch locally
# and send the messages queued for retry on other partitions again under the new epoch, where no
# broker can tell them from new ones (confluentinc/librdkafka#4953). With 5 s, delay-200ms read
# 700-900 such duplicates in 3 runs of 4, each copy in another epoch of the same producer id.
DELIVERY_TIMEOUT_MS = 30000
MAX_QUEUED = 2000              # messages waiting in the client (produce() refuses beyond: not sent)
SEND_TIMEOUT_S = DELIVERY_TIMEOUT_MS / 1000 + 1.0   # bounded wait for the last outcomes at stop
# librdkafka 2.0.2 bug (confluentinc/librdkafka#3584, fixed later by #4438): after a possibly
# persisted error (a disconnect, a timeout) it still advanced its next expected sequence, so when
# that message had not been written, the broker's correct OUT_OF_ORDER_SEQUENCE_NUMBER for the
# next one became a fatal error with one of these texts (the symptom matched; the broker's side
# was not checked).
# And librdkafka's own conservative stop: UNKNOWN_PRODUCER_ID for a batch it had sent before (a
# partition that never knew the producer refuses a first batch past sequence 0; docs/kafka.md
# "Idempotent producers") is fatal, as it cannot tell what a resend would duplicate. Its messages
# are then possibly persisted, so indeterminate here.
KNOWN_CLIENT_FATAL = ("sequence desynchronization", "rewound sequence number",
                      "unable to retry without risking duplication/reordering")
MAX_CLIENT_RESTARTS = 3
DUPLICATES = "values read more than once"  # check_history's duplicate failure says this
# Broker refusals of a batch's contents: the same for every attempt of the same bytes, so none of
# them was written. Every other error is indeterminate (see the module docstring).
DEFINITE_CODES = {
    2,    # CORRUPT_MESSAGE
    10,   # MESSAGE_TOO_LARGE
    18,   # RECORD_LIST_TOO_LARGE
    32,   # INVALID_TIMESTAMP
    43,   # UNSUPPORTED_FOR_MESSAGE_FORMAT
    76,   # UNSUPPORTED_COMPRESSION_TYPE
    87,   # INVALID_RECORD
}


def is_definite(err):
    """True when a delivery error means the value is in no log (see DEFINITE_CODES)."""
    return (err.code() in DEFINITE_CODES and not err.retriable() and not err.fatal()
            and not err.txn_requires_abort())


class Producer:
    """One idempotent producer thread living in node `node`'s network namespace."""

    def __init__(self, workload, node):
        self.w, self.node = workload, node
        self.sent = 0
        self.acked = {}         # value -> (partition, offset, monotonic time the send started)
        self.failed = {}        # value -> broker error code
        self.indeterminate = {}  # value -> reason
        self.pending = {}       # value -> send start, until its delivery report
        self.latencies = []     # seconds from send to acknowledgement
        self.stats = None       # librdkafka's latest statistics (a dict), every second
        self.log_file = None    # producer-<node>.log: librdkafka's own log lines
        self.fatal = None       # the fatal error that stopped the current client instance
        self.restarts = []      # the known client fatal errors a new instance was made after
        self.error = None
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"producer-{node}")

    def _main(self):
        try:
            # librdkafka's threads are created by this thread after setns, and inherit its
            # network namespace: every connection of the client is made from node's side.
            enter_netns(self.w.run.h.ns(self.node))
            self._loop()
        except Exception as e:  # noqa: BLE001 - reported by the workload
            self.error = self.error or f"{type(e).__name__}: {e}"

    def _producer(self):
        from confluent_kafka import Producer as RdProducer
        return RdProducer({
            "bootstrap.servers": self.w.run.h.kafka_addr(self.node), "client.id": f"workload-{self.node}",
            "enable.idempotence": True, "acks": "all", "max.in.flight.requests.per.connection": 5,
            "linger.ms": 0, "delivery.timeout.ms": DELIVERY_TIMEOUT_MS, "request.timeout.ms": REQUEST_TIMEOUT_MS,
            "socket.timeout.ms": SOCKET_TIMEOUT_MS, "retry.backoff.ms": 100,
            "topic.metadata.refresh.interval.ms": 1000, "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500, "queue.buffering.max.messages": MAX_QUEUED,
            "statistics.interval.ms": 1000, "stats_cb": self._on_stats, "error_cb": self._on_error,
            "logger": self._logger(),
            # CHRONIK_RDKAFKA_DEBUG=eos (or msg, protocol, ...) adds librdkafka's debug contexts to
            # producer-<node>.log: PID and epoch changes, retries, sequence resets.
            **({"debug": os.environ["CHRONIK_RDKAFKA_DEBUG"]} if os.environ.get("CHRONIK_RDKAFKA_DEBUG") else {})})

    def _logger(self):
        """librdkafka's log lines (connection failures, retries, epoch bumps) go to
        producer-<node>.log in the scenario's directory, kept with the node logs on failure."""
        log = logging.getLogger(f"chronik.partition.producer.{self.w.tag}.{self.node}")
        log.propagate = False
        log.setLevel(logging.DEBUG)  # librdkafka sends debug lines only with CHRONIK_RDKAFKA_DEBUG
        if self.log_file is None:  # one file for every client instance of this producer
            self.log_file = logging.FileHandler(os.path.join(self.w.run.dir, f"producer-{self.node}.log"))
            self.log_file.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            log.addHandler(self.log_file)
        return log

    # Callbacks run on this producer's thread, inside poll() and flush().
    def _on_stats(self, text):
        self.stats = json.loads(text)

    def _on_error(self, err):
        if err.fatal():
            self.fatal = self.fatal or f"{err.name()}: {err.str()}"

    def _on_delivery(self, err, msg):
        value = msg.value().decode()
        t_start = self.pending.pop(value, None)
        if err is None:
            offset = msg.offset()  # None or negative when the answer named no offset
            self.acked[value] = (msg.partition(), offset if offset is not None and offset >= 0 else None, t_start)
            self.latencies.append(time.monotonic() - t_start)
        elif is_definite(err):
            self.failed[value] = err.code()
        else:
            self.indeterminate[value] = err.name()

    def _loop(self):
        """Runs client instances until stop(). A fatal error stops an instance for good; after
        one of librdkafka 2.0.2's own (KNOWN_CLIENT_FATAL) a new instance, with a new producer id,
        carries on and the error becomes a note. Any other fatal error fails the scenario: the
        broker contradicted the sequence state the client holds."""
        seq = 0
        try:
            # Bounded: each instance runs until stop() or a fatal error, and at most
            # MAX_CLIENT_RESTARTS + 1 instances are made.
            while not self.w.stopping.is_set() and self.error is None:
                self.fatal = None
                seq = self._run_instance(seq)
                if self.fatal is None:
                    break
                if not any(k in self.fatal for k in KNOWN_CLIENT_FATAL) or len(self.restarts) >= MAX_CLIENT_RESTARTS:
                    self.error = f"fatal client error: {self.fatal}"
                else:
                    self.restarts.append(self.fatal)
        finally:
            self.log_file.close()

    def _run_instance(self, seq):
        """One client instance: sends from seq + 1 on, returns the last seq used."""
        from confluent_kafka import KafkaException
        producer = self._producer()
        try:
            period = 1.0 / RATE_PER_PRODUCER
            # Bounded: ends with stop() or a fatal error; each iteration lasts about one period.
            while not self.w.stopping.is_set() and self.fatal is None:
                t_start = time.monotonic()
                seq += 1
                value = f"{self.w.tag}/{self.node}/{seq}"
                try:
                    producer.produce(self.w.topic, value=value.encode(), partition=seq % PARTITIONS,
                                     on_delivery=self._on_delivery)
                    self.pending[value] = t_start
                    self.sent += 1
                except (BufferError, KafkaException) as e:
                    # Refused by produce() itself (queue full, fatal state): never left the
                    # client, so not a send at all.
                    err = e.args[0] if e.args and hasattr(e.args[0], "fatal") else None
                    if err is not None and err.fatal():
                        self.fatal = self.fatal or f"{err.name()}: {err.str()}"
                # Serves delivery reports while pacing; poll returns early after an event.
                while not self.w.stopping.is_set() and self.fatal is None:
                    left = period - (time.monotonic() - t_start)
                    if left <= 0:
                        break
                    try:
                        producer.poll(left)
                    except KafkaException as e:
                        # confluent-kafka 1.7 raises a fatal error from poll() too: the same
                        # outcome as a fatal error reported to _on_error.
                        err = e.args[0] if e.args and hasattr(e.args[0], "fatal") else None
                        self.fatal = self.fatal or (f"{err.name()}: {err.str()}" if err is not None else str(e))
        finally:
            # Every queued or in-flight message gets its report within the delivery timeout (at
            # once after a fatal error); a report that never comes leaves the value undecided.
            try:
                producer.flush(SEND_TIMEOUT_S)
            except KafkaException as e:
                self.fatal = self.fatal or str(e)
            for value in list(self.pending):
                self.indeterminate[value] = "no delivery report"
            self.pending.clear()
            del producer
        return seq

    def client_counts(self):
        """From librdkafka's last statistics: requests retried, requests timed out, producer ids
        assigned (`eos.epoch_cnt`; local epoch bumps are not counted there)."""
        s = self.stats or {}
        brokers = s.get("brokers", {}).values()
        return {"retries": sum(b.get("txretries", 0) for b in brokers),
                "timeouts": sum(b.get("req_timeouts", 0) for b in brokers),
                "pids": (s.get("eos") or {}).get("epoch_cnt", 0)}


class DataWorkload:
    def __init__(self, run):
        self.run = run
        self.tag = f"{run.name}-{run.seed % 100000}"
        self.topic = f"data-{self.tag}"
        self.stopping = threading.Event()
        self.producers = []
        self.stats = None
        self.read = None        # the read-back of finish(): {"begin", "end", "records"}
        self.client_resends = []  # duplicates the client made under a new epoch (finish())

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self):
        """Creates the topic (RF 3) and waits until a value is acknowledged on every partition,
        so that the faults hit a working data path; then starts one producer per node."""
        run = self.run
        node = run.rng.choice(run.h.ids())
        code = run.create_topic(node, self.topic, PARTITIONS, 5000, REPLICATION)
        if code != 0:
            raise RuntimeError(f"creating {self.topic} through node {node}: {code}")
        deadline = time.monotonic() + 20
        missing = set(range(PARTITIONS))
        attempt = 0
        while missing and time.monotonic() < deadline:
            attempt += 1
            missing -= set(run.client(node).call(lambda: self._probe(node, missing, attempt), 30))
        if missing:
            raise RuntimeError(f"partitions {sorted(missing)} of {self.topic} took no write within 20s")
        for i in run.h.ids():
            p = Producer(self, i)
            self.producers.append(p)
            p.thread.start()

    def _probe(self, node, partitions, attempt):
        """One plain acks=all send per partition (kafka-python, no retries). Each attempt's values
        are new, so a send that timed out yet committed is not read as a duplicate of its retry."""
        from kafka import KafkaProducer
        from kafka.errors import KafkaError
        producer = KafkaProducer(bootstrap_servers=self.run.h.kafka_addr(node), acks="all", retries=0,
                                 request_timeout_ms=3000, max_block_ms=3000, api_version=(2, 0, 0),
                                 client_id="workload-probe")
        ok = []
        try:
            for p in sorted(partitions):
                try:
                    producer.send(self.topic, value=f"probe/{p}/{attempt}".encode(), partition=p).get(timeout=SEND_TIMEOUT_S)
                    ok.append(p)
                except KafkaError:
                    pass
        finally:
            producer.close(timeout=2)
        return ok

    def stop(self):
        self.stopping.set()
        for p in self.producers:
            p.thread.join(SEND_TIMEOUT_S + 10)

    def first_ack_after(self, t, partition, nodes):
        """The start time of the first send after t on `partition` that was acknowledged, by a
        producer in one of `nodes`' namespaces, or None."""
        times = [ta for p in self.producers if p.node in nodes
                 for (part, _, ta) in list(p.acked.values()) if part == partition and ta > t]
        return min(times) if times else None

    def acked_between(self, t0, t1, partition):
        """How many sends started in [t0, t1] on `partition` were acknowledged (any producer)."""
        return sum(1 for p in self.producers for (part, _, ta) in list(p.acked.values())
                   if part == partition and t0 <= ta <= t1)

    def longest_ack_gap(self, t0, t1, partition):
        """The longest stretch of [t0, t1] in which no send on `partition` that was acknowledged
        started (any producer): how long the partition took no writes."""
        starts = sorted(ta for p in self.producers for (part, _, ta) in list(p.acked.values())
                        if part == partition and t0 <= ta <= t1)
        edges = [t0] + starts + [t1]
        return max(b - a for a, b in zip(edges, edges[1:]))

    # ---- reading back ------------------------------------------------------------------------
    def read_all(self, node, timeout_s=60):
        """{partition: [(offset, value)]} read from log start to the high watermark through node's
        namespace, or raises. The end offsets are taken once the producers have stopped."""
        def job():
            from kafka import KafkaConsumer, TopicPartition
            consumer = KafkaConsumer(bootstrap_servers=self.run.h.kafka_addr(node), enable_auto_commit=False,
                                     group_id=None, api_version=(2, 0, 0), auto_offset_reset="earliest",
                                     fetch_max_wait_ms=200, request_timeout_ms=5000, consumer_timeout_ms=1000,
                                     client_id="workload-check")
            try:
                tps = [TopicPartition(self.topic, p) for p in range(PARTITIONS)]
                consumer.assign(tps)
                begin = consumer.beginning_offsets(tps)
                end = consumer.end_offsets(tps)
                for tp in tps:
                    consumer.seek(tp, begin[tp])
                out = {p: [] for p in range(PARTITIONS)}
                deadline = time.monotonic() + timeout_s
                # Bounded by the deadline; every poll waits at most 0.5 s.
                while any(consumer.position(tp) < end[tp] for tp in tps):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"read stopped at { {tp.partition: consumer.position(tp) for tp in tps} } "
                                           f"of { {tp.partition: end[tp] for tp in tps} }")
                    for tp, records in consumer.poll(timeout_ms=500).items():
                        out[tp.partition].extend((r.offset, r.value.decode(errors="replace")) for r in records)
                return {"begin": {tp.partition: begin[tp] for tp in tps},
                        "end": {tp.partition: end[tp] for tp in tps}, "records": out}
            finally:
                consumer.close()
        return self.run.client(node).call(job, timeout_s + 30)

    def finish(self):
        """Stops the producers, reads everything back and checks it. Returns the failures."""
        run = self.run
        self.stop()
        failures = [f"producer {p.node}: {p.error}" for p in self.producers if p.error]
        nodes = [i for i in run.h.ids() if run.h.running(i)]
        read, last_error = None, None
        # kafka-python reads some tens of thousands of records a second: a long soak needs longer.
        budget = max(60.0, sum(p.sent for p in self.producers) / 2000)
        deadline = time.monotonic() + budget
        while read is None and time.monotonic() < deadline:
            node = run.rng.choice(nodes)
            try:
                read = self.read_all(node, budget)
            except Exception as e:  # noqa: BLE001 - an election may still be settling: try another node
                last_error = f"{type(e).__name__}: {e}"[:300]
                time.sleep(0.5)
        if read is None:
            self.stats = self._counts(None)
            return failures + [f"data: could not read {self.topic} back within {budget:.0f}s: {last_error}"]
        data_failures = check_history(self.producers, read, self.tag)
        self.stats = self._counts(read)
        self.read = read
        if data_failures or failures:  # a failed check, or a producer stopped by a fatal error
            batches = self._dump(read, nodes)
            lines = [f"data: {line}" for line in duplicate_sources(batches)]
            if resent_by_client(batches) and all(DUPLICATES in f for f in data_failures):
                # Every duplicate is one producer's value sent again under a newer epoch of its
                # id: the client bumped its epoch (KIP-360 resets the sequence to 0) and resent
                # batches it had already written, which no broker can recognise as the same
                # (confluentinc/librdkafka#4953). A note with the evidence, not a failure.
                self.client_resends = data_failures + lines
                data_failures = []
            else:
                data_failures += lines
        return failures + data_failures

    def _dump(self, read, nodes):
        """For a failed check: every send's outcome and the read-back (data-history.json), and the
        batches with their producer id, epoch and base sequence (batches.json), in the run's
        directory, which is kept. Returns the batches, {partition: [batch] or why not}."""
        from batch_dump import batches
        history = {"producers": {p.node: {"acked": p.acked, "failed": p.failed, "indeterminate": p.indeterminate}
                                 for p in self.producers}, "read": read}
        with open(os.path.join(self.run.dir, "data-history.json"), "w") as f:
            json.dump(history, f)
        out = {}
        for part in range(PARTITIONS):
            for node in nodes:  # only the leader answers; the others say NOT_LEADER_OR_FOLLOWER
                addr = self.run.h.kafka_addr(node)
                try:
                    out[part] = self.run.client(node).call(
                        lambda a=addr, p=part: batches(a, self.topic, p, read["begin"][p], read["end"][p]), 60)
                    break
                except Exception as e:  # noqa: BLE001 - evidence only: try the next node
                    out[part] = f"{type(e).__name__}: {e}"
        with open(os.path.join(self.run.dir, "batches.json"), "w") as f:
            json.dump(out, f)
        return out

    def acked_values(self):
        """value -> (partition, offset, send start) of every acknowledged send. A send acknowledged
        without an offset (librdkafka reports none for some answers to a retry) takes the place
        it was read at, when it was read exactly once; otherwise it is left out."""
        places = {}
        for part, recs in (self.read or {"records": {}})["records"].items():
            for off, v in recs:
                places.setdefault(v, []).append((part, off))
        out = {}
        for p in self.producers:
            for v, (part, off, t) in list(p.acked.items()):
                if off is None:
                    if len(places.get(v, ())) != 1:
                        continue
                    part, off = places[v][0]
                out[v] = (part, off, t)
        return out

    def _counts(self, read):
        acked = {v: a for p in self.producers for v, a in p.acked.items()}
        seen = {}
        if read:
            for recs in read["records"].values():
                for _, v in recs:
                    seen[v] = seen.get(v, 0) + 1
        return {
            "sent": sum(p.sent for p in self.producers),
            "acked": len(acked),
            "failed": sum(len(p.failed) for p in self.producers),
            "indeterminate": sum(len(p.indeterminate) for p in self.producers),
            "lost": None if read is None else sum(1 for v in acked if v not in seen),
            "dup": None if read is None else sum(n - 1 for n in seen.values() if n > 1),
            **{k: sum(p.client_counts()[k] for p in self.producers) for k in ("retries", "timeouts", "pids")},
            "restarts": [(p.node, r) for p in self.producers for r in p.restarts],
            "ack_p50_ms": percentile_ms([x for p in self.producers for x in p.latencies], 0.5),
            "ack_p99_ms": percentile_ms([x for p in self.producers for x in p.latencies], 0.99),
        }


def duplicate_copies(batches_by_partition):
    """{value: [(pid, epoch, sequence or None, offset)]} of every value held by two batches or more."""
    copies = {}
    for bs in batches_by_partition.values():
        if isinstance(bs, str):
            continue  # this partition's batches could not be fetched
        for base, pid, epoch, seq, values in bs:
            for i, v in enumerate(values):
                copies.setdefault(v, []).append((pid, epoch, seq + i if seq >= 0 else None, base + i))
    return {v: cs for v, cs in copies.items() if len(cs) > 1}


def resent_by_client(batches_by_partition):
    """True when there are duplicates and every one is a single producer id's value, each copy in
    another epoch of that id: the client resent it after bumping its epoch. False when any
    partition's batches are unknown, or any copy shares its id and epoch with another (the broker
    appended a retry again) or comes from another producer id."""
    if any(isinstance(bs, str) for bs in batches_by_partition.values()):
        return False
    dups = duplicate_copies(batches_by_partition)
    return bool(dups) and all(len({c[0] for c in cs}) == 1 and len({c[1] for c in cs}) == len(cs)
                              for cs in dups.values())


def duplicate_sources(batches_by_partition):
    """Which side wrote each value read twice, from the batches holding its copies: the same
    producer id and epoch for every copy means the partition appended a retry it should have
    answered from its table; copies under different epochs or ids mean the client sent the value
    again under a new identity, which no broker can recognise. Returns summary lines."""
    same, other = [], []
    for v, cs in sorted(duplicate_copies(batches_by_partition).items()):
        (same if len({c[:2] for c in cs}) == 1 else other).append((v, cs))
    lines = []
    if same:
        lines.append(f"{len(same)} duplicates with every copy under one producer id and epoch (the broker "
                     f"appended a retry again), e.g. {same[:2]} as (pid, epoch, sequence, offset)")
    if other:
        lines.append(f"{len(other)} duplicates with copies under different epochs or producer ids (the client "
                     f"sent them again after an epoch bump), e.g. {other[:2]} as (pid, epoch, sequence, offset)")
    return lines


def percentile_ms(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def check_history(producers, read, tag):
    """The checks over one history (pure: producer outcomes and what was read). Returns failures."""
    failures = []
    acked = {}
    for p in producers:
        acked.update(p.acked)
    failed = {v: c for p in producers for v, c in p.failed.items()}
    indeterminate = {v for p in producers for v in p.indeterminate}
    at = {}      # (partition, offset) -> value read there
    seen = {}    # value -> [(partition, offset)]
    for part, recs in read["records"].items():
        offsets = [o for o, _ in recs]
        want = list(range(read["begin"][part], read["end"][part]))
        if offsets != want:
            gaps = sorted(set(want) - set(offsets))[:5]
            extra = sorted(set(offsets) - set(want))[:5]
            failures.append(f"data: partition {part} offsets not dense and monotonic from {read['begin'][part]} "
                            f"to {read['end'][part]}: missing {gaps}, unexpected {extra}, "
                            f"in order {offsets == sorted(offsets)}")
        for off, v in recs:
            if (part, off) in at and at[(part, off)] != v:
                failures.append(f"data: ({part}, {off}) read as both {at[(part, off)]!r} and {v!r}")
            at[(part, off)] = v
            seen.setdefault(v, []).append((part, off))
    by_place = {}
    for v, (part, off, _) in acked.items():
        if off is None:
            continue  # acknowledged without an offset: it must be read, anywhere
        if (part, off) in by_place:
            failures.append(f"data: ({part}, {off}) acknowledged for both {by_place[(part, off)]!r} and {v!r}")
        by_place[(part, off)] = v
    lost = sorted(v for v in acked if v not in seen)
    if lost:
        failures.append(f"data: {len(lost)} acknowledged values lost, e.g. {lost[:3]}")
    moved = [(v, acked[v][:2], at.get(acked[v][:2])) for v in acked
             if v in seen and acked[v][1] is not None and acked[v][:2] not in seen[v]]
    if moved:
        failures.append(f"data: {len(moved)} acknowledged values not at their acknowledged offset, e.g. {moved[:3]}")
    read_failed = sorted(v for v in failed if v in seen)
    if read_failed:
        failures.append(f"data: {len(read_failed)} values whose send failed were read as committed, e.g. "
                        f"{[(v, failed[v], seen[v]) for v in read_failed[:3]]}")
    prefix = tag + "/"
    unknown = sorted(v for v in seen if not v.startswith("probe/") and not v.startswith(prefix))
    unsent = sorted(v for v in seen if v.startswith(prefix) and v not in acked and v not in failed
                    and v not in indeterminate)
    if unknown or unsent:
        failures.append(f"data: values read that were never sent: {(unknown + unsent)[:3]}")
    # Idempotent producers: a retried batch the partition already holds is answered with its
    # original offset, never appended again (docs/kafka.md "Idempotent producers"). Probe values
    # are unique per attempt, so any value read twice is a duplicate the broker wrote.
    dups = sorted(v for v, places in seen.items() if len(places) > 1)
    if dups:
        failures.append(f"data: {len(dups)} {DUPLICATES}, e.g. "
                        f"{[(v, seen[v]) for v in dups[:3]]}")
    return failures
