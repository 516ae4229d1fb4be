"""Cluster mode of the Qdrant-compatible test peer (facts 2.6, 6.5, 7).

Simplifications (also listed in the README section "Audit and cluster"):

- **Transport.**  Real Qdrant peers talk gRPC (tonic) on the p2p port.  This peer speaks a small
  internal HTTP/1.1 JSON protocol on ``service.host:cluster.p2p.port`` instead, over plain TCP,
  or mutual TLS when ``cluster.p2p.enable_tls`` (the server requires a client certificate
  chaining to ``tls.ca_cert``; the client verifies the server against ``tls.ca_cert`` and checks
  the host of the peer URI against the certificate's subjectAltName).  ``https://`` URIs use
  TLS, ``http://`` URIs plain text, as in Qdrant.  Endpoints: ``GET /health``, ``POST
  /raft/join``, ``POST /raft/heartbeat``, ``POST /raft/propose``, ``POST /audit/logs``.
- **Consensus.**  No elections.  The first peer (``--uri`` without ``--bootstrap`` on a new
  deployment) is the leader for ever.  It owns an append-only operation log (``add_peer``,
  ``collection`` and ``noop`` entries); ``commit`` is the number of applied entries.  Joins and
  collection changes go to the leader, which appends, applies and pushes the entries to every
  other peer (immediately, and again with every heartbeat until the follower has them).
  ``term`` is 1 on a new deployment and grows by one each time the leader process starts again
  (standing in for the election a leader restart causes in Raft); the restarted leader also
  appends a ``noop`` entry, like a new Raft leader.  Followers adopt the highest term they see.
  The leader id is soft state, as in raft-rs: a follower learns it only from a message the
  leader itself sent, so a restarted follower reports ``leader: 0`` until the leader's next
  heartbeat reaches it (with ``enforce_internal_auth`` and a key it refuses: never).
  While the leader is down nothing can be committed: followers queue collection changes
  (``pending_operations``) and retry.
- **Heartbeats.**  Every peer sends a heartbeat to every other known peer every 200 ms
  (Raft only has leader -> follower traffic).  Each send failure is recorded under the peer URI
  in ``message_send_failures`` (count, latest error, timestamp); a successful send removes the
  entry, as Qdrant does.  Unreachable peers stay in ``peers``.
- **Internal auth.**  Outgoing calls carry ``api-key: <service.api_key>`` when it is non-empty
  (never ``alt_api_key``).  With ``service.enforce_internal_auth: true`` and any key configured,
  the p2p server accepts ``api_key`` or ``alt_api_key`` (from ``api-key`` or ``Authorization:
  Bearer``) and answers 401 otherwise; read-only keys and JWTs are not accepted internally;
  ``GET /health`` is exempt.
- **Shards.**  Every collection has one shard (id 0) with a replica on every peer; collection
  points are not replicated (only metadata changes are), so each peer reports its own
  ``points_count``.

State (peer id, peer set, term, leader, log) is persisted in ``<storage_path>/raft_state.json``
so a restarted peer rejoins without ``--bootstrap``.

Stdlib only; this module must not import anything from the ``qdrantsec`` package.
"""

from __future__ import annotations

import calendar
import contextlib
import heapq
import hmac
import http.client
import json
import logging
import os
import pathlib
import random
import re
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .audit import AuditLog

__all__ = ["HEARTBEAT_INTERVAL", "Cluster", "PeerError", "storage_apply_hook"]

log = logging.getLogger("qdrant_peer.cluster")

HEARTBEAT_INTERVAL = 0.2  # seconds between heartbeats to each peer
DEAD_AFTER_FAILURES = 3  # consecutive failed heartbeats before a replica is reported Dead
MAX_ENTRIES_PER_MESSAGE = 64
STATE_FILE = "raft_state.json"
MAX_PEER_ID = 2**53
MAX_AUDIT_WAIT = 86_400.0  # seconds; longest real wait of gather_audit for one peer

ApplyHook = Callable[[str, str, "dict[str, Any] | None"], None]


