"""Start, stop and query real chronik-server processes on 127.0.0.x for the cluster suites.

Every process is started by this module and ended by PID; every wait is bounded by a deadline.
"""
import json
import os
import sys
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def ensure_admin_token(path):
    """A cluster-wide admin token (docs/security.md "Admin HTTP"): every node of a data root reads
    the same file through --admin-token-file, as keyring propagation needs. Made once, mode 0600."""
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    with open(path) as f:
        return f.read().strip()


def admin_call(addr, path, token, body=None, timeout=2):
    """(HTTP status, parsed JSON body or None) of one admin request; raises OSError when there is
    no answer. `token` None sends no Authorization header; `body` (a dict) makes it a POST."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data, method="GET" if body is None else "POST")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


class Node:
    def __init__(self, server, node_id, ip, base_port, data_root, preset="local"):
        self.server = server
        self.node_id = node_id
        self.ip = ip
        self.bind = ip  # what --bind gets; a test may set "0.0.0.0" with --advertise in `extra`
        self.gossip_port = base_port
        self.rpc_port = base_port + 1
        self.kafka_port = base_port + 2
        self.admin_port = base_port + 3
        self.data_dir = os.path.join(data_root, f"node-{node_id}")
        self.log_path = os.path.join(data_root, f"node-{node_id}.log")
        self.preset = preset
        self.proc = None
        self.listener_ports = {}  # extra Kafka listeners by name (use_kafka_listeners)
        # A TOML file passed with --config; None starts from flags only.
        self.config_path = None
        self.admin_token_file = os.path.join(data_root, "admin_token")
        self.admin_token = ensure_admin_token(self.admin_token_file)

    @property
    def gossip_addr(self):
        return f"{self.ip}:{self.gossip_port}"

    @property
    def admin_addr(self):
        return f"{self.ip}:{self.admin_port}"

    def command(self, seeds, extra=()):
        cmd = [self.server, "start", "--node-id", str(self.node_id), "--bind", self.bind,
               "--gossip-port", str(self.gossip_port), "--rpc-port", str(self.rpc_port),
               "--kafka-port", str(self.kafka_port), "--admin-port", str(self.admin_port),
               "--data-dir", self.data_dir, "--preset", self.preset, "--cluster-name", "cluster-test",
               "--admin-token-file", self.admin_token_file]
        for s in seeds:
            cmd += ["--seed", s]
        if self.config_path:
            cmd += ["--config", self.config_path]
        return cmd + list(extra)

    def use_rpc_tls(self, certs_dir, verify_incoming=True, verify_outgoing=True):
        """From the next start, mutual TLS between nodes with DIR/ca.crt and DIR/node-<id>.crt/.key
        (`chronik-server certs`, docs/security.md "Between nodes: mutual TLS"); the switches are the
        rolling switch-on's. Writes the node's TOML (docs/config.md) and passes it with --config."""
        self.config_path = os.path.join(os.path.dirname(self.data_dir), f"node-{self.node_id}.toml")
        with open(self.config_path, "w") as f:
            f.write(f'rpc_tls_ca_file = "{os.path.join(certs_dir, "ca.crt")}"\n'
                    f'rpc_tls_cert_file = "{os.path.join(certs_dir, f"node-{self.node_id}.crt")}"\n'
                    f'rpc_tls_key_file = "{os.path.join(certs_dir, f"node-{self.node_id}.key")}"\n'
                    f"rpc_tls_verify_incoming = {str(verify_incoming).lower()}\n"
                    f"rpc_tls_verify_outgoing = {str(verify_outgoing).lower()}\n")

    def use_kafka_listeners(self, listeners, pki, client_auth="none"):
        """From the next start, Kafka listeners beyond the PLAINTEXT one on kafka_port
        (docs/config.md "Kafka listeners and TLS"): `listeners` is [(name, protocol, port)], e.g.
        [("SSL", "SSL", 31000)]; TLS ones use pki's CA and server certificate (TestPki). Appends to
        the node's TOML (call it after use_rpc_tls, which rewrites the file); ports are in
        self.listener_ports by name."""
        self.listener_ports = {name: port for name, _, port in listeners}
        entries = [f"PLAINTEXT://{self.ip}:{self.kafka_port}"] + [f"{name}://{self.ip}:{port}" for name, _, port in listeners]
        custom = [f"{name}:{proto}" for name, proto, _ in listeners if name != proto]
        if self.config_path is None:
            self.config_path = os.path.join(os.path.dirname(self.data_dir), f"node-{self.node_id}.toml")
        with open(self.config_path, "a") as f:
            f.write("listeners = [" + ", ".join(f'"{e}"' for e in entries) + "]\n")
            if custom:
                f.write("listener_security_protocol_map = [" + ", ".join(f'"{c}"' for c in custom) + "]\n")
            f.write('inter_broker_listener_name = "PLAINTEXT"\n')
            f.write(f'kafka_tls_cert_file = "{pki.server_cert}"\nkafka_tls_key_file = "{pki.server_key}"\n'
                    f'kafka_tls_ca_file = "{pki.ca}"\nkafka_tls_client_auth = "{client_auth}"\n')

    def listener_addr(self, name="PLAINTEXT"):
        """host:port of the node's listener `name`."""
        port = self.kafka_port if name == "PLAINTEXT" else self.listener_ports[name]
        return f"{self.ip}:{port}"

    def start(self, seeds, extra=()):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(seeds, extra), stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def admin(self, path, body=None, token=True, timeout=2):
        """(status, JSON) of an admin request with the cluster's token (token=None: without one,
        a string: that one); raises OSError when the node does not answer."""
        return admin_call(self.admin_addr, path, self.admin_token if token is True else token, body, timeout)

    def admin_json(self, path):
        """The JSON of a 200 answer to GET `path`, or None when the node does not answer so."""
        try:
            status, doc = self.admin(path)
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return doc if status == 200 else None

    def members(self):
        """The node's /v1/members as {node_id: member}, or None when it does not answer."""
        doc = self.admin_json("/v1/members")
        return None if doc is None else {m["node_id"]: m for m in doc}

    def cluster(self):
        """The node's /v1/cluster (cluster id, meta_leader, term, voters, brokers), or None."""
        return self.admin_json("/v1/cluster")


