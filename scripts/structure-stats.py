#!/usr/bin/python3
"""Structure figures of chronik's modules at one or two commits (issue 14 "Proof": the before/after
table of docs/architecture.md).

    scripts/structure-stats.py COMMIT            one column of figures
    scripts/structure-stats.py BEFORE AFTER      before | after columns, e.g. 9c437d7 HEAD
    scripts/structure-stats.py --arrows BEFORE AFTER   one column per figure, "before → after"
    (either may be WORKTREE: the working tree, tracked and untracked-but-not-ignored files)

It reads files through git (ls-tree and cat-file), so no checkout is needed. Per module, and per
sub-directory where a module has a core and shells:
  - files: .h and .cc files;
  - core lines and shell lines: physical lines (wc -l) of core files and of the rest, by the rule
    CORE_RULES below;
  - shell clock reads: `X::now(` where X is a std::chrono clock (steady_clock, system_clock,
    high_resolution_clock), a name with "clock" in it (clock, clock_type, connection::clock) or a
    `using NAME = std::chrono::..._clock` alias of the same file, in shell files (tests and benches
    are not in any module, so never counted);
  - core clock reads, counted the same way in core files: a core may not read a clock, so this
    column should be 0;
  - assertions: uses of CHRONIK_*ASSERT*, CHRONIK_*EXPECTS*, CHRONIK_*ENSURES* and assert(, with //
    comments and #define lines left out (so the macros' own definitions do not count).
Not reported: how many files a produce request crosses, which has no mechanical definition here
(it depends on which calls one follows).
"""
import fnmatch
import re
import subprocess
import sys
from collections import OrderedDict

REPO = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                      check=True).stdout.strip()
MODULES = ["base", "gossip", "consensus", "metadata", "kafka", "daemon"]
# Modules shown per sub-directory as well (their core and their shells live in separate folders).
SPLIT = {"gossip", "consensus", "kafka"}

# What counts as a core: code with no I/O, no clock, no threads and no logging library
# (docs/design.md "Cores and shells"). Patterns match the path from the repository root.
CORE_RULES = [
    "*/core/*",                         # gossip/core, consensus/core, metadata/core
    "base/*",                           # the std-only base library
    "kafka/protocol/*",                 # the Kafka wire codec (and protocol/messages/): pure
    "metadata/meta_*",                  # the __meta state machine, rules, commands, controller, node core
    "metadata/formation_record.*",      # formation record codec
    "metadata/replica_assignment.*",    # replica placement, a pure function
    "consensus/groups/host_core*",      # the multi-Raft host's pure core (issue 14)
    "consensus/groups/host_types*",     # its vocabulary, plain data
    "consensus/groups/disk_batch*",     # what the host core hands its disk, plain data
]
CLOCKS = r"(?:std::chrono::)?(?:steady_clock|system_clock|high_resolution_clock|\w*clock\w*(?:::\w*clock\w*)?)"
ALIAS = re.compile(r"using\s+(\w+)\s*=\s*std::chrono::(?:steady|system|high_resolution)_clock\b")
ASSERTION = re.compile(r"\bCHRONIK_[A-Z_]*(?:ASSERT|EXPECTS|ENSURES)[A-Z_]*\s*\(|(?<![\w.])assert\s*\(")


def is_core(path):
    return any(fnmatch.fnmatch(path, rule) for rule in CORE_RULES)


def group_of(path):
    parts = path.split("/")
    if parts[0] in SPLIT:
        return f"{parts[0]}/{parts[1]}" if len(parts) > 2 else f"{parts[0]}/ (top)"
    return parts[0]


def list_files(commit):
    if commit == "WORKTREE":
        out = subprocess.run(["git", "-C", REPO, "ls-files", "--cached", "--others", "--exclude-standard", "--",
                              *MODULES], capture_output=True, text=True, check=True).stdout
    else:
        out = subprocess.run(["git", "-C", REPO, "ls-tree", "-r", "--name-only", commit, "--", *MODULES],
                             capture_output=True, text=True, check=True).stdout
    return sorted(p for p in out.splitlines() if p.endswith((".h", ".cc")))


