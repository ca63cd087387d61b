"""The `decommission` scenario of the partition suite (issue 19; docs/partition-testing.md
"Decommission (`decommission`, issue 19)").

A decommission (docs/operations.md "Decommissioning a node") is a chain of membership changes made
while clients write: every partition on the leaving node moves off it (a learner first, then its
promotion, then the node's removal, one single-server change at a time) and the node leaves the
`__meta` configuration. So it belongs among the faults, and gets one more fault in the middle of
it: a kill -9 of a partition leader or of a replica being added, or a short cut isolating one node.
"""
import time

import checkers
from kafka_workload import REPLICATION
from scenario_run import POLL_SLACK_S, ScenarioFailed, convergence_bound, leader_bound

# The decommission records done within this of the victim's restart or the heal. A move whose new
# replica was killed waits for it to come back and catch up; the same settle time as move-replicas.
DONE_AFTER_FAULT_S = 30
# Once one node answers done, every other running node's Metadata and `/v1/cluster` show the
# outcome within this (they apply the same `__meta` records, a moment later at most).
VIEWS_S = 10
# A replica being added shows in ListPartitionReassignments within this of the request, or the
# scenario kills a partition leader instead (the moves may all have ended by then).
FIND_ADDING_S = 5
# The cut isolating one node lasts this long (times the hold scale): past the crash-detection
# bound (2.3 s for 5 nodes), so the rest of the cluster acts on it.
ISOLATE_S = 3.0
# As `chronik-server node decommission` (daemon/decommission_command.cc): the request is sent again
# when `__meta` has not shown it this long after the last one.
REPROPOSE_S = 2.0
FAULT_KINDS = ("kill partition leader", "kill new replica", "isolate")


def progress(run, node, leaving):
    """The decommission progress of `leaving` as node `node`'s `__meta` replica shows it, or None
    (no answer, or not 200)."""
    try:
        status, body = run.admin(node, f"/v1/nodes/{leaving}/decommission")
    except Exception:  # noqa: BLE001 - a node down or cut off: the caller asks another
        return None
    return body if status == 200 and isinstance(body, dict) else None


def observers(run, leaving, cut_off=()):
    """Nodes whose word on the decommission counts: running, not cut off, and not the leaving node,
    which hears no more `__meta` records once out of the configuration."""
    return [i for i in run.h.ids() if i != leaving and i not in cut_off and run.h.running(i)]


def request(run, node, leaving):
    """POST /v1/nodes/<leaving>/decommission through node `node`: (status, body), or (None, why)."""
    try:
        return run.admin(node, f"/v1/nodes/{leaving}/decommission", body={})
    except Exception as e:  # noqa: BLE001 - no answer: the caller may ask again
        return None, f"{type(e).__name__}: {e}"


def finished(body):
    """The decommission is over, as `chronik-server node decommission` decides: recorded done (no
    partition lists the node) and the node out of the `__meta` configuration, which the controller
    takes it out of only after the done record."""
    return body.get("state") == "done" and body.get("meta_member") == "none"


def poll_until_done(run, leaving, until, samples, posts, cut_off=()):
    """Asks the observers in turn (every 0.1 s) until one answers finished() or `until`; appends
    every answer to `samples` as (t, node, body). Returns the time of that answer or None.

    202 means proposed, not committed: a follower's forward, or a leader's proposal, dies with a
    node killed right after. So, as `chronik-server node decommission` does, the request is sent
    again (through an observer) when `__meta` still shows no decommission REPROPOSE_S after the
    last one, unless some node has shown it already (then a "none" is a lagging copy); `posts`
    lists every request as (t, node, status)."""
    while run.now() < until:
        nodes = observers(run, leaving, cut_off)
        if nodes:
            node = run.rng.choice(nodes)
            body = progress(run, node, leaving)
            if body is not None:
                samples.append((run.now(), node, body))
                if finished(body):
                    return samples[-1][0]
                shown = any(b.get("state") != "none" for _, _, b in samples)
                if body.get("state") == "none" and not shown and run.now() - posts[-1][0] > REPROPOSE_S:
                    status, _ = request(run, node, leaving)
                    posts.append((run.now(), node, status))
        time.sleep(0.1)
    return None


