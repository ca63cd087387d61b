"""One scenario run: a fresh cluster in namespaces, a Collector, fault helpers and the shared checks.

A scenario function receives a `Run`, injects faults through `run.h` (the Harness), and records
results with `run.fail()`, `run.detect` and `run.recover`. Bounds come from docs/gossip.md and the
`__meta` timing (daemon/meta_service.cc); docs/partition-testing.md lists them.
"""
import json
import math
import os
import random
import shutil
import threading
import time

import checkers
import reassign
from netharness import Harness
from group_workload import GroupWorkload
from kafka_workload import DataWorkload
from txn_workload import TxnWorkload
from observe import (LAST_ERROR, Collector, NsWorker, admin_request, create_topic, list_topics, metadata_topics,
                     partition_leaders)

# Gossip timings of the presets (docs/config.md) and the `__meta` election timeout (10..20 ticks).
PRESETS = {
    "local": {"probe": 0.2, "gossip": 0.05, "suspicion_mult": 3, "join_retry_max": 1.0, "meta_tick": 0.01},
    "lan": {"probe": 1.0, "gossip": 0.2, "suspicion_mult": 4, "join_retry_max": 5.0, "meta_tick": 0.05},
}
FORM_S = 40            # formation of a fresh cluster
# CreateTopics answers an admin client retries: REQUEST_TIMED_OUT (7), NOT_CONTROLLER (41, no
# `__meta` leader known), COORDINATOR_NOT_AVAILABLE (15).
RETRIABLE_CREATE_CODES = {7, 15, 41}
SECURITY_S = 10        # after formation, every node has accepted RPC over TLS within this
GOSSIP_SEALED = "gossip encryption on: 1 key(s), incoming verified, outgoing sealed"  # daemon/node.cc
POLL_SLACK_S = 0.35    # one poll interval plus an HTTP round trip: what sampling adds to a measurement


def suspicion_min(preset, n):
    p = PRESETS[preset]
    return p["suspicion_mult"] * max(1.0, math.log10(max(1, n))) * p["probe"]