class PeerError(Exception):
    """An error answered to the REST caller with ``status`` and ``message``.

    ``message`` (and ``str()``) is the text Qdrant answers, ``StorageError``'s ``Display``.
    ``wire`` is kept for callers that read it; it is always the same text.
    """

    def __init__(self, message: str, status: int, *, wire: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.wire = message if wire is None else wire


class _SendError(Exception):
    """A failed internal call; ``str()`` is the text recorded as ``latest_error``."""

    def __init__(self, text: str, *, timeout: bool = False, status: int | None = None) -> None:
        super().__init__(text)
        self.timeout = timeout
        self.status = status


# --------------------------------------------------------------------------- small helpers


def rfc3339_autosi(ns: int) -> str:
    """chrono's serde form of a ``DateTime<Utc>`` (``SecondsFormat::AutoSi``, ``Z``): no
    fraction when the nanoseconds are 0, else 3, 6 or 9 digits, the fewest that are exact."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if frac == 0:
        return base + "Z"
    if frac % 1_000_000 == 0:
        return f"{base}.{frac // 1_000_000:03d}Z"
    if frac % 1_000 == 0:
        return f"{base}.{frac // 1_000:06d}Z"
    return f"{base}.{frac:09d}Z"


def _rfc3339_now() -> str:
    """``Utc::now()`` as Qdrant serialises it (``last_update``, ``latest_error_timestamp``)."""
    return rfc3339_autosi(time.time_ns())


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$"
)


def _ts_key(entry: Mapping[str, Any]) -> int:
    """Epoch ns of an audit entry's timestamp (unparsable -> very old)."""
    m = _TS_RE.match(str(entry.get("timestamp", "")))
    if not m:
        return -(2**63)
    parts = [int(m.group(i)) for i in range(1, 7)]
    seconds = calendar.timegm((*parts, 0, 0, 0))
    off = m.group(8)
    if off not in ("Z", "z"):
        digits = off[1:].replace(":", "")
        delta = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= delta if off[0] == "+" else -delta
    return seconds * 1_000_000_000 + int((m.group(7) or "").ljust(9, "0") or "0")


def _get(settings: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = settings
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


_STATUS_NAMES = {
    400: "InvalidArgument",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    408: "DeadlineExceeded",
    409: "AlreadyExists",
    429: "ResourceExhausted",
    500: "Internal",
    503: "Unavailable",
}


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"tcp connect error: Connection refused (os error {exc.errno})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls handshake error: invalid peer certificate: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"tls handshake error: {exc.reason or exc}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout expired"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, http.client.HTTPException):
        return f"connection error: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def storage_apply_hook(storage: Any) -> ApplyHook:
    """Adapter for a storage object with ``create_collection(name, body)``,
    ``update_collection(name, body)``, ``delete_collection(name)`` and optionally
    ``change_aliases(actions)``: applies replicated changes, ignoring "already exists" /
    "not found" style errors so that applying twice is harmless."""

    def apply(op: str, name: str, body: dict[str, Any] | None) -> None:
        body = body or {}
        try:
            if op in ("create", "create_collection"):
                if hasattr(storage, "resolve") and storage.resolve(name) is not None:
                    return
                storage.create_collection(name, body)
            elif op in ("update", "update_collection"):
                storage.update_collection(name, body)
            elif op in ("delete", "delete_collection"):
                storage.delete_collection(name)
            elif op == "change_aliases" and hasattr(storage, "change_aliases"):
                storage.change_aliases(body.get("actions", []))
            else:
                log.warning("ignoring replicated operation %r on %r", op, name)
        except Exception as exc:  # idempotency: the other side may already be in that state
            log.info("replicated %s %r not applied: %s", op, name, exc)

    return apply


# --------------------------------------------------------------------------- p2p server


class _P2PServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        ssl_ctx: ssl.SSLContext | None,
    ) -> None:
        self.ssl_ctx = ssl_ctx
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); not needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the per-connection thread, not in the accept loop.
        conn = request
        if self.ssl_ctx is not None:
            request.settimeout(5.0)
            try:
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("p2p TLS handshake with %s failed: %s", client_address, exc)
                with contextlib.suppress(OSError):
                    request.close()
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()


