"""Wiring: routes, authentication middleware, access checks, audit and handlers.

One ``App`` per process.  ``App.dispatch`` plays the role of actix's middleware chain:
CORS -> path normalisation -> route match -> whitelist / authentication (facts 2) -> handler,
and each handler performs the access checks of facts 4.2 through a ``Checker`` that also writes
the audit entries of facts 5.4.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import mimetypes
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import QDRANT_VERSION
from .access import (
    MANAGE,
    READ,
    READ_X,
    WRITE,
    WRITE_X,
    Checker,
    Forbidden,
    Req,
    can_see,
)
from .auth import FULL_ACCESS as FULL
from .auth import MSG_STATEFUL, Authenticator, AuthError, Identity
from .server import Request, Response
from .storage import Storage, StorageError, atomic_write, bad_request

log = logging.getLogger("qdrant_peer.app")

try:  # peer B's modules; optional so single-node mode works without them
    from . import audit as _audit_mod
except ImportError:  # pragma: no cover - depends on the other engineer's progress
    _audit_mod = None  # type: ignore[assignment]
try:
    from . import cluster as _cluster_mod
except ImportError:  # pragma: no cover
    _cluster_mod = None  # type: ignore[assignment]


JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class StartupPanic(RuntimeError):
    """Qdrant panics here (Rust exits 101 on a panic), rather than returning an error (1)."""

    exit_code = 101


class HttpError(Exception):
    """Any non-200 answer produced inside a handler."""

    def __init__(self, status: int, message: str, plain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain = plain


class Accepted(Exception):
    """``wait=false`` operations answered with 202 ``{"status": "accepted"}``."""


@dataclass
class Ctx:
    app: App
    req: Request
    params: dict[str, str]
    query: dict[str, str]
    identity: Identity
    checker: Checker
    started: float
    _body: Any = field(default=None, init=False)
    _parsed: bool = field(default=False, init=False)

    def body(self, required: bool = True) -> Any:
        if not self._parsed:
            self._parsed = True
            raw = self.req.body
            if not raw.strip():
                if required:
                    raise HttpError(
                        400, "Format error in JSON body: EOF while parsing a value at line 1 "
                        "column 0"
                    )
                self._body = {}
            else:
                try:
                    self._body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise HttpError(400, f"Format error in JSON body: {exc}") from None
        return self._body

    def obj(self, required: bool = True) -> dict[str, Any]:
        value = self.body(required)
        if not isinstance(value, dict):
            raise HttpError(400, "Format error in JSON body: invalid type, expected a map")
        return value

    @property
    def c(self) -> str:
        return self.params["collection_name"]

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() == "true"


Handler = Callable[[Ctx], Any]


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str]


ROUTES: list[Route] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$"

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, pattern, fn, re.compile(rx)))
        return fn

    return deco


def match_route(method: str, path: str) -> tuple[str | None, Route | None, dict[str, str]]:
    """Return (matched pattern, route for this method or None, params)."""
    pattern: str | None = None
    params: dict[str, str] = {}
    for r in ROUTES:
        m = r.regex.match(path)
        if not m:
            continue
        found = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        if r.method == method:
            return r.pattern, r, found
        if pattern is None:
            pattern, params = r.pattern, found
    return pattern, None, params


def normalize_path(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path or "/")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


def envelope(result: Any, started: float, status: str = "ok") -> bytes:
    return json.dumps(
        {"result": result, "status": status, "time": time.monotonic() - started}
    ).encode()


def error_body(message: str, started: float) -> bytes:
    return json.dumps(
        {"status": {"error": message}, "time": time.monotonic() - started}
    ).encode()


def update_result(op: int, ctx: Ctx) -> dict[str, Any]:
    return {"operation_id": op, "status": "completed" if ctx.flag("wait") else "acknowledged"}


def rfc3339(ts: float | None = None) -> str:
    moment = dt.datetime.fromtimestamp(ts if ts is not None else time.time(), dt.timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------------ helpers


def _local_tracing_id(headers: Any) -> str | None:
    for name in ("x-request-id", "x-tracing-id", "traceparent"):
        value = headers.get(name)
        if value is not None and all(0x20 <= ord(ch) <= 0x7E or ch == "\t" for ch in value):
            return value[:256]
    return None


def _local_remote(peer_ip: str, headers: Any, trust: bool) -> str | None:
    if trust:
        for name in ("forwarded", "x-forwarded-for"):
            if headers.get(name) is not None:
                return headers.get(name)
    return peer_ip


class App:
    """The whole peer: settings, storage, auth, audit, cluster and request dispatch."""

    def __init__(
        self,
        settings: dict[str, Any],
        cwd: Path,
        uri: str | None = None,
        bootstrap: str | None = None,
    ) -> None:
        self.settings = settings
        self.cwd = cwd
        self.service: dict[str, Any] = settings["service"]
        self.started_at = time.time()
        self.auth = Authenticator(self.service)
        storage_path = cwd / settings["storage"]["storage_path"]
        snapshots_path = cwd / settings["storage"]["snapshots_path"]
        self.storage = Storage(storage_path, snapshots_path, settings)
        self.peer_id = self._load_peer_id(storage_path)
        self.metadata_file = storage_path / "cluster_metadata.json"
        self.counters: dict[tuple[str, int], int] = {}
        self.counter_lock = threading.Lock()
        self.log_level = settings.get("log_level") or "INFO"
        self.audit_section: dict[str, Any] | None = (
            settings.get("audit") if isinstance(settings.get("audit"), dict) else None
        )
        self.audit: Any = None
        if self.audit_section is not None and self.audit_section.get("enabled"):
            if _audit_mod is None:
                log.warning("audit.py is not available; audit logging is disabled in this peer")
            else:
                try:
                    self.audit = _audit_mod.AuditLog(self.audit_section, cwd)
                except Exception as exc:
                    raise StartupPanic(
                        f"Audit logger must be initialized if audit logging is enabled: {exc}"
                    ) from exc
        static = self.service.get("static_content_dir") or "./static"
        self.static_dir = cwd / static
        self.ui_enabled = self.service.get("enable_static_content") is not False and (
            self.static_dir.is_dir()
        )
        self.cluster: Any = None
        self.uri = uri
        self.bootstrap = bootstrap

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def _load_peer_id(storage_path: Path) -> int:
        path = storage_path / "peer_id.json"
        with contextlib.suppress(OSError, ValueError, KeyError):
            return int(json.loads(path.read_text())["peer_id"])
        peer_id = uuid.uuid4().int % (2**53 - 1) + 1
        atomic_write(path, json.dumps({"peer_id": peer_id}).encode())
        return peer_id

    def start_cluster(self, ssl_server_ctx: Any, ssl_client_ctx: Any) -> None:
        if not self.settings["cluster"].get("enabled"):
            return
        if _cluster_mod is None:
            raise RuntimeError("cluster.enabled is true but tests/qdrant_peer/cluster.py is missing")
        if self.settings["cluster"]["p2p"].get("port") is None:
            raise RuntimeError("P2P port is not set")
        cwd_storage = self.cwd / self.settings["storage"]["storage_path"]
        self.cluster = _cluster_mod.Cluster(
            self.settings,
            uri=self.uri,
            bootstrap=self.bootstrap,
            storage_path=cwd_storage,
            ssl_server_ctx=ssl_server_ctx,
            ssl_client_ctx=ssl_client_ctx,
            audit=self.audit,
            local_collections=self.storage.summary,
        )
        # Extension of the agreed interface (see README): how a peer applies replicated
        # collection metadata operations locally without re-broadcasting them.
        if hasattr(self.cluster, "set_apply_hook"):
            self.cluster.set_apply_hook(self.apply_collection_change)
        else:
            self.cluster.apply_remote_change = self.apply_collection_change
        self.cluster.start()

    def shutdown(self) -> None:
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.stop()
        self.storage.flush()
        if self.audit is not None:
            with contextlib.suppress(Exception):
                self.audit.close()

    def apply_collection_change(self, op: str, name: str, body: dict[str, Any] | None) -> None:
        """Apply a replicated collection metadata operation (called by cluster.py)."""
        body = body or {}
        try:
            op = {"create": "create_collection", "update": "update_collection",
                  "delete": "delete_collection"}.get(op, op)
            if op == "create_collection":
                if self.storage.resolve(name) is None:
                    self.storage.create_collection(name, body)
            elif op == "update_collection":
                self.storage.update_collection(name, body)
            elif op == "delete_collection":
                self.storage.delete_collection(name)
            elif op == "change_aliases":
                self.storage.change_aliases(body.get("actions") or [])
            elif op == "create_payload_index":
                self.storage.create_payload_index(name, body)
            elif op == "drop_payload_index":
                self.storage.drop_payload_index(name, body.get("field_name", ""))
            else:
                log.warning("unknown replicated operation %s", op)
        except StorageError as exc:
            log.warning("replicated %s on %s failed: %s", op, name, exc.message)

    def _replicate(self, op: str, name: str, body: dict[str, Any] | None) -> None:
        if self.cluster is not None:
            try:
                self.cluster.on_collection_change(op, name, body)
            except Exception as exc:
                log.warning("replicating %s for %s failed: %s", op, name, exc)

    # ------------------------------------------------------------------ audit
    def _audit_base(self, req: Request, path: str) -> dict[str, Any]:
        trust = bool(self.audit_section and self.audit_section.get("trust_forwarded_headers"))
        if _audit_mod is not None:
            remote = _audit_mod.remote_from_request(req.peer_ip, req.headers, trust)
            tracing = _audit_mod.tracing_id_from_headers(req.headers)
        else:
            remote = _local_remote(req.peer_ip, req.headers, trust)
            tracing = _local_tracing_id(req.headers)
        log_api = bool(self.audit_section and self.audit_section.get("log_api", True))
        return {
            "api": path if (self.auth.enabled and log_api) else None,
            "remote": remote,
            "tracing_id": tracing,
        }

    def _audit_write(self, entry: dict[str, Any]) -> None:
        if self.audit is None:
            return
        try:
            self.audit.write(
                method=entry.get("method"),
                api=entry.get("api"),
                auth_type=entry["auth_type"],
                subject=entry.get("subject"),
                remote=entry.get("remote"),
                collection=entry.get("collection"),
                tracing_id=entry.get("tracing_id"),
                result=entry["result"],
                error=entry.get("error"),
            )
        except Exception as exc:  # the real writer is lossy; never fail a request
            log.warning("audit write failed: %s", exc)

    # ------------------------------------------------------------------ dispatch
    def _value_exists(self, spec: dict[str, Any]) -> None:
        try:
            found = self.storage.value_exists(spec["collection"], spec["matches"])
        except StorageError as exc:
            if exc.status == 404:
                raise AuthError(403, MSG_STATEFUL) from None
            raise AuthError(exc.status, exc.message) from None
        if not found:
            raise AuthError(401, MSG_STATEFUL)

    def _count(self, pattern: str, status: int) -> None:
        with self.counter_lock:
            self.counters[(pattern, status)] = self.counters.get((pattern, status), 0) + 1

    def _cors(self, req: Request, resp: Response) -> Response:
        origin = req.headers.get("origin")
        if self.service.get("enable_cors", True) and origin is not None:
            resp.headers.setdefault("Access-Control-Allow-Origin", origin)
            resp.headers.setdefault("Vary", "Origin")
        return resp

    def dispatch(self, req: Request) -> Response:
        started = time.monotonic()
        if (
            req.method == "OPTIONS"
            and self.service.get("enable_cors", True)
            and req.headers.get("origin") is not None
            and req.headers.get("access-control-request-method") is not None
        ):
            return self._cors(
                req,
                Response(
                    200,
                    b"",
                    None,
                    {
                        "Access-Control-Allow-Methods": req.headers.get(
                            "access-control-request-method"
                        ),
                        "Access-Control-Allow-Headers": req.headers.get(
                            "access-control-request-headers"
                        )
                        or "*",
                        "Access-Control-Max-Age": "3600",
                    },
                ),
            )
        path = normalize_path(req.path)
        method = "GET" if req.method == "HEAD" else req.method
        pattern, rt, params = match_route(method, path)
        if pattern is None and self.ui_enabled and (
            path == "/dashboard" or path.startswith("/dashboard/")
        ):
            pattern = "/dashboard"
        resp = self._dispatch(req, path, method, pattern, rt, params, started)
        self._count(pattern or "unknown", resp.status)
        return self._cors(req, resp)

    def _dispatch(
        self,
        req: Request,
        path: str,
        method: str,
        pattern: str | None,
        rt: Route | None,
        params: dict[str, str],
        started: float,
    ) -> Response:
        whitelisted = pattern is not None and (
            pattern in ("/", "/healthz")
            or pattern.startswith("/readyz")
            or pattern.startswith("/livez")
            or (pattern == "/dashboard" and self.ui_enabled)
        )
        audit_base = self._audit_base(req, path)
        identity = Identity(FULL, "None")
        if not whitelisted and self.auth.enabled:
            try:
                identity = self.auth.authenticate(req.headers, self._value_exists)
            except AuthError as err:
                entry = dict(audit_base)
                entry.update(
                    api=path, auth_type="None", result="denied", error=err.audit_error
                )
                self._audit_write(entry)
                return Response(err.status, err.message.encode(), None)
        if pattern == "/dashboard" and rt is None:
            return self._static(path)
        if rt is None:
            return Response(404, b"", None)
        checker = Checker(identity, self._audit_write if self.audit else None, audit_base)
        query = dict(urllib.parse.parse_qsl(req.query, keep_blank_values=True))
        ctx = Ctx(self, req, params, query, identity, checker, started)
        try:
            result = rt.handler(ctx)
        except Accepted:
            return Response(
                202,
                json.dumps({"status": "accepted", "time": time.monotonic() - started}).encode(),
            )
        except Forbidden as exc:
            return Response(403, error_body(exc.text, started))
        except HttpError as exc:
            if exc.plain:
                return Response(exc.status, exc.message.encode(), TEXT)
            return Response(exc.status, error_body(exc.message, started))
        except StorageError as exc:
            return Response(exc.status, error_body(exc.message, started))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Response(400, error_body(f"Format error in JSON body: {exc}", started))
        if isinstance(result, Response):
            return result
        return Response(200, envelope(result, started))

    def _static(self, path: str) -> Response:
        rel = path[len("/dashboard") :].lstrip("/") or "index.html"
        root = self.static_dir.resolve()
        target = (root / rel).resolve()
        if root != target and root not in target.parents:
            return Response(404, b"", None)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            target = root / "index.html"
            if not target.is_file():
                return Response(404, b"", None, {"X-Frame-Options": "DENY"})
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Response(200, target.read_bytes(), ctype, {"X-Frame-Options": "DENY"})

    # ------------------------------------------------------------------ telemetry / metrics
    def telemetry(self, identity: Identity, details_level: int) -> dict[str, Any]:
        access = identity.access
        names = [n for n in self.storage.names() if can_see(access, n)]
        app: dict[str, Any] = {"name": "qdrant", "version": QDRANT_VERSION}
        if details_level >= 1:
            app["features"] = {
                "debug": False,
                "service_debug_feature": False,
                "recovery_mode": False,
                "gpu": False,
                "rocksdb": False,
                "staging": False,
            }
        if self.service.get("jwt_rbac") is not None:
            app["jwt_rbac"] = self.service["jwt_rbac"]
        if self.service.get("hide_jwt_dashboard") is not None:
            app["hide_jwt_dashboard"] = self.service["hide_jwt_dashboard"]
        if self.audit_section is not None and self.audit_section.get("enabled"):
            app["audit"] = {
                "dir": self.audit_section["dir"],
                "rotation": self.audit_section["rotation"],
                "max_log_files": self.audit_section["max_log_files"],
                "trust_forwarded_headers": self.audit_section["trust_forwarded_headers"],
                "log_api": self.audit_section["log_api"],
            }
        app["startup"] = rfc3339(round(self.started_at, 2))
        result: dict[str, Any] = {
            "id": str(uuid.UUID(int=self.peer_id)),
            "app": app,
            "collections": {
                "number_of_collections": len(names),
                "collections": [{"id": n} for n in names] if details_level >= 1 else None,
            },
        }
        if result["collections"]["collections"] is None:
            del result["collections"]["collections"]
        if access.is_global:
            result["cluster"] = {
                "enabled": self.cluster is not None,
            }
            if self.cluster is not None:
                with contextlib.suppress(Exception):
                    result["cluster"]["status"] = self.cluster.status()
            with self.counter_lock:
                responses: dict[str, dict[str, int]] = {}
                for (pattern, status), count in self.counters.items():
                    responses.setdefault(pattern, {})[str(status)] = count
            result["requests"] = {"rest": {"responses": responses}, "grpc": {"responses": {}}}
            result["memory"] = {"active_bytes": 0, "allocated_bytes": 0, "metadata_bytes": 0,
                                "resident_bytes": 0, "retained_bytes": 0}
        return result

    def metrics_text(self) -> bytes:
        lines = [
            "# HELP app_info information about qdrant server",
            "# TYPE app_info gauge",
            f'app_info{{name="qdrant",version="{QDRANT_VERSION}"}} 1',
            "# HELP collections_total number of collections",
            "# TYPE collections_total gauge",
            f"collections_total {len(self.storage.names())}",
            "# HELP collections_vector_total total number of vectors in all collections",
            "# TYPE collections_vector_total gauge",
            "collections_vector_total "
            f"{sum(v['points_count'] for v in self.storage.summary().values())}",
            "# HELP rest_responses_total total number of responses",
            "# TYPE rest_responses_total counter",
        ]
        with self.counter_lock:
            for (pattern, status), count in sorted(self.counters.items()):
                lines.append(
                    f'rest_responses_total{{endpoint="{pattern}",status="{status}"}} {count}'
                )
        return ("\n".join(lines) + "\n").encode()

    def metrics_only_dispatch(self, req: Request) -> Response:
        """The dedicated ``metrics_port`` listener: only GET /metrics, no auth (facts 1.4)."""
        if req.method in ("GET", "HEAD") and normalize_path(req.path) == "/metrics":
            # the same handler as /metrics on the REST port (src/actix/metrics_service.rs)
            return Response(200, self.metrics_text(), "text/plain; charset=utf-8")
        return Response(404, b"", None)


# Import handlers so that their @route decorators register.
from . import handlers  # noqa: E402,F401

__all__ = [
    "MANAGE",
    "READ",
    "READ_X",
    "WRITE",
    "WRITE_X",
    "Accepted",
    "App",
    "Ctx",
    "HttpError",
    "Req",
    "bad_request",
    "route",
]
