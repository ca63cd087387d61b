"""Produce latency of two chronik-server builds at one fixed offered rate, interleaved base/head.

kafka_bench.py measures latency at half of each build's own peak, so two builds with different
peaks are measured at different rates; this offers both the same rate (docs/performance.md "The
one-owner refactor side by side"). Each round starts a fresh 3-node lan cluster per build, warms it
with 5 s at full rate, then offers --rate requests/s of 256 x 1 KiB records for 5 s.

Run: /usr/bin/python3 bench/kafka/latency_at_rate.py --base BASE_SERVER --head HEAD_SERVER \
       --load build/bench/kafka/kafka_load --rate 300 --rounds 3
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_bench as kb  # noqa: E402
from chronik_nodes import Cluster  # noqa: E402

PRODUCE = ["--topic", "bench", "--partitions", 3, "--record-bytes", 1024, "--records-per-request", 256,
           "--concurrency", 6, "--seconds", 5]


def one_round(server, load_bin, rate):
    cluster = Cluster(os.path.abspath(server), 3, preset="lan")
    try:
        broker = kb.start_with_topic(cluster)
        kb.load(load_bin, "produce", "--broker", broker, *PRODUCE)  # warm-up at full rate
        return kb.load(load_bin, "produce", "--broker", broker, *PRODUCE, "--rate", f"{rate:.1f}")
    finally:
        cluster.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--head", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--rate", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs = {"base": [], "head": []}
    for r in range(args.rounds):
        for side in ("base", "head"):
            out = one_round(getattr(args, side), args.load, args.rate)
            runs[side].append(out)
            print(f"round {r + 1} {side}: p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, "
                  f"{out['requests_per_s']:.1f} requests/s", flush=True)
    med = {s: (statistics.median(o["p50_ms"] for o in runs[s]), statistics.median(o["p99_ms"] for o in runs[s]))
           for s in runs}
    print(f"at {args.rate:.0f} requests/s: p50 base {med['base'][0]:.2f} head {med['head'][0]:.2f} ms "
          f"({med['head'][0] / med['base'][0]:.3f}x); p99 base {med['base'][1]:.2f} head {med['head'][1]:.2f} ms "
          f"({med['head'][1] / med['base'][1]:.3f}x)")


if __name__ == "__main__":
    main()