def adding_replica(run, leaving, until):
    """A node (not the leaving one) that ListPartitionReassignments shows as being added to some
    partition, polled through running nodes until `until`; None if none showed."""
    while run.now() < until:
        nodes = observers(run, leaving)
        node = run.rng.choice(nodes)
        try:
            err, moving = run.reassignments(node)
        except Exception:  # noqa: BLE001 - ask another node next time
            err, moving = None, {}
        if err == 0:
            adding = sorted({a for m in moving.values() for a in m["adding"] if a != leaving})
            if adding:
                return run.rng.choice(adding)
        time.sleep(0.05)
    return None


def metadata_view(run, node, leaving, data_topics, timeout_s=8):
    """What node `node`'s Metadata says against the decommission's outcome: a list of problems
    (empty when every partition of every topic is off `leaving`, and every partition of the
    workload topics keeps REPLICATION replicas with a leader among them), or None (no answer)."""
    from observe import metadata_topics
    topics = metadata_topics(run.client(node), node, run.h.kafka_addr(node), None, timeout_s)
    if topics is None:
        return None
    problems = []
    seen = set()
    for err, name, _internal, parts in topics:
        if err != 0:
            continue
        seen.add(name)
        for _perr, p, leader, replicas, isr in parts:
            if leaving in replicas or leaving in isr:
                problems.append(f"{name}/{p} replicas {list(replicas)} isr {list(isr)} list node {leaving}")
            if name in data_topics and (len(replicas) != REPLICATION or leader not in replicas):
                problems.append(f"{name}/{p} has replicas {list(replicas)}, leader {leader}")
    problems += [f"{t} not listed" for t in data_topics if t not in seen]
    return problems


def views_show_outcome(run, leaving, data_topics, t_done):
    """Waits (VIEWS_S) until every observer's Metadata shows the partitions off the leaving node
    with their replication factor, and its `/v1/cluster` (a sample taken after done) lists the
    node neither as a voter nor as a learner of `__meta`. Fails the scenario otherwise; returns
    the last `/v1/cluster` views."""
    deadline = run.now() + VIEWS_S
    problems, confs = {}, {}
    while run.now() < deadline:
        nodes = observers(run, leaving)
        problems = {i: metadata_view(run, i, leaving, data_topics) for i in nodes}
        confs = {}
        for i in nodes:
            s = run.collector.latest(i)
            c = s[3] if s and s[0] > t_done else None
            confs[i] = None if not c else (sorted(c.get("voters", [])), sorted(c.get("learners", [])))
        meta_ok = all(v is not None and leaving not in v[0] + v[1] for v in confs.values())
        if meta_ok and all(p == [] for p in problems.values()):
            return confs
        time.sleep(0.2)
    bad = {i: p for i, p in problems.items() if p != []}
    if bad:
        run.fail(f"{VIEWS_S}s after done, Metadata still shows (node: problems, None = no answer) {bad}")
    in_meta = {i: v for i, v in confs.items() if v is None or leaving in v[0] + v[1]}
    if in_meta:
        run.fail(f"{VIEWS_S}s after done, __meta (voters, learners) still lists node {leaving} "
                 f"(or no status) on {in_meta}")
    return confs


def recovered_besides(run, leaving, t_from):
    """After the fault (the leaving node still running, no longer in `__meta`): the time every
    running node's gossip view shows exactly the running nodes alive and every node but the leaving
    one names one linearizable `__meta` leader, or None after the bound plus 10 s."""
    running = [i for i in run.h.ids() if run.h.running(i)]
    rest = [i for i in running if i != leaving]
    t = run.wait(lambda m, c: checkers.gossip_converged(running)(m, c) and checkers.one_leader(rest)(m, c),
                 leader_bound(run.preset) + POLL_SLACK_S + 10, running, t_from=t_from)
    return None if t is None else t - t_from


