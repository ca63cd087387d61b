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
directory with -Dchronik.bootstrap=<the cluster> and stops the nodes by PID; then the same with a
fresh cluster for the tests tagged kills-broker, which also get -Dchronik.pids. It prints Maven's
output and a summary from surefire's reports; its exit status is Maven's (non-zero if either failed). Maven's local repository is $CHRONIK_M2_DIR, else build/java-compat-m2
in the work tree (outside git); the first run downloads kafka-clients, JUnit and the Maven plugins
into it. Against any other cluster, e.g. the Kafka anchor:
    mvn test -Dchronik.bootstrap=host:port,...   (or CHRONIK_BOOTSTRAP=host:port,... mvn test)
Extra arguments after `--` go to Maven, e.g. `-- -Dtest=AdminClientTest`.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
from chronik_nodes import Cluster  # noqa: E402

READY_S = 30
MAVEN_S = 1200  # the first run downloads the dependencies as well


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the chronik-server binary")
    parser.add_argument("--mvn", default="mvn")
    parser.add_argument("maven_args", nargs="*", help="after --: extra arguments for Maven")
    args = parser.parse_args()
    if shutil.which(args.mvn) is None or shutil.which("java") is None:
        print(f"java-compat: needs java and {args.mvn} on PATH (Debian: apt-get install openjdk-17-jdk-headless maven)")
        return 1
    m2 = os.environ.get("CHRONIK_M2_DIR") or os.path.join(ROOT, "build", "java-compat-m2")
    started = time.monotonic()
    # Reports of an earlier run would otherwise be counted in this run's summary.
    shutil.rmtree(os.path.join(HERE, "target", "surefire-reports"), ignore_errors=True)
    # -Dtest=X given after -- may match nothing in one of the phases: that is not a failure.
    common = [args.mvn, "-B", "-q", f"-Dmaven.repo.local={m2}", "-Dsurefire.failIfNoSpecifiedTests=false"]
    # The tests that kill a broker get a fresh cluster after the others, which need all 3 alive.
    rc = run_phase(args.server, "the other tests", common + ["-DexcludedGroups=kills-broker"], args.maven_args, False)
    rc_kill = run_phase(args.server, "tests that kill a broker", common + ["-Dgroups=kills-broker"], args.maven_args, True)
    print_summary()
    rc = rc or rc_kill
    print(f"java-compat: mvn exited {rc} after {time.monotonic() - started:.1f}s in all", flush=True)
    return rc


def run_phase(server, what, cmd, maven_args, pass_pids):
    """Starts a 3-node cluster, runs `cmd` ... test against it and stops the nodes; Maven's status."""
    cluster = Cluster(os.path.abspath(server), 3)
    rc = 1
    started = time.monotonic()
    try:
        cluster.start_all()
        cluster.wait_ready(READY_S, alive=True)
        bootstrap = cluster.bootstrap()
        print(f"java-compat: {what}: cluster ready at {bootstrap} after {time.monotonic() - started:.1f}s", flush=True)
        cmd = cmd + [f"-Dchronik.bootstrap={bootstrap}"]
        if pass_pids:
            cmd.append("-Dchronik.pids=" + ",".join(f"{n.ip}:{n.kafka_port}={n.proc.pid}" for n in cluster.nodes))
        cmd += ["test"] + maven_args
        print("java-compat: " + " ".join(cmd), flush=True)
        try:
            rc = subprocess.run(cmd, cwd=HERE, timeout=MAVEN_S).returncode
        except subprocess.TimeoutExpired:
            print(f"java-compat: mvn did not finish within {MAVEN_S}s", flush=True)
            rc = 1
    finally:
        cluster.cleanup(keep_logs_on_failure=rc != 0)
    print(f"java-compat: {what}: mvn exited {rc} after {time.monotonic() - started:.1f}s", flush=True)
    return rc


def print_summary():
    """Maven's -q hides surefire's counts; they are read back from its XML reports, one line per class
    and the plain 'N passed, N failed, N skipped' line at the end."""
    import xml.etree.ElementTree as ET

    reports = os.path.join(HERE, "target", "surefire-reports")
    if not os.path.isdir(reports):
        print("java-compat: no surefire reports (the build failed before the tests ran)")
        return
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name in sorted(os.listdir(reports)):
        if not (name.startswith("TEST-") and name.endswith(".xml")):
            continue
        suite = ET.parse(os.path.join(reports, name)).getroot()
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
