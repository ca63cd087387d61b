"""A rolling restart with and without drain (docs/operations.md "Maintenance: drain"), in one run:
real chronik-server processes on 127.0.0.x with the lan preset (Raft election timeout 500-1000 ms),
TOPICS x PARTITIONS partitions of 3 replicas, preferred leaders restored before each restart.

Each node in turn is restarted (SIGTERM, start again, then wait as a Kafka operator does before
the next broker: until `chronik-server cluster health` exits 0, which needs every partition led
and no partition under-replicated, and every node ready); with drain, `chronik-server node drain
N` runs before the stop and `node undrain N` after the node is back. The figure is the leaderless time per partition: a probe producer (confluent-kafka,
acks=all, linger 0) writes one record to every partition every PROBE_MS, and a partition is counted
leaderless for the part of each gap between two consecutive acknowledgements beyond GAP_SLACK_MS
(a gap that long means no leader took writes). Summed over the whole rolling restart, per
partition: the median and the worst partition, and the total over all partitions. It is what a
client sees, so it includes its metadata refresh after NOT_LEADER_OR_FOLLOWER.

The anchor is the rolling restart without drain, measured in the same run; the ratio says what
the drain saves. Never asserted (docs/design.md "Testing").

Run (make bench; confluent-kafka 2.x for the preferred-leader elections):
    tests/cluster/venv_run.sh build/venv-admin tests/cluster/admin-requirements.txt \\
        bench/drain/rolling_restart_bench.py --server build/daemon/chronik-server
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/cluster"))
from chronik_nodes import Cluster  # noqa: E402

TOPICS = ["roll-a", "roll-b", "roll-c"]
PARTITIONS = 4
PROBE_MS = 20
GAP_SLACK_MS = 100
SETTLE_S = 60


class Probe:
    """One record per partition every PROBE_MS; the acknowledgement times per partition."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer

        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                                  "message.timeout.ms": 60000, "retry.backoff.ms": 20})
        self.acks = {(t, p): [] for t in TOPICS for p in range(PARTITIONS)}
        self.failed = 0
        self.events = []  # (time, what): the restart's steps, for --verbose
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_delivery(self, err, msg):
        if err is not None:
            self.failed += 1
        else:
            self.acks[(msg.topic(), msg.partition())].append(time.monotonic())

    def run(self):
        while not self.stop.is_set():
            for t in TOPICS:
                for p in range(PARTITIONS):
                    try:
                        self.producer.produce(t, value=b"probe", partition=p, on_delivery=self.on_delivery)
                    except BufferError:
                        pass  # the queue is full while a partition is leaderless: that is measured anyway
            self.producer.poll(PROBE_MS / 1000)
        self.producer.flush(60)

    def mark(self, what):
        self.events.append((time.monotonic(), what))

    def gaps(self, start, end):
        """Every gap beyond GAP_SLACK_MS in [start, end]: (begin, seconds, (topic, partition))."""
        out = []
        for k, times in self.acks.items():
            ts = [start] + [t for t in times if start <= t <= end] + [end]
            out += [(a, b - a, k) for a, b in zip(ts, ts[1:]) if b - a > GAP_SLACK_MS / 1000]
        return sorted(out)

    def leaderless_s(self, start, end):
        """Per partition: the seconds beyond GAP_SLACK_MS of every gap between acknowledgements in
        [start, end] (the window's edges count as acknowledgements)."""
        out = {}
        for k, times in self.acks.items():
            ts = [start] + [t for t in times if start <= t <= end] + [end]
            out[k] = sum(max(0.0, b - a - GAP_SLACK_MS / 1000) for a, b in zip(ts, ts[1:]))
        return out


def cli(server, node, *args):
    return subprocess.run([server, "node", *args, "--admin", node.admin_addr, "--admin-token-file",
                           node.admin_token_file, "--quiet"], capture_output=True, text=True, timeout=180)


def metadata(bootstrap):
    from confluent_kafka.admin import AdminClient

    try:
        return AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    except Exception:  # noqa: BLE001 - a broker restarting: ask again
        return None


def in_sync(bootstrap):
    md = metadata(bootstrap)
    if md is None:
        return False
    for t in TOPICS:
        tm = md.topics.get(t)
        if tm is None or tm.error is not None or len(tm.partitions) != PARTITIONS:
            return False
        if any(p.leader < 0 or len(p.isrs) != 3 for p in tm.partitions.values()):
            return False
    return True


