"""Cluster-formation time (issue 4 "Operator view"): real chronik-server processes on 127.0.0.x with
the lan preset, started in a random order with random gaps and partial seed lists; the figure is
the time from the last start until every node's /v1/cluster lists every node as a registered broker
under one __meta leader. Printed against the seed system's ~3 s (the issue's anchor figure).

Run: /usr/bin/python3 bench/formation/formation_bench.py --server build/daemon/chronik-server
"""
import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/cluster"))
from chronik_nodes import Cluster  # noqa: E402

ANCHOR_S = 3.0  # the seed system's formation time for 3 nodes, as the issue states it


def all_registered(cluster):
    leaders = set()
    want = {n.node_id for n in cluster.nodes}
    for n in cluster.nodes:
        status = n.cluster()
        if not status or status.get("meta_leader") in (None, 0):
            return False
        if {b["node_id"] for b in status.get("brokers", [])} != want:
            return False
        leaders.add(status["meta_leader"])
    return len(leaders) == 1


def run_once(server, size, rng):
    cluster = Cluster(server, size, preset="lan")
    try:
        order = cluster.nodes[:]
        rng.shuffle(order)
        for k, node in enumerate(order):
            others = [m.gossip_addr for m in cluster.nodes if m is not node]
            node.start(rng.sample(others, min(2, len(others))), ["--bootstrap-expect", "3"])
            if k + 1 < size:
                time.sleep(rng.uniform(0, 0.3))  # random start gaps are the scenario
        last = time.monotonic()
        done = cluster.wait_for(lambda: all_registered(cluster), 60, f"{size} brokers registered")
        return done - last
    finally:
        cluster.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(int(os.environ.get("CHRONIK_BENCH_SEED", "1")))
    print("cluster formation, lan preset, last start -> all brokers registered on every node")
    print(f"{'nodes':<6} {'median s':>9} {'min s':>7} {'max s':>7} {'vs seed system (3 s)':>22}")
    for size in (3, 5):
        times = [run_once(os.path.abspath(args.server), size, rng) for _ in range(args.runs)]
        med = statistics.median(times)
        print(f"{size:<6} {med:>9.2f} {min(times):>7.2f} {max(times):>7.2f} {med / ANCHOR_S:>22.2f}")


if __name__ == "__main__":
    main()
