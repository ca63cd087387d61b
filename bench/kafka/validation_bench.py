#!/usr/bin/python3
"""What produce validation costs (issue 13 "The Kafka input boundary"; docs/performance.md).

Produce validation walks every record of every produced batch before the leader proposes it
(kafka/protocol/batch_validation.h). The anchor is the same produce benchmark against a build
without it, in the same call: --baseline-server names that build's chronik-server (for example
one built from commit 587099c in a git worktree, docs/performance.md says how). The two servers
take turns, --rounds times, each on a fresh 3-node cluster (lan preset, RF=3, acks=all, fsync on),
under kafka_load's peak produce: 1 KiB records, 256 per request, 6 connections, 3 partitions.
Prints each run's MB/s, the medians and their ratio (the target is at least 0.9x).
Not a test: it asserts nothing.

Run: /usr/bin/python3 bench/kafka/validation_bench.py --server build/daemon/chronik-server \\
       --baseline-server /path/to/old/chronik-server --load build/bench/kafka/kafka_load
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from chronik_nodes import Cluster  # noqa: E402
from kafka_bench import load, start_with_topic  # noqa: E402


def peak_produce(server, loader, seconds):
    """MB/s of kafka_load's peak produce against a fresh 3-node cluster of `server`."""
    cluster = Cluster(os.path.abspath(server), 3, preset="lan")
    try:
        broker = start_with_topic(cluster)
        r = load(loader, "produce", "--broker", broker, "--topic", "bench", "--partitions", 3, "--record-bytes", 1024,
                 "--records-per-request", 256, "--concurrency", 6, "--seconds", seconds)
        return r["mb_per_s"]
    finally:
        cluster.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--baseline-server", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ours, base = [], []
    for i in range(args.rounds):
        base.append(peak_produce(args.baseline_server, args.load, args.seconds))
        ours.append(peak_produce(args.server, args.load, args.seconds))
        print(f"round {i + 1}: without validation {base[-1]:.1f} MB/s, with validation {ours[-1]:.1f} MB/s",
              flush=True)
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"produce throughput, 1 KiB records, RF=3 acks=all: with validation {m_ours:.1f} MB/s, "
          f"without {m_base:.1f} MB/s (medians of {args.rounds}): {m_ours / max(m_base, 1e-9):.2f}x (target >= 0.90x)")


if __name__ == "__main__":
    main()