def healthy(server, node):
    """`chronik-server cluster health` asked of `node`: exit 0 is healthy (docs/operations.md
    "Cluster health"), 1 unhealthy or not answered."""
    try:
        r = subprocess.run([server, "cluster", "health", "--admin", node.admin_addr, "--admin-token-file",
                            node.admin_token_file], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def preferred_leaders(cluster, bootstrap):
    """Leaders home (each partition's first replica), by Kafka's preferred-leader election, where
    the client has it (confluent-kafka >= 2.x); else the cluster's leaders stay as they are."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if not hasattr(admin, "elect_leaders"):
        return False
    from confluent_kafka import ElectionType

    try:
        admin.elect_leaders(ElectionType.PREFERRED,
                            [TopicPartition(t, p) for t in TOPICS for p in range(PARTITIONS)]).result()
    except Exception as e:  # noqa: BLE001 - leaders stay where they are; the table says so
        print(f"  preferred-leader election failed: {e}")
        return False
    return True


def rolling_restart(cluster, server, bootstrap, drain, verbose=False, settle_s=0.0, down_s=0.0):
    """Restarts every node in turn; returns (seconds it took, leaderless seconds per partition, and
    the drain commands' seconds)."""
    probe = Probe(bootstrap)
    probe.thread.start()
    time.sleep(1)  # the probe's first acknowledgements
    start = time.monotonic()
    drain_s = []
    try:
        for node in cluster.nodes:
            other = next(m for m in cluster.nodes if m is not node)
            probe.mark(f"drain {node.node_id}" if drain else f"stop {node.node_id}")
            if drain:
                t0 = time.monotonic()
                r = cli(server, other, "drain", str(node.node_id), "--timeout-s", "60")
                drain_s.append(time.monotonic() - t0)
                if r.returncode != 0:
                    print(f"  drain of node {node.node_id} failed: {r.stderr.strip()}")
            if drain:
                probe.mark(f"stop {node.node_id}")
            node.signal(15)
            node.wait_exit(60)
            if down_s > 0:
                time.sleep(down_s)  # --down-s: the node stays down, as for an upgrade or a reboot
            probe.mark(f"start {node.node_id}")
            node.start([m.gossip_addr for m in cluster.nodes if m is not node], ["--bootstrap-expect", "3"])
            cluster.wait_ready(SETTLE_S, count=len(cluster.nodes))
            cluster.wait_for(lambda: in_sync(bootstrap), SETTLE_S, "every replica in sync")
            probe.mark(f"in sync {node.node_id}")
            # What an operator waits for before the next broker (Kafka's UnderReplicatedPartitions
            # at 0): the cluster healthy as `cluster health` judges it, asked of the restarted node.
            cluster.wait_for(lambda: healthy(server, node), SETTLE_S, "cluster health exits 0")
            probe.mark(f"healthy {node.node_id}")
            if settle_s > 0:
                time.sleep(settle_s)  # --settle-s: extra time on top, for comparison with older runs
            if drain:
                r = cli(server, other, "undrain", str(node.node_id), "--timeout-s", "60")
                if r.returncode != 0:
                    print(f"  undrain of node {node.node_id} failed: {r.stderr.strip()}")
        end = time.monotonic()
        time.sleep(1)
    finally:
        probe.stop.set()
        probe.thread.join(90)
    if verbose:
        events = sorted(probe.events + [(a, f"gap {d:.3f} s {k[0]}-{k[1]}") for a, d, k in probe.gaps(start, end)])
        for t, what in events:
            print(f"  {t - start:8.3f} {what}")
    return end - start, probe.leaderless_s(start, end), drain_s, probe.failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--rounds", type=int, default=1, help="rolling restarts of each kind, alternated")
    parser.add_argument("--verbose", action="store_true", help="print each restart's steps and write gaps")
    parser.add_argument("--settle-s", type=float, default=0.0,
                        help="seconds to wait after the cluster is healthy again, before the next node")
    parser.add_argument("--down-s", type=float, default=0.0,
                        help="seconds each node stays stopped before it starts again (its replicas fall "
                             "that far behind)")
    args = parser.parse_args()
    server = os.path.abspath(args.server)
    cluster = Cluster(server, 3, preset="lan")
    try:
        for n in cluster.nodes:
            n.start([m.gossip_addr for m in cluster.nodes if m is not n], ["--bootstrap-expect", "3"])
        cluster.wait_ready(SETTLE_S, count=3)
        bootstrap = ",".join(f"{n.ip}:{n.kafka_port}" for n in cluster.nodes)
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": bootstrap})
        for f in admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3) for t in TOPICS]).values():
            f.result(timeout=30)
        cluster.wait_for(lambda: in_sync(bootstrap), SETTLE_S, "every replica in sync")
        results = {False: [], True: []}
        for _ in range(args.rounds):
            for drain in (False, True):
                rebalanced = preferred_leaders(cluster, bootstrap)
                cluster.wait_for(lambda: in_sync(bootstrap), SETTLE_S, "every replica in sync")
                time.sleep(2)  # the elections' leaders reported to __meta
                results[drain].append((rolling_restart(cluster, server, bootstrap, drain, args.verbose, args.settle_s,
                                                       args.down_s),
                                       rebalanced))
        n = len(TOPICS) * PARTITIONS
        print(f"rolling restart of 3 nodes, lan preset, {n} partitions x 3 replicas, probe every {PROBE_MS} ms "
              f"(gap slack {GAP_SLACK_MS} ms); leaders balanced before each: "
              f"{all(b for kind in results.values() for _, b in kind)}; each node down {args.down_s:g} s, "
              f"then healthy + {args.settle_s:g} s before the next")
        print(f"{'restart':<14} {'took s':>7} {'leaderless per partition: median s':>36} {'max s':>7} "
              f"{'sum s':>7} {'drain cmd s':>12} {'failed':>7}")
        sums = {}
        for drain in (False, True):
            for (took, per, drain_s, failed), _ in results[drain]:
                vals = sorted(per.values())
                sums.setdefault(drain, []).append(sum(vals))
                dcmd = f"{statistics.median(drain_s):.2f}" if drain_s else "-"
                print(f"{'with drain' if drain else 'without drain':<14} {took:>7.1f} {statistics.median(vals):>36.3f} "
                      f"{max(vals):>7.3f} {sum(vals):>7.2f} {dcmd:>12} {failed:>7}")
        base, with_drain = statistics.median(sums[False]), statistics.median(sums[True])
        ratio = f"{with_drain / base:.2f}" if base > 0 else "-"
        print(f"leaderless time with drain / without (sum over partitions, median of rounds): {ratio}")
    finally:
        cluster.cleanup(keep_logs_on_failure=bool(os.environ.get("CHRONIK_BENCH_KEEP_LOGS")))


if __name__ == "__main__":
    main()
