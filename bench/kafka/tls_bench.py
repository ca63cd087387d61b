#!/usr/bin/python3
"""Produce throughput over TLS against plaintext, in the same run (issue 18 "Proof": SASL_SSL must
reach 0.8x of plaintext; this measures the SSL part, docs/performance.md "Kafka over TLS").

A 3-node cluster on loopback, every node with a PLAINTEXT and an SSL listener (a throwaway CA,
tests/cluster/chronik_nodes.TestPki); a topic with 6 partitions, RF=3. Each round produces the
same records (1 KiB values, acks=all, librdkafka through confluent-kafka, linger 5 ms, batches up
to 1 MiB) once over PLAINTEXT and once over SSL, in alternating order, and the report gives the
MB/s of each and the median of the rounds' SSL/plaintext ratios. Not a test: it asserts nothing.

Run: /usr/bin/python3 bench/kafka/tls_bench.py --server build/daemon/chronik-server [--rounds 5]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from chronik_nodes import Cluster  # noqa: E402

RECORD = b"x" * 1024


def produce(conf, topic, count):
    """MB/s of `count` 1 KiB records, acks=all, every one acknowledged."""
    from confluent_kafka import Producer
    p = Producer({**conf, "acks": "all", "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 1 << 20, "compression.type": "none"})
    failed = []
    # Warm the connections and metadata before the clock starts.
    p.produce(topic, RECORD)
    p.flush(30)
    start = time.monotonic()
    for i in range(count):
        while True:
            try:
                p.produce(topic, RECORD, on_delivery=lambda err, _m: failed.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    elapsed = time.monotonic() - start
    if left or failed:
        raise RuntimeError(f"{left} records unacknowledged, {len(failed)} failed: {failed[:3]}")
    return count * len(RECORD) / elapsed / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    c = Cluster(os.path.abspath(args.server), 3)
    pki = c.add_kafka_listener("SSL")
    c.start_all()
    try:
        c.wait_for(lambda: all(len((n.cluster() or {}).get("brokers", [])) == 3 for n in c.nodes), 60, "3 brokers")
        from confluent_kafka.admin import AdminClient, NewTopic
        plain = {"bootstrap.servers": ",".join(n.listener_addr("PLAINTEXT") for n in c.nodes)}
        ssl = {"bootstrap.servers": ",".join(n.listener_addr("SSL") for n in c.nodes),
               "security.protocol": "ssl", "ssl.ca.location": pki.ca}
        admin = AdminClient(plain)
        admin.create_topics([NewTopic("tls-bench", num_partitions=6, replication_factor=3)])["tls-bench"].result(30)
        time.sleep(2)  # leaders settle; the warm-up record of each run waits for them anyway
        rows = []
        for r in range(args.rounds):
            order = [("PLAINTEXT", plain), ("SSL", ssl)] if r % 2 == 0 else [("SSL", ssl), ("PLAINTEXT", plain)]
            got = {name: produce(conf, "tls-bench", args.records) for name, conf in order}
            rows.append(got)
            print(f"round {r + 1}: plaintext {got['PLAINTEXT']:.1f} MB/s, SSL {got['SSL']:.1f} MB/s, "
                  f"ratio {got['SSL'] / got['PLAINTEXT']:.2f}", flush=True)
        ratios = [g["SSL"] / g["PLAINTEXT"] for g in rows]
        print(f"median plaintext {statistics.median(g['PLAINTEXT'] for g in rows):.1f} MB/s, "
              f"median SSL {statistics.median(g['SSL'] for g in rows):.1f} MB/s, "
              f"median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
