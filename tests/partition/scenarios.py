"""The scenarios of the partition suite, one function each (docs/partition-testing.md).

Each gets a formed cluster (`run.up()` done) and the seed-derived `run.rng`. Hold times are short for
CI; `--hold-scale` stretches them for a longer run.
"""
import time

import checkers
from kafka_workload import PARTITIONS, REQUEST_TIMEOUT_MS
from scenario_run import ScenarioFailed, convergence_bound, suspicion_min

HOLD = {"scale": 1.0}
TOPIC_TIMEOUT_MS = 3000


def hold(seconds):
    time.sleep(seconds * HOLD["scale"])


def heal_and_check(run, t_fault=None, during=None):
    """Heals every network fault, then the checks after it: no false dead from t_fault until 1 s
    after the heal (when t_fault is given), the `__meta` availability `during` the fault (when
    named), one leader per term, and recovery within the bounds. Returns the heal time."""
    t_heal = run.now()
    run.h.heal()
    run.fault("heal")
    if t_fault is not None:
        run.check_no_false_dead(t_fault, t_heal + 1.0)
    if during:
        run.availability(t_fault, t_heal, during)
    run.check_election_safety()
    run.check_recovery(t_heal)
    return t_heal


def detected_and_led(run, t_fault, victims, observers, label, who):
    """After a cut or a crash: every observer sees every victim dead within the detection bound,
    and the observers agree on a `__meta` leader within 10 s. Returns that time or None."""
    run.check_detection(t_fault, victims, observers, label)
    t = run.wait(checkers.one_leader(observers), 10, observers, t_from=t_fault)
    if t is None:
        run.fail(f"{who} {observers} have no leader 10s after the fault")
    else:
        run.notes.append(f"leader among the {who} after {t - t_fault:.2f}s")
    return t


def partition_and_race(run, groups, minority, label):
    """Common body of halves and isolate: cut, race a CreateTopics from each side, check the
    minority never commits and the majority detects it, heal, check recovery and the race outcome."""
    h = run.h
    majority = [i for i in h.ids() if i not in minority]
    t_cut = run.now()
    h.cut(groups)
    run.fault(f"{label} {groups}")
    # Detection: the majority sees every minority node dead (a cut is a crash to SWIM).
    detected_and_led(run, t_cut, minority, majority, label, "majority")
    topic = f"race-{run.name}-{run.seed % 100000}"
    a, b = run.rng.choice(minority), run.rng.choice(majority)
    results = run.create_topics_concurrently([(a, topic, 1), (b, topic, 2)], TOPIC_TIMEOUT_MS)
    run.notes.append(f"race: minority node {a} -> {results[0]}, majority node {b} -> {results[1]}")
    oks = [k for k, r in enumerate(results) if r == 0]
    if len(oks) != 1:
        run.fail(f"concurrent create of {topic} succeeded {len(oks)} times: {results}")
    hold(1.0)
    t_heal = run.now()
    h.heal()
    run.fault("heal")
    run.check_election_safety()
    bad = checkers.commit_advanced(run.collector.snapshot(), minority, t_cut, t_heal, grace=0.5)
    if bad:
        run.fail(f"minority commit advanced (node, base, later, t): {bad}")
    run.check_recovery(t_heal)
    lists = {i: run.topics(i) for i in h.ids()}
    want = {0: 1, 1: 2}[oks[0]] if len(oks) == 1 else None
    for i, topics in lists.items():
        if topics is None or topics.get(topic) != want:
            run.fail(f"after heal node {i} lists {topic} with {None if topics is None else topics.get(topic)} "
                     f"partitions, want {want} (the side that succeeded)")
            break
    again = run.create_topic(a, topic, 1, TOPIC_TIMEOUT_MS)
    if again != 36:  # TOPIC_ALREADY_EXISTS
        run.fail(f"re-creating {topic} after heal answered {again}, want 36 (already exists)")


def halves(run):
    ids = run.h.ids()
    order = ids[:]
    run.rng.shuffle(order)
    k = len(ids) // 2
    minority, majority = sorted(order[:k]), sorted(order[k:])
    partition_and_race(run, [minority, majority], minority, "halves")


def isolate_leader(run):
    leader = run.leader()
    others = [i for i in run.h.ids() if i != leader]
    partition_and_race(run, [[leader], others], [leader], f"isolate leader {leader}")


