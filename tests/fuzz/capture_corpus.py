#!/usr/bin/python3
"""Captures the Kafka seed corpora of the fuzz targets from real client traffic.

Starts a one-node chronik on 127.0.0.1 (free ports) behind a small recording TCP proxy, drives
kcat, kafka-python and confluent-kafka (librdkafka), and kafkajs from npm when node is installed,
through the proxy (metadata, create and delete topics, configs, partitions, produce with every codec,
fetch, list offsets by time, consumer groups, admin group and cluster calls, deleting records), and
writes:
  corpus/kafka_request/seed-<api>-v<version>-<hash>   one request frame (size prefix stripped)
  corpus/record_batch/seed-<codec>-<hash>             0x01 + the records blob of one produced partition
The proxy rewrites the broker port in responses (Metadata, FindCoordinator) to its own, so every
connection a client opens goes through it. The node is started and stopped by PID.

  /usr/bin/python3 tests/fuzz/capture_corpus.py --server build/daemon/chronik-server
"""
import argparse
import collections
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
API_NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit", 9: "offset_fetch",
             10: "find_coordinator", 11: "join_group", 12: "heartbeat", 13: "leave_group", 14: "sync_group",
             15: "describe_groups", 16: "list_groups", 18: "api_versions", 19: "create_topics", 20: "delete_topics",
             21: "delete_records", 23: "offset_for_leader_epoch", 32: "describe_configs", 33: "alter_configs",
             35: "describe_log_dirs", 37: "create_partitions", 43: "elect_leaders", 44: "incremental_alter_configs",
             55: "describe_quorum", 60: "describe_cluster"}
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
MAX_PER_VERSION = 3          # distinct frames kept per (api, version)
MAX_FRAME_BYTES = 64 * 1024  # larger frames are not useful seeds


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class RecordingProxy:
    """Forwards Kafka connections to the broker, keeping every request frame."""

    def __init__(self, listen_port, broker_port):
        self.listen_port, self.broker_port = listen_port, broker_port
        self.frames = []
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", listen_port))
        self.server.listen(64)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            threading.Thread(target=self.pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, False), daemon=True).start()

    def pump(self, src, dst, requests):
        old = b"127.0.0.1" + struct.pack(">i", self.broker_port)
        new = b"127.0.0.1" + struct.pack(">i", self.listen_port)
        try:
            while True:
                head = read_exact(src, 4)
                if head is None:
                    break
                body = read_exact(src, struct.unpack(">i", head)[0])
                if body is None:
                    break
                if requests:
                    with self.lock:
                        self.frames.append(body)
                else:
                    body = body.replace(old, new)  # same length: the frame size stays right
                dst.sendall(head + body)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start_node(server, work, ports):
    gossip, rpc, kafka, admin = ports
    cmd = [server, "start", "--node-id", "1", "--bind", "127.0.0.1", "--gossip-port", str(gossip),
           "--rpc-port", str(rpc), "--kafka-port", str(kafka), "--admin-port", str(admin),
           "--data-dir", os.path.join(work, "node-1"), "--bootstrap-expect", "1", "--preset", "local",
           "--cluster-name", "fuzz-capture"]
    log = open(os.path.join(work, "node-1.log"), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/health", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"chronik did not become ready; see {work}/node-1.log")


def drive_kcat(bootstrap, topic):
    run = lambda args, data=None: subprocess.run(["kcat", "-b", bootstrap] + args, input=data, timeout=60,
                                                 capture_output=True, check=False)
    run(["-L"])
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        run(["-P", "-t", topic, "-z", codec, "-K", ":"], data=f"k-{codec}:kcat {codec} 1\nk2:kcat {codec} 2\n".encode())
    run(["-C", "-t", topic, "-o", "beginning", "-e", "-q"])
    run(["-G", "kcat-group", topic, "-o", "beginning", "-e", "-q"])


def drive_kafka_python(bootstrap, topic):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic("kp-extra", 2, 1)])
    admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    for codec in (None, "gzip", "snappy", "lz4", "zstd"):
        p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all", linger_ms=5)
        for i in range(3):
            p.send(topic, key=b"kp", value=f"kafka-python {codec} {i}".encode(), headers=[("h", b"v")])
        p.flush()
        p.close()
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="kp-group", auto_offset_reset="earliest",
                      consumer_timeout_ms=3000)
    for _ in c:
        pass
    c.commit()
    tp = TopicPartition(topic, 0)
    c.offsets_for_times({tp: 0})
    c.end_offsets([tp])
    c.beginning_offsets([tp])
    c.close()
    admin.delete_topics(["kp-extra"])
    admin.close()


def drive_confluent(bootstrap, topic):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("ck-extra", 2, 1)]).values():
        f.result(timeout=15)
    admin.list_topics(timeout=10)
    for f in admin.describe_configs([ConfigResource("topic", topic)]).values():
        f.result(timeout=15)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5})
        for i in range(3):
            p.produce(topic, key=b"ck", value=f"librdkafka {codec} {i}".encode(), headers={"h": b"v"})
        p.flush(15)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-group", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    deadline = time.monotonic() + 10
    seen = 0
    while time.monotonic() < deadline and seen < 10:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            seen += 1
    c.commit(asynchronous=False)
    c.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)
    c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    for f in admin.delete_topics(["ck-extra"]).values():
        f.result(timeout=15)


