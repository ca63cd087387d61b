#!/usr/bin/python3
"""What a storm of SASL logins does to the node that answers them (docs/performance.md "What a
login costs the broker"). The login runs on the Kafka io thread, which also ticks Raft and gossip:
SCRAM costs the broker microseconds there, PLAIN one PBKDF2 of the user's iteration count.

A 3-node cluster on loopback with the `local` preset (10 ms Raft ticks, 100-200 ms election
timeouts: the tightest timings a cluster runs with), a PLAINTEXT and a SASL_SSL listener per node,
one user (SCRAM-SHA-512, --iterations) and a topic with 6 partitions, RF=3. Phases, one after the
other: idle, then a storm of SCRAM-SHA-512 logins at node 1, then one of PLAIN logins
(`kafka_load login`: --concurrency threads connect, log in, send ApiVersions and close, again and
again). After each phase: logins/s, node 1's CPU per login, node 1's worst Raft and gossip tick
lateness so far (`/v1/cluster` load.ticks, a maximum since start, so a phase shows only if it
raises it), and how far the Raft groups' terms moved during the phase (elections). Not a test.

Run: /usr/bin/python3 bench/kafka/login_storm_bench.py --server build/daemon/chronik-server
         --load build/bench/kafka/kafka_load [--iterations 4096] [--concurrency 32] [--seconds 5]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from chronik_nodes import Cluster, TestPki  # noqa: E402

USER, PASSWORD = "storm", "storm-password-42"


def cpu_s(node):
    with open(f"/proc/{node.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_of(node):
    return (node.cluster() or {}).get("load") or {}


def terms(c):
    """{group: highest term any node reports}."""
    out = {}
    for n in c.nodes:
        for g, t in load_of(n).get("groups", {}).items():
            out[g] = max(out.get(g, 0), t)
    return out


def phase(c, name, run):
    node = c.nodes[0]
    t0, cpu0 = terms(c), cpu_s(node)
    figures = run()
    cpu_ms = (cpu_s(node) - cpu0) * 1000
    t1 = terms(c)
    moved = sum(t1.get(g, 0) - t0.get(g, 0) for g in t1)
    ticks = load_of(node).get("ticks", {})
    logins = figures["requests_per_s"] * figures["seconds"] if figures else 0
    per_login = f"{cpu_ms / logins:6.2f} CPU ms/login" if logins else "             -"
    rate = f"{figures['requests_per_s']:6.0f} logins/s (errors {figures['errors']})" if figures else "     idle"
    print(f"{name:14} {rate}  {per_login}  worst tick late so far: Raft {ticks.get('raft_max_late_ms', '?')} ms, "
          f"gossip {ticks.get('gossip_max_late_ms', '?')} ms; term moves {moved}", flush=True)


def storm(args, c, pki, mechanism):
    out = subprocess.run([args.load, "login", "--broker", c.nodes[0].listener_addr("SASL_SSL"),
                          "--concurrency", str(args.concurrency), "--seconds", str(args.seconds),
                          "--security-protocol", "SASL_SSL", "--ca", pki.ca, "--sasl-mechanism", mechanism,
                          "--sasl-username", USER, "--sasl-password", PASSWORD],
                         capture_output=True, text=True, timeout=args.seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"kafka_load login failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--iterations", type=int, default=4096)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    c = Cluster(os.path.abspath(args.server), 3, preset="local")
    pki = c.pki = TestPki(os.path.join(c.root, "kafka-pki"), [n.ip for n in c.nodes])
    for n in c.nodes:
        n.use_kafka_listeners([("SASL_SSL", "SASL_SSL", n.kafka_port + 10001)], pki)
        with open(n.config_path, "a") as f:
            f.write('no_acl_found = "allow"\n')
    ok = False
    try:
        c.start_all()
        c.wait_for(lambda: all((v := n.cluster()) and v.get("read") == "linearizable" and len(v["brokers"]) == 3
                               for n in c.nodes), 60, "3 registered brokers on every node")
        out = subprocess.run([c.nodes[0].server, "user", "create", "--name", USER, "--password", PASSWORD,
                              "--mechanism", "SCRAM-SHA-512", "--iterations", str(args.iterations),
                              "--bootstrap", c.nodes[0].listener_addr("PLAINTEXT")],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"user create failed: {out.stderr.strip()}")
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": c.nodes[0].listener_addr("PLAINTEXT")})
        admin.create_topics([NewTopic("storm", num_partitions=6, replication_factor=3)])["storm"].result(30)
        # The user must be known at node 1 before the storms (its own replica of __meta answers).
        c.wait_for(lambda: storm(argparse.Namespace(**{**vars(args), "seconds": 0.2, "concurrency": 1}), c, pki,
                                 "SCRAM-SHA-512")["requests_per_s"] > 0, 30, "the user logs in at node 1")
        print(f"login storms at node 1: {args.concurrency} threads, {args.seconds} s each; credential SCRAM-SHA-512, "
              f"{args.iterations} iterations; local preset (10 ms ticks, 100-200 ms election timeouts)")
        phase(c, "idle", lambda: (time.sleep(args.seconds), None)[1])
        phase(c, "SCRAM-SHA-512", lambda: storm(args, c, pki, "SCRAM-SHA-512"))
        phase(c, "idle", lambda: (time.sleep(args.seconds), None)[1])
        phase(c, "PLAIN", lambda: storm(args, c, pki, "PLAIN"))
        ok = True
    finally:
        c.cleanup(keep_logs_on_failure=not ok)


if __name__ == "__main__":
    main()
