"""Forged gossip datagrams for the hostile-client suite, encoded with the real wire schema.

proto/gossip.proto is compiled with protoc into a temporary directory at run time (the generated
module is never checked in). A datagram is one serialized GossipEnvelope and nothing else:
gossip/net/gossip_node.cc hands the received bytes straight to gossip/net/codec.cc's decode(),
which checks the wire version; the membership core then drops envelopes of another cluster name.
"""
import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile

WIRE_VERSION = 1
U64_MAX = (1 << 64) - 1


def load_gossip_pb2(repo_root):
    out = tempfile.mkdtemp(prefix="chronik-hostile-pb-")
    proto_dir = os.path.join(repo_root, "proto")
    subprocess.run(["protoc", f"--proto_path={proto_dir}", f"--python_out={out}",
                    os.path.join(proto_dir, "gossip.proto")], check=True, timeout=60)
    sys.path.insert(0, out)
    try:
        return importlib.import_module("gossip_pb2")  # loaded in memory: the directory can go
    finally:
        sys.path.remove(out)
        shutil.rmtree(out, ignore_errors=True)


def accusations(pb, cluster_name, sender, accused, incarnation=U64_MAX):
    """One envelope from `sender` (a Node) with a Suspect, a Dead and an Alive (at a bogus
    address) about each Node of `accused`, all at `incarnation`."""
    env = pb.GossipEnvelope(version=WIRE_VERSION, cluster=cluster_name.encode(), **{"from": sender.node_id},
                            from_addr=sender.gossip_addr.encode())
    for node in accused:
        env.messages.add().suspect.CopyFrom(pb.Suspect(node=node.node_id, incarnation=incarnation,
                                                       **{"from": sender.node_id}))
        env.messages.add().dead.CopyFrom(pb.Dead(node=node.node_id, incarnation=incarnation,
                                                 **{"from": sender.node_id}))
        env.messages.add().alive.CopyFrom(pb.Alive(node=node.node_id, incarnation=incarnation,
                                                   addr=b"127.0.0.99:9"))
    return env.SerializeToString()


def send_datagram(payload, node):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(payload, (node.ip, node.gossip_port))
