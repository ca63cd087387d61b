"""Checkers over the Collector's samples: (t, node, members or None, cluster or None).

Each returns data, never raises; the scenarios turn the results into failures with a reason.
"""


def leaders_per_term(samples):
    """{term: {leader ids}} from every node's own role and from the leader each node names for its
    current term. Raft's Election Safety (§5.2): every set must have at most one element."""
    out = {}
    for _, node, _, c in samples:
        if not c or c.get("term") is None:
            continue
        term = c["term"]
        if c.get("role") == "leader":
            out.setdefault(term, set()).add(node)
        if c.get("meta_leader"):
            out.setdefault(term, set()).add(c["meta_leader"])
    return out


def election_safety_violations(samples):
    return {t: sorted(s) for t, s in leaders_per_term(samples).items() if len(s) > 1}


def commit_advanced(samples, nodes, t_from, t_to, grace):
    """The minority check: for every node in `nodes`, its commit index must not go above what it had
    at t_from + grace (the grace lets messages already in flight at the cut land). Returns a list of
    (node, baseline, later commit, t) violations."""
    bad = []
    for n in nodes:
        base = None
        for t, node, _, c in samples:
            if node != n or not c or c.get("commit") is None:
                continue
            if t <= t_from + grace:
                base = c["commit"] if base is None else max(base, c["commit"])
            elif t <= t_to and base is not None and c["commit"] > base:
                bad.append((n, base, c["commit"], round(t - t_from, 2)))
                break
    return bad


class Views:
    """Replays the samples in time order, keeping each node's latest membership and status."""

    def __init__(self, samples):
        self.samples = sorted(samples, key=lambda s: s[0])

    def first_time(self, t_from, predicate, nodes):
        """First sample time >= t_from at which predicate(latest members, latest cluster) holds,
        where both are dicts {node: value} holding only samples taken at or after t_from."""
        members, cluster = {}, {}
        for t, node, m, c in self.samples:
            if t < t_from or node not in nodes:
                continue
            members[node], cluster[node] = m, c
            if len(members) == len(nodes) and predicate(members, cluster):
                return t
        return None


def all_see_state(target, state, observers):
    """Predicate: every observer's latest view shows `target` in `state`."""
    def pred(members, _cluster):
        for o in observers:
            m = members.get(o)
            if m is None or target not in m or m[target]["state"] != state:
                return False
        return True
    return pred


def gossip_converged(running):
    """Predicate: every running node sees exactly the running nodes alive."""
    want = set(running)

    def pred(members, _cluster):
        for o in running:
            m = members.get(o)
            if m is None:
                return False
            alive = {i for i, v in m.items() if v["state"] == "alive"}
            if alive != want:
                return False
        return True
    return pred


def one_leader(nodes, linearizable=True):
    """Predicate: every node names the same `__meta` leader (a member of `nodes`) and, if asked,
    answers with a linearizable read; the leader itself says it leads."""
    def pred(_members, cluster):
        leaders = set()
        for n in nodes:
            c = cluster.get(n)
            if not c or not c.get("meta_leader"):
                return False
            if linearizable and c.get("read") != "linearizable":
                return False
            leaders.add(c["meta_leader"])
        if len(leaders) != 1:
            return False
        leader = leaders.pop()
        return leader in nodes and cluster[leader].get("role") == "leader"
    return pred


def brokers_alive(nodes):
    """Predicate: every node lists every node of `nodes` as an alive broker in `__meta`."""
    want = set(nodes)

    def pred(_members, cluster):
        for n in nodes:
            c = cluster.get(n)
            if not c or {b["node_id"] for b in c.get("brokers", []) if b["state"] == "alive"} != want:
                return False
        return True
    return pred


def false_dead(samples, t_from, t_to, allowed):
    """Observations of a node outside `allowed` as dead in [t_from, t_to]: [(t, observer, node)]."""
    bad = []
    for t, obs, m, _ in samples:
        if t < t_from or t > t_to or not m:
            continue
        for node, v in m.items():
            if v["state"] == "dead" and node not in allowed:
                bad.append((round(t - t_from, 2), obs, node))
    return bad


def agreement(cluster_by_node):
    """After heal: every node's commit, applied index, applied-state hash (`state_hash`, CRC-32C of
    the `__meta` state's canonical bytes) and broker list agree. Returns a list of differences."""
    diffs = []
    views = {n: c for n, c in cluster_by_node.items() if c}
    if len(views) != len(cluster_by_node):
        diffs.append(f"no status from {sorted(set(cluster_by_node) - set(views))}")
    for key in ("cluster_id", "commit", "applied", "state_hash"):
        vals = {n: c.get(key) for n, c in views.items()}
        if len(set(vals.values())) > 1:
            diffs.append(f"{key} differs: {vals}")
    brokers = {n: tuple(sorted((b["node_id"], b["state"]) for b in c.get("brokers", []))) for n, c in views.items()}
    if len(set(brokers.values())) > 1:
        diffs.append(f"brokers differ: {brokers}")
    for n, c in views.items():
        if c.get("applied") is not None and c.get("commit") is not None and c["applied"] != c["commit"]:
            diffs.append(f"node {n} applied {c['applied']} != commit {c['commit']}")
    return diffs


def security_counters(cluster):
    """The security counters of one /v1/cluster answer (docs/security.md): RPC connections
    accepted over TLS and in plaintext, TLS handshake failures, batches refused for the sender's
    certificate, and gossip traffic dropped for failing authentication or for being plaintext.
    None when the answer has no `load.rpc` (a node without TLS support)."""
    load = (cluster or {}).get("load") or {}
    rpc, gossip = load.get("rpc"), load.get("gossip") or {}
    if rpc is None:
        return None
    return {"tls": rpc.get("tls_connections", 0), "plaintext": rpc.get("plaintext_connections", 0),
            "handshake_failures": rpc.get("tls_handshake_failures", 0),
            "identity_refusals": rpc.get("tls_identity_refusals", 0),
            "gossip_auth_failed": gossip.get("auth_failed_dropped", 0),
            "gossip_plaintext": gossip.get("plaintext_dropped", 0)}


def rpc_tls_in_use(nodes):
    """Predicate: every node has accepted at least one RPC connection over TLS and none in plaintext
    (mutual TLS is what carries Raft between them)."""
    def pred(_members, cluster):
        for n in nodes:
            s = security_counters(cluster.get(n))
            if s is None or s["tls"] < 1 or s["plaintext"] != 0:
                return False
        return True
    return pred


def security_violations(cluster_by_node):
    """What must never happen between nodes that all hold the cluster's certificates and gossip key,
    whatever the network does: a plaintext RPC connection, a batch whose sender is not the node its
    certificate names, plaintext gossip. Cut connections and lost or delayed packets may fail a TLS
    handshake or a sealed frame, so those counts are reported, not judged. Returns a list of
    problems (a node without a status is one)."""
    problems = []
    for n, c in sorted(cluster_by_node.items()):
        s = security_counters(c)
        if s is None:
            problems.append(f"node {n}: " + ("no status" if not c else "no load.rpc counters in /v1/cluster"))
            continue
        for key in ("plaintext", "identity_refusals", "gossip_plaintext"):
            if s[key]:
                problems.append(f"node {n}: {key} = {s[key]}")
    return problems