class Cluster:
    """A set of nodes on 127.0.0.(10+i) with ports from a per-run base, so parallel runs do not clash."""

    def __init__(self, server, size, preset="local", rpc_tls=False):
        """rpc_tls=True: a development CA and node certificates in <root>/certs (make_certs), and
        every node starts with mutual TLS between nodes on."""
        self.root = tempfile.mkdtemp(prefix="chronik-cluster-")
        base = 20000 + (os.getpid() % 2000) * 4
        self.nodes = [Node(server, i + 1, f"127.0.0.{10 + i + 1}", base, self.root, preset)
                      for i in range(size)]
        self.certs_dir = None
        if rpc_tls:
            self.certs_dir = make_certs(server, os.path.join(self.root, "certs"), [n.node_id for n in self.nodes],
                                        {n.node_id: n.data_dir for n in self.nodes})
            for n in self.nodes:
                n.use_rpc_tls(self.certs_dir)

    def add_kafka_listener(self, name="SSL", protocol=None, client_auth="none"):
        """Gives every node a second Kafka listener `name` speaking `protocol` (default: the name),
        next to PLAINTEXT on kafka_port, on port kafka_port + 10000 (outside every run's base
        range). TLS uses a throwaway CA and one server certificate for all node IPs (self.pki).
        Call before starting the nodes; returns the pki."""
        if getattr(self, "pki", None) is None:
            self.pki = TestPki(os.path.join(self.root, "kafka-pki"), [n.ip for n in self.nodes])
        for n in self.nodes:
            n.use_kafka_listeners([(name, protocol or name, n.kafka_port + 10000)], self.pki, client_auth)
        return self.pki

    def start_all(self, extra=()):
        """Starts every node, each seeded with all the others."""
        for n in self.nodes:
            n.start([m.gossip_addr for m in self.nodes if m is not n], extra)

    def bootstrap(self):
        """The Kafka bootstrap list of every node."""
        return ",".join(f"{n.ip}:{n.kafka_port}" for n in self.nodes)

    def wait_brokers(self, count, timeout=60):
        """Waits until every node's /v1/cluster lists `count` brokers."""
        self.wait_for(lambda: all(len((n.cluster() or {}).get("brokers", [])) == count for n in self.nodes),
                      timeout, f"{count} brokers")

    def wait_ready(self, timeout, count=None, alive=False):
        """Waits until every running node reads `__meta` linearizably and lists `count` brokers
        (default: every node), all of them alive if `alive`: the cluster is ready for clients."""
        count = len(self.nodes) if count is None else count

        def ready():
            views = [n.cluster() for n in self.nodes if n.running()]
            return all(v and v.get("read") == "linearizable" and len(v["brokers"]) == count
                       and (not alive or all(b["state"] == "alive" for b in v["brokers"])) for v in views)

        what = f"{count} {'alive' if alive else 'registered'} brokers on every running node"
        return self.wait_for(ready, timeout, what)

    def stop_all(self):
        for n in self.nodes:
            n.kill()

    def cleanup(self, keep_logs_on_failure=False):
        self.stop_all()
        if keep_logs_on_failure:
            print(f"logs kept in {self.root}")
            for n in self.nodes:
                if os.path.exists(n.log_path):
                    with open(n.log_path, errors="replace") as f:
                        tail = f.readlines()[-15:]
                    print(f"--- node {n.node_id} log tail ---\n" + "".join(tail))
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def view(self, observer):
        return observer.members() or {}

    def all_see(self, who, state, observers=None):
        observers = observers or [n for n in self.nodes if n.running() and n is not who]
        for o in observers:
            m = self.view(o).get(who.node_id)
            if m is None or m["state"] != state:
                return False
        return True

    def converged(self):
        """Every running node sees exactly the running nodes alive."""
        running = {n.node_id for n in self.nodes if n.running()}
        for n in self.nodes:
            if not n.running():
                continue
            view = n.members()
            if view is None:
                return False
            alive = {i for i, m in view.items() if m["state"] == "alive"}
            if alive != running:
                return False
        return True


