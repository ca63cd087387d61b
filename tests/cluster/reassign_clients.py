"""Replica moves (AlterPartitionReassignments and ListPartitionReassignments, KIP-455) from each
client that has them, for the cluster suites (docs/kafka.md "Moving replicas"). Every function
returns plain data so a suite can compare the clients' answers:

- kafka-python 3.0.12: KafkaAdminClient.alter_partition_reassignments (a null target cancels) and
  list_partition_reassignments. It offers no allow_replication_factor_change (KIP-860): a v1
  request carries the default, true.
- kafkajs 2.2.4: admin.alterPartitionReassignments and listPartitionReassignments, through
  tests/clients/kafkajs/kafkajs_reassign.js (v0 of both). It cannot cancel a move.
- Kafka 4.0.1's kafka-reassign-partitions (org.apache.kafka.tools.reassign.ReassignPartitionsCommand,
  resolved by Maven from tests/cluster/kafka-tools/pom.xml, kafka_tools.py): --execute, --verify,
  --cancel, --list.
- confluent-kafka 2.16.1 (librdkafka 2.16) has no reassignment API at all: its AdminClient offers
  no alter/list partition reassignments, only the two error codes. Nothing here for it.

Moves are given as {(topic, partition): [broker ids] or None}; None is a cancel.
"""
import json
import os
import subprocess
import tempfile

REASSIGN_TOOL = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"


# --- kafka-python ---------------------------------------------------------------------------------

def kafka_python_alter(bootstrap, moves, timeout_ms=15000):
    """{(topic, partition): error name, "NONE" when accepted} for each partition the broker
    answered. A top-level error raises, as kafka-python does."""
    from kafka import KafkaAdminClient, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="chronik-reassign")
    try:
        answered = admin.alter_partition_reassignments(
            {TopicPartition(t, p): replicas for (t, p), replicas in moves.items()}, timeout_ms=timeout_ms)
    finally:
        admin.close()
    return {(tp.topic, tp.partition): "NONE" if err is None else err.message for tp, err in answered.items()}


def kafka_python_list(bootstrap, partitions=None, timeout_ms=15000):
    """{(topic, partition): {"replicas", "adding_replicas", "removing_replicas"}} for the moves in
    progress; `partitions` is None (every move) or a list of (topic, partition)."""
    from kafka import KafkaAdminClient, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="chronik-reassign")
    try:
        wanted = None if partitions is None else [TopicPartition(t, p) for t, p in partitions]
        listed = admin.list_partition_reassignments(wanted, timeout_ms=timeout_ms)
    finally:
        admin.close()
    return {(tp.topic, tp.partition): move for tp, move in listed.items()}


# --- kafkajs --------------------------------------------------------------------------------------

def _kafkajs(script, bootstrap, *args):
    out = subprocess.run(["node", script, bootstrap, *args], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"kafkajs_reassign.js {args[0]} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def kafkajs_alter(script, bootstrap, moves):
    """kafkajs_reassign.js's answer to `moves` (no cancels: kafkajs cannot send one):
    {"ok": true} or {"error": {name, type, message, partitions: [{topic, partition, type}]}}.
    `script` is the suite's AdminSuite.kafkajs("kafkajs_reassign.js")."""
    if any(replicas is None for replicas in moves.values()):
        raise ValueError("kafkajs 2.2.4 cannot cancel a move (it sends no null replica list)")
    topics = {}
    for (t, p), replicas in sorted(moves.items()):
        topics.setdefault(t, []).append({"partition": p, "replicas": list(replicas)})
    body = [{"topic": t, "partitionAssignment": parts} for t, parts in topics.items()]
    return _kafkajs(script, bootstrap, "alter", json.dumps(body))


def kafkajs_list(script, bootstrap, partitions=None):
    """{(topic, partition): {"replicas", "adding_replicas", "removing_replicas"}} as kafkajs read
    the moves in progress, or {"error": ...} when it failed."""
    if partitions is None:
        body = "null"
    else:
        topics = {}
        for t, p in partitions:
            topics.setdefault(t, []).append(p)
        body = json.dumps([{"topic": t, "partitions": ps} for t, ps in topics.items()])
    out = _kafkajs(script, bootstrap, "list", body)
    if "error" in out:
        return out
    return {(t["name"], p["partition"]): {"replicas": p["replicas"], "adding_replicas": p["addingReplicas"],
                                          "removing_replicas": p["removingReplicas"]}
            for t in out["topics"] for p in t["partitions"]}


# --- Kafka's kafka-reassign-partitions --------------------------------------------------------------

def reassignment_json(moves):
    """kafka-reassign-partitions' --reassignment-json-file document for `moves` (no cancels: the
    tool cancels what a file names with --cancel)."""
    parts = [{"topic": t, "partition": p, "replicas": list(r)} for (t, p), r in sorted(moves.items())]
    return json.dumps({"version": 1, "partitions": parts})


def kafka_reassign_tool(classpath, bootstrap, action, moves=None, extra=(), timeout_s=120):
    """Runs kafka-reassign-partitions with `action` ("--execute", "--verify", "--cancel" or
    "--list") against `bootstrap`, the moves written to a reassignment file in a temporary
    directory for the first three. Returns (exit code, stdout + stderr).

    --verify and --cancel are given --preserve-throttles unless `extra` says otherwise: without it
    the tool clears replication throttles with IncrementalAlterConfigs on every broker, which is
    not what a move here is about (chronik has no replication throttles)."""
    if action not in ("--execute", "--verify", "--cancel", "--list"):
        raise ValueError(f"unknown action {action}")
    args = ["--bootstrap-server", bootstrap, action]
    if action in ("--verify", "--cancel") and "--preserve-throttles" not in extra:
        args.append("--preserve-throttles")
    with tempfile.TemporaryDirectory(prefix="chronik-reassign-") as tmp:
        if action != "--list":
            if moves is None:
                raise ValueError(f"{action} needs the moves")
            path = os.path.join(tmp, "reassignment.json")
            with open(path, "w") as f:
                f.write(reassignment_json(moves))
            args += ["--reassignment-json-file", path]
        out = subprocess.run(["java", "-cp", classpath, REASSIGN_TOOL, *args, *extra],
                             capture_output=True, text=True, timeout=timeout_s)
    return out.returncode, out.stdout + out.stderr
