"""Real-process suite for operator conveniences of chronik-server (docs/operations.md).

- `chronik-server --version` and `chronik-server version` print "chronik-server <version>" and the
  git commit the binary was built from, and exit 0.
- SIGHUP does not stop a node: it reloads the --config file. One log line says what was reloaded
  ("log level: info -> debug", or that nothing reloadable changed); a file that no longer loads is
  logged as an error and changes nothing; the node keeps serving its admin API throughout and still
  leaves and exits 0 on SIGTERM afterwards.
- A node that left gracefully shows `left` in `cluster status` (/v1/cluster), as in `cluster members`.
- After a topic is deleted, a restarted node does not start, revive or remove its partitions again.

Run: /usr/bin/python3 tests/cluster/operator_cli_test.py --server build/daemon/chronik-server
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

try:
    from kafka.admin import KafkaAdminClient, NewTopic  # Debian python3-kafka
except ImportError:
    KafkaAdminClient = None

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
# Bounds for a loaded 2-core machine: a single node forms its cluster in well under this.
FORM_S = 30
LINE_S = 10


def log_text(node):
    with open(node.log_path, errors="replace") as f:
        return f.read()


def wait_for_line(cluster, node, pattern, after=0):
    """Waits for a log line matching `pattern` past offset `after`; returns the offset past it."""
    found = {}

    def seen():
        m = re.search(pattern, log_text(node)[after:], re.MULTILINE)
        if m:
            found["end"] = after + m.end()
        return m is not None
    cluster.wait_for(seen, LINE_S, f"log line /{pattern}/ of node {node.node_id}")
    return found["end"]


class VersionTest(unittest.TestCase):
    def check(self, args):
        r = subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The release, then the commit when the build knew it (cmake/git_commit.cmake).
        self.assertRegex(r.stdout.strip(), r"^chronik-server \d+\.\d+\.\d+( \(commit [0-9a-f]{7,40}(-dirty)?\))?$")
        return r.stdout.strip()

    def test_flag_and_subcommand_print_the_same_line(self):
        self.assertEqual(self.check(["--version"]), self.check(["version"]))

    def test_the_commit_is_there_in_a_git_checkout(self):
        source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        head = subprocess.run(["git", "-C", source, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            self.skipTest("the source is not a git checkout")
        # The binary may be from an earlier build than HEAD; it names some commit of this history.
        commit = re.search(r"commit ([0-9a-f]+)", self.check(["--version"])).group(1)
        known = subprocess.run(["git", "-C", source, "cat-file", "-e", commit + "^{commit}"], timeout=30)
        self.assertEqual(known.returncode, 0, f"{commit} is not a commit of {source}")


class SighupTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(SERVER, 1)
        self.node = self.cluster.nodes[0]
        self.node.config_path = os.path.join(self.cluster.root, "node-1.toml")
        self.write_config('log_level = "info"\n')
        self.node.start([], ["--bootstrap-expect", "1"])
        self.cluster.wait_brokers(1, timeout=FORM_S)

    def tearDown(self):
        failed = any(e for _, e in self._outcome.result.errors + self._outcome.result.failures)
        self.cluster.cleanup(keep_logs_on_failure=failed)

    def write_config(self, text):
        with open(self.node.config_path, "w") as f:
            f.write(text)

    def hup_and_wait(self, pattern, after):
        self.node.signal(signal.SIGHUP)
        end = wait_for_line(self.cluster, self.node, pattern, after)
        self.assertTrue(self.node.running(), "SIGHUP stopped the node")
        self.assertIsNotNone(self.node.cluster(), "the node stopped serving /v1/cluster after SIGHUP")
        return end

    def poke_gossip_until_debug_line(self, after):
        """Sends malformed datagrams to the gossip port until the debug line about them shows
        (it is rate limited, so one datagram may fall in a suppressed window)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            def shown():
                s.sendto(b"\xffnot gossip", (self.node.ip, self.node.gossip_port))
                return re.search(r" debug .*gossip dropped malformed", log_text(self.node)[after:]) is not None
            self.cluster.wait_for(shown, LINE_S, "a debug line after the reload")

    def test_sighup_reloads_the_log_level_and_keeps_serving(self):
        # Unchanged file: one line, nothing changes, no debug lines yet.
        end = self.hup_and_wait(r"SIGHUP: reloaded the --config file: nothing reloadable changed \(log level info", 0)
        self.assertNotRegex(log_text(self.node), r"\d debug ")

        self.write_config('log_level = "debug"\n')
        end = self.hup_and_wait(r"SIGHUP: reloaded the --config file: log level: info -> debug$", end)
        self.poke_gossip_until_debug_line(end)

        # A file that no longer validates: an error line, the level stays debug.
        self.write_config('log_level = "loud"\n')
        end = self.hup_and_wait(r" error .*SIGHUP: the --config file no longer loads, nothing changed: .*log_level", end)
        self.write_config('log_level = "debug"\n')
        end = self.hup_and_wait(r"nothing reloadable changed \(log level debug", end)

        # And back down: the line shows before the quieter level applies.
        self.write_config('log_level = "warn"\n')
        end = self.hup_and_wait(r"log level: debug -> warn$", end)

        # SIGTERM still leaves and exits 0.
        self.node.signal(signal.SIGTERM)
        self.assertEqual(self.node.wait_exit(FORM_S), 0)


