"""Replica moves from the partition suite: AlterPartitionReassignments (key 45) and
ListPartitionReassignments (key 46) of KIP-455, spoken directly on a socket.

Debian's python3-kafka (2.0.2, what /usr/bin/python3 has) knows neither API nor the flexible
encoding (KIP-482: compact strings and arrays, tagged fields, request header v2) both use from
version 0, so the few bytes are written here instead; the suite keeps one Python and one client
library. The layouts are those of schemas/kafka/alter_partition_reassignments.api and
list_partition_reassignments.api (v0 of each). Every call runs on a thread inside a node's network
namespace (observe.NsWorker), so it is a client of that node's side of any partition.
"""
import socket
import struct

ALTER_KEY, LIST_KEY = 45, 46
CLIENT_ID = b"partition-move"


# ---- encoding ------------------------------------------------------------------------------

def _uvarint(u):
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def _compact_string(s):
    b = s.encode()
    return _uvarint(len(b) + 1) + b


def _compact_array(items, encode):
    """A compact array (length + 1 as an unsigned varint); None is the null array (0)."""
    if items is None:
        return _uvarint(0)
    return _uvarint(len(items) + 1) + b"".join(encode(x) for x in items)


NO_TAGS = _uvarint(0)


def _frame(api_key, correlation_id, body):
    """Request header v2 (the flexible one: v1 plus tagged fields), version 0, then the body."""
    header = struct.pack(">hhih", api_key, 0, correlation_id, len(CLIENT_ID)) + CLIENT_ID + NO_TAGS
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def alter_request(moves, timeout_ms, correlation_id=1):
    """moves: {(topic, partition): [broker ids]} (None cancels that partition's move)."""
    by_topic = {}
    for (topic, partition), replicas in sorted(moves.items()):
        by_topic.setdefault(topic, []).append((partition, replicas))

    def partition(p):
        index, replicas = p
        return (struct.pack(">i", index) + _compact_array(replicas, lambda r: struct.pack(">i", r)) + NO_TAGS)

    def topic(t):
        name, parts = t
        return _compact_string(name) + _compact_array(parts, partition) + NO_TAGS
    body = struct.pack(">i", timeout_ms) + _compact_array(sorted(by_topic.items()), topic) + NO_TAGS
    return _frame(ALTER_KEY, correlation_id, body)


def list_request(timeout_ms, correlation_id=1):
    """Every move in progress (a null topic list)."""
    return _frame(LIST_KEY, correlation_id, struct.pack(">i", timeout_ms) + _compact_array(None, None) + NO_TAGS)


# ---- decoding ------------------------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"response ends at {len(self.data)} inside a field at {self.pos}")
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return v[0] if len(v) == 1 else v

    def uvarint(self):
        value = shift = 0
        for _ in range(5):  # a 32-bit unsigned varint has at most 5 bytes
            b = self.take(">B")
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise ValueError("varint longer than 5 bytes")

    def compact_nullable_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        s = self.data[self.pos:self.pos + n - 1].decode(errors="replace")
        self.pos += n - 1
        return s

    def compact_array(self, decode):
        n = self.uvarint()
        return None if n == 0 else [decode(self) for _ in range(n - 1)]

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()                 # tag
            self.pos += self.uvarint()     # size, then the value skipped


def _int32s(r):
    return r.compact_array(lambda x: x.take(">i")) or []


def parse_alter(body):
    """(top-level error, {(topic, partition): (error, message)})."""
    r = Reader(body)
    r.take(">i")  # throttle_time_ms
    error = r.take(">h")
    r.compact_nullable_string()
    out = {}

    def partition(x, name):
        index, code, msg = x.take(">i"), x.take(">h"), x.compact_nullable_string()
        x.skip_tags()
        out[(name, index)] = (code, msg)

    def topic(x):
        name = x.compact_nullable_string()
        x.compact_array(lambda y: partition(y, name))
        x.skip_tags()
    r.compact_array(topic)
    r.skip_tags()
    return error, out


def parse_list(body):
    """(top-level error, {(topic, partition): {"replicas", "adding", "removing"}})."""
    r = Reader(body)
    r.take(">i")
    error = r.take(">h")
    r.compact_nullable_string()
    out = {}

    def partition(x, name):
        index = x.take(">i")
        out[(name, index)] = {"replicas": _int32s(x), "adding": _int32s(x), "removing": _int32s(x)}
        x.skip_tags()

    def topic(x):
        name = x.compact_nullable_string()
        x.compact_array(lambda y: partition(y, name))
        x.skip_tags()
    r.compact_array(topic)
    r.skip_tags()
    return error, out


# ---- one round trip ------------------------------------------------------------------------

def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:  # bounded by the socket timeout on every recv
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def roundtrip(addr, request, timeout_s):
    """Sends one framed request and returns the response body after its header v1 (correlation id
    and tagged fields). Call from a thread inside the node's namespace."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(request)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        r = Reader(_recv_exact(sock, size))
    r.take(">i")  # correlation id: one request per connection
    r.skip_tags()
    return r.data[r.pos:]


def alter(worker, addr, moves, timeout_ms=10000):
    """AlterPartitionReassignments through the node at `addr`, from `worker`'s namespace."""
    request = alter_request(moves, timeout_ms)
    return worker.call(lambda: parse_alter(roundtrip(addr, request, timeout_ms / 1000 + 5)), timeout_ms / 1000 + 10)


def in_progress(worker, addr, timeout_s=5):
    """ListPartitionReassignments (every move in progress) through the node at `addr`."""
    request = list_request(int(timeout_s * 1000))
    return worker.call(lambda: parse_list(roundtrip(addr, request, timeout_s + 2)), timeout_s + 5)
