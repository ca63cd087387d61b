"""`make partition-soak DURATION=… SEED=…`: a randomized mix of faults on one 5-node cluster.

Each round picks a fault from the seeded PRNG, holds it 2-8 s, heals, and requires recovery
(converged views, one linearizable leader, agreement) within the bounds before the next round. At
most one leader per term is checked over the whole run, and a topic created in every round must
still be listed at the end. The Kafka data workload (kafka_workload.py) runs through every round
and is read back and checked at the end.
"""
import random
import time

import checkers
from scenario_run import Run, ScenarioFailed


def one_round(run, rng, k):
    h = run.h
    ids = h.ids()
    kind = rng.choice(["halves", "isolate", "ring", "bridge", "oneway", "kill", "pause", "loss", "skew"])
    hold_s = rng.uniform(2.0, 8.0)
    leader = run.leader()
    restart = []
    if kind in ("halves", "ring", "bridge"):
        desc = f"{kind} {h.partition(kind, rng)}"
    elif kind == "isolate":
        node = leader if leader and rng.random() < 0.5 else rng.choice(ids)
        desc = f"isolate {h.partition('isolate', rng, [node])}"
    elif kind == "oneway":
        a, b = rng.sample(ids, 2)
        h.drop(a, b)
        desc = f"oneway {a}->{b}"
    elif kind == "kill":
        restart = sorted(rng.sample(ids, rng.randint(1, (len(ids) - 1) // 2)))
        for v in restart:
            h.kill(v)
        desc = f"kill -9 {restart}"
    elif kind == "pause":
        node = leader or rng.choice(ids)
        h.pause(node)
        desc = f"pause {node}"
        restart = [-node]
    elif kind == "loss":
        pct = rng.choice([10, 20, 30])
        h.loss(pct)
        desc = f"{pct}% loss"
    else:
        a, b = rng.sample(ids, 2)
        h.skew(a, 300)
        h.skew(b, -300)
        desc = f"skew {a} +300s {b} -300s"
        restart = [("skew", a, b)]
    print(f"  round {k} at {run.now() - run.t0:.2f}s: {desc} for {hold_s:.1f}s", flush=True)
    time.sleep(hold_s)
    t_heal = run.now()
    print(f"    heal at {t_heal - run.t0:.2f}s", flush=True)
    h.heal()
    for r in restart:
        if isinstance(r, tuple):
            h.skew(r[1], 0)
            h.skew(r[2], 0)
        elif r < 0:
            h.resume(-r)
        else:
            h.start(r)
    before = len(run.failures)
    run.check_recovery(t_heal)
    run.check_write(f"r{k}")
    for f in run.failures[before:]:
        print(f"    FAIL: {f}", flush=True)
    return f"{desc} ({run.recover if run.recover is None else round(run.recover, 2)}s to recover)"


def soak(args, seed, tag):
    rng = random.Random(seed)
    run = Run("soak", 5, "local", seed, args.work_dir, args.server, args.nfq_delay, tag, security=args.security)
    deadline = time.monotonic() + args.soak
    rounds = 0
    try:
        run.up()
        # Bounded: one round takes at most ~8 s of fault plus bounded recovery waits.
        while time.monotonic() < deadline and rounds < 10_000 and len(run.failures) < 5:
            one_round(run, rng, rounds)
            rounds += 1
        run.check_election_safety()
        names = {f"soak-r{k}-{seed % 100000}" for k in range(rounds)}
        lists = run.check_agreement(run.h.ids())
        for i, topics in lists.items():
            missing = sorted(n for n in names if topics is not None and n not in topics)
            if missing:
                run.fail(f"node {i} lost topics {missing[:5]}")
        terms = checkers.leaders_per_term(run.collector.snapshot())
        run.finish_data()
        d = run.data.stats
        print(f"soak: {rounds} rounds, {len(terms)} terms with a leader; data: sent {d['sent']}, acked {d['acked']}, "
              f"failed {d['failed']}, indeterminate {d['indeterminate']}, lost {d['lost']}, duplicated {d['dup']}")
    except ScenarioFailed as e:
        run.fail(str(e))
    finally:
        run.close(keep=bool(run.failures))
    for f in run.failures:
        print(f"FAIL: {f}")
    print(f"soak seed {seed}: {'ok' if not run.failures else 'FAIL, logs in ' + run.dir}")
    return 1 if run.failures else 0