def read_files(commit, paths):
    """{path: text} for every path at `commit`, in one git cat-file call."""
    if commit == "WORKTREE":
        texts = {}
        for p in paths:
            try:
                with open(f"{REPO}/{p}", errors="replace") as f:
                    texts[p] = f.read()
            except FileNotFoundError:  # listed in the index but deleted in the tree
                pass
        return texts
    batch = "".join(f"{commit}:{p}\n" for p in paths).encode()
    out = subprocess.run(["git", "-C", REPO, "cat-file", "--batch"], input=batch, capture_output=True,
                         check=True).stdout
    texts, pos = {}, 0
    for p in paths:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        size = int(header[2])
        texts[p] = out[header_end + 1:header_end + 1 + size].decode(errors="replace")
        pos = header_end + 1 + size + 1
    return texts


def code_lines(text):
    """Lines with // comments removed and #define lines dropped."""
    for line in text.splitlines():
        if line.lstrip().startswith("#define"):
            continue
        yield re.sub(r"//.*", "", line)


def clock_reads(text):
    names = [re.escape(a) for a in ALIAS.findall(text)]
    pattern = re.compile(r"\b(?:" + "|".join([CLOCKS, *names]) + r")::now\s*\(")
    return sum(len(pattern.findall(line)) for line in code_lines(text))


def assertions(text):
    return sum(len(ASSERTION.findall(line)) for line in code_lines(text))


def stats(commit):
    """{row: {figure: value}} with a row per module, per split sub-directory, and the total."""
    paths = list_files(commit)
    texts = read_files(commit, paths)
    rows = OrderedDict()
    keys = ["files", "core files", "core lines", "shell lines", "shell clock reads", "core clock reads",
            "assertions"]
    for p in paths:
        if p not in texts:
            continue
        text, core = texts[p], is_core(p)
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        clocks = clock_reads(text)
        targets = [p.split("/")[0], "total"]
        if p.split("/")[0] in SPLIT:
            targets.insert(1, group_of(p))
        for row in targets:
            r = rows.setdefault(row, dict.fromkeys(keys, 0))
            r["files"] += 1
            r["core files"] += core
            r["core lines" if core else "shell lines"] += lines
            r["core clock reads" if core else "shell clock reads"] += clocks
            r["assertions"] += assertions(text)
    return rows, keys


def order(rows):
    def key(name):
        top = name.split("/")[0]
        return (MODULES.index(top) if top in MODULES else len(MODULES), "/" in name, name)
    return sorted(rows, key=key)


def label(commit):
    if commit == "WORKTREE":
        return "working tree"
    return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", commit], capture_output=True, text=True,
                          check=True).stdout.strip()


def main(argv):
    arrows = "--arrows" in argv
    argv = [a for a in argv if a != "--arrows"]
    if len(argv) not in (1, 2) or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    columns = [(label(c), *stats(c)) for c in argv]
    keys = columns[0][2]
    names = order(set().union(*(rows for _, rows, _ in columns)))
    print("Core rule: " + ", ".join(CORE_RULES) + "; the rest of each module is shell.")
    print("Lines are physical lines of .h/.cc files; assertions are CHRONIK_*ASSERT/EXPECTS/ENSURES and assert(.\n")
    if len(columns) == 1:
        name, rows, _ = columns[0]
        print(f"| module ({name}) | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for n in names:
            print(f"| {n} | " + " | ".join(str(rows[n][k]) for k in keys) + " |")
        return 0
    (before, rb, _), (after, ra, _) = columns
    empty = dict.fromkeys(keys, 0)
    if arrows:
        print(f"| module ({before} → {after}) | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for n in names:
            b, a = rb.get(n, empty), ra.get(n, empty)
            print(f"| {n} | " + " | ".join(f"{b[k]} → {a[k]}" for k in keys) + " |")
        return 0
    print("| module | " + " | ".join(f"{k} {before} | {k} {after}" for k in keys) + " |")
    print("|---|" + "---|" * (2 * len(keys)))
    for n in names:
        b, a = rb.get(n, empty), ra.get(n, empty)
        print(f"| {n} | " + " | ".join(f"{b[k]} | {a[k]}" for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