def isolate_partition_leader(run):
    """Cut off the Raft leader of one data partition (chosen not to be the `__meta` leader when it
    can be, so that the partition fails over on its own): the majority's producers must get
    acknowledgements for that partition again from a new leader, and the isolated leader's own
    appends (its producer still reaches it) must never surface as committed."""
    leaders = run.partition_leaders(run.data.topic)
    if not leaders:
        raise ScenarioFailed(f"no Metadata for {run.data.topic}")
    meta = run.leader()
    part = next((p for p, l in sorted(leaders.items()) if l != meta), min(leaders))
    victim = leaders[part]
    others = [i for i in run.h.ids() if i != victim]
    run.h.cut([[victim], others])
    t_cut = run.now()  # after the rules are in: a send that started earlier may still be acknowledged
    run.fault(f"isolate leader {victim} of partition {part}")
    # Detection: the majority's Metadata names a new leader for the partition (what clients act
    # on); then its producers' writes to it are acknowledged again.
    t_new = None
    while t_new is None and run.now() < t_cut + 15:
        after = run.partition_leaders(run.data.topic, others)
        if after and after.get(part) not in (None, -1, victim):
            t_new = run.now()
        else:
            time.sleep(0.05)
    if t_new is None:
        run.fail(f"the majority {others} names no new leader for partition {part} within 15s of the cut")
    else:
        run.detect = t_new - t_cut
    t_ack = None
    while t_ack is None and run.now() < t_cut + 20:
        t_ack = run.data.first_ack_after(t_cut, part, others)
        time.sleep(0.1)
    if t_ack is None:
        run.fail(f"no acknowledgement for partition {part} from the majority {others} within 20s of the cut")
    else:
        run.notes.append(f"partition {part}: a send started {t_ack - t_cut:.2f}s after the cut was acknowledged "
                         f"(a client request timeout of {REQUEST_TIMEOUT_MS} ms included)")
    hold(2.0)
    heal_and_check(run)


def safety_partition(run, kind):
    """ring and bridge: no clean majority/minority, so check safety during and recovery after.
    The write after the heal is retried on retriable answers for up to 10 s, as an admin client
    does: the RPC connections between nodes that were cut come back one by one (TLS, reconnect
    backoff up to 1 s) while `local`'s election timeout is 100-200 ms, so `__meta` may change
    leaders a few times after the recovery check saw one (docs/partition-testing.md "Scenarios")."""
    groups = run.h.partition(kind, run.rng)
    run.fault(f"{kind} {groups}")
    hold(4.0)
    run.notes.append(f"leader during {kind}: {run.leader()}")
    heal_and_check(run)
    run.check_write("after", patience_s=10.0)


def ring(run):
    safety_partition(run, "ring")


def bridge(run):
    safety_partition(run, "bridge")


def oneway(run):
    """Packets from the leader to one follower are dropped: no one may be declared dead
    (docs/gossip.md: no false dead under a one-way cut), and safety holds."""
    a = run.leader()
    b = run.rng.choice([i for i in run.h.ids() if i != a])
    t_cut = run.now()
    run.h.drop(a, b)
    run.fault(f"oneway {a}->{b} dropped")
    hold(5.0)
    # Through a node that hears the leader: b does not, and answers NOT_CONTROLLER (41) at once,
    # which Kafka clients take as "ask another broker". The leadership may also move to b (a CI run
    # under load, seed 201573238); a then cannot reach the controller and answers 41 too, and the
    # client asks the third node, which hears both.
    run.check_write("during", [i for i in run.h.ids() if i != b], patience_s=10.0, another_on=(41,))
    heal_and_check(run, t_cut, "during one-way drop")


def kill_nodes(run, victims, label):
    h = run.h
    survivors = [i for i in h.ids() if i not in victims]
    t_kill = run.now()
    for v in victims:
        h.kill(v)
    run.fault(f"kill -9 {victims}")
    if detected_and_led(run, t_kill, victims, survivors, label, "survivors") is not None:
        run.check_write("during", survivors)
    t_start = run.now()
    for v in victims:
        h.start(v)
    run.fault(f"start {victims}")
    run.check_no_false_dead(t_kill, t_start, allowed=victims)
    run.check_election_safety()
    run.check_recovery(t_start)


def kill_one(run):
    kill_nodes(run, [run.rng.choice(run.h.ids())], "kill one")


