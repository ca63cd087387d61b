"""Real-process suite for the status page (docs/operations.md "Status page").

A 3-node cluster, a topic with three partitions, records produced and consumed by a group that
commits, then more produced: the group's lag.
- The page (GET /ui) is open and carries a Content-Security-Policy; the data routes it reads
  (/v1/partitions, /v1/node-stats) need the admin token.
- /v1/node-stats from any node has every node's entry, each with its rate history, and some node's
  produce and fetch rates rise above 0 after the traffic.
- Debian's headless Chromium renders /ui#token=...: the dumped DOM shows 3 alive members, the
  `__meta` quorum with its leader among 3 voters, the topic's partitions with a leader, 3 in-sync
  replicas and the leaders' high watermarks adding up to the records produced, the group's lag, and
  one rate chart per node. Without a token, or with a wrong one, it shows the token form and no
  data. The token in the fragment never reaches a node's log.
- A drained node's row says so (data-drained, "drained" in its broker column), and no other row.
- A screenshot is taken (a PNG); CHRONIK_STATUS_SCREENSHOT=PATH keeps a copy to look at.

Run: /usr/bin/python3 tests/cluster/status_page_test.py --server build/daemon/chronik-server
"""
import html.parser
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chronik_nodes import Cluster, run_suite  # noqa: E402

try:
    from confluent_kafka import Consumer, Producer  # Debian python3-confluent-kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:
    Producer = None

SERVER = None
SEED = int(os.environ.get("CHRONIK_TEST_SEED", str(random.randrange(1 << 30))))
FORM_S = 60
SETTLE_S = 30
CHROMIUM = shutil.which("chromium")
# Records produced, all consumed and committed by the group, then MORE produced: its lag.
TOPIC, GROUP, RECORDS, MORE = "status-t", "status-g", 300, 40


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Dom(html.parser.HTMLParser):
    """Every element's tag, attributes and text, in document order."""

    def __init__(self, text):
        super().__init__()
        self.elements, self._open = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(e)
        if tag not in VOID:
            self._open.append(e)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for e in self._open:
            e["text"] += data

    def find(self, tag, **attrs):
        """Elements `tag` with every attribute of `attrs` (True: present, with any value)."""
        return [e for e in self.elements if e["tag"] == tag and
                all(e["attrs"].get(k) == v if v is not True else k in e["attrs"] for k, v in attrs.items())]

    def by_id(self, id_):
        found = [e for e in self.elements if e["attrs"].get("id") == id_]
        assert len(found) == 1, f"one #{id_}, found {len(found)}"
        return found[0]


def chromium(root, url, *mode):
    """Runs headless Chromium on `url` with its own profile under `root`; returns its stdout. The
    process group it starts is ended by its id if it overstays. Chromium sometimes exits 0 without
    having dumped anything, which its virtual-time budget is known to do now and then (2 runs of
    about 15 here, both the first on a fresh machine): such a run is repeated, at most 3 times."""
    for attempt in range(3):
        out = run_chromium(os.path.join(root, f"chromium-{time.monotonic_ns()}"), url, mode)
        if out.strip() or "--dump-dom" not in mode:
            return out
    raise AssertionError(f"chromium dumped nothing for {url.split('#')[0]} in 3 runs")


def run_chromium(profile, url, mode):
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--window-size=1280,1500", "--virtual-time-budget=12000", *mode, url]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"chromium did not finish within 90 s on {url.split('#')[0]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}"
    return out.decode(errors="replace")


