#!/usr/bin/python3
"""Kafka's Java client (kafka-clients 4.4.0) against a real 3-node chronik cluster (issue 20,
"Compatibility with the Java client").

What it covers: the JUnit 5 tests of this Maven project (src/test/java/chronik/compat):
- ProducerDefaultsTest: a producer at the client's defaults (idempotent, acks=all) writes N records
  to a topic made with the AdminClient (3 replicas); DescribeProducers shows its producer id and
  last sequence, and a consumer reads all N back at the acknowledged offsets, in order per partition;
- ProducerFeaturesTest: gzip, snappy, lz4 and zstd batches with headers and CreateTime timestamps
  read back intact; a transactional producer's committed and aborted transactions as
  read_committed and read_uncommitted consumers see them;
- ConsumerGroupsTest: classic-protocol groups, two members with the range assignor and with
  cooperative-sticky (incremental revocation), and a consumer that commits, closes, and is
  restarted to resume at the committed offsets; and two members of a KIP-848 group
  (group.protocol=consumer);
- AdminClientTest: describeCluster; topics (create, list, describe with leaders and an ISR of 3,
  describe by topic id, create partitions, delete); topic configs (describe, incremental SET and
  DELETE, an unknown name refused); consumer groups (list, describe, offsets, alter and delete
  offsets, delete the group); deleteRecords; listOffsets by timestamp and max timestamp; and
  describeMetadataQuorum;
- StreamsExactlyOnceTest (kafka-streams 4.4.0, processing.guarantee=exactly_once_v2): a stateless
  copy whose every input record is in the read_committed output exactly once across a kill -9 of
  the broker coordinating its transactions while records flow, and word count whose every word's
  committed counts must be exactly 1, 2, ..., n across a kill -9 of its group's coordinator.
A test that chronik fails is kept and marked @Disabled("chronik: <symptom>"), so it shows up as
skipped in Maven's summary.

Run: /usr/bin/python3 tests/java-compat/run.py --server build/daemon/chronik-server
This starts a cluster on 127.0.0.x (tests/cluster/chronik_nodes.py), runs `mvn test` in this
directory with -Dchronik.bootstrap=<the cluster> and stops the nodes by PID; then each test of the
classes tagged kills-broker on a fresh cluster of its own, with the nodes' PIDs in -Dchronik.pids
(one that is @Disabled runs without a cluster, to be reported as skipped). It prints Maven's
output and a summary from surefire's reports; its exit status is Maven's (non-zero if either
failed), and 1 without running anything when java or mvn is missing. `make test` runs it as the
ctest entry java_compat (tests/cluster/CMakeLists.txt).

Maven's local repository is $CHRONIK_M2_DIR, else build/java-compat-m2 in the work tree (outside
git); the first run downloads kafka-clients, kafka-streams, JUnit and the Maven plugins into it.
Maven builds into $CHRONIK_JAVA_COMPAT_TARGET, else tests/java-compat/target (git ignores it).

--against-kafka-anchor runs the same two phases against Apache Kafka 4.4.0 instead, as a check
that the tests are right (bench/kafka-anchor/kafka_anchor.py: 3 KRaft brokers on 127.0.0.21-23,
fetched by Maven into its cache on first use, ports from --anchor-base-port, a fresh cluster per
phase, stopped by PID). --run-disabled also runs the tests @Disabled as chronik findings (JUnit's
DisabledCondition is switched off), which is how the anchor run shows they are right.
Against any other cluster:
    mvn test -Dchronik.bootstrap=host:port,...   (or CHRONIK_BOOTSTRAP=host:port,... mvn test)
Extra arguments after `--` go to Maven, e.g. `-- -Dtest=AdminClientTest`.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
sys.path.insert(0, os.path.join(ROOT, "bench", "kafka-anchor"))
from chronik_nodes import Cluster  # noqa: E402
import kafka_anchor  # noqa: E402

READY_S = 30
ANCHOR_READY_S = 180  # 3 JVM brokers: format and start take 12-14 s on an idle 2-core machine
MAVEN_S = 1200  # the first run downloads the dependencies as well
# Clear of a benchmark's anchor on kafka_anchor.DEFAULT_BASE_PORT, so both can run at once.
ANCHOR_BASE_PORT = kafka_anchor.DEFAULT_BASE_PORT + 100


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="the chronik-server binary (not with --against-kafka-anchor)")
    parser.add_argument("--against-kafka-anchor", action="store_true",
                        help="run against Apache Kafka 4.4.0 (bench/kafka-anchor) instead of chronik")
    parser.add_argument("--anchor-base-port", type=int, default=ANCHOR_BASE_PORT,
                        help="the anchor's broker port (controller: +1)")
    parser.add_argument("--run-disabled", action="store_true",
                        help="also run the tests @Disabled as chronik findings")
    parser.add_argument("--mvn", default="mvn")
    parser.add_argument("maven_args", nargs="*", help="after --: extra arguments for Maven")
    args = parser.parse_args()
    if args.against_kafka_anchor == (args.server is not None):
        parser.error("give either --server or --against-kafka-anchor")
    if shutil.which(args.mvn) is None or shutil.which("java") is None:
        print(f"java-compat: needs java and {args.mvn} on PATH (Debian: apt-get install openjdk-17-jdk-headless maven)")
        return 1
    m2 = os.environ.get("CHRONIK_M2_DIR") or os.path.join(ROOT, "build", "java-compat-m2")
    target = os.path.abspath(os.environ.get("CHRONIK_JAVA_COMPAT_TARGET") or os.path.join(HERE, "target"))
    started = time.monotonic()
    # Each Maven run's surefire reports are moved here, one directory per run, for the summary.
    reports = os.path.join(target, "java-compat-reports")
    shutil.rmtree(reports, ignore_errors=True)
    # -Dtest=X given after -- may match nothing in one of the phases: that is not a failure.
    common = [args.mvn, "-B", "-q", f"-Dmaven.repo.local={m2}", f"-Dchronik.target={target}",
              "-Dsurefire.failIfNoSpecifiedTests=false"]
    if args.run_disabled:
        # A JUnit Platform configuration parameter, which surefire's JVM reads as a system property.
        common.append("-Djunit.jupiter.conditions.deactivate=org.junit.*DisabledCondition")
    if args.against_kafka_anchor:
        kafka_anchor.fetch()
        start = lambda: start_anchor(args.anchor_base_port)  # noqa: E731
    else:
        start = lambda: start_chronik(args.server)  # noqa: E731
    phases = [("the other tests", start, ["-DexcludedGroups=kills-broker"])]
    # A test that kills a broker gets a fresh cluster of its own: two in one cluster would leave the
    # second with one broker of three. One that is @Disabled needs none; Maven reports it skipped.
    killers = kills_broker_tests()
    disabled = [f"{c}#{m}" for c, m, off in killers if off and not args.run_disabled]
    phases += [(f"{c}#{m} (kills a broker)", start, [f"-Dtest={c}#{m}"])
               for c, m, off in killers if args.run_disabled or not off]
    if disabled:
        phases.append(("@Disabled tests that kill a broker (no cluster)", None, ["-Dtest=" + ",".join(disabled)]))
    rc = 0
    for n, (what, start_cluster, selection) in enumerate(phases):
        rc = run_phase(start_cluster, what, common + selection, args.maven_args) or rc
        # The next run would overwrite these reports; the summary reads every run's.
        if os.path.isdir(os.path.join(target, "surefire-reports")):
            os.makedirs(reports, exist_ok=True)
            os.replace(os.path.join(target, "surefire-reports"), os.path.join(reports, f"run-{n}"))
    print_summary(reports)
    print(f"java-compat: mvn exited {rc} after {time.monotonic() - started:.1f}s in all", flush=True)
    return rc


def kills_broker_tests():
    """(class, method, @Disabled) of every @Test in the classes tagged kills-broker, read from the
    sources: the tag marks a class; each of its tests gets its own cluster."""
    found = []
    src = os.path.join(HERE, "src", "test", "java")
    for directory, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".java"):
                continue
            with open(os.path.join(directory, name)) as f:
                text = f.read()
            if '@Tag("kills-broker")' not in text:
                continue
            # An annotation block that holds @Test, up to the method it annotates.
            for block, method in re.findall(r"(@Test\b(?:(?!\bvoid\b).)*?)\bvoid (\w+)\(", text, re.S):
                found.append((name[:-len(".java")], method, "@Disabled" in block))
    return found


def start_chronik(server):
    """A ready 3-node chronik cluster: (bootstrap, host:port=pid,..., stop(failed))."""
    cluster = Cluster(os.path.abspath(server), 3)
    try:
        cluster.start_all()
        cluster.wait_ready(READY_S, alive=True)
    except BaseException:
        cluster.cleanup(keep_logs_on_failure=True)
        raise
    pids = ",".join(f"{n.ip}:{n.kafka_port}={n.proc.pid}" for n in cluster.nodes)
    return cluster.bootstrap(), pids, lambda failed: cluster.cleanup(keep_logs_on_failure=failed)


def start_anchor(base_port):
    """A ready 3-broker Kafka anchor in its own run directory (so a benchmark's anchor in the
    default one is left alone): (bootstrap, host:port=pid,..., stop(failed)); a failed run keeps
    the brokers' logs."""
    cache = kafka_anchor.default_cache_dir()
    anchor = kafka_anchor.Anchor(cache, os.path.join(cache, "java-compat-run"), base_port=base_port)
    anchor.start()
    try:
        anchor.wait_ready(ANCHOR_READY_S)
    except BaseException:
        anchor.stop(keep=True)
        raise
    pids = ",".join(f"{host}:{anchor.broker_port}={anchor.pids[n]}" for n, host in zip(anchor.node_ids(), anchor.hosts))
    return anchor.bootstrap, pids, lambda failed: anchor.stop(keep=failed)