def decommission(run):
    """Decommission a seeded node holding replicas of the workload topic (a `__meta` voter: with 5
    nodes every node votes) through another seeded node's admin API, with one seeded fault while it
    runs; it must end (done) and leave no trace of the node in the partitions or in `__meta`, and
    the workloads' checks after the heal must find nothing acknowledged lost."""
    # scenarios.py registers this scenario and owns the hold scale and the placement helper;
    # imported here, at run time, as it imports this module.
    from scenarios import HOLD, MOVE_GAP_S, MOVE_VICTIM_DOWN_S, stable_placement
    topic = run.data.topic
    data_topics = [topic, run.txn.topic]
    ids = run.h.ids()
    placement = stable_placement(run, topic)
    holders = sorted({r for _, rs in placement.values() for r in rs})
    conf = run.cluster(run.leader()) or {}
    voters = set(conf.get("voters", []))
    leaving = run.rng.choice([i for i in holders if i in voters] or holders)
    via = run.rng.choice([i for i in ids if i != leaving])
    kind = run.rng.choice(FAULT_KINDS)
    held = sorted(p for p, (_, rs) in placement.items() if leaving in rs)
    led = sorted(p for p, (l, _) in placement.items() if l == leaving)
    run.notes.append(f"seed's choices: decommission node {leaving} (holds {topic} partitions {held}, leads {led}; "
                     f"__meta {'voter' if leaving in voters else 'not a voter'}, leader {run.leader()}) "
                     f"through node {via}'s admin API; fault: {kind}")

    status, body = request(run, via, leaving)
    t_post = run.now()
    if status != 202:
        raise ScenarioFailed(f"POST /v1/nodes/{leaving}/decommission through node {via} answered {status} {body}")
    samples, posts = [], [(t_post, via, status)]

    # The fault, at once (or, for a new replica, as soon as one is being added).
    victim, cut_off = None, ()
    if kind == "kill new replica":
        victim = adding_replica(run, leaving, t_post + FIND_ADDING_S)
        if victim is None:
            kind = "kill partition leader"
            run.notes.append(f"no replica being added showed within {FIND_ADDING_S}s: killed a partition leader")
    if kind == "kill partition leader":
        now = stable_placement(run, topic)
        leaders = sorted({l for l, _ in now.values() if l != leaving})
        victim = run.rng.choice(leaders or [i for i in ids if i != leaving])
    if kind == "isolate":
        victim = run.rng.choice(ids)
        cut_off = (victim,)
        run.h.cut([[victim], [i for i in ids if i != victim]])
    else:
        run.h.kill(victim)
    t_fault = run.now()
    at_fault = progress(run, run.rng.choice(observers(run, leaving, (victim,))), leaving)
    run.fault(f"decommission {leaving} via {via}; " + (f"isolate {victim}" if cut_off else f"kill -9 {kind[5:]} {victim}"))
    run.notes.append(f"fault {t_fault - t_post:.2f}s after the request; progress then {at_fault}")

    # While the fault holds, the decommission goes on (or ends): watched, not slept through.
    hold_s = (ISOLATE_S if cut_off else MOVE_VICTIM_DOWN_S) * HOLD["scale"]
    t_done = poll_until_done(run, leaving, t_fault + hold_s, samples, posts, cut_off)
    time.sleep(max(0.0, t_fault + hold_s - run.now()))  # the fault's hold, past any done
    t_heal = run.now()  # the cut ends as heal() flushes the namespaces' rules one by one
    if cut_off:
        run.h.heal()
        run.fault("heal")
    else:
        run.h.start(victim)
        run.fault(f"start {victim}")
    t_end = run.now()
    if t_done is None:
        t_done = poll_until_done(run, leaving, t_end + DONE_AFTER_FAULT_S, samples, posts)
    if t_done is None:
        raise ScenarioFailed(f"node {leaving} not decommissioned (done, out of __meta) {DONE_AFTER_FAULT_S}s "
                             f"after the {'heal' if cut_off else 'restart'}; last progress "
                             f"{samples[-1][2] if samples else None}")
    final = samples[-1][2]
    t_recorded = next(t for t, _, b in samples if b.get("state") == "done")
    peak = max((s[2].get("partitions_left", 0) for s in samples), default=0)
    stuck = max((s[2].get("stuck", 0) for s in samples), default=0)
    run.notes.append(f"done and out of __meta {t_done - t_post:.2f}s after the request ({t_done - t_end:+.2f}s "
                     f"from the {'heal' if cut_off else 'restart'}; done first seen at {t_recorded - t_post:.2f}s), "
                     f"answered by node {samples[-1][1]}: {final}; at most {peak} partitions left and {stuck} "
                     f"stuck in {len(samples)} answers")
    if len(posts) > 1:
        run.notes.append("the request was sent again (not yet in __meta): " + ", ".join(
            f"{t - t_post:.2f}s via node {n} -> {st}" for t, n, st in posts[1:]))
    if final.get("partitions_left") != 0 or final.get("moving") != 0:
        run.fail(f"done, yet node {samples[-1][1]} reports {final}")

    confs = views_show_outcome(run, leaving, data_topics, t_done)
    run.notes.append(f"__meta (voters, learners) after: {sorted(set(map(str, confs.values())))}")
    own = metadata_view(run, leaving, leaving, data_topics, timeout_s=3)
    try:
        own_status = run.admin(leaving, f"/v1/nodes/{leaving}/decommission")
    except Exception as e:  # noqa: BLE001 - noted as it is
        own_status = f"{type(e).__name__}"
    run.notes.append(f"node {leaving} itself (not judged): Metadata "
                     f"{'no answer within 3s' if own is None else (own[:3] or 'shows the outcome')}, "
                     f"its decommission endpoint {str(own_status)[:160]}")
    # The partitions keep taking writes throughout (docs/operations.md): as in move-replicas, no
    # workload partition may go longer than MOVE_GAP_S without an acknowledged write, whichever node
    # the fault hit; the victim stays down longer than that, so a partition waiting for it fails.
    gaps = {p: run.data.longest_ack_gap(t_post, t_done, p) for p in sorted(placement)}
    run.notes.append("longest stretch without an acknowledged write during the decommission: "
                     + ", ".join(f"p{p} {g:.2f}s" for p, g in gaps.items()))
    for p, g in gaps.items():
        if g > MOVE_GAP_S:
            run.fail(f"partition {p} took no acknowledged write for {g:.2f}s during the decommission "
                     f"(bound {MOVE_GAP_S}s)")
    for p in sorted(placement):
        if run.data.first_ack_after(t_post, p, ids) is None:
            run.fail(f"partition {p} took no acknowledged write after the decommission request")

    # Recovery from the fault, the leaving node still up: views converge, one `__meta` leader.
    rec = recovered_besides(run, leaving, t_end)
    bound = leader_bound(run.preset) + POLL_SLACK_S
    if rec is None:
        run.fail(f"no convergence and single __meta leader within {bound + 10:.1f}s of the "
                 f"{'heal' if cut_off else 'restart'}")
    else:
        run.recover = rec
        if rec > bound:
            run.fail(f"converged with one leader {rec:.2f}s after the {'heal' if cut_off else 'restart'} "
                     f"> bound {bound:.2f}s")
    if not cut_off:
        run.check_no_false_dead(t_fault, t_end, allowed=[victim])
    else:
        # A cut node sees everyone dead, and everyone sees it dead: only the others' views of each
        # other count, during the cut. Just after the heal the cut node's own dead claims reach
        # the others (docs/partition-testing.md "Decommission"): noted, not judged, as in every
        # scenario with a cut.
        rest = [i for i in ids if i != victim]
        snap = run.collector.snapshot()
        bad = [(t, o, n) for t, o, n in checkers.false_dead(snap, t_fault, t_heal, {victim}) if o != victim]
        if bad:
            run.fail(f"false dead among {rest} during the cut (t, observer, node): {bad[:5]}")
        after = [(round(t + t_heal - t_fault, 2), o, n) for t, o, n in
                 checkers.false_dead(snap, t_heal, t_end + 1.0, {victim}) if o != victim]
        if after:
            run.notes.append(f"within 1 s of the heal, nodes of {rest} showed others of {rest} dead "
                             f"(t from the cut, observer, node): {after[:6]}")

    # The operator stops the node once it is done; the rest must then agree without it.
    run.h.stop(leaving)
    t_stop = run.now()
    run.fault(f"stop {leaving} (decommissioned)")
    run.check_election_safety()
    after_fault = run.recover
    run.check_recovery(t_stop)
    run.notes.append(f"recovery after stopping node {leaving}: "
                     f"{'-' if run.recover is None else f'{run.recover:.2f}s'} (convergence bound "
                     f"{convergence_bound(run.preset) + POLL_SLACK_S:.2f}s)")
    run.recover = after_fault
