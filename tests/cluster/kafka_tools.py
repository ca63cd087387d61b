"""Kafka's own command-line tools for the cluster suites, run as an operator runs them: their main
classes with `java -cp`, on a classpath that Maven resolves once (dependency:build-classpath) from a
pom of this repository into a work directory of the build tree, so a fresh clone fetches through
Maven itself and later runs are offline.

Two poms name the tools:
- TOOLS_401_POM (tests/cluster/kafka-tools/pom.xml): kafka-tools 4.0.1, for the suites that check
  one tool beside other clients and skip it where java or mvn is missing (kafka_tools_classpath);
- ANCHOR_POM (bench/kafka-anchor/pom.xml): Kafka 4.4.0 (kafka_2.13 and kafka-tools), the version
  of the Kafka anchor, for kafka_cli_tools_test.py, which fails where they are missing.
"""
import hashlib
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS_401_POM = os.path.join(HERE, "kafka-tools", "pom.xml")
ANCHOR_POM = os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench", "kafka-anchor", "pom.xml")
RESOLVE_S = 900  # the first resolution downloads some 80-100 MB from Maven Central


class Unavailable(Exception):
    """java or mvn is not installed, or Maven could not resolve the pom; the message says which."""


def classpath(work_dir, pom=TOOLS_401_POM, m2_dir=None):
    """The classpath of `pom`'s dependencies. Resolved by Maven into work_dir the first time (with
    its local repository in m2_dir, else Maven's default) and read back afterwards; resolved again
    when the pom changed or a jar of the saved classpath is gone. Raises Unavailable."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise Unavailable("java and mvn must be on PATH (Java 17, Maven 3.8)")
    with open(pom, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    os.makedirs(work_dir, exist_ok=True)
    cp_file = os.path.join(work_dir, f"classpath-{digest}.txt")
    if os.path.exists(cp_file):
        with open(cp_file) as f:
            cp = f.read().strip()
        if all(os.path.exists(jar) for jar in cp.split(os.pathsep)):
            return cp
    cmd = ["mvn", "-q", "-B", "-f", pom, "dependency:build-classpath", f"-Dmdep.outputFile={cp_file}.tmp"]
    if m2_dir:
        cmd.append(f"-Dmaven.repo.local={m2_dir}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=RESOLVE_S)
    if out.returncode != 0:
        raise Unavailable(f"Maven could not resolve {pom}: {(out.stdout + out.stderr)[-800:]}")
    os.replace(cp_file + ".tmp", cp_file)
    with open(cp_file) as f:
        return f.read().strip()


def kafka_tools_classpath(work_dir):
    """The classpath of Kafka 4.0.1's tools in work_dir, or None when java, mvn or the artifacts
    are unavailable (the suites that use it skip that test then)."""
    try:
        return classpath(work_dir)
    except Unavailable:
        return None


def run(cp, main, args, timeout_s=120):
    """Runs the tool class `main` with `args`; the CompletedProcess, stdout and stderr as text."""
    return subprocess.run(["java", "-cp", cp, main, *args], capture_output=True, text=True, timeout=timeout_s)