def kill_minority(run):
    ids = run.h.ids()
    kill_nodes(run, sorted(run.rng.sample(ids, (len(ids) - 1) // 2)), "kill minority")


def pause_leader(run):
    """SIGSTOP the leader longer than the election timeout (200 ms) but shorter than the gossip
    suspicion minimum: a new leader is elected, the old one steps down after SIGCONT, and no node
    (not the paused one either, nor anyone it probed late after resuming) is declared dead."""
    leader = run.leader()
    others = [i for i in run.h.ids() if i != leader]
    pause_s = min(0.5, 0.8 * suspicion_min(run.preset, run.size))
    t_pause = run.now()
    run.h.pause(leader)
    run.fault(f"SIGSTOP leader {leader} {pause_s:.2f}s")
    time.sleep(pause_s)
    run.h.resume(leader)
    t_resume = run.now()
    t = run.wait(checkers.one_leader(others), 5, others, t_from=t_pause)
    if t is not None:
        run.detect = t - t_pause
    hold(2.0)
    run.check_no_false_dead(t_pause, run.now())
    run.check_election_safety()
    run.check_recovery(t_resume)
    run.check_write("after")


def loss(run, pct=30, seconds=8.0):
    t0 = run.now()
    run.h.loss(pct)
    run.fault(f"{pct}% loss {seconds * HOLD['scale']:.0f}s")
    hold(seconds)
    heal_and_check(run, t0, "during loss")
    run.check_write("after")


def delay(run, ms=200, seconds=6.0):
    if not run.h.state.get("nfq_delay"):
        run.notes.append("skipped: no nfq_delay helper built")
        return
    t0 = run.now()
    run.h.delay(ms)
    run.fault(f"{ms} ms delay {seconds * HOLD['scale']:.0f}s")
    hold(seconds / 2)
    # A 400 ms round trip is close to the `lan` election timeout (500-1000 ms): a leader may step
    # down or a follower lose it for an election or two, and CreateTopics then answers a retriable
    # code. What must hold is that writes go through within a bound, as a retrying client sees.
    run.check_write("during", patience_s=15.0)
    hold(seconds / 2)
    heal_and_check(run, t0, "during delay")


def skew(run, seconds=300, hold_s=5.0):
    ids = run.h.ids()
    fast, slow = run.rng.sample(ids, 2)
    t0 = run.now()
    run.h.skew(fast, seconds)
    run.h.skew(slow, -seconds)
    run.fault(f"skew node {fast} +{seconds}s, node {slow} -{seconds}s")
    hold(hold_s)
    run.check_write("during")
    run.h.skew(fast, 0)
    run.h.skew(slow, 0)
    t_heal = run.now()
    run.fault("unskew")
    run.check_no_false_dead(t0, t_heal)
    run.availability(t0, t_heal, "during skew")
    run.check_election_safety()
    run.check_recovery(t_heal)


def rolling_restart(run):
    """SIGTERM each node in turn, start it again and wait until it is back (converged, one leader)
    before the next; topics created before survive."""
    run.check_write("before")
    t0 = run.now()
    worst = 0.0
    for i in run.h.ids():
        run.h.stop(i)
        run.h.start(i)
        t_start = run.now()
        ids = run.h.ids()
        t = run.wait(lambda m, c: checkers.gossip_converged(ids)(m, c) and checkers.one_leader(ids)(m, c)
                     and checkers.brokers_alive(ids)(m, c),
                     convergence_bound(run.preset) + 15, ids, t_from=t_start)
        if t is None:
            run.fail(f"node {i} not back within {convergence_bound(run.preset) + 15:.1f}s of its restart")
            return
        worst = max(worst, t - t_start)
    run.fault(f"rolling restart of {run.h.ids()} (SIGTERM, start)")
    run.recover = worst
    run.notes.append(f"worst time back per node {worst:.2f}s, total {run.now() - t0:.1f}s")
    run.check_no_false_dead(t0, run.now())
    run.check_election_safety()
    lists = run.check_agreement(run.h.ids())
    name = f"{run.name}-before-{run.seed % 100000}"
    if any(v is not None and name not in v for v in lists.values()):
        run.fail(f"topic {name} created before the restarts is gone")


MOVE_SETTLE_S = 30   # a move's end: the victim back, its learner caught up, every node's Metadata
FLOW_S = 10          # after a move's acceptance, a send on each partition must be acknowledged within
# While a partition moves, a stretch without an acknowledged write longer than this fails. Five
# producers get a write acknowledged every few ms; a killed leader cost 0.1-1.05 s in our runs (an
# election of at most 20 ticks of 10 ms with `local`, then the clients' metadata, up to 1 s old).
MOVE_GAP_S = 2.5
# The victim stays down this long (times the hold scale), past MOVE_GAP_S even at scale 1, so that
# a partition that cannot take writes without it shows as a stall.
MOVE_VICTIM_DOWN_S = 3.0


def stable_placement(run, topic, timeout=10):
    """{partition: (leader, replicas)} from a running node once every partition names a leader
    among its replicas (a moment after an election may show -1), else ScenarioFailed."""
    deadline = run.now() + timeout
    placement = None
    while run.now() < deadline:
        node = run.rng.choice([i for i in run.h.ids() if run.h.running(i)])
        placement = run.placement(topic, node)
        if placement and len(placement) == PARTITIONS and all(l in r for l, r in placement.values()):
            return placement
        time.sleep(0.1)
    raise ScenarioFailed(f"no leader among the replicas of every partition of {topic} within {timeout}s: {placement}")


def watch_moves(run, topic, targets, t_accepted, ended, until):
    """Polls ListPartitionReassignments through running nodes until none of `targets`' partitions
    is moving or `until`; records in `ended` each partition's first answer without it (seconds
    from acceptance). The answer follows a `__meta` catch-up, so one node's word is the cluster's."""
    moving = None
    while len(ended) < len(targets) and run.now() < until:
        node = run.rng.choice([i for i in run.h.ids() if run.h.running(i)])
        try:
            err, moving = run.reassignments(node)
        except Exception:  # noqa: BLE001 - a node restarting refuses the connection: ask another
            err = None
        if err == 0:
            for p in targets:
                if p not in ended and (topic, p) not in moving:
                    ended[p] = run.now() - t_accepted
        time.sleep(0.05)
    return moving


def targets_everywhere(run, topic, targets, t_accepted):
    """Waits until every running node's Metadata lists each partition with exactly its target
    replicas and a leader among them; fails the scenario after MOVE_SETTLE_S."""
    deadline = run.now() + MOVE_SETTLE_S
    views = {}
    while run.now() < deadline:
        views = {i: run.placement(topic, i) for i in run.h.ids() if run.h.running(i)}
        if all(v and all(v.get(p, (None, None))[1] == t and v[p][0] in t for p, t in targets.items())
               for v in views.values()):
            return run.now() - t_accepted
        time.sleep(0.1)
    run.fail(f"Metadata does not list the targets {targets} on every node within {MOVE_SETTLE_S}s: {views}")
    return None


def move_round(run, topic, label, placement, targets, victims):
    """One AlterPartitionReassignments of every partition from `placement` to `targets`, a kill -9
    of one of `victims` ({kind: nodes}) right after it is accepted and a start of it a little
    later; the moves must end (List, then every node's Metadata), the cluster recover, and data
    keep flowing."""
    via = run.rng.choice(run.h.ids())
    err, results = run.alter_reassignments(via, {(topic, p): t for p, t in targets.items()})
    t_accepted = run.now()
    refused = {k: v for k, v in results.items() if v[0] != 0}
    if err != 0 or refused or len(results) != len(targets):
        raise ScenarioFailed(f"{label}: AlterPartitionReassignments through node {via} answered {err}, {results}")
    kind = run.rng.choice(sorted(victims))
    victim = run.rng.choice(sorted(victims[kind]))
    run.h.kill(victim)
    t_kill = run.now()
    run.fault(f"move {label} {targets}; kill -9 {kind} {victim}")
    # The moves go on (or end) while the victim is down: watched, not slept through.
    ended = {}
    moving = watch_moves(run, topic, targets, t_accepted, ended, t_kill + 0.01)
    run.notes.append(f"{label}: killed {kind} {victim} {t_kill - t_accepted:.2f}s after acceptance; "
                     f"partitions moving then: {sorted(p for (t, p) in (moving or {}) if t == topic)}")
    restart_at = t_kill + MOVE_VICTIM_DOWN_S * HOLD["scale"]
    watch_moves(run, topic, targets, t_accepted, ended, restart_at)
    time.sleep(max(0.0, restart_at - run.now()))
    run.h.start(victim)
    t_start = run.now()
    run.fault(f"start {victim}")
    moving = watch_moves(run, topic, targets, t_accepted, ended, t_start + MOVE_SETTLE_S)
    if len(ended) < len(targets):
        run.fail(f"{label}: moves still in progress {MOVE_SETTLE_S}s after the victim's restart: {moving}")
    else:
        run.notes.append(f"{label}: moves ended (List) after " + ", ".join(
            f"p{p} {t:.2f}s ({run.data.acked_between(t_accepted, t_accepted + t, p)} acks during)"
            for p, t in sorted(ended.items())) + f"; victim restarted at {t_start - t_accepted:.2f}s")
        t_all = targets_everywhere(run, topic, targets, t_accepted)
        if t_all is not None:
            run.notes.append(f"{label}: every node's Metadata lists the targets {t_all:.2f}s after acceptance")
    run.check_no_false_dead(t_kill, t_start, allowed=[victim])
    run.check_election_safety()
    run.check_recovery(t_start)
    check_flowing(run, label, placement, ended, t_accepted)


def check_flowing(run, label, placement, ended, t_accepted):
    """Data keeps flowing during a move (issue 15): no partition goes longer than MOVE_GAP_S
    without an acknowledged write while it moves, whichever node died, and every partition takes a
    write within FLOW_S of the acceptance."""
    gaps = []
    for p, t_end in sorted(ended.items()):
        gap = run.data.longest_ack_gap(t_accepted, t_accepted + t_end, p)
        gaps.append(f"p{p} {gap:.2f}s")
        if gap > MOVE_GAP_S:
            run.fail(f"{label}: partition {p} (leader {placement[p][0]} before the move) took no acknowledged "
                     f"write for {gap:.2f}s of its {t_end:.2f}s move")
    if gaps:
        run.notes.append(f"{label}: longest stretch without an acknowledged write while moving: {', '.join(gaps)}")
    for p in sorted(placement):
        t = run.data.first_ack_after(t_accepted, p, run.h.ids())
        if t is None or t - t_accepted > FLOW_S:
            run.fail(f"{label}: no send on partition {p} started within {FLOW_S}s of the move's acceptance "
                     f"was acknowledged")


def move_replicas(run):
    """Replica moves (KIP-455) while the producers write, with a crash in each (issue 15). Round 1
    swaps a follower of every partition for a node that never held it; round 2 moves every
    partition's leader away, so leadership must be handed over (docs/kafka.md "Moving replicas").
    A node a finished move removed cannot take that partition back with the same data directory,
    so every new replica is one that never held it: with RF 3 on 5 nodes, two rounds use them all."""
    topic = run.data.topic
    held = {p: set(r) for p, (_, r) in stable_placement(run, topic).items()}
    for label, leader_leaves in (("follower", False), ("leader", True)):
        placement = stable_placement(run, topic)
        targets, out, new = {}, {}, {}
        for p, (leader, replicas) in sorted(placement.items()):
            out[p] = leader if leader_leaves else run.rng.choice([r for r in replicas if r != leader])
            fresh = sorted(set(run.h.ids()) - held[p])
            if not fresh:
                raise ScenarioFailed(f"partition {p}: no node left that never held it ({sorted(held[p])})")
            new[p] = run.rng.choice(fresh)
            held[p].add(new[p])
            targets[p] = [new[p] if r == out[p] else r for r in replicas]
        leaders = {l for l, _ in placement.values()}
        victims = ({"leaving leader": set(out.values()), "new replica": set(new.values())} if leader_leaves else
                   {"leader": leaders, "leaving replica": set(out.values()), "new replica": set(new.values())})
        move_round(run, topic, f"{label} round", placement, targets, victims)
        if leader_leaves:
            after = stable_placement(run, topic)
            run.notes.append("leaders handed over: " + ", ".join(
                f"p{p} {placement[p][0]}->{after[p][0]}" for p in sorted(after)))


# The decommission scenario lives in its own module; it takes HOLD and stable_placement from this
# one at run time.
from decommission_scenario import decommission  # noqa: E402

# name -> (function, nodes, preset). The delay runs with the `lan` timings: under `local` the
# `__meta` election timeout (100-200 ms) is below the 400 ms round trip, so no leader can hold, which
# is configuration, not a fault tolerance property. 30% loss runs with `local`, where the gossip
# claim (no false dead) is checked; `__meta` availability during the loss is reported, not asserted.
SCENARIOS = {
    "halves": (halves, 3, "local"),
    "isolate-leader": (isolate_leader, 3, "local"),
    "isolate-partition-leader": (isolate_partition_leader, 3, "local"),
    "ring": (ring, 5, "local"),
    "bridge": (bridge, 5, "local"),
    "oneway": (oneway, 3, "local"),
    "kill-one": (kill_one, 3, "local"),
    "kill-minority": (kill_minority, 5, "local"),
    "pause-leader": (pause_leader, 3, "local"),
    "loss-30": (loss, 3, "local"),
    "delay-200ms": (delay, 3, "lan"),
    "skew-300s": (skew, 3, "local"),
    "rolling-restart": (rolling_restart, 3, "local"),
    "move-replicas": (move_replicas, 5, "local"),
    "decommission": (decommission, 5, "local"),
}