class ClusterViewTest(unittest.TestCase):
    def tearDown(self):
        failed = any(e for _, e in self._outcome.result.errors + self._outcome.result.failures)
        self.cluster.cleanup(keep_logs_on_failure=failed)

    def test_a_node_that_left_shows_left_in_status(self):
        self.cluster = c = Cluster(SERVER, 3)
        c.start_all(["--bootstrap-expect", "3"])
        c.wait_brokers(3, timeout=FORM_S)
        gone, others = c.nodes[2], c.nodes[:2]
        gone.signal(signal.SIGTERM)
        self.assertEqual(gone.wait_exit(FORM_S), 0)

        def shown_left():
            for n in others:
                brokers = {b["node_id"]: b for b in (n.cluster() or {}).get("brokers", [])}
                if brokers.get(gone.node_id, {}).get("state") != "left":
                    return False
            return True
        c.wait_for(shown_left, FORM_S, "the left node shown left in /v1/cluster")
        self.assertTrue(c.all_see(gone, "left", others))
        out = subprocess.run([SERVER, "cluster", "status", "--admin", others[0].admin_addr, "--admin-token-file",
                              others[0].admin_token_file], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        row = next(line for line in out.stdout.splitlines() if line.startswith(f"{gone.node_id} "))
        self.assertRegex(row, r"\sleft\s", out.stdout)

    @unittest.skipIf(KafkaAdminClient is None, "python3-kafka is not installed")
    def test_a_deleted_topic_is_not_looked_for_after_a_restart(self):
        self.cluster = c = Cluster(SERVER, 1)
        n = c.nodes[0]
        n.start([], ["--bootstrap-expect", "1"])
        c.wait_brokers(1, timeout=FORM_S)
        admin = KafkaAdminClient(bootstrap_servers=c.bootstrap(), request_timeout_ms=30000)
        try:
            admin.create_topics([NewTopic("doomed", num_partitions=50, replication_factor=1)], timeout_ms=30000)
            c.wait_for(lambda: (n.cluster() or {}).get("partitions") == 50, FORM_S, "50 partitions")
            admin.delete_topics(["doomed"], timeout_ms=30000)
            c.wait_for(lambda: (n.cluster() or {}).get("partitions") == 0, FORM_S, "the topic deleted")
        finally:
            admin.close()
        applied = n.cluster()["applied"]
        n.signal(signal.SIGTERM)
        self.assertEqual(n.wait_exit(FORM_S), 0)
        mark = len(log_text(n))
        n.start([], ["--bootstrap-expect", "1"])
        # Past the deletion again: `__meta` replayed everything it had applied before the stop.
        c.wait_for(lambda: (n.cluster() or {}).get("read") == "linearizable" and n.cluster()["applied"] >= applied,
                   FORM_S, "the restarted node past the deletion")
        after = log_text(n)[mark:]
        about_doomed = [line for line in after.splitlines() if "doomed-" in line or "revived" in line
                        or "not started" in line]
        self.assertEqual(about_doomed, [], "the restarted node looked for the deleted topic's partitions")


if __name__ == "__main__":
    run_suite(globals(), "operator_cli")
