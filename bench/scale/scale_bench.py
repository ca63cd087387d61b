#!/usr/bin/python3
"""Idle cost against the partition count (issue 20 "Scale"; docs/performance.md "Scale").

For each partition count (default 1, 1000, 3000 and 10000), on a fresh 3-node cluster on loopback:
  1. creates one topic with that many partitions, RF=3, and times it until Metadata names a leader
     for every partition (the create request included);
  2. waits --settle seconds (30 by default: elections, leader reports and ISR settle), then reads
     each broker's CPU time (/proc/<pid>/stat utime+stime) over a --window of 10 s: idle CPU per node
     as a share of one core, and its RSS (VmRSS);
  3. restarts one broker (SIGTERM, then the same command again) and times, from the new start, until
     that broker answers Metadata with a leader for every partition ("serving") and until every
     partition's ISR names it again ("caught up").
The RSS per partition replica is the slope between the smallest and the largest count (each node
holds one replica of every partition at RF=3 on 3 nodes).

With --kafka, Apache Kafka (bench/kafka-anchor: 3 KRaft brokers, RF=3, default durability) runs the
same steps 1 and 2 at the same counts, up to --kafka-max partitions (its brokers are started with a
512 MiB heap), and the table prints chronik / Kafka ratios. Kafka's restart is not measured.

Not a test: it asserts nothing and prints figures.

Run: /usr/bin/python3 bench/scale/scale_bench.py --server build/daemon/chronik-server [--counts 1,1000]
"""
import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
sys.path.insert(0, os.path.join(ROOT, "bench", "kafka-anchor"))
from chronik_nodes import Cluster  # noqa: E402

TOPIC = "scale"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KIB / 1024


def idle_cpu(pids, window):
    """Each process's CPU over `window` seconds, as a percentage of one core."""
    before = {p: cpu_seconds(p) for p in pids}
    start = time.monotonic()
    time.sleep(window)  # the measurement window itself, not a wait for a condition
    elapsed = time.monotonic() - start
    return {p: 100.0 * (cpu_seconds(p) - before[p]) / elapsed for p in pids}


def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 30000})


def leaders(client, count, broker=None):
    """How many of the topic's `count` partitions have a leader in a Metadata answer (from `broker`
    if given), and the partitions' ISRs; (0, {}) when the answer does not list the topic yet."""
    try:
        md = client.list_topics(TOPIC, timeout=10)
    except Exception:  # noqa: BLE001 - a broker starting or restarting; asked again
        return 0, {}
    t = md.topics.get(TOPIC)
    if t is None or t.error is not None:
        return 0, {}
    led = sum(1 for p in t.partitions.values() if p.leader >= 0 and p.error is None)
    return (led if len(t.partitions) == count else 0), {i: list(p.isrs) for i, p in t.partitions.items()}


