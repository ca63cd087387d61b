#!/usr/bin/python3
"""Full-rate produce on a busy machine (issue 13 "Load never costs an election or a false death").

In one call, on loopback, two phases, each on a fresh 3-node cluster with the preset `make run`
uses (local: 10 ms Raft ticks, 100-200 ms election timeouts):
  1. quiet: a stock client (librdkafka through confluent-kafka) produces 100-byte records as fast
     as it can for --seconds (default 60), acks=all, to a 6-partition topic with RF=3;
  2. hogged: the same, while a busy loop pinned to the last core keeps it busy.
Each phase prints, from every node's /v1/cluster "load" section read before and after:
  - elections: how far each Raft group's term moved (the most any replica saw), summed over the
    partition groups and shown apart for `__meta`;
  - suspicions and deaths SWIM raised (every one is false: no process stops);
  - the worst lateness of the Raft tick and of the gossip tick;
  - produce throughput (acknowledged records and MB/s).
Then the hogged throughput against the quiet one, beside the share of the machine the hog leaves
(1 - 1/cores): the target is 0 elections, 0 false deaths, and a ratio no lower than that share.
Not a test: it asserts nothing.

Run: /usr/bin/python3 bench/load/load_bench.py --server build/daemon/chronik-server
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from chronik_nodes import Cluster  # noqa: E402

TOPIC = "load"
PARTITIONS = 6
RECORD = b"x" * 100


def load_stats(node):
    """The node's /v1/cluster "load" section (None if it does not answer)."""
    try:
        status, doc = node.admin("/v1/cluster", timeout=5)  # with the cluster's admin token
        return doc.get("load") if status == 200 and isinstance(doc, dict) else None
    except Exception:  # noqa: BLE001 - a node that does not answer counts as no data
        return None


def create_topic(bootstrap):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)])
    for f in futures.values():
        f.result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=5)
        t = md.topics.get(TOPIC)
        if t and not t.error and len(t.partitions) == PARTITIONS and all(p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.1)
    raise RuntimeError("topic has no leaders after 30 s")


def produce(bootstrap, seconds):
    """Records acknowledged by a librdkafka producer sending as fast as it can for `seconds`."""
    from confluent_kafka import Producer
    acked = [0]
    failed = [0]

    def on_delivery(err, _msg):
        if err is None:
            acked[0] += 1
        else:
            failed[0] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "queue.buffering.max.messages": 200000, "enable.idempotence": False})
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        for _ in range(1000):
            try:
                p.produce(TOPIC, RECORD, on_delivery=on_delivery)
            except BufferError:
                p.poll(0.01)
                break
        p.poll(0)
    elapsed = time.monotonic() - start
    p.flush(60)
    return acked[0], failed[0], elapsed


def groups_terms(stats):
    """{group: highest term any replica reports} over the nodes' load sections."""
    out = {}
    for s in stats:
        if not s:
            continue
        for g, term in s.get("groups", {}).items():
            out[g] = max(out.get(g, 0), term)
    return out


def summed(stats, section, key):
    return sum((s or {}).get(section, {}).get(key, 0) for s in stats)


def worst(stats, section, key):
    return max(((s or {}).get(section, {}).get(key, 0) for s in stats), default=0)


def log_counts(cluster):
    """Why terms moved, from the nodes' logs: check-quorum step-downs, handovers, new leaders."""
    keys = {"stepped_down": "lost contact with a quorum", "handovers": "transferring leadership",
            "became_leader": "became leader", "tick_behind": "tick loop fell"}
    out = dict.fromkeys(keys, 0)
    for n in cluster.nodes:
        try:
            with open(n.log_path, errors="replace") as f:
                for line in f:
                    for k, text in keys.items():
                        out[k] += text in line
        except OSError:
            pass
    return out


def run_phase(server, seconds, hog):
    cluster = Cluster(os.path.abspath(server), 3, preset="local")
    hog_proc = None
    try:
        cluster.start_all()
        cluster.wait_brokers(3)
        bootstrap = cluster.bootstrap()
        create_topic(bootstrap)
        before = [load_stats(n) for n in cluster.nodes]
        logs_before = log_counts(cluster)
        if hog:
            cores = sorted(os.sched_getaffinity(0))
            hog_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            os.sched_setaffinity(hog_proc.pid, {cores[-1]})
        acked, failed, elapsed = produce(bootstrap, seconds)
        if hog_proc:
            hog_proc.kill()
            hog_proc.wait()
            hog_proc = None
        after = [load_stats(n) for n in cluster.nodes]
        logs_after = log_counts(cluster)
        t0, t1 = groups_terms(before), groups_terms(after)
        meta = t1.get("1", 0) - t0.get("1", 0)
        partitions = sum(t1[g] - t0.get(g, 0) for g in t1 if g != "1")
        return {
            "acked": acked, "failed": failed, "seconds": elapsed,
            "records_s": acked / elapsed, "mb_s": acked * len(RECORD) / elapsed / 1e6,
            "meta_elections": meta, "partition_elections": partitions,
            "suspicions": summed(after, "gossip", "suspicions_started") - summed(before, "gossip", "suspicions_started"),
            "deaths": summed(after, "gossip", "declared_dead") - summed(before, "gossip", "declared_dead"),
            "raft_tick_late_ms": worst(after, "ticks", "raft_max_late_ms"),
            "gossip_tick_late_ms": worst(after, "ticks", "gossip_max_late_ms"),
            "unanswered": sum(1 for s in before + after if s is None),
            "logs": {k: logs_after[k] - logs_before[k] for k in logs_after},
        }
    finally:
        if hog_proc:
            hog_proc.kill()
            hog_proc.wait()
        cluster.stop_all()
        cluster.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    results = {}
    for name, hog in (("quiet", False), ("hogged", True)):
        results[name] = run_phase(args.server, args.seconds, hog)
        r = results[name]
        print(f"{name:7s} {r['acked']:>9d} acked {r['failed']:>6d} failed  {r['records_s']:>9.0f} rec/s "
              f"{r['mb_s']:6.2f} MB/s  elections: __meta {r['meta_elections']} partitions "
              f"{r['partition_elections']}  suspicions {r['suspicions']} deaths {r['deaths']}  worst tick late: "
              f"raft {r['raft_tick_late_ms']} ms gossip {r['gossip_tick_late_ms']} ms"
              + (f"  ({r['unanswered']} stats reads unanswered)" if r["unanswered"] else "")
              + f"\n        log lines: {r['logs']}", flush=True)
    share = 1 - 1 / cores
    ratio = results["hogged"]["records_s"] / max(results["quiet"]["records_s"], 1e-9)
    print(f"hogged/quiet throughput {ratio:.2f}x (the hog leaves {share:.2f} of {cores} cores); "
          f"target: 0 elections, 0 deaths, ratio >= {share:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
