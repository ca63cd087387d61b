"""The consumer-group workload of the partition suite (issue 16, docs/partition-testing.md
"Consumer groups").

One consumer per node, each inside that node's network namespace, all in one group, consumes the
data workload's topic while the nemesis runs and commits after processing (a synchronous commit of
its positions after every poll that returned records). A sampler reads the group's committed
offsets every 0.25 s through a rotating node. Every commit ends acked (the coordinator answered
without error: it is in the `__consumer_offsets` Raft log) or not (an error, a timeout, a
rebalance: it may or may not have landed).

After heal, once the data workload stopped its producers, the consumers run on until the group's
committed offsets reach the end of every partition, then stop. The checks:
  - no acknowledged commit is lost: the final committed offset of each partition is at least the
    highest offset ever acknowledged for it;
  - committed offsets never go backwards: no sample is lower than an earlier sample, nor than an
    offset acknowledged before the sample was asked for;
  - every acknowledged record was delivered to the group at least once.
"""
import threading
import time

from observe import NsWorker, enter_netns

SAMPLE_PERIOD_S = 0.25
COMMIT_TIMEOUT_MS = 3000


class GroupConsumer:
    """One consumer of the group, living in node `node`'s network namespace."""

    def __init__(self, workload, node):
        self.w, self.node = workload, node
        self.delivered = set()   # values handed to the application
        self.acked = []          # (monotonic time the commit returned, {partition: offset})
        self.commit_errors = 0
        self.error = None
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"group-consumer-{node}")

    def _main(self):
        try:
            enter_netns(self.w.run.h.ns(self.node))
            self._loop()
        except Exception as e:  # noqa: BLE001 - reported by the workload
            self.error = f"{type(e).__name__}: {e}"

    def _loop(self):
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError
        consumer = KafkaConsumer(
            self.w.topic, bootstrap_servers=self.w.run.h.kafka_addr(self.node), group_id=self.w.group,
            enable_auto_commit=False, auto_offset_reset="earliest", api_version=(2, 0, 0),
            session_timeout_ms=6000, heartbeat_interval_ms=1000, request_timeout_ms=COMMIT_TIMEOUT_MS + 4000,
            metadata_max_age_ms=1000, reconnect_backoff_ms=50, reconnect_backoff_max_ms=500,
            fetch_max_wait_ms=200, client_id=f"group-{self.node}")
        try:
            # Bounded: ends with stop(); every poll waits at most 0.5 s, every commit its timeout.
            while not self.w.stopping.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500)
                except KafkaError:
                    self.w.stopping.wait(0.2)
                    continue
                if not batches:
                    continue
                for records in batches.values():
                    for r in records:
                        self.delivered.add(r.value.decode(errors="replace"))
                positions = {}
                for tp in batches:
                    positions[tp.partition] = consumer.position(tp)
                try:
                    consumer.commit()
                    self.acked.append((time.monotonic(), positions))
                except KafkaError:
                    self.commit_errors += 1
        finally:
            consumer.close(autocommit=False)


