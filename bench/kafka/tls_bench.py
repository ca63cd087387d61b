#!/usr/bin/python3
"""Produce throughput over PLAINTEXT, SSL and SASL_SSL, in the same run against the same cluster
(issue 18 "Proof": produce MB/s over SASL_SSL at least 0.8x of plaintext; docs/performance.md
"Kafka over TLS and SASL").

A 3-node cluster on loopback, every node with three Kafka listeners: PLAINTEXT, SSL and SASL_SSL
(a throwaway CA, tests/cluster/chronik_nodes.TestPki). One SCRAM user is made with
`chronik-server user create` through PLAINTEXT; SASL_SSL logs in as it with SCRAM-SHA-512 and with
PLAIN (which the broker checks against the same SCRAM credential). A topic with 6 partitions, RF=3,
fsync on, acks=all.

Two clients, each measuring every security protocol in interleaved rounds (each round rotates
which protocol goes first), so that a slow moment of the shared machine falls on all of them:
- librdkafka through confluent-kafka (1 KiB values, linger 5 ms, batches up to 1 MiB), a stock
  client; on this machine its Python produce loop is what bounds it.
- bench/kafka/kafka_load (with --load): our codec over blocking sockets, 256 records of 1 KiB per
  request, 6 connections with one request in flight each, the same load generator as
  kafka_bench.py's throughput figure; it reaches the broker's full rate, where TLS and SASL cost
  most (kafka_load speaks TLS and SASL through Debian's OpenSSL).

What is measured is steady state, not the login: every connection is made and authenticated
before the clock starts (confluent-kafka: one acknowledged record to every partition, then
librdkafka's statistics must show no new connection during the timed window; kafka_load: each
worker logs in, then all start together). Before the rounds the bench shows that the SASL_SSL
listener really authenticates: a wrong password is refused, and a TLS client without SASL is
refused.

Per client and protocol it prints the median MB/s, the SASL_SSL/PLAINTEXT ratio (the median of the
rounds' ratios, which the 0.8x target is judged on, and the ratio of the medians) and the CPU
milliseconds per MB of the three brokers (from /proc) and of the client. On a shared machine MB/s
moves with everyone else's load; CPU per MB hardly does, and is what TLS and SASL cost.
Not a test: it asserts nothing about speed; it exits non-zero if a check fails.

Run: /usr/bin/python3 bench/kafka/tls_bench.py --server build/daemon/chronik-server
         [--load build/bench/kafka/kafka_load] [--rounds 7] [--records 60000] [--seconds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from chronik_nodes import Cluster, TestPki  # noqa: E402

RECORD = b"x" * 1024
TOPIC = "tls-bench"
PARTITIONS = 6
USER, PASSWORD = "bench", "bench-password-42"
TARGET = 0.8  # the goal: SASL_SSL produce MB/s at least 0.8x of plaintext
# (column name, listener, SASL mechanism or None)
MODES = [("PLAINTEXT", "PLAINTEXT", None), ("SSL", "SSL", None),
         ("SASL_SSL SCRAM-SHA-512", "SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL PLAIN", "SASL_SSL", "PLAIN")]


def client_conf(c, pki, listener, mechanism, password=PASSWORD):
    conf = {"bootstrap.servers": ",".join(n.listener_addr(listener) for n in c.nodes)}
    if listener != "PLAINTEXT":
        conf.update({"security.protocol": listener.lower(), "ssl.ca.location": pki.ca})
    if mechanism:
        conf.update({"sasl.mechanisms": mechanism, "sasl.username": USER, "sasl.password": password})
    return conf


class Connects:
    """librdkafka's count of connections made, from its statistics (every broker's `connects`)."""

    def __init__(self):
        self.latest = None

    def __call__(self, stats_json):
        stats = json.loads(stats_json)
        self.latest = sum(b.get("connects", 0) for b in stats["brokers"].values())

    def fresh(self, producer, timeout_s=10):
        self.latest = None
        deadline = time.monotonic() + timeout_s
        while self.latest is None and time.monotonic() < deadline:
            producer.poll(0.05)
        if self.latest is None:
            raise RuntimeError("no librdkafka statistics within 10 s")
        return self.latest


def produce_librdkafka(conf, count):
    """MB/s of `count` 1 KiB records, acks=all, every one acknowledged, over connections made and
    authenticated before the clock starts."""
    from confluent_kafka import Producer
    connects = Connects()
    p = Producer({**conf, "acks": "all", "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 1 << 20, "compression.type": "none",
                  "statistics.interval.ms": 100, "stats_cb": connects})
    failed = []

    def on_delivery(err, _m):
        if err:
            failed.append(err)
    # One record to every partition: a connection to every leader, logged in, before the clock.
    for partition in range(PARTITIONS):
        p.produce(TOPIC, RECORD, partition=partition, on_delivery=on_delivery)
    if p.flush(30) or failed:
        raise RuntimeError(f"warm-up records not acknowledged: {failed[:3]}")
    before = connects.fresh(p)
    start = time.monotonic()
    for i in range(count):
        while True:
            try:
                p.produce(TOPIC, RECORD, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    elapsed = time.monotonic() - start
    if left or failed:
        raise RuntimeError(f"{left} records unacknowledged, {len(failed)} failed: {failed[:3]}")
    after = connects.fresh(p)
    if after != before:
        # A leader moved (an election on a busy machine) or a metadata refresh went to a broker
        # without a connection: one login in a window of seconds, reported rather than hidden.
        print(f"  note: {conf.get('security.protocol', 'plaintext')} {conf.get('sasl.mechanisms', '')}: "
              f"librdkafka made {after - before} new connection(s) during the timed window", flush=True)
    return count * len(RECORD) / elapsed / 1e6, count * len(RECORD) / 1e6


def produce_kafka_load(load, c, pki, listener, mechanism, seconds):
    """MB/s of kafka_load produce: 256 records of 1 KiB per request, 6 connections (one per
    partition), one request in flight each, for `seconds` after every worker has logged in."""
    args = [load, "produce", "--broker", c.nodes[0].listener_addr(listener), "--topic", TOPIC,
            "--partitions", str(PARTITIONS), "--record-bytes", "1024", "--records-per-request", "256",
            "--concurrency", str(PARTITIONS), "--seconds", str(seconds)]
    if listener != "PLAINTEXT":
        args += ["--security-protocol", listener, "--ca", pki.ca]
    if mechanism:
        args += ["--sasl-mechanism", mechanism, "--sasl-username", USER, "--sasl-password", PASSWORD]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"kafka_load failed ({out.returncode}): {out.stderr.strip()}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if figures["errors"]:
        # Only acknowledged records count; errors are elections (NOT_LEADER_OR_FOLLOWER, after
        # which the worker connects to the new leader) on a busy machine.
        print(f"  note: kafka_load {listener} {mechanism or ''}: {figures['errors']} produce errors, "
              f"{figures['reconnects']} reconnects to a new leader", flush=True)
    return figures["mb_per_s"], figures["mb_per_s"] * figures["seconds"]


def login_refused(conf):
    """(True, librdkafka's errors) if a client with `conf` cannot fetch metadata."""
    from confluent_kafka import KafkaException, Producer
    errors = []
    p = Producer({**conf, "error_cb": lambda e: errors.append(e.str())})
    try:
        p.list_topics(timeout=5)
    except KafkaException as e:
        p.poll(0.5)  # serves the error callbacks, which carry the broker's reason
        return True, "; ".join(errors[:2]) or str(e)
    return False, "metadata answered"


def broker_log_count(c, text):
    return sum(open(n.log_path, errors="replace").read().count(text) for n in c.nodes)


def check_sasl_is_enforced(c, pki, load):
    """The right password logs in at every node (each answers logins from its own replica of
    __meta); the SASL_SSL listener refuses a wrong password (the broker's answer says so) and a TLS
    client that skips SASL (the broker closes its connection at its first Metadata request)."""
    for n in c.nodes:
        one = {"bootstrap.servers": n.listener_addr("SASL_SSL"), "security.protocol": "sasl_ssl",
               "ssl.ca.location": pki.ca, "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": USER,
               "sasl.password": PASSWORD}
        c.wait_for(lambda one=one: not login_refused(one)[0], 60, f"{USER} logs in at node {n.node_id}")
    skipped = "request before SASL authentication completed"
    for what, conf in [("wrong password (SCRAM-SHA-512)", client_conf(c, pki, "SASL_SSL", "SCRAM-SHA-512", "wrong")),
                       ("wrong password (PLAIN)", client_conf(c, pki, "SASL_SSL", "PLAIN", "wrong")),
                       ("TLS without SASL", {**client_conf(c, pki, "SSL", None),
                                             "bootstrap.servers": c.nodes[0].listener_addr("SASL_SSL")})]:
        closed_before = broker_log_count(c, skipped)
        refused, why = login_refused(conf)
        if what.startswith("wrong password"):
            refused = refused and "Authentication failed" in why
        else:
            refused = refused and broker_log_count(c, skipped) > closed_before
            why = f"the brokers closed {broker_log_count(c, skipped) - closed_before} connection(s): {skipped}"
        print(f"check: {what} on the SASL_SSL listener: {'refused' if refused else 'NOT REFUSED'} ({why[:140]})")
        if not refused:
            raise RuntimeError(f"the SASL_SSL listener did not refuse a client with {what}: {why}")
    if load:
        args = [load, "produce", "--broker", c.nodes[0].listener_addr("SASL_SSL"), "--topic", TOPIC,
                "--partitions", str(PARTITIONS), "--concurrency", "1", "--seconds", "0.1",
                "--security-protocol", "SASL_SSL", "--ca", pki.ca, "--sasl-mechanism", "SCRAM-SHA-512",
                "--sasl-username", USER, "--sasl-password", "wrong"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        refused = out.returncode != 0 and "SASL authentication failed" in out.stderr
        print(f"check: kafka_load with a wrong password: {'refused' if refused else 'NOT REFUSED'} "
              f"({out.stderr.strip()[:120]})")
        if not refused:
            raise RuntimeError(f"kafka_load with a wrong password was not refused: {out.stderr.strip()}")
    failures = broker_log_count(c, "SASL authentication failed")
    print(f"check: the brokers logged {failures} failed SASL logins (the wrong passwords above)")


def node_cpu_s(n):
    with open(f"/proc/{n.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def login_costs(c, pki, load, seconds=3, concurrency=8):
    """Reconnect storms at node 1: `concurrency` kafka_load threads connect, log in, send one
    ApiVersions and close, again and again, per protocol. Prints logins/s, connect-to-answer p50,
    node 1's CPU per login and its worst Raft and gossip tick lateness so far (/v1/cluster "load":
    the io thread that runs the login also ticks consensus and gossip)."""
    node = c.nodes[0]
    print(f"login storms at node 1 ({concurrency} threads, {seconds} s each): logins/s, p50, node 1 CPU per login, "
          "worst tick lateness so far (Raft / gossip)")
    for name, listener, mechanism in MODES:
        args = [load, "login", "--broker", node.listener_addr(listener), "--concurrency", str(concurrency),
                "--seconds", str(seconds)]
        if listener != "PLAINTEXT":
            args += ["--security-protocol", listener, "--ca", pki.ca]
        if mechanism:
            args += ["--sasl-mechanism", mechanism, "--sasl-username", USER, "--sasl-password", PASSWORD]
        cpu0 = node_cpu_s(node)
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
        cpu_ms = (node_cpu_s(node) - cpu0) * 1000
        if out.returncode != 0:
            raise RuntimeError(f"kafka_load login failed: {out.stderr.strip()}")
        f = json.loads(out.stdout.strip().splitlines()[-1])
        logins = f["requests_per_s"] * f["seconds"]
        ticks = ((node.cluster() or {}).get("load") or {}).get("ticks") or {}
        print(f"  {name:24} {f['requests_per_s']:7.0f} logins/s  p50 {f['p50_ms']:6.2f} ms  "
              f"{cpu_ms / max(logins, 1):6.3f} CPU ms/login  errors {f['errors']}  "
              f"late {ticks.get('raft_max_late_ms', '?')} / {ticks.get('gossip_max_late_ms', '?')} ms", flush=True)


def make_cluster(server):
    # The lan preset (50 ms Raft ticks, 0.5-1 s election timeouts), as kafka_bench.py: the local
    # preset's 100-200 ms ones fire on this shared machine under full load, and every election
    # costs whichever mode it falls on.
    c = Cluster(os.path.abspath(server), 3, preset="lan")
    pki = c.pki = TestPki(os.path.join(c.root, "kafka-pki"), [n.ip for n in c.nodes])
    for n in c.nodes:
        n.use_kafka_listeners([("SSL", "SSL", n.kafka_port + 10000), ("SASL_SSL", "SASL_SSL", n.kafka_port + 10001)], pki)
        # Resources without ACLs are open to every authenticated user: this measures SASL, not ACLs.
        with open(n.config_path, "a") as f:
            f.write('no_acl_found = "allow"\n')
    return c, pki


def start_cluster(c):
    c.start_all()

    def ready():
        views = [n.cluster() for n in c.nodes]
        return all(v and v.get("read") == "linearizable" and len(v["brokers"]) == 3 for v in views)
    c.wait_for(ready, 60, "3 registered brokers on every node")
    out = subprocess.run([c.nodes[0].server, "user", "create", "--name", USER, "--password", PASSWORD,
                          "--mechanism", "SCRAM-SHA-512", "--bootstrap", c.nodes[0].listener_addr("PLAINTEXT")],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"user create failed: {out.stderr.strip()}")


def broker_cpu_s(c):
    """CPU seconds (user + system) the three broker processes have used so far, from /proc."""
    total = 0
    for n in c.nodes:
        with open(f"/proc/{n.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def client_cpu_s():
    """CPU seconds of this process (the confluent-kafka producer and its librdkafka threads) and
    of its waited-for children (kafka_load)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measured(c, run):
    """(MB/s, broker CPU ms per MB, client CPU ms per MB) of one run. The CPU figures depend much
    less than MB/s on how busy the shared machine is: they show what TLS and SASL cost."""
    broker0, client0 = broker_cpu_s(c), client_cpu_s()
    mb_per_s, mb = run()
    return mb_per_s, (broker_cpu_s(c) - broker0) * 1000 / mb, (client_cpu_s() - client0) * 1000 / mb


def report(client, rows):
    names = [m[0] for m in MODES]
    med = {n: statistics.median(r[n][0] for r in rows) for n in names}
    broker = {n: statistics.median(r[n][1] for r in rows) for n in names}
    cli = {n: statistics.median(r[n][2] for r in rows) for n in names}
    print(f"{client}: medians over {len(rows)} rounds (MB/s, then CPU ms per MB of the brokers and of the client):")
    for n in names:
        print(f"  {n:24} {med[n]:7.1f} MB/s  brokers {broker[n]:5.1f}  client {cli[n]:5.1f}")
    for n in names[1:]:
        ratios = [r[n][0] / r["PLAINTEXT"][0] for r in rows]
        goal = f"; target >= {TARGET}x: {'met' if statistics.median(ratios) >= TARGET else 'NOT met'}" \
            if n.startswith("SASL_SSL") else ""
        print(f"{client}: {n} / PLAINTEXT: MB/s median of the rounds' ratios {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}), ratio of the medians {med[n] / med['PLAINTEXT']:.2f}; "
              f"CPU per MB brokers {broker[n] / broker['PLAINTEXT']:.2f}x, client {cli[n] / cli['PLAINTEXT']:.2f}x{goal}")


def rounds(client, count, measure):
    rows = []
    for r in range(count):
        order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
        got = {name: measure(listener, mechanism) for name, listener, mechanism in order}
        rows.append(got)
        print(f"{client} round {r + 1}: " + ", ".join(f"{n} {got[n][0]:.1f}" for n, _, _ in MODES) +
              " MB/s; SASL_SSL SCRAM-SHA-512 / PLAINTEXT " +
              f"{got['SASL_SSL SCRAM-SHA-512'][0] / got['PLAINTEXT'][0]:.2f}", flush=True)
    report(client, rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--load", help="kafka_load binary: also measure at full rate with it")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--records", type=int, default=60_000, help="records per confluent-kafka run")
    ap.add_argument("--seconds", type=float, default=3, help="seconds per kafka_load run")
    ap.add_argument("--skip-librdkafka", action="store_true")
    args = ap.parse_args()
    c, pki = make_cluster(args.server)
    ok = False
    try:
        start_cluster(c)
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient(client_conf(c, pki, "PLAINTEXT", None))
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=3)])[TOPIC].result(30)
        check_sasl_is_enforced(c, pki, args.load)
        if args.load:
            login_costs(c, pki, args.load)
        print(f"target: SASL_SSL produce MB/s >= {TARGET}x of PLAINTEXT in the same run")
        if not args.skip_librdkafka:
            rounds("confluent-kafka", args.rounds,
                   lambda listener, mechanism: measured(c, lambda: produce_librdkafka(client_conf(c, pki, listener, mechanism),
                                                                                     args.records)))
        if args.load:
            rounds("kafka_load", args.rounds,
                   lambda listener, mechanism: measured(c, lambda: produce_kafka_load(args.load, c, pki, listener, mechanism,
                                                                                     args.seconds)))
        ok = True
    finally:
        c.cleanup(keep_logs_on_failure=not ok)


if __name__ == "__main__":
    main()
