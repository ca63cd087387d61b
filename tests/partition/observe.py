"""Talking to nodes from inside their namespaces.

The root namespace cannot reach the test range (it has an `unreachable` route for it), so every
request runs on a thread that first joined a node's network namespace with setns(2): a thread's
network namespace is its own, and the sockets it creates belong to it. A client in node i's
namespace is on node i's side of every partition, which is what "a client of that side" means.

`Collector` polls every node's /v1/members and /v1/cluster in the background and keeps the time
series the checkers read.
"""
import contextlib
import ctypes
import json
import os
import queue
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../cluster"))
from chronik_nodes import admin_call  # noqa: E402

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name):
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


class NsWorker:
    """One daemon thread living in one namespace; `call(fn, timeout)` runs fn there."""

    def __init__(self, ns):
        self.ns = ns
        self.jobs = queue.Queue(maxsize=64)
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"ns-{ns}")
        self.ready = threading.Event()
        self.error = None
        self.thread.start()
        self.ready.wait(5)
        if self.error:
            raise self.error

    def _loop(self):
        try:
            enter_netns(self.ns)
        except OSError as e:
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            fn, box, done = job
            try:
                box["value"] = fn()
            except Exception as e:  # noqa: BLE001 - handed back to the caller
                box["error"] = e
            done.set()

    def call(self, fn, timeout):
        box, done = {}, threading.Event()
        self.jobs.put((fn, box, done), timeout=timeout)
        if not done.wait(timeout):
            raise TimeoutError(f"{self.ns}: no answer within {timeout}s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def close(self):
        try:
            self.jobs.put_nowait(None)
        except queue.Full:
            pass


def http_get_json(addr, path, timeout, token=None):
    """GET an admin endpoint; `token` is the run's admin bearer token (netharness.admin_token)."""
    req = urllib.request.Request(f"http://{addr}{path}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def admin_request(addr, path, token, body=None, timeout=2.0):
    """(HTTP status, parsed JSON or None) of one admin request with the run's bearer token; `body`
    (a dict) makes it a POST. A refusal (4xx, 5xx) is an answer, not an exception: the caller
    judges it. Raises OSError when no answer came. The cluster tests' client does the work."""
    return admin_call(addr, path, token, body, timeout)


class Collector:
    """Samples every node's membership view and `__meta` status every `interval` seconds.

    samples: list of (t, node, members or None, cluster or None), t from time.monotonic().
    """

    def __init__(self, harness, interval=0.1, http_timeout=0.6):
        self.h = harness
        self.interval = interval
        self.http_timeout = http_timeout
        self.samples = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.workers = {i: NsWorker(harness.ns(i)) for i in harness.ids()}
        self.threads = []

    def start(self):
        for i in self.h.ids():
            t = threading.Thread(target=self._poll, args=(i,), daemon=True, name=f"poll-{i}")
            t.start()
            self.threads.append(t)

    def _poll(self, i):
        addr = self.h.admin_addr(i)
        token = self.h.admin_token()
        w = self.workers[i]
        # Bounded: the loop ends with stop(), and every request has a timeout.
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            members = cluster = None
            try:
                members = w.call(lambda: http_get_json(addr, "/v1/members", self.http_timeout, token),
                                 self.http_timeout + 1)
                members = {m["node_id"]: m for m in members}
            except Exception:  # noqa: BLE001 - a silent node is data
                members = None
            try:
                cluster = w.call(lambda: http_get_json(addr, "/v1/cluster", self.http_timeout, token),
                                 self.http_timeout + 1)
            except Exception:  # noqa: BLE001
                cluster = None
            with self.lock:
                self.samples.append((t0, i, members, cluster))
                if len(self.samples) > 200_000:  # bounded memory for long soaks
                    del self.samples[:50_000]
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(5)
        for w in self.workers.values():
            w.close()

    def snapshot(self, since=None, until=None):
        with self.lock:
            return [s for s in self.samples
                    if (since is None or s[0] >= since) and (until is None or s[0] <= until)]

    def latest(self, i):
        with self.lock:
            for s in reversed(self.samples):
                if s[1] == i:
                    return s
        return None

    def query(self, i, path, timeout=2.0):
        return self.workers[i].call(lambda: http_get_json(self.h.admin_addr(i), path, timeout, self.h.admin_token()), timeout + 1)


LAST_ERROR = {}  # node -> the last Metadata failure, for failure messages


# ---- Kafka (kafka-python, /usr/bin/python3) ---------------------------------------------------

@contextlib.contextmanager
def _pinned_admin(node_id, bootstrap, request_timeout_ms, client_id):
    """A PinnedAdmin (below) for node `node_id`, closed on the way out whatever happened."""
    admin = _admin_class()(node_id, bootstrap_servers=bootstrap, api_version=(2, 0, 0),
                           request_timeout_ms=request_timeout_ms, client_id=client_id)
    try:
        yield admin
    finally:
        try:
            admin.close()
        except Exception:  # noqa: BLE001 - closing a broken client must not hide the real outcome
            pass


def _admin_class():
    from kafka.admin import KafkaAdminClient

    class PinnedAdmin(KafkaAdminClient):
        """KafkaAdminClient whose "controller" is the one node it was pointed at: chronik answers
        CreateTopics on any node, and a client on one side of a partition must not wander to the
        other side's leader."""

        def __init__(self, pin_node_id, **kw):
            self._pin = pin_node_id
            super().__init__(**kw)

        def _refresh_controller_id(self):
            self._controller_id = self._pin

    return PinnedAdmin


def create_topic(worker, node_id, bootstrap, name, partitions, timeout_ms, replication=1):
    """CreateTopics for one topic sent to node `node_id` from inside `worker`'s namespace.
    Returns the Kafka error code (0 = created) or a string describing a client-side failure."""
    def job():
        from kafka.admin import NewTopic
        from kafka.errors import KafkaError
        try:
            with _pinned_admin(node_id, bootstrap, timeout_ms + 3000, f"partition-{node_id}") as admin:
                resp = admin.create_topics([NewTopic(name, partitions, replication)], timeout_ms=timeout_ms)
                return resp.topic_errors[0][1]
        except KafkaError as e:
            code = getattr(e, "errno", None)
            return code if isinstance(code, int) else f"{type(e).__name__}"
        except Exception as e:  # noqa: BLE001
            return f"{type(e).__name__}: {e}"[:120]
    return worker.call(job, timeout_ms / 1000 + 15)


def _send_pinned(admin, node_id, request, deadline):
    """admin._send_request_to_node without its unbounded wait for a connection."""
    while not admin._client.ready(node_id):
        if time.monotonic() > deadline:
            known = sorted(b.nodeId for b in admin._client.cluster.brokers())
            raise TimeoutError(f"no connection to node {node_id} (brokers the client knows: {known})")
        admin._client.poll(timeout_ms=100)
    future = admin._client.send(node_id, request)
    while not future.is_done:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from node {node_id}")
        admin._client.poll(timeout_ms=100, future=future)
    if future.failed():
        raise future.exception
    return future.value


def metadata_topics(worker, node_id, bootstrap, topics, timeout_s=10):
    """The topics of node `node_id`'s own Metadata answer (v1; `topics` None = all), as
    kafka-python's tuples (error, name, internal, partitions), or None after recording why."""
    def job():
        from kafka.protocol.metadata import MetadataRequest
        deadline = time.monotonic() + timeout_s
        try:
            with _pinned_admin(node_id, bootstrap, int(timeout_s * 1000), "partition-meta") as admin:
                return _send_pinned(admin, node_id, MetadataRequest[1](topics=topics), deadline).topics
        except Exception as e:  # noqa: BLE001
            LAST_ERROR[node_id] = f"{type(e).__name__}: {e}"[:160]
            return None
    try:
        return worker.call(job, timeout_s + 15)
    except TimeoutError as e:
        LAST_ERROR[node_id] = str(e)
        return None


def list_topics(worker, node_id, bootstrap, timeout_s=10):
    """{topic: partition count} from the Metadata answer of node `node_id` itself, or None."""
    topics = metadata_topics(worker, node_id, bootstrap, None, timeout_s)
    return None if topics is None else {t[1]: len(t[3]) for t in topics if t[0] == 0}


def partition_leaders(worker, node_id, bootstrap, topic, timeout_s=10):
    """{partition: leader node id} for `topic` from node `node_id`'s Metadata answer, or None."""
    topics = metadata_topics(worker, node_id, bootstrap, [topic], timeout_s)
    return None if topics is None else {p[1]: p[2] for t in topics if t[1] == topic and t[0] == 0 for p in t[3]}