class TestPki:
    """A throwaway CA and certificates for TLS on the Kafka listeners, made with the openssl CLI:
    ca.pem, and server.pem/server.key valid for every IP in `ips` (clients check the host name
    against the certificate's subjectAltName). client_cert(cn) makes a client certificate."""

    def __init__(self, directory, ips):
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.ca = os.path.join(directory, "ca.pem")
        self.ca_key = os.path.join(directory, "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=chronik test CA")
        san = ",".join([f"IP:{ip}" for ip in ips] + ["DNS:localhost"])
        self.server_cert, self.server_key = self._issue("server", "chronik-broker", san)

    def client_cert(self, cn):
        """(certificate, key) paths of a client certificate whose subject CN is `cn`."""
        return self._issue(f"client-{cn}", cn, None)

    def _issue(self, stem, cn, san):
        key = os.path.join(self.dir, f"{stem}.key")
        csr = os.path.join(self.dir, f"{stem}.csr")
        cert = os.path.join(self.dir, f"{stem}.pem")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                      "-out", csr, "-subj", f"/CN={cn}")
        ext = os.path.join(self.dir, f"{stem}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + (f"subjectAltName={san}\n" if san else ""))
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                      "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key

    @staticmethod
    def _openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_certs(server, certs_dir, node_ids, data_dirs=None):
    """`chronik-server certs`: a development CA in certs_dir (kept if there) and node-<id>.crt/.key
    for each id; returns certs_dir. With data_dirs ({id: data dir}) each certificate also binds
    that directory's node_uuid (`certs --data-dir`, one node per call)."""
    if data_dirs:
        for i in node_ids:
            subprocess.run([server, "certs", "--dir", certs_dir, "--node", str(i), "--data-dir", data_dirs[i]],
                           check=True, capture_output=True, text=True, timeout=60)
        return certs_dir
    cmd = [server, "certs", "--dir", certs_dir]
    for i in node_ids:
        cmd += ["--node", str(i)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    return certs_dir


def connected_seed_lists(rng, nodes):
    """Random partial seed lists whose graph is connected: each node names one or two earlier ones."""
    order = nodes[:]
    rng.shuffle(order)
    seeds = {n.node_id: [] for n in nodes}
    for k in range(1, len(order)):
        picks = {order[rng.randrange(k)]}
        if rng.random() < 0.4:
            picks.add(order[rng.randrange(k)])
        seeds[order[k].node_id] = [p.gossip_addr for p in picks]
    # The first node of the order still gets a seed, so every node starts with a partial list.
    seeds[order[0].node_id] = [order[1].gossip_addr]
    return seeds


def run_suite(module_globals, name):
    """Parses --server, stores it as the module's SERVER, prints the seed and runs unittest."""
    import argparse
    import unittest
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    args, rest = parser.parse_known_args()
    module_globals["SERVER"] = os.path.abspath(args.server)
    print(f"{name} suite seed {module_globals['SEED']}")
    unittest.main(module=module_globals["__name__"], argv=[sys.argv[0]] + rest, verbosity=2)