class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if Producer is None:
            raise unittest.SkipTest("python3-confluent-kafka is not installed")
        if CHROMIUM is None:
            raise unittest.SkipTest("chromium is not installed (scripts/install-deps.sh installs it)")
        cls.cluster = Cluster(SERVER, 3)
        cls.ok = False
        c = cls.cluster
        c.start_all()
        c.wait_ready(FORM_S, alive=True)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup(keep_logs_on_failure=not cls.ok)

    def run(self, result=None):
        result = super().run(result)
        type(self).ok = result.wasSuccessful()
        return result

    def stats(self, node):
        status, body = node.admin("/v1/node-stats", timeout=10)
        self.assertEqual(status, 200, body)
        return body

    def test_1_page_is_open_and_its_data_needs_the_token(self):
        node = self.cluster.nodes[0]
        with urllib.request.urlopen(f"http://{node.admin_addr}/ui", timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
            csp = r.headers["Content-Security-Policy"]
            page = r.read().decode()
        self.assertIn("default-src 'none'", csp)
        self.assertIn("connect-src 'self'", csp)
        self.assertNotIn(node.admin_token, page)
        for path in ("/v1/partitions", "/v1/node-stats", "/v1/node-stats?scope=node"):
            self.assertEqual(node.admin(path, token=None)[0], 401, path)
        self.assertEqual(node.admin("/v1/node-stats?scope=everyone")[0], 400)

    def test_2_traffic_shows_in_rates_partitions_and_lag(self):
        c = self.cluster
        # Each node keeps a sample every 5 s; rates need two, so wait for one point everywhere
        # before the traffic, so that the traffic falls into a later interval.
        c.wait_for(lambda: all(n["ok"] and n["stats"]["rates"] for n in self.stats(c.nodes[0])["nodes"]), SETTLE_S,
                   "a rate point on every node")
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=3)])[TOPIC].result(timeout=30)
        producer = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "linger.ms": 5})
        for i in range(RECORDS):
            producer.produce(TOPIC, value=b"v" * 200, key=str(i).encode())
        self.assertEqual(producer.flush(30), 0)
        consumer = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": GROUP, "auto.offset.reset": "earliest",
                             "enable.auto.commit": False})
        consumer.subscribe([TOPIC])
        got, deadline = 0, time.monotonic() + 60
        while got < RECORDS and time.monotonic() < deadline:
            got += sum(1 for m in consumer.consume(num_messages=100, timeout=1.0) if m.error() is None)
        self.assertEqual(got, RECORDS)
        consumer.commit(asynchronous=False)
        consumer.close()
        for i in range(MORE):
            producer.produce(TOPIC, value=b"w" * 200, key=str(i).encode())
        self.assertEqual(producer.flush(30), 0)

        def latest(entry, key):
            rates = entry["stats"]["rates"]
            return max((p[key] for p in rates), default=0)

        # Asked of node 2 this time: any node answers for all of them.
        def moved():
            nodes = self.stats(c.nodes[1])["nodes"]
            return len(nodes) == 3 and all(n["ok"] for n in nodes) and \
                sum(latest(n, "produce") for n in nodes) > 0 and sum(latest(n, "fetch") for n in nodes) > 0

        c.wait_for(moved, SETTLE_S, "produce and fetch rates above 0")
        body = self.stats(c.nodes[1])
        self.assertEqual(body["self"], 2)
        self.assertEqual(sorted(n["node_id"] for n in body["nodes"]), [1, 2, 3])
        for n in body["nodes"]:
            self.assertEqual(n["stats"]["node_id"], n["node_id"])
            self.assertEqual(n["stats"]["sample_interval_ms"], 5000)

        # Leaders' high watermarks add up to the records; the group's lag to those not consumed.
        def settled():
            nodes = self.stats(c.nodes[0])["nodes"]
            hw = sum(l["high_watermark"] for n in nodes if n["ok"] for l in n["stats"]["leads"] if l["topic"] == TOPIC)
            lag = sum(l["lag"] for n in nodes if n["ok"] for l in n["stats"]["lags"] if l["group"] == GROUP)
            return hw == RECORDS + MORE and lag == MORE

        c.wait_for(settled, SETTLE_S, f"high watermarks adding up to {RECORDS + MORE} and a lag of {MORE}")
        status, parts = c.nodes[2].admin("/v1/partitions")
        self.assertEqual(status, 200)
        mine = [p for p in parts if p["topic"] == TOPIC]
        self.assertEqual([p["partition"] for p in mine], [0, 1, 2])
        for p in mine:
            self.assertIn(p["leader"], (1, 2, 3))
            self.assertEqual(sorted(p["isr"]), [1, 2, 3])
            self.assertFalse(p["internal"])
        self.assertTrue(any(p["internal"] for p in parts))  # __consumer_offsets, from the group

    def test_3_chromium_renders_the_cluster(self):
        c = self.cluster
        node = c.nodes[0]
        dom = Dom(chromium(c.root, f"http://{node.admin_addr}/ui#token={node.admin_token}", "--dump-dom"))
        self.assertGreaterEqual(int(dom.find(tag="body")[0]["attrs"].get("data-refreshes", "0")), 1,
                                "the page refreshed at least once")
        self.assertIn("hidden", dom.by_id("login")["attrs"].get("class", ""))
        self.assertEqual(dom.by_id("error")["text"].strip(), "")
        members = dom.find(tag="tr", **{"data-node-id": True})
        self.assertEqual(sorted((m["attrs"]["data-node-id"], m["attrs"]["data-state"]) for m in members),
                         [("1", "alive"), ("2", "alive"), ("3", "alive")])
        quorum = dom.by_id("quorum")["attrs"]
        self.assertEqual(sorted(quorum["data-voters"].split(",")), ["1", "2", "3"])
        self.assertIn(quorum["data-leader"], ("1", "2", "3"))
        self.assertEqual(quorum["data-learners"], "")
        rows = dom.find(tag="tr", **{"data-topic": TOPIC})
        self.assertEqual(sorted(r["attrs"]["data-partition"] for r in rows), ["0", "1", "2"])
        for r in rows:
            self.assertIn(r["attrs"]["data-leader"], ("1", "2", "3"))
            self.assertEqual(sorted(r["attrs"]["data-isr"].split(",")), ["1", "2", "3"])
            self.assertIn(f"{GROUP}: ", r["text"])
        self.assertEqual(dom.find(tag="tr", **{"data-topic": "__consumer_offsets"}), [],
                         "internal topics are hidden unless asked for")
        marks = [int(e["attrs"]["data-high-watermark"]) for e in dom.find(tag="td", **{"data-high-watermark": True})]
        self.assertEqual(sum(marks), RECORDS + MORE)
        charts = dom.find(tag="div", **{"data-chart-node": True})
        self.assertEqual(sorted(ch["attrs"]["data-chart-node"] for ch in charts), ["1", "2", "3"])
        for ch in charts:
            self.assertGreaterEqual(int(ch["attrs"]["data-points"]), 1)
        self.assertEqual(len(dom.find(tag="polyline", **{"data-series": "produce"})), 3)

        shot = os.path.join(c.root, "status.png")
        for _ in range(3):  # as chromium() does for an empty dump
            chromium(c.root, f"http://{node.admin_addr}/ui#token={node.admin_token}", f"--screenshot={shot}")
            if os.path.exists(shot):
                break
        with open(shot, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        if os.environ.get("CHRONIK_STATUS_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["CHRONIK_STATUS_SCREENSHOT"])

    def test_4_without_the_token_only_the_form_shows(self):
        c = self.cluster
        node = c.nodes[2]
        for fragment in ("", "#token=not-the-token-0123456789"):
            dom = Dom(chromium(c.root, f"http://{node.admin_addr}/ui{fragment}", "--dump-dom"))
            self.assertNotIn("hidden", dom.by_id("login")["attrs"].get("class", ""), fragment)
            self.assertEqual(dom.find(tag="tr", **{"data-node-id": True}), [], fragment)
            self.assertEqual(dom.find(tag="tr", **{"data-topic": True}), [], fragment)
            if fragment:
                self.assertIn("refused", dom.by_id("error")["text"])
        # The fragment stays in the browser: no node logged the token.
        for n in c.nodes:
            with open(n.log_path, errors="replace") as f:
                self.assertNotIn(n.admin_token, f.read())

    def test_5_a_drained_node_is_marked(self):
        c = self.cluster
        node, target = c.nodes[0], c.nodes[1]
        status, body = node.admin(f"/v1/nodes/{target.node_id}/drain", body={})
        self.assertEqual(status, 202, body)

        def recorded():
            status, cluster = node.admin("/v1/cluster")
            return status == 200 and any(b["node_id"] == target.node_id and b["drained"] for b in cluster["brokers"])

        c.wait_for(recorded, SETTLE_S, f"node {target.node_id} recorded drained")
        try:
            dom = Dom(chromium(c.root, f"http://{node.admin_addr}/ui#token={node.admin_token}", "--dump-dom"))
            rows = {m["attrs"]["data-node-id"]: m for m in dom.find(tag="tr", **{"data-node-id": True})}
            self.assertEqual(rows[str(target.node_id)]["attrs"]["data-drained"], "1")
            self.assertIn("drained", rows[str(target.node_id)]["text"])
            self.assertEqual([k for k, r in rows.items() if r["attrs"]["data-drained"] == "1"], [str(target.node_id)])
            self.assertEqual({r["attrs"]["data-decommission"] for r in rows.values()}, {"none"})
        finally:
            status, body = node.admin(f"/v1/nodes/{target.node_id}/undrain", body={})
            self.assertEqual(status, 202, body)


if __name__ == "__main__":
    run_suite(globals(), "status_page")