def _make_handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "qdrant-peer-p2p"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("p2p %s - " + format, self.client_address[0], *args)

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def _raw_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > 64 * 1024 * 1024:
                raise ValueError("bad Content-Length")
            return self.rfile.read(length) if length > 0 else b""

        @staticmethod
        def _parse(raw: bytes) -> dict[str, Any]:
            if not raw:
                return {}
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            return data

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/health":
                self._reply(200, {"status": "ok", "peer_id": cluster.peer_id})
            else:
                self._reply(404, {"error": "Not found"})

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            # Read the whole body first: closing with unread input makes TCP send a reset,
            # which can destroy the answer (e.g. a 401) before the client has read it.
            try:
                raw = self._raw_body()
            except (OSError, ValueError):
                self.close_connection = True
                return
            denied = cluster._check_internal_auth(self.headers)
            if denied is not None:
                self._reply(401, {"error": denied})
                return
            try:
                body = self._parse(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                self._reply(400, {"error": f"Bad request: {exc}"})
                return
            try:
                status, payload = cluster._dispatch(path, body, self.client_address[0])
            except Exception as exc:
                log.exception("p2p handler %s failed", path)
                status, payload = 500, {"error": f"Service internal error: {exc}"}
            self._reply(status, payload)

    return Handler


# --------------------------------------------------------------------------- Cluster


def _duration_debug(seconds: float) -> str:
    """Rust's ``Debug`` for a ``Duration``: ``60s``, ``1000000s``, ``1.5s``, ``250ms``, ``5µs``,
    ``7ns`` (the largest unit that keeps a non-zero integer part, the fraction without
    trailing zeros)."""
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        ns = seconds * 1_000_000_000
    else:
        ns = round(float(seconds) * 1_000_000_000)
    for unit, size in (("s", 1_000_000_000), ("ms", 1_000_000), ("\u00b5s", 1_000)):
        if ns >= size:
            whole, frac = divmod(ns, size)
            digits = len(str(size)) - 1
            tail = f"{frac:0{digits}d}".rstrip("0")
            return f"{whole}.{tail}{unit}" if tail else f"{whole}{unit}"
    return f"{ns}ns"


class _PeerInfo:
    __slots__ = ("commit", "consecutive_failures", "last_ok", "term")

    def __init__(self) -> None:
        self.last_ok: float | None = None  # monotonic time of the last successful exchange
        self.consecutive_failures = 0
        self.commit: int | None = None
        self.term: int | None = None


class Cluster:
    """Cluster state and p2p protocol of one peer process (see the module docstring)."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        uri: str | None,
        bootstrap: str | None,
        storage_path: pathlib.Path,
        ssl_server_ctx: ssl.SSLContext | None,
        ssl_client_ctx: ssl.SSLContext | None,
        audit: AuditLog | None,
        local_collections: Callable[[], dict[str, dict[str, Any]]],
        apply_remote_change: ApplyHook | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.local_collections = local_collections
        self.apply_remote_change: ApplyHook | None = apply_remote_change
        self.ssl_server_ctx = ssl_server_ctx
        self.ssl_client_ctx = ssl_client_ctx
        self.heartbeat_interval = heartbeat_interval
        self.storage_path = pathlib.Path(storage_path)
        self.state_file = self.storage_path / STATE_FILE

        self.host: str = str(_get(settings, "service.host", "0.0.0.0"))
        port = _get(settings, "cluster.p2p.port")
        if port is None:
            raise RuntimeError("P2P port is not set")
        self.p2p_port = int(port)
        self.connect_timeout = max(0.2, int(_get(settings, "cluster.connection_timeout_ms", 2000)) / 1000)
        self.bootstrap_timeout = float(_get(settings, "cluster.consensus.bootstrap_timeout_sec", 15))
        self._api_key: str = _get(settings, "service.api_key", "") or ""
        self._alt_api_key: str = _get(settings, "service.alt_api_key", "") or ""
        self._ro_api_key: str = _get(settings, "service.read_only_api_key", "") or ""
        self._enforce_internal_auth = bool(_get(settings, "service.enforce_internal_auth", False))

        self._lock = threading.RLock()
        self._apply_lock = threading.Lock()
        self._ready_cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: dict[int, threading.Thread] = {}
        self._main_thread: threading.Thread | None = None
        self._server: _P2PServer | None = None
        self._server_thread: threading.Thread | None = None

        self._peers: dict[int, str] = {}
        self._log: list[dict[str, Any]] = []
        self._term = 0
        self._leader = 0
        self._pending: list[dict[str, Any]] = []
        self._failures: dict[str, dict[str, Any]] = {}
        self._info: dict[int, _PeerInfo] = {}
        self._match: dict[int, int] = {}
        self._ready = False
        self._thread_status: dict[str, Any] = {
            "consensus_thread_status": "working",
            "last_update": _rfc3339_now(),
        }
        self._bootstrap = bootstrap
        self._needs_join = False
        self._leader_restart = False

        self._uri_given = uri is not None
        default_uri = uri or self._derived_uri()
        state = self._load_state()
        if state is not None:
            self.peer_id = int(state["peer_id"])
            self._peers = {int(k): str(v) for k, v in state.get("peers", {}).items()}
            self._term = int(state.get("term", 0))
            # Raft's leader id is soft state (raft-rs keeps it in memory only; Qdrant's
            # /cluster reads it from the soft state): a restarted follower knows no leader
            # until a message from the leader reaches it.  Only the leader-for-ever of this
            # simplified consensus knows itself again at once (standing in for its election).
            persisted_leader = int(state.get("leader", 0))
            self._leader = persisted_leader if persisted_leader == int(state["peer_id"]) else 0
            self._log = list(state.get("log", []))
            if uri is not None and self._peers.get(self.peer_id) not in (None, uri):
                log.warning("this peer's URI changed to %s", uri)
            self.uri = uri or self._peers.get(self.peer_id) or default_uri
            self._peers.setdefault(self.peer_id, self.uri)
            self._peers[self.peer_id] = self.uri
            self._leader_restart = self._leader == self.peer_id and self._leader != 0
            if bootstrap:
                log.info("persisted cluster state found; ignoring --bootstrap %s", bootstrap)
        else:
            configured = _get(settings, "cluster.peer_id")
            self.peer_id = int(configured) if configured else random.SystemRandom().randrange(1, MAX_PEER_ID)
            self.uri = default_uri
            if bootstrap:
                self._needs_join = True
                self._peers = {self.peer_id: self.uri}
            else:
                self._term = 1
                self._leader = self.peer_id
                self._log = [
                    {
                        "index": 1,
                        "term": 1,
                        "type": "add_peer",
                        "peer_id": self.peer_id,
                        "uri": self.uri,
                    }
                ]
                self._peers = {self.peer_id: self.uri}
                self._save_state()

    # ---------------------------------------------------------------- properties

    @property
    def commit(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._leader == self.peer_id

    def set_apply_hook(self, hook: ApplyHook | None) -> None:
        self.apply_remote_change = hook

    def _derived_uri(self) -> str:
        scheme = "https" if self.ssl_server_ctx is not None else "http"
        host = self.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.p2p_port}"

    # ---------------------------------------------------------------- persistence

    def _load_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read cluster state {self.state_file}: {exc}") from exc
        if not isinstance(data, dict) or "peer_id" not in data:
            raise RuntimeError(f"invalid cluster state in {self.state_file}")
        return data

    def _save_state(self) -> None:
        with self._lock:
            if self._needs_join:
                return  # never persist a half-joined peer; a restart must join again
            data = {
                "peer_id": self.peer_id,
                "peers": {str(k): v for k, v in self._peers.items()},
                "term": self._term,
                "leader": self._leader,
                "log": self._log,
            }
            self.storage_path.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_name(f".{STATE_FILE}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.state_file)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Bind the p2p listener, join via the bootstrap peer if needed, start heartbeats."""
        handler = _make_handler(self)
        self._server = _P2PServer((self.host, self.p2p_port), handler, self.ssl_server_ctx)
        self._server_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="p2p-server",
            daemon=True,
        )
        self._server_thread.start()
        if self._needs_join:
            self._join()
        elif self._leader_restart:
            with self._lock:
                self._term += 1
                self._append_locked({"type": "noop"})
                self._save_state()
        self._main_thread = threading.Thread(target=self._main_loop, name="consensus", daemon=True)
        self._main_thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        # Threads are daemons; give them a short, bounded grace period (a heartbeat to a hung
        # peer may be blocked in a socket call until its timeout).
        deadline = time.monotonic() + 1.0
        with self._lock:
            threads = [self._main_thread, self._server_thread, *self._threads.values()]
        for t in threads:
            if t is not None and t is not threading.current_thread():
                t.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._thread_status = {"consensus_thread_status": "stopped"}
            with contextlib.suppress(OSError):
                self._save_state()

    # ---------------------------------------------------------------- outgoing calls

    def _request(
        self, uri: str, path: str, body: Mapping[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 6335
        timeout = self.connect_timeout if timeout is None else timeout
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            ctx = self.ssl_client_ctx or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if self._api_key:
            headers["api-key"] = self._api_key
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        try:
            conn.request("POST", path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except TimeoutError as exc:
            raise _SendError(f'status: Unavailable, message: "{_describe_exc(exc)}"', timeout=True) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise _SendError(f'status: Unavailable, message: "{_describe_exc(exc)}"') from exc
        finally:
            conn.close()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"error": raw.decode("utf-8", "replace")}
        if resp.status != 200:
            message = payload.get("error") if isinstance(payload, dict) else None
            name = _STATUS_NAMES.get(resp.status, "Unknown")
            raise _SendError(f'status: {name}, message: "{message or resp.reason}"', status=resp.status)
        if not isinstance(payload, dict):
            raise _SendError('status: Internal, message: "malformed response"')
        return payload

    def _record_failure(self, pid: int | None, uri: str, error: str) -> None:
        with self._lock:
            entry = self._failures.setdefault(
                uri, {"count": 0, "latest_error": None, "latest_error_timestamp": None}
            )
            if entry["count"] == 0:
                log.warning("Failed to send message to %s with error: %s", uri, error)
            entry["count"] += 1
            entry["latest_error"] = error
            entry["latest_error_timestamp"] = _rfc3339_now()
            if pid is not None:
                self._info.setdefault(pid, _PeerInfo()).consecutive_failures += 1

    def _record_success(self, pid: int, uri: str, resp: Mapping[str, Any]) -> None:
        with self._lock:
            self._failures.pop(uri, None)
            info = self._info.setdefault(pid, _PeerInfo())
            info.last_ok = time.monotonic()
            info.consecutive_failures = 0
            if isinstance(resp.get("commit"), int):
                info.commit = resp["commit"]
                if self._leader == self.peer_id:
                    self._match[pid] = min(resp["commit"], len(self._log))
            if isinstance(resp.get("term"), int):
                info.term = resp["term"]
                if resp["term"] > self._term:
                    self._term = resp["term"]
                    self._save_state()
            # a reply does not teach the leader: in Raft only the leader's own messages do
            self._ready_cond.notify_all()

    def _heartbeat_body(self, pid: int) -> dict[str, Any]:
        with self._lock:
            body: dict[str, Any] = {
                "peer_id": self.peer_id,
                "uri": self.uri,
                "term": self._term,
                "commit": len(self._log),
                "leader": self._leader,
            }
            if self._leader == self.peer_id:
                start = self._match.get(pid, 0)
                body["entries"] = self._log[start : start + MAX_ENTRIES_PER_MESSAGE]
            return body

    def _send_heartbeat(self, pid: int) -> bool:
        with self._lock:
            uri = self._peers.get(pid)
        if uri is None:
            return False
        try:
            resp = self._request(uri, "/raft/heartbeat", self._heartbeat_body(pid))
        except _SendError as exc:
            self._record_failure(pid, uri, str(exc))
            return False
        self._record_success(pid, uri, resp)
        return True

    def _peer_loop(self, pid: int) -> None:
        while not self._stop.is_set():
            with self._lock:
                if pid not in self._peers or pid == self.peer_id:
                    self._threads.pop(pid, None)
                    return
            started = time.monotonic()
            try:
                self._send_heartbeat(pid)
            except Exception:
                log.exception("heartbeat to peer %s failed unexpectedly", pid)
            self._stop.wait(max(0.0, self.heartbeat_interval - (time.monotonic() - started)))

    def _ensure_peer_threads(self) -> None:
        with self._lock:
            for pid in self._peers:
                if pid == self.peer_id or pid in self._threads:
                    continue
                t = threading.Thread(
                    target=self._peer_loop, args=(pid,), name=f"heartbeat-{pid}", daemon=True
                )
                self._threads[pid] = t
                t.start()

    def _replicate_now(self, exclude: set[int] | None = None) -> None:
        """Push the leader's log to every follower at once (in parallel, bounded wait)."""
        with self._lock:
            targets = [p for p in self._peers if p != self.peer_id and p not in (exclude or set())]
        threads = [threading.Thread(target=self._send_heartbeat, args=(p,), daemon=True) for p in targets]
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.connect_timeout + 0.5
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def _main_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._ensure_peer_threads()
                self._retry_pending()
                with self._lock:
                    self._thread_status = {
                        "consensus_thread_status": "working",
                        "last_update": _rfc3339_now(),
                    }
                    self._ready_cond.notify_all()
                self._stop.wait(self.heartbeat_interval)
        except Exception as exc:  # pragma: no cover - defensive
            log.exception("consensus thread failed")
            with self._lock:
                self._thread_status = {
                    "consensus_thread_status": "stopped_with_err",
                    "err": str(exc),
                }

    # ---------------------------------------------------------------- log handling

    def _append_locked(self, entry: dict[str, Any]) -> int:
        index = len(self._log) + 1
        full = {"index": index, "term": self._term, **entry}
        self._log.append(full)
        if full["type"] == "add_peer":
            self._peers[int(full["peer_id"])] = str(full["uri"])
        return index

    def _apply_entries(self, entries: list[Any]) -> None:
        """Apply leader entries in order (skipping known ones, stopping at a gap)."""
        with self._apply_lock:
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
                    continue
                with self._lock:
                    have = len(self._log)
                if entry["index"] <= have:
                    continue
                if entry["index"] != have + 1:
                    break
                kind = entry.get("type")
                if kind == "collection" and entry.get("origin") != self.peer_id:
                    hook = self.apply_remote_change
                    if hook is not None:
                        try:
                            hook(str(entry.get("op")), str(entry.get("name")), entry.get("body"))
                        except Exception:
                            log.exception("applying replicated change %s failed", entry)
                with self._lock:
                    self._log.append(entry)
                    if kind == "add_peer":
                        self._peers[int(entry["peer_id"])] = str(entry["uri"])
                        if int(entry["peer_id"]) == self.peer_id:
                            if self._uri_given:
                                self._peers[self.peer_id] = self.uri
                            else:  # recorded by the bootstrap peer from our source IP
                                self.uri = str(entry["uri"])
                    elif kind == "remove_peer":
                        self._peers.pop(int(entry["peer_id"]), None)
            with self._lock:
                self._save_state()
                self._ready_cond.notify_all()

    def _leader_append(self, entry: dict[str, Any]) -> int:
        with self._lock:
            index = self._append_locked(entry)
            self._save_state()
            self._ready_cond.notify_all()
        return index

    # ---------------------------------------------------------------- join

    def _join(self) -> None:
        assert self._bootstrap is not None
        deadline = time.monotonic() + max(1.0, self.bootstrap_timeout)
        # Without --uri the bootstrap peer records us as scheme://{source IP}:{p2p port}.
        uri = self.uri if self._uri_given else None
        body = {"peer_id": self.peer_id, "uri": uri, "p2p_port": self.p2p_port}
        last_error = "no attempt"
        while not self._stop.is_set():
            try:
                resp = self._request(self._bootstrap, "/raft/join", body)
            except _SendError as exc:
                last_error = str(exc)
                self._record_failure(None, self._bootstrap, last_error)
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.2)
                continue
            with self._lock:
                self._failures.pop(self._bootstrap, None)
                self._term = max(self._term, int(resp.get("term", 0)))
                self._leader = int(resp.get("leader", 0))
            self._apply_entries(list(resp.get("log", [])))
            with self._lock:
                self._needs_join = False
                self._peers[self.peer_id] = self.uri
                self._save_state()
            return
        raise RuntimeError(f"Failed to bootstrap from {self._bootstrap}: {last_error}")

    # ---------------------------------------------------------------- p2p request handling

    def _check_internal_auth(self, headers: Any) -> str | None:
        """None when allowed, else the 401 message."""
        if not self._enforce_internal_auth:
            return None
        if not (self._api_key or self._alt_api_key or self._ro_api_key):
            return None  # no key configured: no auth layer
        cred: str | None = headers.get("api-key")
        if cred is None:
            auth = headers.get("authorization")
            if auth is not None and auth.startswith("Bearer "):
                cred = auth[len("Bearer ") :]
        if cred is None:
            return "Must provide an API key or an Authorization bearer token"
        given = cred.encode("latin-1", "replace")
        for key in (self._api_key, self._alt_api_key):
            if key and hmac.compare_digest(given, key.encode("utf-8")):
                return None
        return "Invalid API key or JWT"

    def _dispatch(self, path: str, body: dict[str, Any], client_ip: str) -> tuple[int, dict[str, Any]]:
        if path == "/raft/heartbeat":
            return 200, self._on_heartbeat(body)
        if path == "/raft/join":
            return self._on_join(body, client_ip)
        if path == "/raft/propose":
            return self._on_propose(body)
        if path == "/audit/logs":
            return self._on_audit(body)
        return 404, {"error": "Not found"}

    def _state_reply(self) -> dict[str, Any]:
        with self._lock:
            return {
                "peer_id": self.peer_id,
                "term": self._term,
                "commit": len(self._log),
                "leader": self._leader,
            }

    def _on_heartbeat(self, body: dict[str, Any]) -> dict[str, Any]:
        sender = body.get("peer_id")
        with self._lock:
            term = body.get("term")
            if isinstance(term, int) and term > self._term:
                self._term = term
                self._save_state()
            # Raft followers take the leader id from the leader's own messages (raft-rs sets
            # leader_id = m.from on MsgAppend/MsgHeartbeat of the current term); another
            # follower's heartbeat (which Raft does not have) teaches nothing
            leader = body.get("leader")
            current = isinstance(term, int) and term >= self._term
            if isinstance(leader, int) and leader and leader == sender and current:
                self._leader = leader
            if isinstance(sender, int) and sender in self._peers:
                uri = body.get("uri")
                if isinstance(uri, str) and uri and uri != self._peers[sender]:
                    log.info("peer %s now at %s", sender, uri)  # simplified address update
                    self._peers[sender] = uri
                    self._save_state()
                info = self._info.setdefault(sender, _PeerInfo())
                if isinstance(body.get("commit"), int):
                    info.commit = body["commit"]
        entries = body.get("entries")
        if isinstance(entries, list) and entries and sender == self._leader:
            self._apply_entries(entries)
        return self._state_reply()

    def _on_join(self, body: dict[str, Any], client_ip: str) -> tuple[int, dict[str, Any]]:
        pid = body.get("peer_id")
        if not isinstance(pid, int) or not 0 < pid < MAX_PEER_ID:
            return 400, {"error": "Bad request: invalid peer_id"}
        uri = body.get("uri")
        if not isinstance(uri, str) or not uri:
            scheme = "https" if self.ssl_server_ctx is not None else "http"
            host = f"[{client_ip}]" if ":" in client_ip else client_ip
            uri = f"{scheme}://{host}:{int(body.get('p2p_port') or 6335)}"
        with self._lock:
            leader = self._leader
            leader_uri = self._peers.get(leader)
        if leader != self.peer_id:
            if not leader or not leader_uri:
                return 503, {"error": "Service unavailable: no leader known yet"}
            try:
                return 200, self._request(leader_uri, "/raft/join", {"peer_id": pid, "uri": uri})
            except _SendError as exc:
                return 503, {"error": f"Service unavailable: cannot reach leader: {exc}"}
        with self._lock:
            if self._peers.get(pid) != uri:
                self._append_locked({"type": "add_peer", "peer_id": pid, "uri": uri})
                self._save_state()
            reply = {**self._state_reply(), "log": list(self._log)}
        self._replicate_now(exclude={pid})
        return 200, reply

    def _on_propose(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not self.is_leader:
            return 503, {"error": "Service unavailable: not the leader"}
        if not isinstance(body.get("op"), str) or not isinstance(body.get("name"), str):
            return 400, {"error": "Bad request: op and name are required"}
        entry = {
            "type": "collection",
            "op": body["op"],
            "name": body["name"],
            "body": body.get("body"),
            "origin": body.get("origin"),
        }
        if entry["origin"] != self.peer_id and self.apply_remote_change is not None:
            try:
                self.apply_remote_change(entry["op"], entry["name"], entry["body"])
            except Exception:
                log.exception("applying proposed change %s failed", entry)
        index = self._leader_append(entry)
        self._replicate_now()
        return 200, {**self._state_reply(), "index": index}

    def _on_audit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.audit is None:
            return 400, {"error": "Bad request: Audit logging is not configured"}
        if not self.audit.enabled:
            return 400, {"error": "Bad request: Audit logging is not enabled"}
        try:
            entries = self.audit.query(
                time_from=body.get("time_from"),
                time_to=body.get("time_to"),
                limit=int(body.get("limit", 100)),
                filters=body.get("filters") or {},
            )
        except (ValueError, TypeError) as exc:
            return 400, {"error": f"Bad request: {exc}"}
        return 200, {"entries": entries}

    # ---------------------------------------------------------------- public API

    def status(self) -> dict[str, Any]:
        """``result`` of ``GET /cluster`` (facts 7.2)."""
        with self._lock:
            is_leader = self._leader == self.peer_id
            return {
                "status": "enabled",
                "peer_id": self.peer_id,
                "peers": {str(pid): {"uri": uri} for pid, uri in sorted(self._peers.items())},
                "raft_info": {
                    "term": self._term,
                    "commit": len(self._log),
                    "pending_operations": len(self._pending),
                    "leader": self._leader,
                    "role": "Leader" if is_leader else "Follower",
                    "is_voter": not self._needs_join,
                },
                "consensus_thread_status": dict(self._thread_status),
                "message_send_failures": {uri: dict(entry) for uri, entry in sorted(self._failures.items())},
            }

    def _check_ready_locked(self) -> bool:
        if self._needs_join:
            return False
        others = [p for p in self._peers if p != self.peer_id]
        if not others:
            return True
        commits = [
            info.commit
            for p in others
            if (info := self._info.get(p)) is not None
            and info.last_ok is not None
            and info.commit is not None
        ]
        if not commits:
            # Qdrant (src/common/health.rs) asks the other peers for their commit and goes on
            # with 0 when every request failed ("can give a false-positive result"): a peer
            # whose every other peer is down turns ready once each of them has failed.
            tried = [self._info.get(p) for p in others]
            return all(info is not None and info.consecutive_failures >= 1 for info in tried)
        return len(self._log) >= max(commits)

    def ready(self) -> bool:
        """``/readyz`` (facts 7.1): waits at most 0.5 s for a positive answer; sticky."""
        deadline = time.monotonic() + 0.5
        with self._ready_cond:
            while True:
                if self._ready:
                    return True
                if self._check_ready_locked():
                    self._ready = True
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._ready_cond.wait(remaining)

    def collection_cluster(self, name: str, local_points: int) -> dict[str, Any]:
        """``result`` of ``GET /collections/{name}/cluster``."""
        with self._lock:
            remote = []
            for pid in sorted(self._peers):
                if pid == self.peer_id:
                    continue
                info = self._info.get(pid)
                dead = info is not None and info.consecutive_failures >= DEAD_AFTER_FAILURES
                remote.append({"shard_id": 0, "peer_id": pid, "state": "Dead" if dead else "Active"})
            return {
                "peer_id": self.peer_id,
                "shard_count": 1,
                "local_shards": [{"shard_id": 0, "points_count": int(local_points), "state": "Active"}],
                "remote_shards": remote,
                "shard_transfers": [],
            }

    def gather_audit(
        self,
        time_from: str | None,
        time_to: str | None,
        limit: int,
        filters: Mapping[str, str] | None,
        timeout: float,
    ) -> list[dict[str, Any]]:
        """Local entries plus every other known peer's, merged newest first, cut to ``limit``.

        Each source (the local answer, then each peer's) keeps its own order, which is the
        reader's (undated files first); the sources are merged by their heads, as the k-way
        merge in src/common/audit.rs does, not re-sorted as a whole.

        Raises PeerError 400 when audit is not configured/enabled here or the query is
        invalid, 500 when any peer fails, 408 when a peer does not answer within ``timeout``.
        """
        if self.audit is None:
            raise PeerError("Bad request: Audit logging is not configured", 400)
        if not self.audit.enabled:
            raise PeerError("Bad request: Audit logging is not enabled", 400)
        filters = dict(filters or {})
        try:
            entries = list(
                self.audit.query(time_from=time_from, time_to=time_to, limit=limit, filters=filters)
            )
        except ValueError as exc:
            raise PeerError(f"Bad request: {exc}", 400) from exc
        with self._lock:
            others = sorted((p, u) for p, u in self._peers.items() if p != self.peer_id)
        body = {"time_from": time_from, "time_to": time_to, "limit": limit, "filters": filters}
        results: dict[int, list[dict[str, Any]] | _SendError] = {}
        # `timeout` is a u64 of seconds on the REST side; socket and join timeouts overflow far
        # below 2^64, so the actual wait is capped (the error text keeps the requested value)
        wait = min(float(timeout), MAX_AUDIT_WAIT)

        def fetch(pid: int, uri: str) -> None:
            try:
                resp = self._request(uri, "/audit/logs", body, timeout=wait)
                got = resp.get("entries")
                results[pid] = got if isinstance(got, list) else _SendError("malformed audit response")
            except _SendError as exc:
                results[pid] = exc

        threads = [threading.Thread(target=fetch, args=(p, u), daemon=True) for p, u in others]
        for t in threads:
            t.start()
        deadline = time.monotonic() + wait + 0.5
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        sources = [entries]
        for pid, _uri in others:
            outcome = results.get(pid)
            if outcome is None or (isinstance(outcome, _SendError) and outcome.timeout):
                # src/common/audit.rs builds StorageError::timeout(timeout, operation) with the
                # operation "Timed out fetching audit logs from peer {id} after {elapsed:?}";
                # its Display is "Timeout: Operation '{operation}' timed out after
                # {timeout:?}", with tokio's `Elapsed` and the `Duration` in Debug form
                raise PeerError(
                    f"Timeout: Operation 'Timed out fetching audit logs from peer {pid} "
                    f"after Elapsed(())' timed out after {_duration_debug(timeout)}",
                    408,
                )
            if isinstance(outcome, _SendError):
                raise PeerError(
                    f"Service internal error: Failed to fetch audit logs from peer {pid}: {outcome}",
                    500,
                )
            sources.append([e for e in outcome if isinstance(e, dict)])
        merged = heapq.merge(*sources, key=_ts_key, reverse=True)
        return [e for _, e in zip(range(max(0, limit)), merged, strict=False)]

    def on_collection_change(self, op: str, name: str, body: dict[str, Any] | None) -> None:
        """Replicate a collection metadata change already applied locally.

        ``op`` is ``create``, ``update``, ``delete`` (or ``change_aliases`` with
        ``body={"actions": [...]}``).  On the leader the change is committed and pushed to all
        peers at once; on a follower it is proposed to the leader, or queued (counted in
        ``pending_operations``) and retried while the leader is unreachable.
        """
        entry = {"type": "collection", "op": op, "name": name, "body": body, "origin": self.peer_id}
        if self.is_leader:
            self._leader_append(entry)
            self._replicate_now()
            return
        with self._lock:
            queued = bool(self._pending)
            if queued:
                self._pending.append(entry)
        if queued or not self._propose(entry):
            with self._lock:
                if entry not in self._pending:
                    self._pending.append(entry)

    def _propose(self, entry: dict[str, Any]) -> bool:
        with self._lock:
            leader_uri = self._peers.get(self._leader)
            leader = self._leader
        if not leader_uri:
            return False
        payload = {k: entry[k] for k in ("op", "name", "body", "origin")}
        try:
            resp = self._request(leader_uri, "/raft/propose", payload)
        except _SendError as exc:
            self._record_failure(leader, leader_uri, str(exc))
            return False
        index = resp.get("index")
        # the leader pushed the entry before answering; wait briefly for it if it raced
        end = time.monotonic() + 1.0
        while isinstance(index, int) and self.commit < index and time.monotonic() < end:
            time.sleep(0.02)
        return True

    def _retry_pending(self) -> None:
        while True:
            with self._lock:
                if not self._pending or self._leader == self.peer_id:
                    return
                entry = self._pending[0]
            if not self._propose(entry):
                return
            with self._lock:
                if self._pending and self._pending[0] is entry:
                    self._pending.pop(0)