class GroupWorkload:
    def __init__(self, run, data):
        self.run, self.data = run, data
        self.topic = data.topic
        self.group = f"group-{data.tag}"
        self.stopping = threading.Event()
        self.sampling = threading.Event()
        self.consumers = []
        self.samples = []        # (monotonic time asked, {partition: offset}), offsets -1 when none
        self.sample_errors = 0
        self.samplers = {}       # node -> the sampler's client through that node (used on its worker only)
        # The workload's own namespace threads: kafka-python's committed() retries without bound
        # while the coordinator is unreachable, and a job stuck on the scenario's shared worker of a
        # cut-off node would starve the scenario's own checks there.
        self.workers = {}
        self.sampler = threading.Thread(target=self._sample_main, daemon=True, name="group-sampler")
        self.stats = None

    def start(self):
        for i in self.run.h.ids():
            c = GroupConsumer(self, i)
            self.consumers.append(c)
            c.thread.start()
        self.sampler.start()

    def _committed(self, node, keep=False):
        """{partition: committed offset or -1} asked through node's namespace (on its worker
        thread). With `keep` the client is kept for the next sample through that node, and dropped
        when it fails."""
        from kafka import KafkaConsumer, TopicPartition
        from kafka_workload import PARTITIONS
        consumer = self.samplers.pop(node, None)
        if consumer is None:
            consumer = KafkaConsumer(bootstrap_servers=self.run.h.kafka_addr(node), group_id=self.group,
                                     enable_auto_commit=False, api_version=(2, 0, 0), session_timeout_ms=6000,
                                     request_timeout_ms=6500, client_id="group-sampler")
        try:
            got = {p: (consumer.committed(TopicPartition(self.topic, p)) or -1) for p in range(PARTITIONS)}
        except Exception:
            consumer.close(autocommit=False)
            raise
        if keep:
            self.samplers[node] = consumer
        else:
            consumer.close(autocommit=False)
        return got

    def _worker(self, node):
        if node not in self.workers:
            self.workers[node] = NsWorker(self.run.h.ns(node))
        return self.workers[node]

    def _ask(self, node, keep, timeout):
        """_committed through node on the workload's worker there; a worker whose job did not come
        back in time is abandoned (its thread finishes the job later, alone) and replaced."""
        try:
            return self._worker(node).call(lambda: self._committed(node, keep=keep), timeout)
        except TimeoutError:
            stuck = self.workers.pop(node, None)
            if stuck is not None:
                stuck.close()
            raise

    def _sample_main(self):
        """Samples through node i's namespace in turn; a node that cannot answer is skipped."""
        k = 0
        # Bounded: ends with stop(); each sample waits at most its client's timeouts.
        while not self.sampling.is_set():
            nodes = [i for i in self.run.h.ids() if self.run.h.running(i)]
            if nodes:
                node = nodes[k % len(nodes)]
                k += 1
                asked = time.monotonic()
                try:
                    got = self._ask(node, True, 10)
                    self.samples.append((asked, got))
                except Exception:  # noqa: BLE001 - a cut-off node: counted, not a failure
                    self.sample_errors += 1
            self.sampling.wait(SAMPLE_PERIOD_S)

    def stop(self):
        self.stopping.set()
        self.sampling.set()
        for c in self.consumers:
            c.thread.join(COMMIT_TIMEOUT_MS / 1000 + 15)
        self.sampler.join(15)
        for node, consumer in list(self.samplers.items()):
            try:
                self._worker(node).call(lambda c=consumer: c.close(autocommit=False), 10)
            except Exception:  # noqa: BLE001 - its namespace may be gone already
                pass
        self.samplers.clear()
        for w in self.workers.values():
            w.close()
        self.workers.clear()

    def finish(self, read):
        """After the data workload's finish (producers stopped, `read` its read-back or None): lets
        the consumers reach the end, stops them, checks. Returns the failures."""
        failures = []
        end = (read or {}).get("end")
        if end:
            deadline = time.monotonic() + 90
            # Bounded by the deadline: waits for the consumers' commits to reach every end offset.
            while time.monotonic() < deadline and not self._reached(end):
                time.sleep(0.25)
        self.stop()
        failures += [f"group consumer {c.node}: {c.error}" for c in self.consumers if c.error]
        final, last_error = None, None
        for node in [i for i in self.run.h.ids() if self.run.h.running(i)]:
            try:
                final = self._ask(node, False, 20)
                break
            except Exception as e:  # noqa: BLE001 - try the next node
                last_error = f"{type(e).__name__}: {e}"[:200]
        for w in self.workers.values():
            w.close()
        self.workers.clear()
        if final is None:
            return failures + [f"group: could not read the committed offsets after heal: {last_error}"]
        failures += check_group_history(self.consumers, self.samples, final,
                                        self.data.acked_values() if self.data else {}, end)
        self.stats = {"commits": sum(len(c.acked) for c in self.consumers),
                      "commit_errors": sum(c.commit_errors for c in self.consumers),
                      "samples": len(self.samples), "final": final}
        return failures

    def _reached(self, end):
        acked = highest_acked(self.consumers)
        return all(acked.get(p, -1) >= e for p, e in end.items() if e > 0)


def highest_acked(consumers):
    best = {}
    for c in consumers:
        for _, offsets in list(c.acked):
            for p, o in offsets.items():
                best[p] = max(best.get(p, -1), o)
    return best


def check_group_history(consumers, samples, final, acked_values, end):
    """The checks over one history (pure). `acked_values`: value -> (partition, offset, t) of the
    data workload's acknowledged sends; `end`: {partition: end offset} or None."""
    failures = []
    acked = highest_acked(consumers)
    lost = {p: (o, final.get(p, -1)) for p, o in acked.items() if final.get(p, -1) < o}
    if lost:
        failures.append(f"group: acknowledged commits lost (partition: highest acked, final): {lost}")
    commits = sorted((t, p, o) for c in consumers for t, offsets in list(c.acked) for p, o in offsets.items())
    backwards = []
    seen = {}
    for asked, got in sorted(samples, key=lambda s: s[0]):
        for p, o in got.items():
            if o < seen.get(p, -1):
                backwards.append((round(asked, 2), p, seen[p], o, "below an earlier sample"))
            floor = max((co for (t, cp, co) in commits if cp == p and t < asked), default=-1)
            if o < floor:
                backwards.append((round(asked, 2), p, floor, o, "below an acknowledged commit"))
            seen[p] = max(seen.get(p, -1), o)
    if backwards:
        failures.append(f"group: committed offsets went backwards {len(backwards)} times, e.g. {backwards[:3]}")
    delivered = set().union(*[c.delivered for c in consumers]) if consumers else set()
    committed_through = final
    missing = sorted(v for v, (p, off, _) in acked_values.items()
                     if off < committed_through.get(p, -1) and v not in delivered)
    if missing:
        failures.append(f"group: {len(missing)} acknowledged records below the committed offsets were never "
                        f"delivered to the group, e.g. {missing[:3]}")
    if end and any(final.get(p, -1) < e for p, e in end.items() if e > 0):
        failures.append(f"group: the group did not consume to the end after heal: committed {final}, end {end}")
    return failures
