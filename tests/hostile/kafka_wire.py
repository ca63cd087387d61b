"""Hand-written Kafka wire encoding for the hostile-client suite: the requests a well-behaved
client library will not send (batches whose header lies, garbage compressed payloads, unknown
codecs, a length prefix with no body, a Metadata that asks to create 1,000 topics).

Only what the probes need: Produce v7 (classic) and v9 (flexible, KIP-482), ListOffsets v1,
Metadata v1 and v4, the magic-2 record batch with its CRC-32C. Layouts follow the Kafka protocol
guide; kafka/protocol/messages/*.cc is the server side of the same bytes. Stdlib only.
"""
import socket
import struct
import time

API_PRODUCE, API_LIST_OFFSETS, API_METADATA = 0, 2, 3
CORRUPT_MESSAGE, INVALID_RECORD = 2, 87
CODEC_IDS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # Castagnoli, reflected
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def zigzag_varint(v):
    """Kafka's signed varint (zigzag, then base-128, low group first)."""
    u = (v << 1) ^ (v >> 63)
    return uvarint(u & 0xFFFFFFFFFFFFFFFF)


def uvarint(u):
    out = bytearray()
    while True:
        b = u & 0x7F
        u >>= 7
        if u:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record(offset_delta, value, timestamp_delta=0):
    body = (b"\0" + zigzag_varint(timestamp_delta) + zigzag_varint(offset_delta) + zigzag_varint(-1)
            + zigzag_varint(len(value)) + value + zigzag_varint(0))
    return zigzag_varint(len(body)) + body


def record_batch(values=None, records_section=None, records_count=None, last_offset_delta=None, codec=0):
    """One magic-2 batch with a valid CRC-32C. By default its header tells the truth about
    `values`; records_count, last_offset_delta and codec (attribute bits 0-2) may lie, and
    records_section replaces the encoded records (for garbage compressed payloads)."""
    values = values or [b"hostile"]
    if records_section is None:
        records_section = b"".join(record(i, v) for i, v in enumerate(values))
    count = len(values) if records_count is None else records_count
    last = len(values) - 1 if last_offset_delta is None else last_offset_delta
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", codec, last, now, now, -1, -1, -1, count) + records_section
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


# --- request framing -------------------------------------------------------------------------

def _string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def _frame(api_key, version, correlation_id, body, flexible=False):
    header = struct.pack(">hhi", api_key, version, correlation_id) + _string("hostile-suite")
    if flexible:
        header += b"\0"  # request header v2: empty tagged fields
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def produce_request(topic, partition, records, version=7, acks=-1, correlation_id=1):
    if version >= 9:  # flexible: compact strings, arrays and bytes, tagged fields (KIP-482)
        body = (uvarint(0) + struct.pack(">hi", acks, 10000) + uvarint(2) + _compact_string(topic)
                + uvarint(2) + struct.pack(">i", partition) + uvarint(len(records) + 1) + records
                + b"\0" + b"\0" + b"\0")
        return _frame(API_PRODUCE, version, correlation_id, body, flexible=True)
    body = (struct.pack(">hhi", -1, acks, 10000) + struct.pack(">i", 1) + _string(topic) + struct.pack(">i", 1)
            + struct.pack(">ii", partition, len(records)) + records)
    return _frame(API_PRODUCE, version, correlation_id, body)


def list_offsets_request(topic, partition, timestamp, correlation_id=1):
    """ListOffsets v1: timestamp -1 is the end offset, -2 the start, else the first offset whose
    timestamp is >= it (a reader of the stored batches)."""
    body = struct.pack(">ii", -1, 1) + _string(topic) + struct.pack(">iiq", 1, partition, timestamp)
    return _frame(API_LIST_OFFSETS, 1, correlation_id, body)


def metadata_request(topics, version=4, allow_auto_create=False, correlation_id=1):
    """Metadata v1..v8 (classic). topics None asks for every topic."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(_string(t) for t in topics)
    if version >= 4:
        body += struct.pack(">?", allow_auto_create)
    return _frame(API_METADATA, version, correlation_id, body)


# --- responses -------------------------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self):
        n = self.take(">h")
        s = self.data[self.pos:self.pos + max(n, 0)].decode()
        self.pos += max(n, 0)
        return s if n >= 0 else None

    def compact_string(self):
        n = self.uvarint() - 1
        s = self.data[self.pos:self.pos + max(n, 0)].decode()
        self.pos += max(n, 0)
        return s


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def roundtrip(addr, request, source=None, timeout=15):
    """Sends one framed request on a fresh connection (from `source` ip if given) and returns the
    response body after the correlation id."""
    with socket.create_connection(addr, timeout=timeout, source_address=(source, 0) if source else None) as s:
        s.sendall(request)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        return recv_exact(s, size)[4:]


def produce_error(response, version):
    """The error code of the single partition in a Produce response."""
    r = Reader(response)
    if version >= 9:
        r.uvarint()  # response header v1 tagged fields
        r.uvarint(), r.compact_string(), r.uvarint()
    else:
        r.take(">i"), r.string(), r.take(">i")
    r.take(">i")  # partition index
    return r.take(">h")


def list_offsets_result(response):
    """(error_code, offset) of the single partition in a ListOffsets v1 response."""
    r = Reader(response)
    r.take(">i"), r.string(), r.take(">i")
    r.take(">i")
    error = r.take(">h")
    r.take(">q")  # timestamp
    return error, r.take(">q")


def metadata_topics(response, version):
    """{topic: (error_code, {partition: leader})} from a Metadata v1..v8 response."""
    r = Reader(response)
    if version >= 3:
        r.take(">i")  # throttle_time_ms
    for _ in range(r.take(">i")):  # brokers
        r.take(">i"), r.string(), r.take(">i"), r.string()
    if version >= 2:
        r.string()  # cluster_id
    r.take(">i")  # controller_id
    topics = {}
    for _ in range(r.take(">i")):
        error, name, _internal = r.take(">h"), r.string(), r.take(">?")
        leaders = {}
        for _ in range(r.take(">i")):
            _perr, index, leader = r.take(">hii")
            if version >= 7:
                r.take(">i")  # leader_epoch
            for _ in range(2 if version < 5 else 3):  # replicas, isr, offline (v5+)
                for _ in range(r.take(">i")):
                    r.take(">i")
            leaders[index] = leader
        if version >= 8:
            r.take(">i")  # topic authorized operations
        topics[name] = (error, leaders)
    return topics
