#!/usr/bin/python3
"""Side-by-side benchmark comparison of two chronik trees (issue 14 "Proof"; docs/performance.md
"Comparing two commits").

    bench/compare.sh BASE_COMMIT [--build-dir DIR] [--rounds R] [--quick] [BENCH...]

BENCH names: raft storage transport formation kafka load gossip (default: all of `make bench`).

It checks BASE_COMMIT out as a git worktree beside the repository (/work/bench-base-<short> for
/work/main: outside the repository, inside ccache's base_dir), builds it there and the current working tree in DIR (both
RelWithDebInfo, -j2, only the targets the chosen benches need), then runs every chosen benchmark for
both builds in one call, interleaved base, head, base, head, ... so that both see the same machine
load, and prints one Markdown table of medians with the ratio head/base and a verdict against a 5%
band in the direction that matters (a throughput may not drop by more than 5%, a time may not rise
by more than 5%). Each side runs its own tree's benchmark (its binaries, and its scripts for the
Python benches), as `make bench` at that commit would; a warning is printed when the benchmark
sources differ between the trees. Raw output of every run is kept under DIR/bench-compare/.

Figures marked "gate" decide the exit status (1 if any fails); "info" rows are shown for context:
the external anchors some benches measure (etcd, raw fdatasync, one RPC per message), counts that
should stay 0 (elections, deaths), and figures too noisy on a shared 2-vCPU machine to gate on.
The gossip bench is driven through gossip_bench directly (the chronik half of bench/gossip/run.sh,
same sizes, repeats, seeds and windows; memberlist and the root-only netns byte count are left out,
they measure the anchor and the kernel, not chronik).
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAND = 0.05

# The build targets each bench needs.
TARGETS = {
    "raft": ["raft_core_bench"],
    "storage": ["storage_bench"],
    "transport": ["transport_bench"],
    "formation": ["chronik-server"],
    "kafka": ["chronik-server", "kafka_load"],
    "load": ["chronik-server"],
    "gossip": ["gossip_bench", "chronik-server"],
}
ALL = list(TARGETS)
# Benchmark sources whose differences between the trees would make the comparison unfair.
SOURCES = ["bench", "tests/cluster/chronik_nodes.py", ":(exclude)bench/compare.*"]


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


# --- the two trees -------------------------------------------------------------------------------

class Side:
    """One tree and its build: `root` holds the sources (scripts), `build` the binaries."""

    def __init__(self, name, root, build):
        self.name, self.root, self.build = name, root, build

    def bin(self, rel):
        return os.path.join(self.build, rel)


def base_worktree(commit):
    full = subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", f"{commit}^{{commit}}"], check=True,
                          capture_output=True, text=True).stdout.strip()
    # Beside the repository (/work/bench-base-<short> for /work/main): outside its tree, so its files are
    # not the repository's, and inside ccache's base_dir at the same depth, so unchanged files hit.
    path = os.path.join(os.path.dirname(REPO), f"bench-base-{full[:7]}")
    if os.path.isdir(path):
        head = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        if head != full:
            sys.exit(f"compare: {path} exists but is at {head[:7] or '?'}, not {full[:7]}; remove it "
                     f"(git worktree remove {path}) and retry")
        dirty = subprocess.run(["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            sys.exit(f"compare: the base worktree {path} has local changes; it must be the commit as is")
        return full, path
    run(["git", "-C", REPO, "worktree", "add", "--detach", path, full])
    return full, path


def build(root, build_dir, targets):
    cache = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(cache):
        run(["cmake", "-S", root, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], stdout=subprocess.DEVNULL)
    else:
        with open(cache) as f:
            kind = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
        # An empty type is RelWithDebInfo: the top-level CMakeLists.txt sets it when none is given
        # (that is how `make build` configures).
        if not kind or kind.group(1) not in ("RelWithDebInfo", ""):
            sys.exit(f"compare: {build_dir} is a {kind.group(1) if kind else '?'} build; both sides must be "
                     "RelWithDebInfo")
    try:
        run(["cmake", "--build", build_dir, "-j2", "--target", *targets], stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        sys.exit(f"compare: building {' '.join(targets)} in {build_dir} failed (the compiler's errors are above); "
                 "if someone is mid-edit in that tree, retry in a minute")


def warn_if_sources_differ(base_commit):
    out = subprocess.run(["git", "-C", REPO, "diff", "--stat", base_commit, "--", *SOURCES],
                         capture_output=True, text=True).stdout.strip()
    if out:
        log("warning: benchmark sources differ between base and head (each side runs its own):\n" + out)


# --- benches: each returns {figure: value} for one run --------------------------------------------
# A figure is (name, direction, gate): direction "higher" (throughput) or "lower" (time, CPU).

FIGURES = {}  # bench -> [(name, direction, gated)] in print order


def figures(bench, *rows):
    FIGURES[bench] = list(rows)


figures("raft",
        ("entries/s, batch 1", "higher", True),
        ("entries/s, batch 16", "higher", True),
        ("entries/s, batch 256", "higher", True))


def bench_raft(side, args, _round):
    extra = ["0.5"] if args.quick else []
    out = capture(side, "raft", [side.bin("bench/raft/raft_core_bench"), *extra])
    got = {}
    for m in re.finditer(r"^(\d+)\s+(\d+)\s+[\d.]+\s*$", out, re.M):
        got[f"entries/s, batch {m.group(1)}"] = float(m.group(2))
    return got


# The disk is shared with every build on the machine and its fsync rate moves by 2x from minute to
# minute; storage_bench measures the raw fdatasync rate in the same run for that reason, so the gated
# figures are the WAL's rates over that anchor (the bench's "vs raw" column), and appends/s are info.
figures("storage",
        ("wal group commit, 16 groups: appends/s vs raw fsyncs/s", "higher", True),
        ("wal group commit, 64 groups: appends/s vs raw fsyncs/s", "higher", True),
        ("wal group commit, 1 groups: appends/s vs raw fsyncs/s", "higher", False),
        ("wal group commit, 16 groups: appends/s", "higher", False),
        ("wal group commit, 64 groups: appends/s", "higher", False),
        ("wal fsync per append, 64 groups: appends/s", "higher", False),
        ("wal group commit, 64 groups: p50 us", "lower", False),
        ("raw 4 KiB pwrite + fdatasync: appends/s (anchor)", "higher", False))


def bench_storage(side, args, _round):
    data = os.path.join(side.build, "bench-compare", "storage_data")
    extra = ["--seconds", "0.5", "--rounds", "1"] if args.quick else []
    out = capture(side, "storage", [side.bin("bench/storage/storage_bench"), "--dir", data, *extra])
    got = {}
    row = r"^(.*?)\s+(\d+)\s+\[\d+-\d+\]\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s*$"
    for m in re.finditer(row, out, re.M):
        name = m.group(1).strip()
        if name.startswith("raw"):
            got["raw 4 KiB pwrite + fdatasync: appends/s (anchor)"] = float(m.group(2))
            continue
        got[f"{name}: appends/s"] = float(m.group(2))
        got[f"{name}: appends/s vs raw fsyncs/s"] = float(m.group(6))
        got[f"{name}: p50 us"] = float(m.group(4))
    return got


figures("transport",
        ("batched, per node pair: messages/s", "higher", True),
        ("batched, <= 1000 in flight: messages/s", "higher", True),
        ("idle hosts, quiescence on, 1000 groups: messages/s", "lower", False),
        ("idle hosts, quiescence on, 1000 groups: CPU %", "lower", False),
        ("idle hosts, quiescence off, 1000 groups: messages/s", "lower", False),
        ("idle hosts, quiescence off, 1000 groups: CPU %", "lower", False),
        ("anchor, 64 calls pipelined: messages/s", "higher", False))


def bench_transport(side, args, _round):
    extra = ["1", "1"] if args.quick else []
    out = capture(side, "transport", [side.bin("bench/transport/transport_bench"), *extra])
    got = {}
    for label, pattern in (("batched, per node pair: messages/s", r"\(b\) chronik transport, batched[^:]*:\s+(\d+)"),
                           ("batched, <= 1000 in flight: messages/s", r"\(b\) same, at most 1000[^:]*:\s+(\d+)"),
                           ("anchor, 64 calls pipelined: messages/s", r"\(a\) anchor[^:]*64 calls pipelined:\s+(\d+)")):
        m = re.search(pattern, out)
        if m:
            got[label] = float(m.group(1))
    section = None
    for line in out.splitlines():
        if line.startswith("(c)"):
            section = "anchor"
        elif line.startswith("(d)"):
            section = "quiescence on" if "quiescence on" in line else "quiescence off"
        m = re.match(r"\s+(\d+) groups:\s+[\d.]+ RPC calls/s\s+([\d.]+) [a-z ]*messages/s\s+CPU\s+([\d.]+)%", line)
        if m and section and section != "anchor" and m.group(1) == "1000":
            got[f"idle hosts, {section}, 1000 groups: messages/s"] = float(m.group(2))
            got[f"idle hosts, {section}, 1000 groups: CPU %"] = float(m.group(3))
    return got


figures("formation",
        ("3 nodes: median s to all registered", "lower", True),
        ("5 nodes: median s to all registered", "lower", True))


def bench_formation(side, args, _round):
    extra = ["--runs", "2"] if args.quick else []
    out = capture(side, "formation", ["/usr/bin/python3", os.path.join(side.root, "bench/formation/formation_bench.py"),
                                      "--server", side.bin("daemon/chronik-server"), *extra])
    return {f"{m.group(1)} nodes: median s to all registered": float(m.group(2))
            for m in re.finditer(r"^(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s*$", out, re.M)}


figures("kafka",
        ("produce 1 record/request, 1 client: requests/s", "higher", True),
        ("produce 1 record/request, 100 clients: requests/s", "higher", True),
        ("produce throughput, 1 KiB records: MB/s", "higher", True),
        ("produce latency at half of peak: p50 ms", "lower", True),
        # The bench measures one TCP stream's loopback bandwidth right before consuming, because on this
        # machine it moves by 2x within a minute: consume as a share of it is the figure to gate on.
        ("consume: share of loopback bandwidth", "higher", True),
        ("consume: MB/s", "higher", False),
        ("produce 1 record/request, 1 client: p50 ms", "lower", False),
        ("produce 1 record/request, 100 clients: p50 ms", "lower", False),
        ("produce latency at half of peak: p99 ms", "lower", False),
        ("etcd puts/s, 100 clients (anchor)", "higher", False))


def bench_kafka(side, args, _round):
    extra = ["--seconds", "2"] if args.quick else []
    out = capture(side, "kafka", ["/usr/bin/python3", os.path.join(side.root, "bench/kafka/kafka_bench.py"),
                                  "--server", side.bin("daemon/chronik-server"),
                                  "--load", side.bin("bench/kafka/kafka_load"), *extra])
    got = {}
    for line in out.splitlines():
        cols = re.split(r"\s{2,}", line.strip())
        if len(cols) < 2:
            continue
        name, ours = cols[0], cols[1]
        number = re.match(r"([\d.]+)", ours)
        if not number:
            continue
        m = re.match(r"produce 1 record/request, (\d+) client\(s\): (requests/s|p50 ms)", name)
        if m:
            clients = "1 client" if m.group(1) == "1" else f"{m.group(1)} clients"
            got[f"produce 1 record/request, {clients}: {m.group(2)}"] = float(number.group(1))
            if m.group(1) == "100" and m.group(2) == "requests/s" and len(cols) > 2:
                anchor = re.search(r"etcd puts/s ([\d.]+)", cols[2])
                if anchor:
                    got["etcd puts/s, 100 clients (anchor)"] = float(anchor.group(1))
        elif name.startswith("produce throughput, 1 KiB"):
            got["produce throughput, 1 KiB records: MB/s"] = float(number.group(1))
        elif name.startswith("produce latency at half of peak"):
            p = re.match(r"([\d.]+) / ([\d.]+)", ours)
            if p:
                got["produce latency at half of peak: p50 ms"] = float(p.group(1))
                got["produce latency at half of peak: p99 ms"] = float(p.group(2))
        elif name == "consume":
            got["consume: MB/s"] = float(number.group(1))
            share = re.match(r"([\d.]+)x", cols[-1])
            if share and len(cols) > 3:
                got["consume: share of loopback bandwidth"] = float(share.group(1))
    return got


figures("load",
        ("quiet: records/s", "higher", True),
        ("hogged: records/s", "higher", True),
        ("quiet + hogged: elections (count)", "lower", False),
        ("quiet + hogged: suspicions + deaths (count)", "lower", False))


def bench_load(side, args, _round):
    extra = ["--seconds", "10"] if args.quick else []
    out = capture(side, "load", ["/usr/bin/python3", os.path.join(side.root, "bench/load/load_bench.py"),
                                 "--server", side.bin("daemon/chronik-server"), *extra])
    last = [line for line in out.splitlines() if line.startswith("{")]
    if not last:
        return {}
    r = json.loads(last[-1])
    phases = [r[p] for p in ("quiet", "hogged") if p in r]
    return {
        "quiet: records/s": r["quiet"]["records_s"],
        "hogged: records/s": r["hogged"]["records_s"],
        "quiet + hogged: elections (count)": sum(p["meta_elections"] + p["partition_elections"] for p in phases),
        "quiet + hogged: suspicions + deaths (count)": sum(p["suspicions"] + p["deaths"] for p in phases),
    }


# bench/gossip/run.sh's chronik half: its SIZES, REPEATS (rounds), seeds SEED_BASE + r (the same for
# both sides, so both draw the same probe orders), a bytes window on the first repeat only.
GOSSIP_SIZES = (8, 16, 32)
GOSSIP_SIZES_QUICK = (8, 16)
GOSSIP_PAUSES = (2, 4)
GOSSIP_PAUSE_N = 16


def gossip_figures(quick):
    rows = []
    for n in GOSSIP_SIZES_QUICK if quick else GOSSIP_SIZES:
        # Convergence completes on a gossip tick, so it moves in steps of the lan preset's 200 ms gossip
        # interval: a difference of one step is the figure's resolution, not a change (SLACK).
        rows += [(f"N={n}: convergence after last join, s", "lower", True),
                 (f"N={n}: death seen by median survivor, s", "lower", True)]
        if not quick:
            rows.append((f"N={n}: silent host: death seen by median survivor, s", "lower", False))
        rows.append((f"N={n}: payload bytes/s per node", "lower", True))
    if not quick:
        for d in GOSSIP_PAUSES:
            rows += [(f"pause {d} s: nodes that declared the paused node dead (count)", "lower", False),
                     (f"pause {d} s: nodes that suspected the paused node (count)", "lower", False)]
    return rows


figures("gossip", *gossip_figures(quick=False))


def bench_gossip(side, args, rnd):
    sizes = GOSSIP_SIZES_QUICK if args.quick else GOSSIP_SIZES
    seed = str(args.seed_base + rnd + 1)
    gb = side.bin("bench/gossip_bench")
    got = {}
    for n in sizes:
        steady = ["--steady-s", "2" if args.quick else "10"] if rnd == 0 else ["--settle-s", "0", "--steady-s", "1"]
        common = [gb, "-n", n, "--preset", "lan", "--port", 28100, "--seed", seed]
        fields = result_fields(capture(side, "gossip", [*common, *steady], ok_codes=(0, 1)))
        if "converge_s" in fields:
            got[f"N={n}: convergence after last join, s"] = float(fields["converge_s"])
        if "detect_median_s" in fields:
            got[f"N={n}: death seen by median survivor, s"] = float(fields["detect_median_s"])
        if rnd == 0 and "payload_bytes_per_s_per_node" in fields:
            got[f"N={n}: payload bytes/s per node"] = float(fields["payload_bytes_per_s_per_node"])
        if not args.quick:
            fields = result_fields(capture(side, "gossip", [*common, "--settle-s", "0", "--steady-s", "1",
                                                            "--silent-crash"], ok_codes=(0, 1)))
            if "detect_median_s" in fields:
                got[f"N={n}: silent host: death seen by median survivor, s"] = float(fields["detect_median_s"])
    if rnd == 0 and not args.quick:  # run.sh runs the pause test once per call
        for d in GOSSIP_PAUSES:
            out = capture(side, "gossip", [gb, "-n", GOSSIP_PAUSE_N, "--preset", "lan", "--port", 28100,
                                           "--pause-ms", d * 1000, "--server", side.bin("daemon/chronik-server")],
                          ok_codes=(0, 1))
            for key, what in (("declared-ext-dead", "declared the paused node dead"),
                              ("suspected-ext", "suspected the paused node")):
                m = re.search(rf"nodes-that-{key}=(\d+)", out)
                if m:
                    got[f"pause {d} s: nodes that {what} (count)"] = float(m.group(1))
    return got


def result_fields(out):
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    return dict(kv.split("=", 1) for kv in lines[-1].split()[1:] if "=" in kv) if lines else {}


# --- running -------------------------------------------------------------------------------------

RUN_LOG = {"dir": None, "n": 0, "replay": None}


def load_replay(directory):
    """{(bench, side): [stdout, ...]} from the files capture() wrote, in the order they were written."""
    queues = {}
    for name in sorted(os.listdir(directory)):
        m = re.match(r"\d+-(\w+)-(base|head)\.txt$", name)
        if m:
            with open(os.path.join(directory, name)) as f:
                body = f.read().split("\n", 2)[2]  # after the command and exit lines
            queues.setdefault((m.group(1), m.group(2)), []).append(body.rsplit("\n--- stderr ---\n", 1)[0])
    return queues


def capture(side, bench, cmd, ok_codes=(0,)):
    """Runs one benchmark command of `side`, keeps its output in the log directory, returns stdout.
    With --replay it returns the next kept output of that bench and side instead."""
    if RUN_LOG["replay"] is not None:
        queue = RUN_LOG["replay"].get((bench, side.name), [])
        return queue.pop(0) if queue else ""
    RUN_LOG["n"] += 1
    path = os.path.join(RUN_LOG["dir"], f"{RUN_LOG['n']:03d}-{bench}-{side.name}.txt")
    log(f"{side.name}: {' '.join(shlex.quote(str(c)) for c in cmd)}")
    start = time.monotonic()
    out = subprocess.run([str(c) for c in cmd], cwd=side.root, capture_output=True, text=True, timeout=3600)
    with open(path, "w") as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n# exit {out.returncode}, {time.monotonic() - start:.1f} s\n")
        f.write(out.stdout + "\n--- stderr ---\n" + out.stderr)
    if out.returncode not in ok_codes:
        log(f"{side.name}: {bench} exited {out.returncode}; its figures of this run are missing (log: {path})")
    return out.stdout


def default_rounds(bench, quick):
    if bench == "gossip":
        return 3 if quick else 7  # run.sh's REPEATS
    return 3


# Figures whose value moves in fixed steps: a difference of at most one step passes whatever the ratio.
SLACK = {f"N={n}: convergence after last join, s": 0.2 for n in GOSSIP_SIZES}


def verdict(base, head, direction, gated, slack=0.0):
    if base is None or head is None:
        return "n/a", "missing"
    if base == 0:
        ratio = 1.0 if head == 0 else float("inf")
    else:
        ratio = head / base
    ok = ratio >= 1 - BAND if direction == "higher" else ratio <= 1 + BAND
    ok = ok or abs(head - base) <= slack + 1e-9
    word = ("PASS" if ok else "FAIL") if gated else ("info, within" if ok else "info, outside")
    return (f"{ratio:.3f}" if ratio != float("inf") else "inf"), word


def fmt(values):
    if not values:
        return "n/a"
    med = statistics.median(values)
    digits = 0 if abs(med) >= 100 else 3
    text = f"{med:,.{digits}f}"
    if len(values) > 1:
        text += f" [{min(values):,.{digits}f}-{max(values):,.{digits}f}]"
    return text


def parse_args():
    ap = argparse.ArgumentParser(description="Runs make bench's benchmarks for BASE_COMMIT and the working "
                                             "tree side by side and prints head/base ratios against a 5% band.")
    ap.add_argument("base", help="the commit to compare against, e.g. 9c437d7")
    ap.add_argument("benches", nargs="*", help=f"subset of {' '.join(ALL)} (default: all)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"), help="build dir of the working tree")
    ap.add_argument("--rounds", type=int, help="rounds per bench (default 3; gossip 7, as run.sh)")
    ap.add_argument("--quick", action="store_true", help="shorter durations per run (a smoke test, not a proof)")
    ap.add_argument("--seed-base", type=int, default=1000, help="gossip: round r uses seed SEED_BASE + r + 1")
    ap.add_argument("--no-build", action="store_true", help="use both builds as they are")
    ap.add_argument("--replay", metavar="DIR", help="tabulate the raw output kept in DIR by an earlier call "
                    "(give the same benches, --rounds and --quick) instead of running anything")
    args = ap.parse_intermixed_args()
    args.benches = args.benches or ALL
    unknown = [b for b in args.benches if b not in TARGETS]
    if unknown:
        ap.error(f"unknown bench {' '.join(unknown)}; choose from {' '.join(ALL)}")
    if args.rounds is not None and not 1 <= args.rounds <= 50:
        ap.error("--rounds in [1, 50]")
    if args.quick:
        figures("gossip", *gossip_figures(quick=True))
        TARGETS["gossip"] = ["gossip_bench"]  # no pause test, so no chronik-server
    return args


def run_rounds(args, base, head):
    """{(bench, figure): {"base": [...], "head": [...]}}, one value per side and round."""
    results = {}
    for bench in args.benches:
        fn = globals()[f"bench_{bench}"]
        rounds = args.rounds or default_rounds(bench, args.quick)
        for rnd in range(rounds):
            for side in (base, head):  # A B A B ...: both sides see the same stretch of machine load
                log(f"{bench} round {rnd + 1}/{rounds}, {side.name}")
                for fig, value in fn(side, args, rnd).items():
                    results.setdefault((bench, fig), {"base": [], "head": []})[side.name].append(value)
    return results


def print_table(args, results, title):
    """Prints the Markdown table; returns True if every gated figure passed."""
    print(title)
    print("Median of the rounds [min-max]; ratio = head/base of the medians. PASS: a throughput (higher) "
          f"drops by at most {BAND:.0%}, a time or cost (lower) rises by at most {BAND:.0%}.\n")
    print("| bench | figure | better | base | head | head/base | verdict |")
    print("|---|---|---|---|---|---|---|")
    passed = True
    for bench in args.benches:
        rounds = args.rounds or default_rounds(bench, args.quick)
        for fig, direction, gated in FIGURES[bench]:
            got = results.get((bench, fig), {"base": [], "head": []})
            b = statistics.median(got["base"]) if got["base"] else None
            h = statistics.median(got["head"]) if got["head"] else None
            ratio, word = verdict(b, h, direction, gated, SLACK.get(fig, 0.0))
            passed &= not gated or word == "PASS"
            print(f"| {bench} (x{rounds}) | {fig} | {direction} | {fmt(got['base'])} | {fmt(got['head'])} | "
                  f"{ratio} | {word} |")
    print("\nPASS: every gated figure is within the band" if passed else
          "\nFAIL: a gated figure is outside the band or missing")
    return passed


def main():
    args = parse_args()
    if args.replay:
        RUN_LOG["replay"] = load_replay(args.replay)
        RUN_LOG["dir"] = args.replay
        base, head = Side("base", "", "(replayed)"), Side("head", "", "(replayed)")
        results = run_rounds(args, base, head)
        return 0 if print_table(args, results, f"\nreplayed from {args.replay} (base {args.base})\n") else 1
    base_commit, base_root = base_worktree(args.base)
    base = Side("base", base_root, os.path.join(base_root, "build-bench"))
    head = Side("head", REPO, os.path.abspath(args.build_dir))
    targets = sorted({t for b in args.benches for t in TARGETS[b]})
    if not args.no_build:
        build(base.root, base.build, targets)
        build(head.root, head.build, targets)
    warn_if_sources_differ(base_commit)
    RUN_LOG["dir"] = os.path.join(head.build, "bench-compare", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(RUN_LOG["dir"], exist_ok=True)
    head_desc = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                               text=True).stdout.strip()
    started = time.monotonic()
    results = run_rounds(args, base, head)
    title = (f"\nchronik benchmarks side by side: base {base_commit[:7]} ({base.build}) vs head {head_desc} "
             f"({head.build}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
             f"{'--quick, ' if args.quick else ''}{(time.monotonic() - started) / 60:.1f} min; "
             f"raw output in {RUN_LOG['dir']}\n")
    return 0 if print_table(args, results, title) else 1


if __name__ == "__main__":
    sys.exit(main())