def wait_until(predicate, timeout, what, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def create_and_time(bootstrap, count, timeout):
    """Creates the topic and returns the seconds until every partition has a leader."""
    from confluent_kafka.admin import NewTopic
    client = admin(bootstrap)
    start = time.monotonic()
    futures = client.create_topics([NewTopic(TOPIC, num_partitions=count, replication_factor=3)],
                                   operation_timeout=timeout, request_timeout=timeout)
    futures[TOPIC].result(timeout=timeout)
    end = wait_until(lambda: leaders(client, count)[0] == count, timeout, f"{count} partition leaders")
    return end - start


def measure_chronik(server, count, args):
    cluster = Cluster(server, 3, preset=args.preset)
    row = {"system": "chronik", "partitions": count}
    try:
        cluster.start_all()
        cluster.wait_ready(60)
        row["create_s"] = create_and_time(cluster.bootstrap(), count, args.timeout)
        time.sleep(args.settle)  # the "30 s after creating": idle, by definition a span of time
        pids = [n.proc.pid for n in cluster.nodes]
        cpu = idle_cpu(pids, args.window)
        row["cpu"] = [cpu[p] for p in pids]
        row["rss"] = [rss_mib(p) for p in pids]
        if not args.no_restart:
            row.update(restart(cluster, count, args.timeout))
    finally:
        cluster.cleanup(keep_logs_on_failure="create_s" not in row)
    return row


def restart(cluster, count, timeout):
    """Stops the last node with SIGTERM, starts it again and times it serving and caught up."""
    node = cluster.nodes[-1]
    node.signal(signal.SIGTERM)
    node.wait_exit(60)
    node.start([m.gossip_addr for m in cluster.nodes if m is not node])
    start = time.monotonic()
    own = admin(f"{node.ip}:{node.kafka_port}")
    serving = wait_until(lambda: leaders(own, count)[0] == count, timeout, "the restarted node serving")
    everyone = admin(cluster.bootstrap())

    def caught_up():
        led, isrs = leaders(everyone, count)
        return led == count and all(node.node_id in isr for isr in isrs.values())

    back = wait_until(caught_up, timeout, "the restarted node back in every ISR", poll=0.25)
    return {"restart_serving_s": serving - start, "restart_isr_s": back - start}


def measure_kafka(count, args):
    import kafka_anchor
    kafka_anchor.fetch(quiet=True)  # Maven, the first time only (bench/kafka-anchor)
    anchor = kafka_anchor.Anchor(run_dir=os.path.join(args.work, "kafka-anchor-run"))
    row = {"system": "kafka", "partitions": count}
    try:
        anchor.start()
        anchor.wait_ready()
        row["create_s"] = create_and_time(anchor.bootstrap, count, args.timeout)
        time.sleep(args.settle)
        pids = [anchor.pids[i] for i in anchor.node_ids()]
        cpu = idle_cpu(pids, args.window)
        row["cpu"] = [cpu[p] for p in pids]
        row["rss"] = [rss_mib(p) for p in pids]
    finally:
        anchor.stop()
    return row


def fmt_range(values, spec):
    lo, hi = min(values), max(values)
    return f"{lo:{spec}}" if abs(hi - lo) < 0.05 else f"{lo:{spec}}-{hi:{spec}}"


def print_table(rows):
    print()
    print("| system | partitions | create until all leaders, s | idle CPU per node, % of a core | RSS per node, MiB "
          "| restart: serving, s | restart: in every ISR, s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "cpu" not in r:
            print(f"| {r['system']} | {r['partitions']} | {r.get('create_s', float('nan')):.2f} | failed | | | |")
            continue
        serving = f"{r['restart_serving_s']:.2f}" if "restart_serving_s" in r else "-"
        isr = f"{r['restart_isr_s']:.2f}" if "restart_isr_s" in r else "-"
        print(f"| {r['system']} | {r['partitions']} | {r['create_s']:.2f} | {fmt_range(r['cpu'], '.1f')} "
              f"| {fmt_range(r['rss'], '.0f')} | {serving} | {isr} |")
    chronik = [r for r in rows if r["system"] == "chronik" and "rss" in r]
    if len(chronik) >= 2:
        lo, hi = chronik[0], chronik[-1]
        per = (max(hi["rss"]) - max(lo["rss"])) * 1024 / max(1, hi["partitions"] - lo["partitions"])
        print(f"\nchronik RSS per partition replica (slope {lo['partitions']} -> {hi['partitions']}): {per:.1f} KiB")
    kafka = {r["partitions"]: r for r in rows if r["system"] == "kafka" and "cpu" in r}
    for r in chronik:
        k = kafka.get(r["partitions"])
        if k is None:
            continue
        ratio = lambda a, b: a / b if b > 0 else float("inf")  # noqa: E731
        print(f"chronik / Kafka at {r['partitions']}: create {ratio(r['create_s'], k['create_s']):.2f}, "
              f"idle CPU {ratio(max(r['cpu']), max(k['cpu'])):.2f}, RSS {ratio(max(r['rss']), max(k['rss'])):.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--counts", default="1,1000,3000,10000")
    p.add_argument("--preset", default="local", help="the preset `make run` uses")
    p.add_argument("--settle", type=float, default=30.0)
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--no-restart", action="store_true")
    p.add_argument("--kafka", action="store_true", help="also Apache Kafka at the same counts")
    p.add_argument("--no-chronik", action="store_true", help="Kafka's rows only (with --kafka)")
    p.add_argument("--kafka-max", type=int, default=3000)
    p.add_argument("--work", default="/tmp/chronik-scale-bench")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        systems = ([] if args.no_chronik else ["chronik"]) + (["kafka"] if args.kafka and count <= args.kafka_max else [])
        for system in systems:
            try:
                row = measure_chronik(args.server, count, args) if system == "chronik" else measure_kafka(count, args)
            except Exception as e:  # noqa: BLE001 - one failed row must not lose the others
                print(f"{system} at {count} partitions: {type(e).__name__}: {e}", flush=True)
                row = {"system": system, "partitions": count}
            print(f"{row}", flush=True)
            rows.append(row)
    print_table(rows)


if __name__ == "__main__":
    main()
