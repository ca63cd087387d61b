"""The Kafka data workload of the partition suite (issue 6, docs/partition-testing.md "Kafka").

One producer per node, each inside that node's network namespace (so on that node's side of every
partition), writes unique values with acks=all, one record per request and no client retries, while
the nemesis runs. Every send ends in one of three outcomes:

  acked          the broker answered with an offset: the value must be read back at that offset;
  failed         the broker answered an error that chronik sends only when the record is known not
                 to be in the log (NOT_LEADER_OR_FOLLOWER is answered for a proposal only once Raft
                 overwrote it, kafka/partition/partition_replica.cc): the value must never be read;
  indeterminate  no answer, a client-side timeout, a dropped connection, REQUEST_TIMED_OUT or a
                 storage error: the value may or may not be in the log (Jepsen's :info).

After heal the producers stop and one consumer reads every partition from its log start to its
high watermark. `verify` turns that into the checks of the issue: no acknowledged value lost, one
value per (partition, offset), offsets dense, no failed value read, no value read that was never
sent; duplicates are counted (and fail once idempotence exists).
"""
import threading
import time

from observe import enter_netns

PARTITIONS = 3
REPLICATION = 3
RATE_PER_PRODUCER = 100        # values/s: paces the load on a 2-core machine, not a synchronization
REQUEST_TIMEOUT_MS = 1000      # the client's (and so the broker's acks=all) deadline per request
SEND_TIMEOUT_S = 6.0           # bounded wait for one send's outcome
# Codes after which the record may be in the log: REQUEST_TIMED_OUT (7), KAFKA_STORAGE_ERROR (56),
# UNKNOWN_SERVER_ERROR (-1). Every other broker code is a definite failure.
INDETERMINATE_CODES = {7, 56, -1}


class Producer:
    """One producer thread living in node `node`'s network namespace."""

    def __init__(self, workload, node):
        self.w, self.node = workload, node
        self.sent = 0
        self.acked = {}         # value -> (partition, offset, monotonic time the send started)
        self.failed = {}        # value -> broker error code
        self.indeterminate = {}  # value -> reason
        self.latencies = []     # seconds from send to acknowledgement
        self.error = None
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"producer-{node}")

    def _main(self):
        try:
            enter_netns(self.w.run.h.ns(self.node))  # this thread's sockets (and its children's) live there
            self._loop()
        except Exception as e:  # noqa: BLE001 - reported by the workload
            self.error = f"{type(e).__name__}: {e}"

    def _producer(self):
        from kafka import KafkaProducer
        return KafkaProducer(
            bootstrap_servers=self.w.run.h.kafka_addr(self.node), acks="all", retries=0, linger_ms=0,
            max_in_flight_requests_per_connection=1, request_timeout_ms=REQUEST_TIMEOUT_MS, max_block_ms=2000,
            metadata_max_age_ms=1000, reconnect_backoff_ms=50, reconnect_backoff_max_ms=500,
            api_version=(2, 0, 0), client_id=f"workload-{self.node}")

    def _loop(self):
        from kafka.errors import KafkaError
        producer = self._producer()
        try:
            seq = 0
            period = 1.0 / RATE_PER_PRODUCER
            # Bounded: ends with stop(), and each iteration waits at most SEND_TIMEOUT_S.
            while not self.w.stopping.is_set():
                t_start = time.monotonic()
                seq += 1
                value = f"{self.w.tag}/{self.node}/{seq}"
                partition = seq % PARTITIONS
                try:
                    future = producer.send(self.w.topic, value=value.encode(), partition=partition)
                except KafkaError:
                    # Raised by send() itself (no Metadata within max_block_ms): never left the
                    # client, so not a send at all. Back off a little before the next value.
                    self.w.stopping.wait(0.2)
                    continue
                self.sent += 1
                try:
                    md = future.get(timeout=SEND_TIMEOUT_S)
                    self.acked[value] = (md.partition, md.offset, t_start)
                    self.latencies.append(time.monotonic() - t_start)
                except KafkaError as e:
                    code = getattr(e, "errno", None)
                    if isinstance(code, int) and code not in INDETERMINATE_CODES:
                        self.failed[value] = code
                    else:
                        self.indeterminate[value] = type(e).__name__
                self.w.stopping.wait(max(0.0, period - (time.monotonic() - t_start)))
        finally:
            producer.close(timeout=2)


class DataWorkload:
    def __init__(self, run):
        self.run = run
        self.tag = f"{run.name}-{run.seed % 100000}"
        self.topic = f"data-{self.tag}"
        self.stopping = threading.Event()
        self.producers = []
        self.stats = None
        self.read = None        # the read-back of finish(): {"begin", "end", "records"}

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
        while missing and time.monotonic() < deadline:
            missing -= set(run.client(node).call(lambda: self._probe(node, missing), 30))
        if missing:
            raise RuntimeError(f"partitions {sorted(missing)} of {self.topic} took no write within 20s")
        for i in run.h.ids():
            p = Producer(self, i)
            self.producers.append(p)
            p.thread.start()

    def _probe(self, node, partitions):
        from kafka import KafkaProducer
        from kafka.errors import KafkaError
        producer = KafkaProducer(bootstrap_servers=self.run.h.kafka_addr(node), acks="all", retries=0,
                                 request_timeout_ms=3000, max_block_ms=3000, api_version=(2, 0, 0),
                                 client_id="workload-probe")
        ok = []
        try:
            for p in sorted(partitions):
                try:
                    producer.send(self.topic, value=f"probe/{p}".encode(), partition=p).get(timeout=SEND_TIMEOUT_S)
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
        failures += check_history(self.producers, read, self.tag)
        self.stats = self._counts(read)
        self.read = read
        return failures

    def acked_values(self):
        """value -> (partition, offset, send start) of every acknowledged send."""
        return {v: a for p in self.producers for v, a in list(p.acked.items())}

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
            "ack_p50_ms": percentile_ms([x for p in self.producers for x in p.latencies], 0.5),
            "ack_p99_ms": percentile_ms([x for p in self.producers for x in p.latencies], 0.99),
        }


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
        if (part, off) in by_place:
            failures.append(f"data: ({part}, {off}) acknowledged for both {by_place[(part, off)]!r} and {v!r}")
        by_place[(part, off)] = v
    lost = sorted(v for v in acked if v not in seen)
    if lost:
        failures.append(f"data: {len(lost)} acknowledged values lost, e.g. {lost[:3]}")
    moved = [(v, acked[v][:2], at.get(acked[v][:2])) for v in acked if v in seen and acked[v][:2] not in seen[v]]
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
    # Duplicates: no idempotent producer yet and no client retries, so a duplicate would be the
    # broker's doing; reported in the table, and a failure only once idempotence exists.
    return failures
