#!/usr/bin/python3
"""Partition-tolerance suite (issue 6): real chronik-server nodes, one network namespace each,
faults injected while clients work, and checkers for what was lost (docs/partition-testing.md).

  partition_suite.py --server PATH [--nfq-delay PATH] [--work-dir DIR] [--seed S]
                     [--only NAME,...] [--hold-scale X] [--soak SECONDS] [--security on|off]

Nodes run with security on between them (RPC mutual TLS, a gossip key; docs/security.md) unless
--security off, which is for comparing a scenario with and without it. Needs root; without it prints one line and exits 77 (ctest SKIP_RETURN_CODE). Prints its seed
first and a table of every scenario last. Logs and samples of a failed scenario stay in
<work-dir>/<scenario>/; the others are removed. Exit status 1 when any scenario failed.
"""
import argparse
import fcntl
import os
import random
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TAG = 1  # 10.77.1.0/24, bridge chrbr1, namespaces chr1n<i>: never shared with the manual tool (tag 0)


class Interrupted(BaseException):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def stale_cleanup(work_dir):
    """A run killed without its finally clauses leaves a state file; remove what it recorded."""
    from netharness import Harness
    if not os.path.isdir(work_dir):
        return
    for name in sorted(os.listdir(work_dir)):
        if os.path.exists(os.path.join(work_dir, name, "state.json")):
            h = Harness(os.path.join(work_dir, name), TAG)
            if h.state.get("namespaces") or h.state.get("nodes") or h.state.get("bridge"):
                print(f"cleaning up after an earlier run: {name}")
                h.teardown()


def run_scenario(name, args, seed):
    from scenario_run import Run, ScenarioFailed
    from scenarios import SCENARIOS
    fn, size, preset = SCENARIOS[name]
    run = Run(name, size, preset, seed, args.work_dir, args.server, args.nfq_delay, TAG, security=args.security)
    t0 = time.monotonic()
    print(f"--- {name}: {size} nodes, preset {preset}", flush=True)
    try:
        run.up()
        fn(run)
        run.finish_data()
    except ScenarioFailed as e:
        run.fail(str(e))
    except Interrupted:
        run.fail("interrupted")
        raise
    except Exception as e:  # noqa: BLE001 - a harness error fails this scenario, not the suite
        run.fail(f"{type(e).__name__}: {e}")
        traceback.print_exc()
    finally:
        keep = bool(run.failures) or args.keep
        run.close(keep)
        row = run.row()
        row["secs"] = time.monotonic() - t0
        for f in row["failures"]:
            print(f"    FAIL: {f}")
        for n in row["notes"]:
            print(f"    note: {n}")
        if keep:
            print(f"    logs kept in {run.dir}")
        if run.failures:
            print_failure_digest(run.dir)
        print(f"    {row['result']} in {row['secs']:.1f}s", flush=True)
    return row


# What a failed scenario's node logs say about the `__meta` group and the links: CI keeps only the
# printed output, so the lines that tell a lost leader from a broken network are printed here.
DIGEST_MARKS = ("[g1] ", "lost contact with a quorum", "transport", "connection", "suspect", "dead")
DIGEST_LINES = 12


def print_failure_digest(run_dir):
    try:
        names = sorted(os.listdir(run_dir))
    except OSError:
        return
    for name in names:
        path = os.path.join(run_dir, name)
        if not name.endswith(".log") or not os.path.isfile(path):
            continue
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        if name.startswith("nfq-"):
            picked = [line for line in lines if "delayed" in line]
        elif name.startswith("node-"):
            picked = [line for line in lines if any(m in line for m in DIGEST_MARKS) and "applied configuration" not in line]
        else:
            continue
        print(f"    digest {name}: {len(picked)} lines" + (f", last {DIGEST_LINES}" if len(picked) > DIGEST_LINES else ""))
        for line in picked[-DIGEST_LINES:]:
            print(f"      {line[:220]}")


def print_table(rows, seed, security):
    cols = ["scenario", "nodes", "faults", "detect", "recover", "sent", "acked", "failed", "indet", "lost", "dup",
            "result"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    width["faults"] = min(width["faults"], 70)
    print(f"\npartition suite, seed {seed}, security {security}")
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c])[:width[c]].ljust(width[c]) for c in cols))
    print("detect: fault to detection (all observers see the victim dead, or a new leader); "
          "recover: heal to converged views, one linearizable leader and every broker alive;\n"
          "sent/acked/failed/indet: values the idempotent acks=all producers sent, had acknowledged, had "
          "refused (known not written) and left undecided (timeouts); lost: acknowledged values not read back; "
          "dup: values read more than once (must be 0)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--nfq-delay", default=None)
    p.add_argument("--work-dir", default=os.path.join(os.getcwd(), "partition-run"))
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--only", default="")
    p.add_argument("--hold-scale", type=float, default=1.0)
    p.add_argument("--soak", type=float, default=0.0, help="seconds of randomized fault mix instead")
    p.add_argument("--keep", action="store_true", help="keep logs of passing scenarios too")
    p.add_argument("--security", default="on", choices=["on", "off"],
                   help="RPC mutual TLS and a gossip key between the nodes (off: to compare)")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("partition suite skipped: needs root (network namespaces, iptables)")
        return 77
    try:
        import confluent_kafka  # noqa: F401
        import kafka  # noqa: F401
    except ImportError as e:
        print(f"partition suite skipped: {e.name} is not installed (python3-kafka, python3-confluent-kafka)")
        return 77
    seed_env = os.environ.get("CHRONIK_TEST_SEED")
    seed = args.seed if args.seed is not None else int(seed_env) if seed_env else random.randrange(1 << 30)
    print(f"partition suite seed {seed} (rerun: --seed {seed}), security {args.security}"
          + (" (RPC mutual TLS, gossip key; Kafka clients PLAINTEXT)" if args.security == "on" else ""), flush=True)
    args.server = os.path.abspath(args.server)
    args.nfq_delay = os.path.abspath(args.nfq_delay) if args.nfq_delay else None
    args.work_dir = os.path.abspath(args.work_dir)
    os.makedirs(args.work_dir, exist_ok=True)
    lock = open(f"/run/lock/chronik-partition-{TAG}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("partition suite: another run holds /run/lock/chronik-partition-1.lock")
        return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stale_cleanup(args.work_dir)
    from scenarios import HOLD, SCENARIOS
    HOLD["scale"] = args.hold_scale
    if args.soak > 0:
        from soak import soak
        return soak(args, seed, TAG)
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
        return 2
    rows = []
    try:
        for name in names:
            rows.append(run_scenario(name, args, seed))
    except Interrupted as e:
        print(f"partition suite interrupted ({e}); everything created was removed")
        return 1
    finally:
        if rows:
            print_table(rows, seed, args.security)
    failed = [r["scenario"] for r in rows if r["result"] != "ok"]
    if failed:
        print(f"failed: {', '.join(failed)} (seed {seed}; logs under {args.work_dir})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