def crash_detection_bound(preset, n):
    """docs/gossip.md "Crash detection": suspicion_min + (n / 2 + 4) * probe + 10 * gossip."""
    p = PRESETS[preset]
    return suspicion_min(preset, n) + (n // 2 + 4) * p["probe"] + 10 * p["gossip"]


def convergence_bound(preset):
    """docs/gossip.md "Convergence": 2 * join_retry_max + 6 * probe_interval."""
    p = PRESETS[preset]
    return 2 * p["join_retry_max"] + 6 * p["probe"]


def leader_bound(preset):
    """A `__meta` leader after heal: gossip must reconverge first (members drive reconnection), then
    a few election timeouts of at most 20 ticks each."""
    return convergence_bound(preset) + 10 * 20 * PRESETS[preset]["meta_tick"]


class ScenarioFailed(Exception):
    pass


class Run:
    def __init__(self, name, size, preset, seed, work_dir, server, nfq_delay, tag, security="on"):
        self.name, self.size, self.preset, self.seed = name, size, preset, seed
        self.security = security  # netharness.SECURITY_MODES
        self.rng = random.Random(f"{seed}/{name}")
        self.dir = os.path.join(work_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.h = Harness(self.dir, tag, server=server, nfq_delay=nfq_delay)
        self.failures = []
        self.faults = []
        self.detect = None      # seconds from fault to detection (what detection means is per scenario)
        self.recover = None     # seconds from heal to recovery (leader + converged)
        self.notes = []
        self.collector = None
        self.client_workers = {}
        self.data = None        # the Kafka data workload (kafka_workload.py), running from up() on
        self.group = None       # the consumer-group workload (group_workload.py) over the data topic
        self.txn = None         # the transactional workload (txn_workload.py), on its own topic
        self.t0 = time.monotonic()

    # ---- lifecycle ---------------------------------------------------------------------------
    def up(self):
        self.h.up(self.size, preset=self.preset, security=self.security)
        self.collector = Collector(self.h)
        self.collector.start()
        # Formed means settled: every broker registered and the voter set at its target size
        # (automatic meta_voters: 3, or 5 from 5 brokers on). Faults injected while the leader is
        # still adding voters one at a time would test a 4-voter configuration by accident.
        voters = 5 if self.size >= 5 else min(3, self.size)

        def settled(m, c):
            return (checkers.gossip_converged(self.h.ids())(m, c) and checkers.one_leader(self.h.ids())(m, c)
                    and all(len((c.get(n) or {}).get("brokers", [])) == self.size
                            and len((c.get(n) or {}).get("voters", [])) == voters for n in self.h.ids()))
        t = self.wait(settled, FORM_S, self.h.ids())
        if t is None:
            raise ScenarioFailed(f"cluster of {self.size} did not form within {FORM_S}s")
        self.check_security_on()
        self.data = DataWorkload(self)
        try:
            self.data.start()
        except RuntimeError as e:
            raise ScenarioFailed(f"data workload: {e}") from e
        self.group = GroupWorkload(self, self.data)
        self.group.start()
        self.txn = TxnWorkload(self)
        try:
            self.txn.start()
        except RuntimeError as e:
            raise ScenarioFailed(f"transactional workload: {e}") from e

    def finish_data(self):
        """After the scenario healed: the security counters, then stop the producers, read
        everything back, check it."""
        self.check_security_after()
        if self.data and self.data.producers:
            for f in self.data.finish():
                self.fail(f)
            st = self.data.stats
            self.notes.append(f"data: acknowledgement p50 {st['ack_p50_ms']} ms, p99 {st['ack_p99_ms']} ms; "
                              f"client retried {st['retries']} requests ({st['timeouts']} timed out), "
                              f"{st['pids']} producer ids assigned")
            for line in self.data.client_resends:
                self.notes.append(f"data (client resends, not a failure): {line[:400]}")
            for node, fatal in st["restarts"]:
                self.notes.append(f"data: producer {node} made a new client after librdkafka 2.0.2's known "
                                  f"fatal error (kafka_workload.KNOWN_CLIENT_FATAL): {fatal[:300]}")
        if self.group and self.group.consumers:
            for f in self.group.finish(self.data.read if self.data else None):
                self.fail(f)
            if self.group.stats:
                g = self.group.stats
                self.notes.append(f"group: {g['commits']} commits acknowledged, {g['commit_errors']} not, "
                                  f"{g['samples']} samples, final {g['final']}")
        if self.txn and self.txn.producers:
            for f in self.txn.finish():
                self.fail(f)
            t = self.txn.stats
            self.notes.append(f"txn: {t['committed']} transactions committed, {t['aborted']} aborted, "
                              f"{t['indeterminate']} undecided; {t['instances']} client instances"
                              + (f", undecided by {t['undecided_by']}" if t["undecided_by"] else "")
                              + (f", fatal errors {t['fatal']}" if t["fatal"] else ""))

    def close(self, keep):
        if self.txn:
            self.txn.stop()
        if self.group:
            self.group.stop()
        if self.data:
            self.data.stop()
        if self.collector:
            self.collector.stop()
            if keep:
                with open(os.path.join(self.dir, "samples.jsonl"), "w") as f:
                    for s in self.collector.snapshot():
                        f.write(json.dumps([round(s[0] - self.t0, 3), s[1], s[2], s[3]]) + "\n")
        for w in self.client_workers.values():
            w.close()
        errors = self.h.teardown()
        if errors:
            self.fail(f"teardown: {errors}")
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers -----------------------------------------------------------------------------
    def fail(self, msg):
        self.failures.append(msg)

    def fault(self, text):
        self.faults.append(text)

    def now(self):
        return time.monotonic()

    def wait(self, predicate, timeout, nodes, t_from=None):
        """Waits until `predicate(members, cluster)` holds over samples taken after t_from (now by
        default); returns that sample's time or None after `timeout` seconds."""
        t_from = self.now() if t_from is None else t_from
        deadline = self.now() + timeout
        while self.now() < deadline:
            t = checkers.Views(self.collector.snapshot(since=t_from)).first_time(t_from, predicate, nodes)
            if t is not None:
                return t
            time.sleep(0.1)
        return None

    def cluster(self, i):
        s = self.collector.latest(i)
        return s[3] if s else None

    def leader(self):
        """The `__meta` leader most nodes name right now (from the latest samples)."""
        votes = {}
        for i in self.h.ids():
            c = self.cluster(i)
            if c and c.get("meta_leader"):
                votes[c["meta_leader"]] = votes.get(c["meta_leader"], 0) + 1
        return max(votes, key=votes.get) if votes else None

    def client(self, i):
        """A client thread inside node i's namespace (on node i's side of any partition)."""
        if i not in self.client_workers:
            self.client_workers[i] = NsWorker(self.h.ns(i))
        return self.client_workers[i]

    def create_topic(self, i, name, partitions, timeout_ms=4000, replication=1):
        return create_topic(self.client(i), i, self.h.kafka_addr(i), name, partitions, timeout_ms, replication)

    def create_topics_concurrently(self, requests, timeout_ms):
        """requests: [(node, topic, partitions)] sent at the same moment; returns [result]."""
        results = [None] * len(requests)

        def go(k, req):
            try:
                results[k] = self.create_topic(req[0], req[1], req[2], timeout_ms)
            except Exception as e:  # noqa: BLE001
                results[k] = f"{type(e).__name__}"
        threads = [threading.Thread(target=go, args=(k, r), daemon=True) for k, r in enumerate(requests)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout_ms / 1000 + 20)
        return results

    def partition_leaders(self, topic, nodes=None):
        """{partition: leader} as the Metadata of one of `nodes` (default: any running) shows it."""
        nodes = nodes or [i for i in self.h.ids() if self.h.running(i)]
        node = self.rng.choice(nodes)
        return partition_leaders(self.client(node), node, self.h.kafka_addr(node), topic)

    def topics(self, i, timeout_s=8):
        return list_topics(self.client(i), i, self.h.kafka_addr(i), timeout_s)

    def placement(self, topic, i, timeout_s=8):
        """{partition: (leader, [replicas])} for `topic` from node i's own Metadata, or None."""
        topics = metadata_topics(self.client(i), i, self.h.kafka_addr(i), [topic], timeout_s)
        if topics is None:
            return None
        return {p[1]: (p[2], list(p[3])) for t in topics if t[1] == topic and t[0] == 0 for p in t[3]}

    def alter_reassignments(self, i, moves, timeout_ms=10000):
        """AlterPartitionReassignments through node i: moves = {(topic, partition): [broker ids]}.
        Returns (top-level error, {(topic, partition): (error, message)})."""
        return reassign.alter(self.client(i), self.h.kafka_addr(i), moves, timeout_ms)

    def admin(self, i, path, body=None, timeout_s=3.0):
        """(HTTP status, JSON) of an admin request to node i with the run's token, from inside
        node i's namespace; `body` makes it a POST. Raises on no answer (a node down or cut off)."""
        addr, token = self.h.admin_addr(i), self.h.admin_token()
        return self.client(i).call(lambda: admin_request(addr, path, token, body, timeout_s), timeout_s + 2)

    def reassignments(self, i, timeout_s=5):
        """The moves in progress as node i lists them: (error, {(topic, partition): {replicas,
        adding, removing}})."""
        return reassign.in_progress(self.client(i), self.h.kafka_addr(i), timeout_s)

    # ---- security between the nodes (docs/security.md) ---------------------------------------
    def check_security_on(self):
        """Once per scenario, after formation: every node seals gossip with the run's key (its log
        says so at start) and has accepted RPC connections over TLS, none in plaintext. The scenario
        fails otherwise, so no scenario can pass on a plaintext cluster by accident."""
        if self.h.state.get("security") != "on":
            self.notes.append("security: off (plaintext RPC and gossip)")
            return
        ids = self.h.ids()
        if self.wait(checkers.rpc_tls_in_use(ids), SECURITY_S, ids) is None:
            counts = {i: checkers.security_counters(self.cluster(i)) for i in ids}
            raise ScenarioFailed(f"not every node accepted RPC over TLS (and none in plaintext) within "
                                 f"{SECURITY_S}s of formation: {counts}")
        unsealed = []
        for i in ids:
            with open(self.h.log_path(i), errors="replace") as f:
                if GOSSIP_SEALED not in f.read():
                    unsealed.append(i)
        if unsealed:
            raise ScenarioFailed(f"nodes {unsealed} do not log '{GOSSIP_SEALED}'")
        tls = {i: checkers.security_counters(self.cluster(i))["tls"] for i in ids}
        self.notes.append(f"security on: RPC mutual TLS on every node (TLS connections accepted {tls}, "
                          f"0 plaintext), gossip sealed with the run's key (AES-256-GCM)")

    def check_security_after(self):
        """After the scenario: no plaintext RPC connection, no batch refused for its sender's
        certificate, no plaintext gossip on any running node (checkers.security_violations); the
        counts the faults may raise (failed handshakes, gossip frames failing authentication) are
        noted."""
        if self.h.state.get("security") != "on":
            return
        ids = [i for i in self.h.ids() if self.h.running(i)]
        t_from = self.now()
        views = {}
        deadline = t_from + SECURITY_S
        while self.now() < deadline and len(views) < len(ids):
            time.sleep(0.2)
            for s in self.collector.snapshot(since=t_from):
                if s[1] in ids and s[3]:
                    views[s[1]] = s[3]
        views.update({i: None for i in ids if i not in views})
        for problem in checkers.security_violations(views):
            self.fail(f"security: {problem}")
        c = {i: checkers.security_counters(v) or {} for i, v in views.items()}
        self.notes.append("security after: " + "; ".join(
            f"node {i} TLS {s.get('tls')}, plaintext {s.get('plaintext')}, handshake failures "
            f"{s.get('handshake_failures')}, gossip auth failures {s.get('gossip_auth_failed')}"
            for i, s in sorted(c.items())))

    # ---- shared checks -----------------------------------------------------------------------
    def check_election_safety(self):
        bad = checkers.election_safety_violations(self.collector.snapshot())
        if bad:
            self.fail(f"more than one leader in a term: {bad}")

    def check_no_false_dead(self, t_from, t_to, allowed=()):
        bad = checkers.false_dead(self.collector.snapshot(), t_from, t_to, set(allowed))
        if bad:
            self.fail(f"false dead (t, observer, node): {bad[:5]}{' ...' if len(bad) > 5 else ''}")

    def check_detection(self, t_fault, victims, observers, what):
        """Every observer sees every victim dead within the documented crash-detection bound."""
        bound = crash_detection_bound(self.preset, self.size) + POLL_SLACK_S
        worst = 0.0
        for v in victims:
            t = self.wait(checkers.all_see_state(v, "dead", observers), bound + 5, observers, t_from=t_fault)
            if t is None:
                self.fail(f"{what}: node {v} not seen dead by {observers} within {bound + 5:.1f}s")
                return None
            worst = max(worst, t - t_fault)
        if worst > bound:
            self.fail(f"{what}: detection took {worst:.2f}s > bound {bound:.2f}s")
        self.detect = worst
        return worst

    def check_recovery(self, t_heal, budget=None):
        """After heal: gossip converges and one leader answers linearizable reads, within bounds;
        then commit/applied/brokers agree on every node."""
        ids = [i for i in self.h.ids() if self.h.running(i)]
        conv_bound = convergence_bound(self.preset) + POLL_SLACK_S
        lead_bound = budget or leader_bound(self.preset) + POLL_SLACK_S
        tc = self.wait(checkers.gossip_converged(ids), conv_bound + 10, ids, t_from=t_heal)
        # Recovered includes every running node being an alive broker again in `__meta`: a node's
        # Kafka Metadata answer lists only alive brokers, so before that clients cannot reach it.
        tl = self.wait(lambda m, c: checkers.one_leader(ids)(m, c) and checkers.brokers_alive(ids)(m, c),
                       lead_bound + 10, ids, t_from=t_heal)
        if tc is None:
            self.fail(f"views did not converge within {conv_bound + 10:.1f}s of heal")
        elif tc - t_heal > conv_bound:
            self.fail(f"views converged {tc - t_heal:.2f}s after heal > bound {conv_bound:.2f}s")
        if tl is None:
            self.fail(f"no single __meta leader with every broker alive within {lead_bound + 10:.1f}s of heal")
        elif tl - t_heal > lead_bound:
            self.fail(f"leader and alive brokers {tl - t_heal:.2f}s after heal > bound {lead_bound:.2f}s")
        if tc is not None and tl is not None:
            self.recover = max(tc, tl) - t_heal
        self.check_agreement(ids)

    def check_agreement(self, ids, timeout=10):
        """commit, applied and brokers equal on every node (polled until equal or timeout): there
        is no applied-log hash in /v1/cluster, so these stand in for one. Then the topic lists."""
        deadline = self.now() + timeout
        diffs = ["no sample"]
        while self.now() < deadline:
            t_from = self.now()
            time.sleep(0.3)
            views = {i: next((s[3] for s in reversed(self.collector.snapshot(since=t_from)) if s[1] == i), None)
                     for i in ids}
            diffs = checkers.agreement(views)
            if not diffs:
                break
        if diffs:
            self.fail(f"state differs after heal: {diffs}")
        lists = {i: self.topics(i) for i in ids}
        if any(v is None for v in lists.values()):
            self.fail(f"Metadata unanswered after heal: "
                      f"{ {i: LAST_ERROR.get(i) for i, v in lists.items() if v is None} }")
        elif len({tuple(sorted(v.items())) for v in lists.values()}) > 1:
            self.fail(f"topic lists differ after heal: {lists}")
        return lists

    def check_write(self, label, nodes=None, patience_s=0.0, another_on=()):
        """A topic created through a live node succeeds (the cluster takes writes). With patience,
        retriable answers are retried as an admin client would, for up to patience_s: under a
        fault that only slows the network (delay), the claim is that writes go through within a
        bound, not that no election ever happens (docs/partition-testing.md "Scenarios"). An
        answer in another_on sends the next attempt to the next of `nodes`, as a Kafka client asks
        another broker after NOT_CONTROLLER."""
        nodes = nodes or [i for i in self.h.ids() if self.h.running(i)]
        node = self.rng.choice(nodes)
        name = f"{self.name}-{label}-{self.seed % 100000}"
        deadline = time.monotonic() + patience_s
        attempts = []
        # Bounded: each attempt waits at most its 5 s timeout, and retries stop at the deadline.
        while True:
            r = self.create_topic(node, name, 1, 5000)
            attempts.append(r)
            if r == 36 and len(attempts) > 1:
                r = 0  # TOPIC_ALREADY_EXISTS: an earlier attempt that timed out did create it
            if r == 0 or r not in RETRIABLE_CREATE_CODES or time.monotonic() >= deadline:
                break
            if r in another_on:
                node = nodes[(nodes.index(node) + 1) % len(nodes)]
            time.sleep(0.5)  # an admin client's retry backoff, not a synchronization
        if len(attempts) > 1:
            self.notes.append(f"{label}: create took {len(attempts)} attempts ({attempts})")
        if r != 0:
            self.fail(f"create {name} through node {node}: {r}")
        return r

    def availability(self, t_from, t_to, label):
        """Notes the share of status samples in [t_from, t_to] in which the node named a `__meta`
        leader and answered a linearizable read: availability, which the fault may cost (not safety)."""
        named = lin = total = 0
        for t, _, _, c in self.collector.snapshot(since=t_from, until=t_to):
            total += 1
            if c and c.get("meta_leader"):
                named += 1
                lin += c.get("read") == "linearizable"
        if total:
            self.notes.append(f"{label}: leader named in {100 * named // total}% of status samples, "
                              f"linearizable in {100 * lin // total}%")

    def row(self):
        fmt = lambda x: "-" if x is None else f"{x:.2f}s"  # noqa: E731
        d = (self.data.stats if self.data else None) or {}
        num = lambda k: "-" if d.get(k) is None else str(d[k])  # noqa: E731
        return {"scenario": self.name, "nodes": f"{self.size}/{self.preset}", "faults": "; ".join(self.faults),
                "detect": fmt(self.detect), "recover": fmt(self.recover), "sent": num("sent"),
                "acked": num("acked"), "failed": num("failed"), "indet": num("indeterminate"),
                "lost": num("lost"), "dup": num("dup"),
                "result": "ok" if not self.failures else "FAIL", "failures": self.failures, "notes": self.notes}
