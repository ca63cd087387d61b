"""Real-process suite for the sd_notify messages a node sends when systemd runs it as a Type=notify
unit (daemon/systemd_notify.h, docs/operations.md "Installing the package").

The test plays systemd: it owns a unix datagram socket and starts the node with NOTIFY_SOCKET
naming it. Two nodes with bootstrap_expect 2:
  1. node 1 alone serves its listeners but is not ready: it answers /health 503 and has sent
     STATUS= lines, never READY=1;
  2. node 2 starts without NOTIFY_SOCKET (a node outside systemd runs as before); once the cluster
     forms, node 1 sends READY=1, and /health answers 200 when it does;
  3. SIGHUP with a changed log_level: RELOADING=1 with MONOTONIC_USEC, then READY=1;
  4. SIGTERM: STOPPING=1, and the node exits 0.

Run: /usr/bin/python3 tests/cluster/systemd_notify_test.py --server build/daemon/chronik-server
"""
import os
import random
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 30
STEP_S = 10


class NotifySocket:
    """The test's stand-in for systemd's notification socket: every datagram is one message of
    newline-separated KEY=VALUE assignments (sd_notify(3))."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # each a dict of the message's assignments, in arrival order

    def drain(self):
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(4096)
                self.messages.append(dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line))
        except BlockingIOError:
            pass

    def wait_for(self, key, value, timeout, start=0):
        """Index of the first message from `start` on with key=value; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            for i in range(start, len(self.messages)):
                if self.messages[i].get(key) == value:
                    return i
            if time.monotonic() > deadline:
                raise AssertionError(f"no {key}={value} after {timeout}s; got {self.messages[start:]}")
            time.sleep(0.05)

    def close(self):
        self.sock.close()


class SystemdNotifyTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(SERVER, 2)
        self.notify = NotifySocket(os.path.join(self.cluster.root, "notify.sock"))
        self.ok = False

    def tearDown(self):
        self.notify.close()
        self.cluster.cleanup(keep_logs_on_failure=not self.ok)

    def health(self, node):
        try:
            return node.admin("/health", token=None)[0]
        except OSError:
            return None

    def test_ready_reload_stopping(self):
        n1, n2 = self.cluster.nodes
        n1.config_path = os.path.join(self.cluster.root, "node-1.toml")
        with open(n1.config_path, "w") as f:
            f.write('log_level = "info"\n')
        seeds = {n.node_id: [m.gossip_addr for m in self.cluster.nodes if m is not n] for n in self.cluster.nodes}
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path)
        with open(n1.log_path, "ab") as log:
            n1.proc = subprocess.Popen(n1.command(seeds[1], ["--bootstrap-expect", "2"]), stdout=log,
                                       stderr=subprocess.STDOUT, env=env)

        # 1. Alone, node 1 is up (its admin endpoint answers) but cannot serve: no READY=1.
        self.cluster.wait_for(lambda: self.health(n1) == 503, STEP_S, "node 1 /health 503")
        first_status = self.notify.wait_for("STATUS", "listeners up, waiting for the cluster", STEP_S)
        self.notify.drain()
        self.assertFalse([m for m in self.notify.messages if "READY" in m],
                         f"READY before the cluster formed: {self.notify.messages}")
        self.assertEqual(self.health(n1), 503)

        # 2. The cluster forms: READY=1, and /health answers 200 by then.
        n2.start(seeds[2], ["--bootstrap-expect", "2"])
        ready = self.notify.wait_for("READY", "1", FORM_S, first_status)
        self.assertEqual(self.health(n1), 200, "READY=1 sent while /health is not 200")
        self.assertEqual(self.notify.messages[ready].get("STATUS"), "serving")

        # 3. SIGHUP: RELOADING=1 (with the monotonic clock in microseconds), then READY=1.
        with open(n1.config_path, "w") as f:
            f.write('log_level = "debug"\n')
        n1.signal(signal.SIGHUP)
        reloading = self.notify.wait_for("RELOADING", "1", STEP_S, ready + 1)
        usec = int(self.notify.messages[reloading]["MONOTONIC_USEC"])
        self.assertLessEqual(usec, time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
        self.assertGreater(usec, 0)
        again = self.notify.wait_for("READY", "1", STEP_S, reloading + 1)
        with open(n1.log_path, errors="replace") as f:
            self.assertIn("log level: info -> debug", f.read())

        # 4. SIGTERM: STOPPING=1, then a graceful exit.
        n1.signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING", "1", STEP_S, again + 1)
        self.assertEqual(n1.wait_exit(STEP_S), 0)
        self.notify.drain()
        self.assertEqual(sum(1 for m in self.notify.messages if m.get("STOPPING") == "1"), 1,
                         f"STOPPING=1 sent more than once: {self.notify.messages}")
        self.ok = True


if __name__ == "__main__":
    run_suite(globals(), "systemd_notify")
