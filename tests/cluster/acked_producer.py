"""A steady acks=all producer that remembers every acknowledged record, and the check that each one
is read back at its offset: the "nothing acknowledged is lost" half of the operator suites
(node_drain_test.py, node_decommission_test.py). confluent-kafka (librdkafka) is the client."""
import threading
import time


class Producing:
    """A confluent-kafka producer (acks=all, idempotent) on a thread of its own, writing to every
    partition of `topics` round-robin and keeping every acknowledged (topic, partition, offset, value)."""

    def __init__(self, bootstrap, topics, partitions):
        from confluent_kafka import Producer

        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 5, "message.timeout.ms": 120000})
        self.topics = list(topics)
        self.partitions = partitions
        self.acked = []
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.sent = 0

    def on_delivery(self, err, msg):
        with self.lock:
            if err is not None:
                self.errors.append(str(err))
            else:
                self.acked.append((msg.topic(), msg.partition(), msg.offset(), msg.value()))

    def run(self):
        while not self.stop.is_set():
            for t in self.topics:
                for p in range(self.partitions):
                    value = f"{t}/{p}/{self.sent}".encode()
                    self.sent += 1
                    try:
                        self.producer.produce(t, value=value, partition=p, on_delivery=self.on_delivery)
                    except BufferError:
                        self.producer.poll(0.05)
            self.producer.poll(0.02)
            time.sleep(0.02)  # a steady load of a few hundred records a second, not a benchmark
        self.producer.flush(120)

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_more(self, than, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() > than:
                return
            time.sleep(0.1)
        raise AssertionError(f"no record acknowledged {what} within {timeout} s (errors: {self.errors[-3:]})")

    def finish(self):
        self.stop.set()
        self.thread.join(180)


def assert_all_readable(test, bootstrap, acked, group):
    """Every acknowledged record is read back at its offset with its value (a consumer of `group`,
    assigned partition by partition, committing nothing)."""
    from confluent_kafka import Consumer, TopicPartition

    want = {}
    for t, p, off, value in acked:
        want.setdefault((t, p), {})[off] = value
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        for (t, p), offsets in want.items():
            last = max(offsets)
            consumer.assign([TopicPartition(t, p, min(offsets))])
            got = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not got or max(got) < last):
                m = consumer.poll(1.0)
                if m is not None and m.error() is None:
                    got[m.offset()] = m.value()
            missing = [o for o, v in offsets.items() if got.get(o) != v]
            test.assertEqual(missing[:5], [], f"{t}-{p}: {len(missing)} acknowledged records not read back")
    finally:
        consumer.close()
