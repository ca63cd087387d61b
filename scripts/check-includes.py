#!/usr/bin/python3
"""Per-module include rules (docs/design.md "Layout", the include table).

CMake links say what a target may *link*, but the include root is the repository itself, so any
file could include any header. This check closes that gap: it fails when a file includes a
header of a module its own module does not depend on, and when base/ or a */core/ directory
includes anything beyond the C++ standard library (cores are pure: no Asio, spdlog, Protobuf, ...).

    scripts/check-includes.py [SOURCE_DIR]             check the tree (ctest: include_check)
    scripts/check-includes.py --self-test FIXTURE_DIR   check a fixture tree with known violations
                                                        and compare with FIXTURE_DIR/expected.txt
                                                        (ctest: include_check_self_test)

Exit 0 when clean (or, with --self-test, when exactly the expected violations are reported).
"""

import os
import re
import sys

# Who may include whom. A file's rule is the longest prefix below that its path starts with; an
# include is allowed when the included header's path starts with one of the listed prefixes. "*"
# allows any of our modules. Generated headers count as modules of their own: "proto" (Protobuf,
# included by bare name such as "meta.pb.h") and "schemas/" (Cap'n Proto).
RULES = [
    ("base/", ["base/"]),
    # Cores: the standard library, base/ and their own core only.
    ("consensus/core/", ["base/", "consensus/core/"]),
    ("gossip/core/", ["base/", "gossip/core/"]),
    ("metadata/core/", ["base/", "metadata/core/"]),
    # consensus depends on nothing of ours but base/; inside it, storage and transport stand on the
    # core and groups on all three (the transport's plain group_message.h; the daemon links them).
    ("consensus/storage/", ["base/", "consensus/core/", "consensus/storage/", "proto"]),
    ("consensus/transport/", ["base/", "consensus/core/", "consensus/transport/", "schemas/"]),
    ("consensus/groups/", ["base/", "consensus/"]),
    ("consensus/", ["base/", "consensus/"]),
    ("gossip/", ["base/", "gossip/", "proto"]),
    ("metadata/", ["base/", "metadata/", "consensus/", "gossip/", "proto"]),
    # The Kafka wire codec is pure: base/ and itself only (no consensus headers, no WAL library).
    ("kafka/protocol/", ["base/", "kafka/protocol/"]),
    # The ACL model and decision are pure: base/ and itself only.
    ("kafka/acl/", ["base/", "kafka/acl/"]),
    ("kafka/", ["base/", "kafka/", "metadata/", "consensus/"]),
    ("daemon/", ["*"]),
    ("tests/", ["*"]),
    ("bench/", ["*"]),
]

# Directories whose angle-bracket includes must be standard headers only.
PURE = ("base/", "consensus/core/", "gossip/core/", "metadata/core/", "kafka/acl/")
# Non-standard angle includes a pure file may still use, each with its reason.
PURE_EXCEPTIONS = {
    # The compiler's own SSE4.2 intrinsics (no library): CRC-32C's hardware path.
    ("base/crc32c.h", "nmmintrin.h"),
}

STD_HEADERS = set("""
algorithm any array atomic barrier bit bitset cassert cctype cerrno cfenv cfloat charconv chrono
cinttypes climits clocale cmath codecvt compare complex concepts condition_variable coroutine
csetjmp csignal cstdarg cstddef cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype deque
exception execution expected filesystem format forward_list fstream functional future
initializer_list iomanip ios iosfwd iostream istream iterator latch limits list locale map memory
memory_resource mutex new numbers numeric optional ostream queue random ranges ratio regex
scoped_allocator semaphore set shared_mutex source_location span spanstream sstream stack
stacktrace stdexcept stop_token streambuf string string_view syncstream system_error thread tuple
type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector version
""".split())

MODULE_DIRS = ("base", "consensus", "gossip", "metadata", "kafka", "daemon", "tests", "bench")
SOURCE_SUFFIXES = (".h", ".hpp", ".cc", ".cpp")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def rule_for(path):
    best = None
    for prefix, allowed in RULES:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, allowed)
    return best


def target_of(included, including_dir, root):
    """The repository-relative path an include names, or "proto" for a generated Protobuf header."""
    if included.endswith(".pb.h"):
        return "proto"
    if "/" not in included and os.path.exists(os.path.join(root, including_dir, included)):
        return os.path.join(including_dir, included)  # a sibling header, found by the quote rule
    return included


def allowed(target, allow):
    return "*" in allow or any(target == a or target.startswith(a) for a in allow)


def check_file(root, rel):
    problems = []
    rule = rule_for(rel)
    pure = rel.startswith(PURE)
    if rule is None and not pure:
        return problems
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            if kind == '"' and rule is not None:
                target = target_of(name, os.path.dirname(rel), root)
                if not allowed(target, rule[1]):
                    problems.append(f"{rel}:{lineno}: includes \"{name}\", but {rule[0]} may include only "
                                    f"{', '.join(rule[1])}")
            elif kind == "<" and pure and name not in STD_HEADERS and (rel, name) not in PURE_EXCEPTIONS:
                where = next(p for p in PURE if rel.startswith(p))
                problems.append(f"{rel}:{lineno}: includes <{name}>, but {where} may include only the standard library")
    return problems


def source_files(root):
    for top in MODULE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "build")))
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def check_tree(root):
    problems = []
    for rel in source_files(root):
        problems.extend(check_file(root, rel))
    return problems


def main(argv):
    if len(argv) >= 2 and argv[1] == "--self-test":
        fixture = argv[2]
        got = [p.split(": includes")[0] for p in check_tree(fixture)]
        with open(os.path.join(fixture, "expected.txt"), encoding="utf-8") as f:
            want = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        if sorted(got) != sorted(want):
            print("include check self-test: FAILED")
            print("  expected violations:", *sorted(want), sep="\n    ")
            print("  reported violations:", *sorted(got), sep="\n    ")
            return 1
        print(f"include check self-test: passed: the fixture's {len(want)} violations are reported, no more")
        return 0
    root = argv[1] if len(argv) >= 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    problems = check_tree(root)
    if problems:
        print(f"include check: FAILED: {len(problems)} include(s) cross a module boundary "
              "(docs/design.md \"Layout\", the include table):")
        for p in problems:
            print("  " + p)
        return 1
    print("include check: passed: every include follows the module arrows of docs/design.md \"Layout\"")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
