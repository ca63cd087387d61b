"""The load of kafka_groups_durable_test.py's rolling restart: one producer that keeps writing a
topic, two confluent-kafka consumers of one group that commit after processing, and a sampler that
reads the group's committed offsets (OffsetFetch, kafka-python) every 0.2 s and records every one that goes
backwards or vanishes. Each runs in its own thread (librdkafka releases the GIL while it waits).

A consumer commits what it processed synchronously before it polls again, and forgets what it has
not committed for partitions the group takes away: with a rebalance callback set, librdkafka hands
a revocation to the application inside poll, so a commit is never sent for a partition after the
consumer gave it up. Committed offsets of a correct broker can then only move forward.
"""
import threading
import time
import traceback

PRODUCE_BATCH = 10  # records produced between two polls of the producer
PRODUCE_PAUSE_S = 0.05  # the pause between batches: paces the producer to ~200 records/s
SAMPLE_EVERY_S = 0.2
JOIN_S = 30  # for a thread to finish once told to


def list_group_offsets(bootstrap, group, topic, partitions):
    """OffsetFetch of `group` through kafka-python's admin client: {partition: OffsetAndMetadata}
    (offset -1: none committed); raises on an error. A fresh client each time, since the admin
    client caches a group's coordinator and keeps asking it after the group has moved.

    Not librdkafka's ListConsumerGroupOffsets: on a NOT_COORDINATOR answer, which is what a
    coordinator move gives, it dereferences the admin handle's null consumer group and kills the
    process (confluentinc/librdkafka#5040; seen here with confluent-kafka 2.16.1)."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        got = admin.list_group_offsets({group: [TopicPartition(topic, p) for p in range(partitions)]})[group]
    finally:
        admin.close()
    return {tp.partition: om for tp, om in got.items()}




class RollingGroup:
    def __init__(self, bootstrap, name, partitions):
        self.bootstrap = bootstrap
        self.topic = self.group = name
        self.partitions = partitions
        self.lock = threading.Lock()
        self.producing = threading.Event()
        self.consuming = threading.Event()
        self.sampling = threading.Event()
        self.acked = set()  # (partition, offset) acknowledged to the producer
        self.produce_errors = []
        self.delivered = set()  # (partition, offset) read by either consumer
        self.commits = 0
        self.commit_errors = []
        self.highest = {}  # partition -> highest committed offset ever sampled
        self.latest = {}  # partition -> committed offset in the newest sample
        self.backwards = []  # (seconds since start, partition, highest before, sampled)
        self.samples = 0
        self.sample_errors = []
        self.thread_errors = []
        self.threads = []
        self.t0 = time.monotonic()

    # --- threads -------------------------------------------------------------------------------------

    def start(self):
        for i, target in enumerate((self.produce, self.consume, self.consume, self.sample)):
            t = threading.Thread(target=self.guarded, args=(target, i), daemon=True)
            t.start()
            self.threads.append(t)

    def guarded(self, target, index):
        try:
            target(index)
        except Exception:  # noqa: BLE001 - reported by check()
            with self.lock:
                self.thread_errors.append(traceback.format_exc())

    def produce(self, _):
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 5})

        def delivered(err, msg):
            with self.lock:
                if err is None:
                    self.acked.add((msg.partition(), msg.offset()))
                else:
                    self.produce_errors.append(str(err))

        i = 0
        while not self.producing.is_set():
            for _ in range(PRODUCE_BATCH):
                producer.produce(self.topic, value=b"r-%d" % i, partition=i % self.partitions, on_delivery=delivered)
                i += 1
            producer.poll(0)  # serves the delivery reports
            self.producing.wait(PRODUCE_PAUSE_S)  # pacing, not synchronization
        left = producer.flush(120)
        if left:
            raise AssertionError(f"{left} records still unacknowledged 120 s after producing stopped")

    def consume(self, index):
        from confluent_kafka import Consumer, KafkaException, TopicPartition

        pending = {}  # partition -> next offset to commit

        def revoked(_consumer, tps):
            for tp in tps:
                pending.pop(tp.partition, None)

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                             "client.id": f"rolling-{index}", "enable.auto.commit": False,
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([self.topic], on_revoke=revoked)
        try:
            while not self.consuming.is_set():
                for m in consumer.consume(100, 0.5):
                    if m.error() is None:
                        with self.lock:
                            self.delivered.add((m.partition(), m.offset()))
                        pending[m.partition()] = m.offset() + 1
                if not pending:
                    continue
                try:
                    done = consumer.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in pending.items()],
                                           asynchronous=False)
                except KafkaException as e:  # a coordinator move or a rebalance: the next round retries
                    with self.lock:
                        self.commit_errors.append(str(e))
                    continue
                with self.lock:
                    self.commits += 1
                for tp in done:
                    if tp.error is None and pending.get(tp.partition) == tp.offset:
                        del pending[tp.partition]
        finally:
            consumer.close()

    def sample(self, _):
        while not self.sampling.wait(SAMPLE_EVERY_S):
            try:
                got = list_group_offsets(self.bootstrap, self.group, self.topic, self.partitions)
            except Exception as e:  # noqa: BLE001 - no coordinator answers at this moment: no sample
                with self.lock:
                    self.sample_errors.append(repr(e))
                continue
            self.record({p: om.offset for p, om in got.items()})

    def record(self, sample):
        """Keeps one OffsetFetch answer ({partition: offset}, negative when none is committed)."""
        with self.lock:
            self.samples += 1
            for p, o in sample.items():
                high = self.highest.get(p)
                if high is not None and o < high:
                    self.backwards.append((round(time.monotonic() - self.t0, 1), p, high, o))
                if o >= 0 and (high is None or o > high):
                    self.highest[p] = o
                self.latest[p] = o

    # --- driving ---------------------------------------------------------------------------------------

    def state(self):
        with self.lock:
            return (f"committed now {dict(sorted(self.latest.items()))}, highest {dict(sorted(self.highest.items()))}, "
                    f"{len(self.backwards)} backward moves {self.backwards[:5]}, {self.samples} samples, {len(self.sample_errors)} failed {self.sample_errors[-2:]}, "
                    f"{self.commits} commits, {len(self.commit_errors)} commit errors {self.commit_errors[-3:]}, "
                    f"{len(self.acked)} acked, {len(self.delivered)} delivered, thread errors {self.thread_errors}")

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}: {self.state()}")

    def wait_committed_progress(self, timeout):
        """Until every partition's committed offset rises above the highest sampled so far."""
        with self.lock:
            before = dict(self.highest)
        self.wait_for(lambda: all(self.highest.get(p, -1) > before.get(p, -1) for p in range(self.partitions)),
                      timeout, f"committed offsets of {self.group} to rise above {before}")

    def stop_producing(self):
        """Stops the producer once everything it sent is acknowledged; returns each partition's
        high watermark (ListOffsets latest), which is at least one past every acknowledged offset."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import AdminClient, OffsetSpec

        self.producing.set()
        self.threads[0].join(150)
        if self.threads[0].is_alive() or self.thread_errors:
            raise AssertionError(f"the producer did not finish: {self.state()}")
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        got = admin.list_offsets({tp: OffsetSpec.latest() for tp in tps}, request_timeout=30)
        ends = {tp.partition: got[tp].result().offset for tp in tps}
        with self.lock:
            for p, o in self.acked:
                if o >= ends[p]:
                    raise AssertionError(f"acknowledged offset {o} of p{p} is above the high watermark {ends[p]}")
        return ends

    def wait_committed(self, ends, timeout):
        self.wait_for(lambda: self.latest == ends, timeout, f"committed offsets of {self.group} to reach {ends}")

    def stop(self):
        self.consuming.set()
        self.sampling.set()
        self.producing.set()
        for t in self.threads:
            t.join(JOIN_S)

    def check(self, test, ends):
        """The verdict, after stop(): nothing went backwards, the group reached `ends`, and every
        acknowledged record was delivered to the group at least once."""
        print(f"rolling restart: {self.state()}")
        test.assertEqual(self.thread_errors, [], "a client thread failed")
        if self.backwards:
            test.fail(f"committed offsets of {self.group} went backwards {len(self.backwards)} times "
                      f"(seconds, partition, highest before, sampled; negative = none committed): {self.backwards[:10]}")
        test.assertEqual(self.latest, ends, "the group's committed offsets reach the end of what was produced")
        missing = sorted(self.acked - self.delivered)
        test.assertEqual(missing[:10], [], f"{len(missing)} acknowledged records never delivered to the group")
