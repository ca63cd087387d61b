#!/usr/bin/python3
"""librdkafka's producer as a load for side_by_side.py (issue 20): RECORDS records of RECORD_BYTES
each to TOPIC with acks=all and every other setting at the client's default (linger, batch size,
partitioner), as fast as the client takes them. Prints one JSON line.

It runs as a process of its own so that its Python loop shares no interpreter with the bench that
watches the brokers. confluent-kafka is Debian's python3-confluent-kafka (run with /usr/bin/python3).

    rdkafka_produce.py --bootstrap HOST:PORT[,...] --topic T --records N [--record-bytes 1024]
"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--record-bytes", type=int, default=1024)
    ap.add_argument("--flush-timeout", type=float, default=600.0)
    args = ap.parse_args()

    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all"})
    # Metadata and connections before the clock starts: the figure is produce, not client setup.
    producer.list_topics(args.topic, timeout=30)
    counts = {"ok": 0, "failed": 0}
    first_error = []

    def delivered(err, _msg):
        if err is None:
            counts["ok"] += 1
        else:
            counts["failed"] += 1
            if not first_error:
                first_error.append(str(err))

    value = b"x" * args.record_bytes
    start = time.monotonic()
    for i in range(args.records):
        while True:
            try:
                producer.produce(args.topic, value, on_delivery=delivered)
                break
            except BufferError:  # the client's queue is full: let it send and deliver
                producer.poll(0.005)
        if i % 1000 == 0:
            producer.poll(0)
    left = producer.flush(args.flush_timeout)
    elapsed = time.monotonic() - start
    print(json.dumps({"records": args.records, "acked": counts["ok"], "failed": counts["failed"],
                      "undelivered": left, "seconds": elapsed,
                      "records_per_s": counts["ok"] / elapsed,
                      "mb_per_s": counts["ok"] * args.record_bytes / elapsed / 1e6,
                      "first_error": first_error[0] if first_error else None}))
    return 0 if counts["failed"] == 0 and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
