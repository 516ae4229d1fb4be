"""Cluster tests: real peer processes on 127.0.0.1 talking over real TCP / mutual TLS.

Two layers:

* ``Driver*`` tests start this file itself as a small process (``--driver CONFIG``) that runs
  ``tests.qdrant_peer.cluster.Cluster`` and ``tests.qdrant_peer.audit.AuditLog`` behind a
  minimal REST front (``GET /cluster``, ``/readyz``, ``/collections``, ``POST /audit/logs``).
  They exercise the p2p protocol, membership, restart/kill behaviour, mutual TLS and internal
  auth without depending on the full peer.
* ``test_full_peer_*`` use peer A's ``peer_factory`` fixture (the complete
  ``python -m tests.qdrant_peer``) when it is available and skip otherwise.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import pathlib
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

from tests.qdrant_peer.audit import parse_timestamp

REPO = pathlib.Path(__file__).resolve().parents[2]
T = TypeVar("T")

pytestmark = pytest.mark.integration


# =========================================================================== driver process


def _driver_main(config_path: str) -> None:  # pragma: no cover - runs in a child process
    """Run Cluster + AuditLog with a minimal REST front (child process entry point)."""
    sys.path.insert(0, str(REPO))
    from tests.qdrant_peer.audit import AuditLog, remote_from_request, tracing_id_from_headers
    from tests.qdrant_peer.cluster import Cluster, PeerError

    cfg = json.loads(pathlib.Path(config_path).read_text())
    workdir = pathlib.Path.cwd()
    settings: dict[str, Any] = cfg["settings"]
    tls = cfg.get("tls")
    server_ctx = client_ctx = rest_ctx = None
    if tls and settings.get("cluster", {}).get("p2p", {}).get("enable_tls"):
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(tls["cert"], tls["key"])
        server_ctx.load_verify_locations(tls["ca"])
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(tls["ca"])
        client_ctx.load_cert_chain(tls["cert"], tls["key"])
    if tls and settings.get("service", {}).get("enable_tls"):
        rest_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        rest_ctx.load_cert_chain(tls["cert"], tls["key"])

    audit = AuditLog(cfg["audit"], workdir) if cfg.get("audit") is not None else None
    col_file = workdir / "collections.json"
    collections: dict[str, Any] = json.loads(col_file.read_text()) if col_file.exists() else {}

    def save() -> None:
        col_file.write_text(json.dumps(collections))

    def apply(op: str, name: str, body: dict[str, Any] | None) -> None:
        if op == "create":
            collections[name] = body or {}
        elif op == "delete":
            collections.pop(name, None)
        save()

    cluster = Cluster(
        settings,
        uri=cfg.get("uri"),
        bootstrap=cfg.get("bootstrap"),
        storage_path=workdir / "storage",
        ssl_server_ctx=server_ctx,
        ssl_client_ctx=client_ctx,
        audit=audit,
        local_collections=lambda: {n: {"points_count": 0, "config": c} for n, c in collections.items()},
        apply_remote_change=apply,
    )
    cluster.start()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, payload: Any, text: bool = False) -> None:
            data = payload.encode() if text else json.dumps(payload).encode()
            self.send_response(status)
            ctype = "text/plain; charset=utf-8" if text else "application/json"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def audit(self, method: str) -> None:
            if audit is not None:
                audit.write(
                    method=method,
                    api=urllib.parse.urlsplit(self.path).path,
                    auth_type="None",
                    subject=None,
                    remote=remote_from_request(self.client_address[0], self.headers, False),
                    collection=None,
                    tracing_id=tracing_id_from_headers(self.headers),
                    result="ok",
                    error=None,
                )

        def body(self) -> dict[str, Any]:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def handle_any(self, verb: str) -> None:
            parts = urllib.parse.urlsplit(self.path)
            path, query = parts.path.rstrip("/"), urllib.parse.parse_qs(parts.query)
            segs = [s for s in path.split("/") if s]
            ok = lambda result: {"result": result, "status": "ok", "time": 0.0}  # noqa: E731
            if verb == "GET" and path == "/readyz":
                ready = cluster.ready()
                self.reply(
                    200 if ready else 503,
                    "all shards are ready" if ready else "some shards are not ready",
                    text=True,
                )
            elif verb == "GET" and path == "/cluster":
                self.audit("cluster_status")
                self.reply(200, ok(cluster.status()))
            elif verb == "GET" and path == "/collections":
                self.audit("list_collections")
                self.reply(200, ok({"collections": [{"name": n} for n in sorted(collections)]}))
            elif verb == "PUT" and len(segs) == 2 and segs[0] == "collections":
                self.audit("create_collection")
                body = self.body()
                collections[segs[1]] = body
                save()
                cluster.on_collection_change("create", segs[1], body)
                self.reply(200, ok(True))
            elif verb == "DELETE" and len(segs) == 2 and segs[0] == "collections":
                self.audit("delete_collection")
                collections.pop(segs[1], None)
                save()
                cluster.on_collection_change("delete", segs[1], None)
                self.reply(200, ok(True))
            elif verb == "GET" and len(segs) == 3 and segs[0] == "collections":
                self.audit("get_collection_cluster")
                self.reply(200, ok(cluster.collection_cluster(segs[1], 0)))
            elif verb == "POST" and path == "/audit/logs":
                self.audit("get_audit_logs")
                body = self.body()
                try:
                    entries = cluster.gather_audit(
                        body.get("time_from"),
                        body.get("time_to"),
                        int(body.get("limit", 100)),
                        body.get("filters") or {},
                        float(query.get("timeout", ["60"])[0]),
                    )
                except PeerError as exc:
                    self.reply(exc.status, {"status": {"error": exc.message}, "time": 0.0})
                    return
                self.reply(200, ok({"entries": entries}))
            else:
                self.reply(404, {"status": {"error": "not found"}})

        def do_GET(self) -> None:
            self.handle_any("GET")

        def do_PUT(self) -> None:
            self.handle_any("PUT")

        def do_POST(self) -> None:
            self.handle_any("POST")

        def do_DELETE(self) -> None:
            self.handle_any("DELETE")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self) -> None:
            import socketserver

            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

        def finish_request(self, request: Any, client_address: Any) -> None:
            if rest_ctx is not None:
                try:
                    request = rest_ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            super().finish_request(request, client_address)

    server = Server(("127.0.0.1", int(cfg["rest_port"])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever(poll_interval=0.1)


# =========================================================================== helpers


def _free_port() -> int:
    from tests.peer.peerlib import free_port  # below the ephemeral range: safe across restarts

    return free_port()


def wait_for(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.1, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except Exception as exc:  # keep polling through transient errors
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what or fn}: last={last!r}")
        time.sleep(interval)


class Certs:
    """A CA and per-peer certificates made with `cryptography` (facts 6.5 profile)."""

    def __init__(self, root: pathlib.Path, name: str = "Test CA") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self._x509, self._hashes, self._ser, self._ec = x509, hashes, serialization, ec
        self._eku, self._name_oid = ExtendedKeyUsageOID, NameOID
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.timezone.utc)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = root / "cacert.pem"
        self.ca_path.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str) -> tuple[pathlib.Path, pathlib.Path]:
        x509, ser = self._x509, self._ser
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(self._name_oid.COMMON_NAME, name)]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([self._eku.SERVER_AUTH, self._eku.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.ca_key, self._hashes.SHA256())
        )
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = d / "cert.pem", d / "key.pem"
        cert_path.write_bytes(cert.public_bytes(ser.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
        return cert_path, key_path


class DriverPeer:
    """One driver process with its own working dir, ports and config."""

    def __init__(
        self,
        root: pathlib.Path,
        name: str,
        *,
        tls: dict[str, str] | None = None,
        p2p_tls: bool = False,
        rest_tls: bool = False,
        audit: dict[str, Any] | None = None,
        service: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.workdir = root / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rest_port = _free_port()
        self.p2p_port = _free_port()
        self.tls = tls
        self.p2p_tls = p2p_tls
        self.rest_tls = rest_tls
        self.audit = audit
        self.service: dict[str, Any] = dict(service or {})
        self.bootstrap: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.bootstrap_timeout = 10
        self.give_uri = True  # False: start without --uri (the bootstrap peer records us)

    @property
    def uri(self) -> str:
        return f"{'https' if self.p2p_tls else 'http'}://127.0.0.1:{self.p2p_port}"

    @property
    def rest_url(self) -> str:
        return f"{'https' if self.rest_tls else 'http'}://127.0.0.1:{self.rest_port}"

    def config(self) -> dict[str, Any]:
        return {
            "settings": {
                "service": {
                    "host": "127.0.0.1",
                    "http_port": self.rest_port,
                    "enable_tls": self.rest_tls,
                    **self.service,
                },
                "cluster": {
                    "enabled": True,
                    "p2p": {"port": self.p2p_port, "enable_tls": self.p2p_tls},
                    "connection_timeout_ms": 1000,
                    "consensus": {"bootstrap_timeout_sec": self.bootstrap_timeout},
                },
            },
            "uri": self.uri if self.give_uri else None,
            "bootstrap": self.bootstrap,
            "rest_port": self.rest_port,
            "tls": self.tls,
            "audit": self.audit,
        }

    def start(self, bootstrap: DriverPeer | None = None, wait: bool = True) -> DriverPeer:
        if bootstrap is not None:
            self.bootstrap = bootstrap.uri
        cfg_path = self.workdir / "driver.json"
        cfg_path.write_text(json.dumps(self.config()))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.log = open(self.workdir / "driver.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(pathlib.Path(__file__).resolve()), "--driver", str(cfg_path)],
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            wait_for(self._up, timeout=20, what=f"{self.name} REST up")
        return self

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.read_log()}")
        try:
            return self.get("/cluster")[0] == 200
        except OSError:
            return False

    def read_log(self) -> str:
        return (self.workdir / "driver.log").read_text(errors="replace")[-3000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> DriverPeer:
        self.stop()
        return self.start()

    # ---- REST ------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self.rest_tls:
            assert self.tls is not None
            ctx = ssl.create_default_context(cafile=self.tls["ca"])
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.rest_port, timeout=15, context=ctx
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.rest_port, timeout=15)
        try:
            data = None if body is None else json.dumps(body).encode()
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode(errors="replace")

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def cluster(self) -> dict[str, Any]:
        status, body = self.get("/cluster")
        assert status == 200, body
        return body["result"]

    def ready(self) -> bool:
        return self.get("/readyz")[0] == 200

    def audit_logs(self, body: dict[str, Any], timeout: int = 5) -> tuple[int, Any]:
        return self.request("POST", f"/audit/logs?timeout={timeout}", body)


@pytest.fixture
def driver_root(tmp_path: pathlib.Path) -> Iterator[list[DriverPeer]]:
    peers: list[DriverPeer] = []
    yield peers
    for p in peers:
        p.stop(signal.SIGKILL)


def _newest_first(entries: list[dict[str, Any]]) -> bool:
    """Entries are in descending time order.  AutoSi stamps have 0, 3, 6 or 9 fractional
    digits, so their text does not sort by time (``...:30Z`` > ``...:30.5Z``): compare
    parsed values."""
    stamps = [parse_timestamp(e["timestamp"]) for e in entries]
    return stamps == sorted(stamps, reverse=True)


def _agreement(peers: list[DriverPeer], leader: DriverPeer | None = None) -> list[dict[str, Any]]:
    """All statuses when every peer agrees on peers, leader, term and commit, else []."""
    statuses = [p.cluster() for p in peers]
    first = statuses[0]
    ids = {s["peer_id"] for s in statuses}
    for s in statuses:
        ri = s["raft_info"]
        if set(s["peers"]) != {str(i) for i in ids} or len(s["peers"]) != len(peers):
            return []
        if ri["leader"] == 0 or ri["leader"] != first["raft_info"]["leader"]:
            return []
        if ri["term"] != first["raft_info"]["term"] or ri["commit"] != first["raft_info"]["commit"]:
            return []
        if ri["pending_operations"] != 0:
            return []
        if s["consensus_thread_status"]["consensus_thread_status"] != "working":
            return []
        if s["peers"] != first["peers"]:
            return []
    if leader is not None and first["raft_info"]["leader"] != leader.cluster()["peer_id"]:
        return []
    return statuses


def _check_shape(status: dict[str, Any]) -> None:
    assert list(status) == [
        "status",
        "peer_id",
        "peers",
        "raft_info",
        "consensus_thread_status",
        "message_send_failures",
    ]
    assert status["status"] == "enabled"
    assert isinstance(status["peer_id"], int) and 0 < status["peer_id"] < 2**53
    for pid, info in status["peers"].items():
        assert pid.isdigit() and list(info) == ["uri"]
    assert list(status["raft_info"]) == [
        "term",
        "commit",
        "pending_operations",
        "leader",
        "role",
        "is_voter",
    ]
    assert status["raft_info"]["role"] in ("Leader", "Follower")
    assert status["raft_info"]["is_voter"] is True
    cts = status["consensus_thread_status"]
    assert cts["consensus_thread_status"] == "working"
    assert dt.datetime.fromisoformat(cts["last_update"].replace("Z", "+00:00"))
    for entry in status["message_send_failures"].values():
        assert list(entry) == ["count", "latest_error", "latest_error_timestamp"]


def _start_three(
    root: pathlib.Path, peers: list[DriverPeer], p3_without_uri: bool = False, **kw: Any
) -> list[DriverPeer]:
    p1 = DriverPeer(root, "p1", **kw)
    p2 = DriverPeer(root, "p2", **kw)
    p3 = DriverPeer(root, "p3", **kw)
    peers.extend([p1, p2, p3])
    p3.give_uri = not p3_without_uri
    p1.start()
    p2.start(bootstrap=p1)
    p3.start(bootstrap=p2)  # joins through a follower, which forwards to the leader
    return [p1, p2, p3]


# =========================================================================== driver tests


def test_plain_cluster_membership_restart_kill_and_audit(
    tmp_path: pathlib.Path, driver_root: list[DriverPeer]
) -> None:
    audit = {"enabled": True, "rotation": "hourly"}
    p1, p2, p3 = _start_three(tmp_path, driver_root, audit=audit)
    all3 = [p1, p2, p3]
    statuses = wait_for(lambda: _agreement(all3, leader=p1), what="agreement")
    for s in statuses:
        _check_shape(s)
    roles = [s["raft_info"]["role"] for s in statuses]
    assert roles == ["Leader", "Follower", "Follower"]
    assert statuses[0]["raft_info"]["term"] == 1
    ids = [s["peer_id"] for s in statuses]
    assert statuses[0]["peers"] == {str(i): {"uri": p.uri} for i, p in zip(ids, all3, strict=True)}
    for p in all3:
        assert wait_for(p.ready, what=f"{p.name} ready")
    # persisted peer id under the storage path
    state = json.loads((p2.workdir / "storage/raft_state.json").read_text())
    assert state["peer_id"] == ids[1]

    # collection metadata created on a follower shows up everywhere
    assert p3.request("PUT", "/collections/docs", {"vectors": {"size": 4}})[0] == 200
    for p in all3:
        wait_for(
            lambda p=p: p.get("/collections")[1]["result"]["collections"] == [{"name": "docs"}],
            what=f"docs on {p.name}",
        )
    cc = p1.get("/collections/docs/cluster")[1]["result"]
    assert cc["peer_id"] == ids[0] and cc["shard_count"] == 1
    assert cc["local_shards"] == [{"shard_id": 0, "points_count": 0, "state": "Active"}]
    assert sorted(r["peer_id"] for r in cc["remote_shards"]) == sorted(ids[1:])
    assert {r["state"] for r in cc["remote_shards"]} == {"Active"} and cc["shard_transfers"] == []

    # restart a follower: same id, back in /cluster and ready
    p2.restart()
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement after p2 restart")
    assert p2.cluster()["peer_id"] == ids[1]
    assert wait_for(p2.ready, what="p2 ready after restart")

    # restart the leader: a new term everywhere, still the same leader
    term = p1.cluster()["raft_info"]["term"]
    p1.restart()
    after = wait_for(lambda: _agreement(all3, leader=p1), what="agreement after leader restart")
    assert {s["raft_info"]["term"] for s in after} == {term + 1}
    assert wait_for(p1.ready, what="p1 ready after restart")

    # each peer has audit entries of its own; /audit/logs gathers across peers
    for i, p in enumerate(all3):
        p.get("/collections", headers={"x-request-id": f"from-p{i + 1}"})
    status, body = p2.audit_logs({"limit": 1000})
    assert status == 200, body
    entries = body["result"]["entries"]
    assert {"from-p1", "from-p2", "from-p3"} <= {e.get("tracing_id") for e in entries}
    assert _newest_first(entries)
    status, body = p1.audit_logs({"limit": 5, "filters": {"tracing_id": "from-p3"}})
    assert status == 200 and [e["tracing_id"] for e in body["result"]["entries"]] == ["from-p3"]
    status, body = p1.audit_logs({"limit": 2})
    assert status == 200 and len(body["result"]["entries"]) == 2

    # kill one peer: failures grow, it stays listed, its replica goes Dead, audit fails with 500
    p3.kill()

    def failures_for_p3() -> dict[str, Any] | None:
        return p1.cluster()["message_send_failures"].get(p3.uri)

    first = wait_for(failures_for_p3, what="failures for p3")
    assert first["count"] >= 1 and "Connection refused" in first["latest_error"]
    assert first["latest_error_timestamp"].endswith("Z")
    later = wait_for(
        lambda: (f := failures_for_p3()) and f["count"] > first["count"] and f, what="failure count grows"
    )
    assert later["latest_error_timestamp"] >= first["latest_error_timestamp"]
    assert str(ids[2]) in p1.cluster()["peers"]
    assert p2.cluster()["message_send_failures"].get(p3.uri, {}).get("count", 0) >= 1
    wait_for(
        lambda: (
            {
                r["peer_id"]: r["state"]
                for r in p1.get("/collections/docs/cluster")[1]["result"]["remote_shards"]
            }
            == {ids[1]: "Active", ids[2]: "Dead"}
        ),
        what="p3 replica Dead",
    )
    status, body = p1.audit_logs({"limit": 10})
    assert status == 500
    assert body["status"]["error"].startswith(
        f"Service internal error: Failed to fetch audit logs from peer {ids[2]}: "
    )

    # bring it back: the failure entry disappears and gathering works again
    p3.start()
    wait_for(lambda: p1.cluster()["message_send_failures"] == {}, what="failures cleared")
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement after p3 back")
    assert wait_for(p3.ready, what="p3 ready")
    assert p1.audit_logs({"limit": 10})[0] == 200

    # a peer that accepts connections but never answers: the query times out with 408 and
    # Qdrant's text, StorageError::timeout around src/common/audit.rs's operation
    assert p3.proc is not None
    p3.proc.send_signal(signal.SIGSTOP)
    try:
        status, body = p1.audit_logs({"limit": 10}, timeout=1)
        assert status == 408, body
        assert body["status"]["error"] == (
            f"Timeout: Operation 'Timed out fetching audit logs from peer {ids[2]} "
            "after Elapsed(())' timed out after 1s"
        )
    finally:
        p3.proc.send_signal(signal.SIGCONT)


def test_audit_timeout_error_text() -> None:
    # the 408 of a peer that does not answer: str(PeerError) is Qdrant's StorageError text,
    # with the requested Duration in Rust's Debug form (whole seconds from the REST u64)
    from tests.qdrant_peer.cluster import PeerError, _duration_debug

    whole = ["1s", "60s", "1s", "1000000s", "18446744073709551615s"]
    assert [_duration_debug(x) for x in (1, 60, 1.0, 10**6, 2**64 - 1)] == whole
    assert [_duration_debug(x) for x in (1.5, 0.25, 0.000005, 1e-9)] == ["1.5s", "250ms", "5\u00b5s", "1ns"]
    err = PeerError("Timeout: Operation 'x' timed out after 1s", 408)
    assert str(err) == err.message == err.wire == "Timeout: Operation 'x' timed out after 1s"


def test_leader_is_soft_state_learnt_only_from_the_leader(
    tmp_path: pathlib.Path, driver_root: list[DriverPeer]
) -> None:
    """raft-rs keeps leader_id in memory: a restarted follower knows no leader until the
    leader's own message reaches it; other followers' heartbeats do not teach it."""
    p1, p2, p3 = _start_three(tmp_path, driver_root)
    all3 = [p1, p2, p3]
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement")
    leader_id = p1.cluster()["peer_id"]
    p1.kill()
    p2.restart()
    # p3 heartbeats p2 (and its replies succeed) for a while: p2 still has no leader
    wait_for(lambda: p2.uri not in p3.cluster()["message_send_failures"], what="p3 -> p2 sends")
    time.sleep(1.0)
    assert p2.cluster()["raft_info"]["leader"] == 0
    assert p3.cluster()["raft_info"]["leader"] == leader_id   # not restarted: still knows it
    p1.start()
    wait_for(lambda: p2.cluster()["raft_info"]["leader"] == leader_id or None,
             what="p2 learns the leader from p1")
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement after p1 back")


def test_catch_up_after_downtime_and_pending_while_leader_down(
    tmp_path: pathlib.Path, driver_root: list[DriverPeer]
) -> None:
    p1, p2, p3 = _start_three(tmp_path, driver_root, p3_without_uri=True)
    all3 = [p1, p2, p3]
    statuses = wait_for(lambda: _agreement(all3, leader=p1), what="agreement")
    # started without --uri: recorded from its source IP and p2p port
    assert statuses[0]["peers"][str(statuses[2]["peer_id"])] == {"uri": p3.uri}
    # a follower that was down misses a change and catches up after restart
    p3.stop()
    assert p2.request("PUT", "/collections/while_down", {})[0] == 200
    p3.start()
    wait_for(
        lambda: p3.get("/collections")[1]["result"]["collections"] == [{"name": "while_down"}],
        what="p3 caught up",
    )
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement after catch-up")
    assert wait_for(p3.ready)
    # leader down: a follower's change is queued (pending_operations) and committed later
    p1.stop()
    assert p2.request("PUT", "/collections/queued", {})[0] == 200
    assert wait_for(lambda: p2.cluster()["raft_info"]["pending_operations"] == 1)
    p1.start()
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement after leader back")
    for p in all3:
        names = [c["name"] for c in p.get("/collections")[1]["result"]["collections"]]
        assert names == ["queued", "while_down"], p.name


def test_tls_cluster_with_rest_tls_and_audit(tmp_path: pathlib.Path, driver_root: list[DriverPeer]) -> None:
    certs = Certs(tmp_path / "certs")
    peers = []
    for name in ("p1", "p2", "p3"):
        cert, key = certs.issue(name)
        tls = {"cert": str(cert), "key": str(key), "ca": str(certs.ca_path)}
        peers.append(
            DriverPeer(tmp_path, name, tls=tls, p2p_tls=True, rest_tls=True, audit={"enabled": True})
        )
    driver_root.extend(peers)
    p1, p2, p3 = peers
    p1.start()
    p2.start(bootstrap=p1)
    p3.start(bootstrap=p1)
    statuses = wait_for(lambda: _agreement(peers, leader=p1), what="TLS agreement")
    assert all(u["uri"].startswith("https://127.0.0.1:") for u in statuses[0]["peers"].values())
    assert all(s["message_send_failures"] == {} for s in statuses)
    for p in peers:
        assert wait_for(p.ready)
        p.get("/collections", headers={"x-request-id": f"tls-{p.name}"})
    status, body = p3.audit_logs({"limit": 100})
    assert status == 200, body
    assert {"tls-p1", "tls-p2", "tls-p3"} <= {e.get("tracing_id") for e in body["result"]["entries"]}

    # the p2p port requires TLS with a client certificate from the cluster CA
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn = http.client.HTTPConnection("127.0.0.1", p1.p2p_port, timeout=5)
        conn.request("POST", "/raft/heartbeat", body=b"{}")
        conn.getresponse().read()
    no_client_cert = ssl.create_default_context(cafile=str(certs.ca_path))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)):
        conn = http.client.HTTPSConnection("127.0.0.1", p1.p2p_port, timeout=5, context=no_client_cert)
        conn.request("POST", "/raft/heartbeat", body=b"{}")
        conn.getresponse().read()

    # a peer whose certificate comes from another CA cannot join: it exits non-zero
    other = Certs(tmp_path / "other-ca", name="Other CA")
    cert, key = other.issue("intruder")
    intruder = DriverPeer(
        tmp_path,
        "intruder",
        tls={"cert": str(cert), "key": str(key), "ca": str(other.ca_path)},
        p2p_tls=True,
        rest_tls=True,
    )
    intruder.bootstrap_timeout = 1
    driver_root.append(intruder)
    intruder.start(bootstrap=p1, wait=False)
    assert intruder.proc is not None
    assert intruder.proc.wait(timeout=20) != 0
    assert "Failed to bootstrap" in intruder.read_log()
    assert len(p1.cluster()["peers"]) == 3

    # killing a TLS peer: TLS failures counted, audit gathering fails with 500
    p2.kill()
    p1_id = p1.cluster()["peer_id"]
    fail = wait_for(lambda: p3.cluster()["message_send_failures"].get(p2.uri), what="p2 failures on p3")
    assert fail["count"] >= 1
    status, body = p3.audit_logs({})
    assert status == 500 and "Failed to fetch audit logs from peer" in body["status"]["error"]
    assert str(p1_id) in p3.cluster()["peers"]


def test_enforce_internal_auth_key_mismatch(tmp_path: pathlib.Path, driver_root: list[DriverPeer]) -> None:
    key1, key2 = "internal-key-one-0123456789abcdef", "internal-key-two-0123456789abcdef"
    service = {"api_key": key1, "enforce_internal_auth": True}
    p1, p2, p3 = _start_three(tmp_path, driver_root, service=service)
    all3 = [p1, p2, p3]
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement with internal auth")
    assert all(p.cluster()["message_send_failures"] == {} for p in all3)

    # the p2p API itself: health exempt, anything else needs the key
    def p2p(path: str, headers: dict[str, str]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", p1.p2p_port, timeout=5)
        try:
            method = "GET" if path == "/health" else "POST"
            conn.request(method, path, body=b"{}", headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()

    assert p2p("/health", {}) == 200
    assert p2p("/raft/heartbeat", {}) == 401
    assert p2p("/raft/heartbeat", {"api-key": "wrong"}) == 401
    assert p2p("/raft/heartbeat", {"api-key": key1}) == 200
    assert p2p("/raft/heartbeat", {"Authorization": f"Bearer {key1}"}) == 200
    assert p2p("/audit/logs", {}) == 401

    # "promote" step on one peer only: it now sends key2 and rejects key1
    p2.service = {"api_key": key2, "enforce_internal_auth": True}
    p2.restart()

    def unauthenticated(src: DriverPeer, dst: DriverPeer) -> dict[str, Any] | None:
        f = src.cluster()["message_send_failures"].get(dst.uri)
        return f if f and "Unauthenticated" in f["latest_error"] else None

    f = wait_for(lambda: unauthenticated(p1, p2), what="p1->p2 401")
    assert 'message: "Invalid API key or JWT"' in f["latest_error"]
    f = wait_for(lambda: unauthenticated(p2, p1), what="p2->p1 401")
    assert wait_for(lambda: unauthenticated(p3, p2), what="p3->p2 401")
    # p2 refuses the leader's heartbeats, so it never learns who the leader is
    assert p2.cluster()["raft_info"]["leader"] == 0
    grown = wait_for(
        lambda: (x := p1.cluster()["message_send_failures"].get(p2.uri)) and x["count"] > f["count"] and x,
        what="count grows",
    )
    assert grown["count"] > 1

    # safe rotation step: api_key=OLD, alt_api_key=NEW -> internal traffic works again
    p2.service = {"api_key": key1, "alt_api_key": key2, "enforce_internal_auth": True}
    p2.restart()
    wait_for(lambda: all(p.cluster()["message_send_failures"] == {} for p in all3), what="failures cleared")

    # without enforcement a mismatched key is never checked
    p2.service = {"api_key": key2}
    p3.service = {"api_key": "yet-another-key-0123456789abcdef"}
    p2.restart()
    p3.restart()
    p1.service = {"api_key": key1}
    p1.restart()
    wait_for(lambda: _agreement(all3, leader=p1), what="agreement without enforcement")
    wait_for(
        lambda: all(p.cluster()["message_send_failures"] == {} for p in all3),
        what="no failures without enforcement",
    )
    time.sleep(0.5)
    assert all(p.cluster()["message_send_failures"] == {} for p in all3)


# =========================================================================== full peer tests
# These use peer A's ``peer_factory`` fixture (tests/conftest.py, tests/peer/peerlib.py) and the
# complete ``python -m tests.qdrant_peer`` with Cluster and AuditLog wired in by app.py.

FULL_KEY = "full-peer-admin-key-0123456789abcdef"


def _full_peers(
    peer_factory: Any,
    config: dict[str, Any],
    n: int = 3,
    ca_path: str | None = None,
    join_via_follower: bool = True,
) -> list[Any]:
    peers = [peer_factory(config, name=f"node{i + 1}", start=False, ca_path=ca_path) for i in range(n)]
    peers[0].args = ["--uri", peers[0].p2p_uri]
    peers[0].start()
    for i, p in enumerate(peers[1:], start=1):
        boot = peers[i - 1] if join_via_follower else peers[0]
        p.args = ["--uri", p.p2p_uri, "--bootstrap", boot.p2p_uri]
        p.start()
    return peers


def _fp_get(peer: Any, path: str, **kw: Any) -> Any:
    resp = peer.request("GET", path, api_key=FULL_KEY, **kw)
    assert resp.status_code == 200, (path, resp.status_code, resp.text)
    return resp.json()["result"]


def _fp_agreement(peers: list[Any]) -> list[dict[str, Any]]:
    statuses = [_fp_get(p, "/cluster") for p in peers]
    first = statuses[0]
    for s in statuses:
        ri = s["raft_info"]
        if len(s["peers"]) != len(peers) or s["peers"] != first["peers"]:
            return []
        if not ri["leader"] or ri["leader"] != first["raft_info"]["leader"]:
            return []
        if (ri["term"], ri["commit"]) != (first["raft_info"]["term"], first["raft_info"]["commit"]):
            return []
        if ri["pending_operations"] or s["consensus_thread_status"]["consensus_thread_status"] != "working":
            return []
    return statuses


def _fp_ready(peer: Any) -> bool:
    return peer.request("GET", "/readyz").status_code == 200


def _fp_audit(peer: Any, body: dict[str, Any], timeout: int = 5) -> Any:
    return peer.request("POST", f"/audit/logs?timeout={timeout}", api_key=FULL_KEY, json_body=body)


def test_full_peer_cluster_plain(peer_factory: Any) -> None:
    config = {
        "service": {"api_key": FULL_KEY},
        "cluster": {"enabled": True},
        "audit": {"enabled": True},
    }
    peers = _full_peers(peer_factory, config)
    n1, n2, n3 = peers
    statuses = wait_for(lambda: _fp_agreement(peers), what="full-peer agreement")
    for s in statuses:
        _check_shape(s)
    assert statuses[0]["raft_info"]["role"] == "Leader"
    assert statuses[0]["raft_info"]["leader"] == statuses[0]["peer_id"]
    assert {v["uri"] for v in statuses[0]["peers"].values()} == {p.p2p_uri for p in peers}
    ids = [s["peer_id"] for s in statuses]
    for p in peers:
        assert wait_for(lambda p=p: _fp_ready(p), what=f"{p.name} ready")

    # a collection created on a follower appears in GET /collections everywhere
    resp = n3.request(
        "PUT",
        "/collections/shared",
        api_key=FULL_KEY,
        json_body={"vectors": {"size": 4, "distance": "Cosine"}},
    )
    assert resp.status_code == 200, resp.text
    for p in peers:
        wait_for(
            lambda p=p: {"name": "shared"} in _fp_get(p, "/collections")["collections"],
            what=f"collection on {p.name}",
        )
    cc = _fp_get(n1, "/collections/shared/cluster")
    assert cc["peer_id"] == ids[0] and cc["shard_count"] == 1 and cc["shard_transfers"] == []
    assert cc["local_shards"][0]["state"] == "Active"
    assert sorted(r["peer_id"] for r in cc["remote_shards"]) == sorted(ids[1:])

    # audit entries from every peer are gathered by any peer
    for p in peers:
        _fp_get(p, "/collections", headers={"x-request-id": f"full-{p.name}"})
    resp = _fp_audit(n2, {"limit": 1000, "filters": {"method": "list_collections"}})
    assert resp.status_code == 200, resp.text
    entries = resp.json()["result"]["entries"]
    assert {"full-node1", "full-node2", "full-node3"} <= {e.get("tracing_id") for e in entries}
    assert _newest_first(entries)

    # restart one peer: same id, back in /cluster, ready
    n2.restart()
    wait_for(lambda: _fp_agreement(peers), what="agreement after restart")
    assert _fp_get(n2, "/cluster")["peer_id"] == ids[1]
    assert wait_for(lambda: _fp_ready(n2), what="node2 ready after restart")

    # kill one peer: failures grow on the others, /audit/logs fails with 500 meanwhile
    n3.kill()

    def failures() -> dict[str, Any] | None:
        return _fp_get(n1, "/cluster")["message_send_failures"].get(n3.p2p_uri)

    first = wait_for(failures, what="failures for node3")
    grown = wait_for(lambda: (f := failures()) and f["count"] > first["count"] and f, what="count grows")
    assert grown["latest_error"] and grown["latest_error_timestamp"]
    assert str(ids[2]) in _fp_get(n1, "/cluster")["peers"]
    resp = _fp_audit(n1, {"limit": 10})
    assert resp.status_code == 500, resp.text
    assert resp.json()["status"]["error"].startswith(
        f"Service internal error: Failed to fetch audit logs from peer {ids[2]}: "
    )
    n3.start()
    wait_for(lambda: _fp_get(n1, "/cluster")["message_send_failures"] == {}, what="failures cleared")
    assert wait_for(lambda: _fp_ready(n3), what="node3 ready")
    assert _fp_audit(n1, {"limit": 10}).status_code == 200


def test_full_peer_cluster_tls_rest_tls_audit_and_internal_auth(
    peer_factory: Any, tmp_path: pathlib.Path
) -> None:
    certs = Certs(tmp_path / "certs")
    peers = []
    for i in range(3):
        cert, key = certs.issue(f"node{i + 1}")
        config = {
            "service": {"api_key": FULL_KEY, "enable_tls": True, "enforce_internal_auth": True},
            "tls": {"cert": str(cert), "key": str(key), "ca_cert": str(certs.ca_path)},
            "cluster": {"enabled": True, "p2p": {"enable_tls": True}},
            "audit": {"enabled": True, "rotation": "hourly"},
        }
        p = peer_factory(config, name=f"node{i + 1}", start=False, ca_path=certs.ca_path)
        p.args = ["--uri", p.p2p_uri] + (["--bootstrap", peers[0].p2p_uri] if peers else [])
        peers.append(p)
    for p in peers:
        p.start()
    n1, n2, n3 = peers
    statuses = wait_for(lambda: _fp_agreement(peers), what="TLS full-peer agreement")
    assert all(v["uri"].startswith("https://") for v in statuses[0]["peers"].values())
    assert all(s["message_send_failures"] == {} for s in statuses)
    for p in peers:
        assert wait_for(lambda p=p: _fp_ready(p))
        _fp_get(p, "/collections", headers={"x-request-id": f"tls-{p.name}"})
    resp = _fp_audit(n1, {"limit": 1000, "filters": {"method": "list_collections"}})
    assert resp.status_code == 200, resp.text
    assert {"tls-node1", "tls-node2", "tls-node3"} <= {
        e.get("tracing_id") for e in resp.json()["result"]["entries"]
    }

    # enforce_internal_auth: a peer restarted with another api_key is refused (401) and refuses
    other = "another-admin-key-0123456789abcdef"
    n2.restart({"service": {"api_key": other}})

    def unauthenticated(src: Any, dst: Any) -> bool:
        status = src.request("GET", "/cluster", api_key=src.api_key).json()["result"]
        entry = status["message_send_failures"].get(dst.p2p_uri)
        return bool(entry and "Unauthenticated" in entry["latest_error"])

    wait_for(lambda: unauthenticated(n1, n2), what="node1 -> node2 rejected")
    wait_for(lambda: unauthenticated(n2, n1), what="node2 -> node1 rejected")
    wait_for(lambda: unauthenticated(n3, n2), what="node3 -> node2 rejected")
    # alt_api_key takes the new key without breaking internal traffic (facts 2.7 step 1)
    n2.restart({"service": {"api_key": FULL_KEY, "alt_api_key": other}})
    wait_for(
        lambda: all(_fp_get(p, "/cluster")["message_send_failures"] == {} for p in peers),
        what="internal auth healthy again",
    )


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--driver":
    _driver_main(sys.argv[2])