def run_phase(start, what, cmd, maven_args):
    """Starts a cluster with `start` (None: no cluster, for tests JUnit skips), runs `cmd` ... test
    against it and stops it; Maven's status."""
    rc = 1
    began = time.monotonic()
    bootstrap, pids, stop = start() if start else ("none:0", "", lambda failed: None)
    try:
        if start:
            print(f"java-compat: {what}: cluster ready at {bootstrap} after {time.monotonic() - began:.1f}s", flush=True)
        cmd = cmd + [f"-Dchronik.bootstrap={bootstrap}", f"-Dchronik.pids={pids}", "test"] + maven_args
        print("java-compat: " + " ".join(cmd), flush=True)
        try:
            rc = subprocess.run(cmd, cwd=HERE, timeout=MAVEN_S).returncode
        except subprocess.TimeoutExpired:
            print(f"java-compat: mvn did not finish within {MAVEN_S}s", flush=True)
            rc = 1
    finally:
        stop(rc != 0)
    print(f"java-compat: {what}: mvn exited {rc} after {time.monotonic() - began:.1f}s", flush=True)
    return rc


def print_summary(reports):
    """Maven's -q hides surefire's counts; they are read back from the XML reports of every Maven
    run, one line per class and run and the plain 'N passed, N failed, N skipped' line at the end."""
    import xml.etree.ElementTree as ET

    files = sorted(os.path.join(d, name) for d, _, names in os.walk(reports) for name in names
                   if name.startswith("TEST-") and name.endswith(".xml"))
    if not files:
        print("java-compat: no surefire reports (the build failed before the tests ran)")
        return
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in files:
        suite = ET.parse(path).getroot()
        counts = {k: int(suite.get(k, 0)) for k in total}
        for k in total:
            total[k] += counts[k]
        print(f"java-compat: {suite.get('name')}: {counts['tests']} tests, {counts['failures']} failed, "
              f"{counts['errors']} errors, {counts['skipped']} skipped, {float(suite.get('time', 0)):.1f}s")
        for case in suite.iter("testcase"):
            skipped = case.find("skipped")
            if skipped is not None:
                print(f"java-compat:   skipped {case.get('name')}: {skipped.get('message', '')}")
    failed = total["failures"] + total["errors"]
    passed = total["tests"] - failed - total["skipped"]
    print(f"{passed} passed, {failed} failed, {total['skipped']} skipped")


if __name__ == "__main__":
    sys.exit(main())