def drive_kafkajs(bootstrap, topic, work):
    """kafkajs 2.2.4 from npm (tests/clients/kafkajs/package.json) into `work`; skipped without node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("kafkajs: node/npm not installed, skipped")
        return
    src = os.path.join(HERE, "..", "clients", "kafkajs")
    npm = os.path.join(work, "npm")
    os.makedirs(npm, exist_ok=True)
    for name in ("package.json", "kafkajs_capture.js"):
        shutil.copy(os.path.join(src, name), os.path.join(npm, name))
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=npm, check=True,
                   timeout=300)
    out = subprocess.run(["node", os.path.join(npm, "kafkajs_capture.js"), bootstrap, topic], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        print(f"kafkajs: {out.stderr.strip()}")


class Parser:
    """Just enough of the Kafka request encoding to find the records blobs in a Produce request."""

    def __init__(self, data, flexible):
        self.d, self.i, self.flex = data, 0, flexible

    def take(self, n):
        v = self.d[self.i:self.i + n]
        self.i += n
        return v

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.d[self.i]
            self.i += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):  # nullable
        n = self.uvarint() - 1 if self.flex else self.int16()
        return None if n < 0 else self.take(n)

    def bytes_(self):
        n = self.uvarint() - 1 if self.flex else self.int32()
        return None if n < 0 else self.take(n)

    def array(self):
        return self.uvarint() - 1 if self.flex else self.int32()

    def tags(self):
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.take(self.uvarint())


def produce_blobs(frame):
    key, version = struct.unpack(">hh", frame[:4])
    if key != 0:
        return []
    body = Parser(frame, False)
    body.take(8)
    body.string()  # client_id: a classic nullable string even in header v2
    body.flex = version >= 9
    body.tags()
    body.string()
    body.take(6)
    blobs = []
    for _ in range(body.array()):
        body.string()
        for _ in range(body.array()):
            body.int32()
            blob = body.bytes_()
            if blob:
                blobs.append(blob)
            body.tags()
        body.tags()
    return blobs


def write_corpus(frames):
    kafka_dir = os.path.join(HERE, "corpus", "kafka_request")
    batch_dir = os.path.join(HERE, "corpus", "record_batch")
    for d in (kafka_dir, batch_dir):
        os.makedirs(d, exist_ok=True)
    # Captured record batches are replaced; captured requests only for the (api, version) pairs
    # this capture saw, so seeds from clients it does not run (and seed-gen-*, written by
    # fuzz_corpus_generator) stay.
    for f in os.listdir(batch_dir):
        if f.startswith("seed-"):
            os.remove(os.path.join(batch_dir, f))
    seen = {struct.unpack(">hh", frame[:4]) for frame in frames if len(frame) >= 4}
    for f in os.listdir(kafka_dir):
        parts = f.rsplit("-", 2)
        if f.startswith("seed-gen-") or len(parts) != 3 or not parts[1].startswith("v"):
            continue
        api = next((k for k, n in API_NAMES.items() if parts[0] == f"seed-{n}"), None)
        if api is not None and parts[1][1:].isdigit() and (api, int(parts[1][1:])) in seen:
            os.remove(os.path.join(kafka_dir, f))
    kept = collections.defaultdict(list)
    for frame in frames:
        key, version = struct.unpack(">hh", frame[:4])
        if key not in API_NAMES or len(frame) > MAX_FRAME_BYTES:
            continue
        # Correlation ids differ between otherwise equal requests: dedupe without them.
        shape = frame[:4] + frame[8:]
        if any(k[0] == shape for k in kept[(key, version)]):
            continue
        if len(kept[(key, version)]) < MAX_PER_VERSION:
            kept[(key, version)].append((shape, frame))
    written = 0
    for (key, version), items in sorted(kept.items()):
        for _, frame in items:
            name = f"seed-{API_NAMES[key]}-v{version}-{hashlib.sha1(frame).hexdigest()[:10]}"
            with open(os.path.join(kafka_dir, name), "wb") as f:
                f.write(frame)
            written += 1
    blobs = {}
    for frame in frames:
        for blob in produce_blobs(frame):
            codec = struct.unpack(">h", blob[21:23])[0] & 7 if len(blob) >= 23 else 0
            blobs.setdefault(hashlib.sha1(blob).hexdigest()[:10], (CODECS.get(codec, "unknown"), blob))
    for digest, (codec, blob) in sorted(blobs.items()):
        with open(os.path.join(batch_dir, f"seed-{codec}-{digest}"), "wb") as f:
            f.write(b"\x01" + blob)  # mode 1: fix CRCs after mutation, default rules
    print(f"kafka_request: {written} frames over {len(kept)} (api, version) pairs; record_batch: {len(blobs)} blobs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="chronik-capture-")
    gossip, rpc, kafka, admin, proxy_port = free_ports(5)
    node = start_node(os.path.abspath(args.server), work, (gossip, rpc, kafka, admin))
    try:
        proxy = RecordingProxy(proxy_port, kafka)
        bootstrap = f"127.0.0.1:{proxy_port}"
        drive_kcat(bootstrap, "capture")
        drive_kafka_python(bootstrap, "capture")
        drive_confluent(bootstrap, "capture")
        drive_kafkajs(bootstrap, "capture", work)
        with proxy.lock:
            frames = list(proxy.frames)
        write_corpus(frames)
    finally:
        node.terminate()
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
