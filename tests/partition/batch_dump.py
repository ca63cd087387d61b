"""The record batches of the data topic with their producer fields, for a failed check.

A value read twice is a retry the partition appended again (docs/kafka.md "Idempotent
producers"). Which one is told by the batches holding the two copies: the same producer id, epoch
and base sequence means chronik's duplicate check missed it; a new producer id or epoch means
the client sent it again under a new identity. kafka-python's consumer does not show these fields,
so this asks a partition's leader with a plain Fetch v4 (kafka-python's protocol classes, on a
socket from a thread in a node's namespace) and decodes the batches itself.
"""
import socket

from kafka.protocol.fetch import FetchRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.record.memory_records import MemoryRecords

FETCH_BYTES = 4 << 20


def _fetch(addr, topic, partition, offset, timeout_s):
    host, port = addr.rsplit(":", 1)
    proto = KafkaProtocol(client_id="batch-dump")
    req = FetchRequest[4](replica_id=-1, max_wait_time=0, min_bytes=0, max_bytes=FETCH_BYTES, isolation_level=0,
                          topics=[(topic, [(partition, offset, FETCH_BYTES)])])
    proto.send_request(req)
    with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
        s.sendall(proto.send_bytes())
        # Bounded: each recv waits at most timeout_s, and one answer ends the loop.
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed before the Fetch answer")
            answers = proto.receive_bytes(chunk)
            if answers:
                resp = answers[0][1]
                break
    (_, parts), = resp.topics
    (_, error, hw, _, _, records), = parts
    return error, hw, records


def batches(addr, topic, partition, begin, end, timeout_s=5):
    """[(base offset, producer id, epoch, base sequence, [values])] of [begin, end), or raises
    with the Fetch error (a follower answers NOT_LEADER_OR_FOLLOWER)."""
    out, offset = [], begin
    # Bounded: every round advances past at least one batch, or stops.
    while offset < end:
        error, _, records = _fetch(addr, topic, partition, offset, timeout_s)
        if error:
            raise RuntimeError(f"Fetch {topic}-{partition} at {offset}: error {error}")
        mr = MemoryRecords(records)
        before = offset
        while mr.has_next():
            b = mr.next_batch()
            if b is None:
                break
            values = [r.value.decode(errors="replace") for r in b]
            # kafka-python 2.0.2 decodes but does not name them: the v2 header's producer id,
            # epoch and base sequence are fields 9, 10 and 11.
            pid, epoch, seq = b._header_data[9:12]
            out.append((b.base_offset, pid, epoch, seq, values))
            offset = b.base_offset + b.last_offset_delta + 1
        if offset == before:
            break
    return out
