"""REST endpoint handlers (facts 4.2 table, shapes of facts 7).

Every handler performs its own access checks (so batch sub-requests and lookups each check),
then talks to Storage.  Handlers return the ``result`` of the JSON envelope or a ``Response``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import QDRANT_VERSION
from .access import MANAGE, READ, READ_X, WRITE, WRITE_X, Forbidden, Req, can_see
from .app import Accepted, Ctx, Handler, HttpError, route, update_result
from .server import Response
from .storage import StorageError, atomic_write, bad_request

TEXT = "text/plain; charset=utf-8"


def _time_or_accept(json_body: bool = False) -> Callable[[Handler], Handler]:
    """Qdrant's ``helpers::time_or_accept`` (src/actix/helpers.rs): the handler's work, its
    access check and URL policy included, runs in a spawned task; with ``wait=false`` the
    answer is 202 at once and a failure (a 403 too) is only logged. Only the extractors (path,
    query, JSON body) are judged before."""

    def deco(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def handler(ctx: Ctx) -> Any:
            if ctx.query.get("wait", "true").lower() != "false":
                return fn(ctx)
            if json_body:
                ctx.obj()
            with contextlib.suppress(Accepted, Forbidden, HttpError, StorageError, KeyError,
                                     TypeError, ValueError, AttributeError, OSError):
                fn(ctx)
            raise Accepted()

        return handler

    return deco


G_READ = Req()
G_MANAGE = MANAGE


def _standalone() -> HttpError:
    return HttpError(405, "Qdrant is running in standalone mode")


def _plain_forbidden(fn: Any) -> Any:
    """Run an access check whose failure answers in plain text (snapshot downloads/uploads)."""
    from .access import Forbidden

    try:
        fn()
    except Forbidden as exc:
        raise HttpError(403, exc.text, plain=True) from None


# ============================================================================ service


# `commit` is the git sha compiled in by lib/api/build.rs (GIT_COMMIT_ID, else `git rev-parse
# HEAD`), so release builds always have it; this is the 1.19.0 version-bump commit.
QDRANT_COMMIT = "74f3e85b9473c62560006c043e13737ce6b48412"


@route("GET", "/")
def root(ctx: Ctx) -> Response:
    body = {
        "title": "qdrant - vector search engine",
        "version": QDRANT_VERSION,
        "commit": QDRANT_COMMIT,
    }
    return Response(200, json.dumps(body).encode())


@route("GET", "/healthz")
@route("GET", "/livez")
def healthz(ctx: Ctx) -> Response:
    return Response(200, b"healthz check passed", TEXT)


@route("GET", "/readyz")
def readyz(ctx: Ctx) -> Response:
    cluster = ctx.app.cluster
    if cluster is None or cluster.ready():
        return Response(200, b"all shards are ready", TEXT)
    return Response(503, b"some shards are not ready", TEXT)


def _query_uint(ctx: Ctx, name: str, *, minimum: int | None = None) -> int | None:
    """An ``Option<u64/usize>`` query parameter as actix_web_validator's ``Query`` reads it:
    a parse failure is 400, a failed ``#[validate(range(min))]`` 422 (src/actix/mod.rs)."""
    raw = ctx.query.get(name)
    if raw is None:
        return None
    if not raw:
        raise HttpError(
            400, "Deserialize error in query parameters: cannot parse integer from empty string"
        )
    if not (raw.isascii() and raw.lstrip("+").isdigit() and raw.count("+") <= 1):
        raise HttpError(400, "Deserialize error in query parameters: invalid digit found in string")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise HttpError(
            422,
            f"Validation error in query parameters: [{name}: value {value} invalid, must be "
            f"{minimum} or larger]",
        )
    return value


def _query_bool(ctx: Ctx, name: str) -> bool | None:
    raw = ctx.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise HttpError(
            400, "Deserialize error in query parameters: provided string was not `true` or `false`"
        )
    return raw == "true"


def _telemetry_level(ctx: Ctx) -> int:
    """``TelemetryParam``: details_level (usize, clamped to 0..4), anonymize, per_collection,
    timeout (>= 1).  Validated before anything else, as the extractor does."""
    level = _query_uint(ctx, "details_level") or 0
    _query_bool(ctx, "anonymize")
    _query_bool(ctx, "per_collection")
    _query_uint(ctx, "timeout", minimum=1)
    return min(level, 4)


def _cluster_telemetry(ctx: Ctx, level: int) -> dict[str, Any]:
    """``ClusterTelemetry::collect`` (src/common/telemetry_ops/cluster_telemetry.rs)."""
    app = ctx.app
    settings = app.settings
    cluster_cfg = settings.get("cluster") or {}
    out: dict[str, Any] = {"enabled": bool(cluster_cfg.get("enabled"))}
    status = app.cluster.status() if app.cluster is not None else None
    if level >= 1 and status is not None:
        raft = status.get("raft_info", {})
        out["status"] = {
            "number_of_peers": len(status.get("peers", {})),
            "term": raft.get("term"),
            "commit": raft.get("commit"),
            "pending_operations": raft.get("pending_operations"),
            "role": raft.get("role"),
            "is_voter": raft.get("is_voter"),
            "peer_id": status.get("peer_id"),
            "consensus_thread_status": status.get("consensus_thread_status"),
        }
    if level >= 2:
        p2p = cluster_cfg.get("p2p") or {}
        consensus = cluster_cfg.get("consensus") or {}
        out["config"] = {
            "grpc_timeout_ms": cluster_cfg.get("grpc_timeout_ms"),
            "p2p": {"connection_pool_size": p2p.get("connection_pool_size")},
            "consensus": {
                "max_message_queue_size": consensus.get("max_message_queue_size"),
                "tick_period_ms": consensus.get("tick_period_ms"),
                "bootstrap_timeout_sec": consensus.get("bootstrap_timeout_sec"),
            },
        }
        if status is not None:
            out["peers"] = status.get("peers", {})
    out["resharding_enabled"] = bool(cluster_cfg.get("resharding_enabled"))
    return out


# src/main.rs: `TelemetryCollector::generate_id()` is a fresh UUIDv4 at every process start
# (not persisted), so the telemetry id changes on each restart.
_TELEMETRY_ID = str(uuid.uuid4())


def _qdrant_telemetry(ctx: Ctx, level: int) -> dict[str, Any]:
    """``TelemetryCollector::prepare_data`` (src/common/telemetry.rs) over the peer's state.

    Member presence follows Qdrant: ``cluster``, ``requests`` and ``quota`` need global
    access; ``memory`` needs global access and ``details_level >= 1``; ``hardware`` and
    ``search_pool`` appear at ``details_level >= 1`` for every caller; collection entries are
    aggregated at level 1 and full (``id``, ``init_time_ms``, ``config``) from level 2.
    """
    base = ctx.app.telemetry(ctx.identity, level)
    is_global = ctx.identity.access.is_global
    summary = ctx.app.storage.summary()
    names = [n for n in ctx.app.storage.names() if can_see(ctx.identity.access, n)]

    app_part = dict(base["app"])
    audit = ctx.app.audit
    if "audit" in app_part:
        app_part["audit"] = dict(app_part["audit"])
        if level > 2 and audit is not None:
            app_part["audit"]["dir_size_bytes"] = audit.dir_size_bytes()
    collections: dict[str, Any] = {"number_of_collections": len(names)}
    if level >= 1:
        entries = []
        for name in names:
            info = summary.get(name, {})
            config = info.get("config") or {}
            if level == 1:
                entries.append({
                    "vectors": info.get("points_count", 0),
                    "optimizers_status": "ok",
                    "params": config.get("params", {}),
                })
            else:
                entries.append({"id": name, "init_time_ms": 0, "config": config})
        collections["collections"] = entries
        collections["snapshots"] = [{"id": name} for name in names]
    # AppBuildTelemetryCollector: `Utc::now().round_subsecs(2)`, serialised with AutoSi
    centis = round(ctx.app.started_at * 100)
    frac = (centis % 100) * 10_000_000
    app_part["startup"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(centis // 100)
    ) + (f".{frac // 1_000_000:03d}Z" if frac else "Z")
    result: dict[str, Any] = {"id": _TELEMETRY_ID, "app": app_part, "collections": collections}
    if is_global:
        result["cluster"] = _cluster_telemetry(ctx, level)
        rest = {
            pattern: {status: {"count": count} for status, count in by_status.items()}
            for pattern, by_status in base.get("requests", {}).get("rest", {})
            .get("responses", {}).items()
        }
        result["requests"] = {"rest": {"responses": rest}, "grpc": {"responses": {}}}
        if level >= 1:
            result["memory"] = base.get("memory") or {
                "active_bytes": 0, "allocated_bytes": 0, "metadata_bytes": 0,
                "resident_bytes": 0, "retained_bytes": 0,
            }
    if level >= 1:
        result["hardware"] = {"collection_data": {}}
        result["search_pool"] = {"mode": "high_cpu", "high_cpu_threads": 0, "high_io_threads": 0}
    if is_global:
        result["quota"] = {
            "config": {"enabled": False},
            "exceeded": {"resident_memory": None, "disk_usage": None},
        }
    return result


@route("GET", "/telemetry")
def telemetry(ctx: Ctx) -> Any:
    return _qdrant_telemetry(ctx, _telemetry_level(ctx))


@route("GET", "/cluster/telemetry")
def cluster_telemetry(ctx: Ctx) -> Any:
    return ctx.app.telemetry(ctx.identity, int(ctx.query.get("details_level") or 0))


@route("GET", "/metrics")
def metrics(ctx: Ctx) -> Response:
    from .access import Forbidden, global_error

    _query_bool(ctx, "anonymize")
    _query_bool(ctx, "per_collection")
    _query_uint(ctx, "timeout", minimum=1)
    err = global_error(ctx.identity.access, G_READ)  # not audited (facts 5.4)
    if err:
        raise Forbidden(err)
    # actix `ContentType::plaintext()`
    return Response(200, ctx.app.metrics_text(), TEXT)


@route("GET", "/issues")
def issues(ctx: Ctx) -> Any:
    ctx.checker.log_direct("issues")
    return {"issues": []}


@route("DELETE", "/issues")
def clear_issues(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "clear_issues")
    return True


@route("GET", "/logger")
def get_logger(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "get_logger_config")
    return {"log_level": ctx.app.log_level}


@route("POST", "/logger")
def update_logger(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_global(G_MANAGE, "update_logger_config")
    if isinstance(body.get("log_level"), str):
        ctx.app.log_level = body["log_level"]
    return True


@route("GET", "/stacktrace")
def stacktrace(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "get_stacktrace")
    return {"threads": []}


@route("GET", "/profiler/slow_requests")
def slow_requests(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "get_slow_requests")
    return {"requests": []}


@route("GET", "/debugger")
def get_debugger(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "get_debugger_config")
    return {"pyroscope": None}


@route("PATCH", "/debugger")
def update_debugger(ctx: Ctx) -> Any:
    ctx.obj()
    ctx.checker.check_global(G_MANAGE, "update_debugger_config")
    return True


@route("GET", "/quotas")
def get_quotas(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "get_quotas")
    return {}


@route("PUT", "/quotas")
def update_quotas(ctx: Ctx) -> Any:
    ctx.obj()
    ctx.checker.check_global(G_MANAGE, "update_quotas")
    return True


# ============================================================================ audit


def _parse_time(value: Any, name: str) -> str | None:
    """``Option<DateTime<Utc>>``: ``null`` is None; a string must be RFC 3339 with an offset
    (chrono's relaxed parser: ``T``/``t``/space, 0-9 fractional digits, ``Z`` or ``+hh:mm``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise HttpError(
            400,
            f"Format error in JSON body: invalid type: {_json_kind(value)}, expected an RFC 3339 "
            f"formatted date and time string (field `{name}`)",
        )
    try:
        from .audit import parse_timestamp
    except ImportError:  # audit.py unavailable: fall back to the stdlib parser
        def parse_timestamp(text: str) -> int:
            return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    try:
        parse_timestamp(value)
    except ValueError:
        raise HttpError(
            400, f"Format error in JSON body: input contains invalid characters (field `{name}`)"
        ) from None
    return value


def _json_kind(value: Any) -> str:
    """serde's ``Unexpected`` wording for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    return "sequence" if isinstance(value, list) else "map"


@route("POST", "/audit/logs")
def audit_logs(ctx: Ctx) -> Any:
    # Extractors run before the handler, in declaration order: the query (`timeout`, u64 >= 1)
    # then the JSON body (src/actix/api/audit_api.rs).
    timeout = _query_uint(ctx, "timeout", minimum=1)
    body = ctx.obj()
    time_from = _parse_time(body.get("time_from"), "time_from")
    time_to = _parse_time(body.get("time_to"), "time_to")
    limit = body.get("limit")
    if limit is None:
        limit = 100  # AuditLogQuery::new default
    elif not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise HttpError(
            400, f"Format error in JSON body: invalid type: {_json_kind(limit)}, expected usize"
            if not (isinstance(limit, int) and not isinstance(limit, bool))
            else f"Format error in JSON body: invalid value: integer `{limit}`, expected usize",
        )
    elif not 1 <= limit <= 10000:
        raise HttpError(
            422,
            f"Validation error in JSON body: [limit: value {limit} invalid, must be from 1 to "
            "10000]",
        )
    # `#[serde(default)] filters: HashMap<String, String>`: absent -> {}, null is a type error
    filters = body.get("filters", {})
    if not isinstance(filters, dict):
        raise HttpError(
            400, f"Format error in JSON body: invalid type: {_json_kind(filters)}, expected a map"
        )
    for value in filters.values():
        if not isinstance(value, str):
            raise HttpError(
                400,
                f"Format error in JSON body: invalid type: {_json_kind(value)}, expected a string",
            )
    if timeout is None:
        timeout = 60  # DEFAULT_GRPC_TIMEOUT
    ctx.checker.check_global(G_MANAGE, "get_audit_logs")
    app = ctx.app
    if app.audit_section is None:
        raise HttpError(400, "Bad request: Audit logging is not configured")
    if not app.audit_section.get("enabled") or app.audit is None:
        raise HttpError(400, "Bad request: Audit logging is not enabled")
    if app.cluster is not None:
        try:
            entries = app.cluster.gather_audit(time_from, time_to, limit, filters, timeout)
        except Exception as exc:
            status = getattr(exc, "status", 500)
            raise HttpError(status, getattr(exc, "wire", None) or str(exc)) from None
    else:
        entries = app.audit.query(
            time_from=time_from, time_to=time_to, limit=limit, filters=filters
        )
    return {"entries": entries}


# ============================================================================ cluster


@route("GET", "/cluster")
def cluster_status(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "cluster_status")
    if ctx.app.cluster is None:
        return {"status": "disabled"}
    return ctx.app.cluster.status()


@route("POST", "/cluster/recover")
def cluster_recover(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "recover_current_peer")
    if ctx.app.cluster is None:
        raise _standalone()
    return True


@route("DELETE", "/cluster/peer/{peer_id}")
def remove_peer(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "remove_peer")
    if ctx.app.cluster is None:
        raise _standalone()
    raise HttpError(400, f"Bad request: Peer {ctx.params['peer_id']} cannot be removed")


def _metadata(ctx: Ctx) -> dict[str, Any]:
    try:
        return json.loads(ctx.app.metadata_file.read_text())
    except (OSError, ValueError):
        return {}


@route("GET", "/cluster/metadata/keys")
def metadata_keys(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "get_cluster_metadata_keys")
    return sorted(_metadata(ctx))


@route("GET", "/cluster/metadata/keys/{key}")
def metadata_key(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "get_cluster_metadata_key")
    return _metadata(ctx).get(ctx.params["key"])


@route("PUT", "/cluster/metadata/keys/{key}")
def put_metadata_key(ctx: Ctx) -> Any:
    value = ctx.body()
    ctx.checker.check_global(G_MANAGE, "update_cluster_metadata_key")
    data = _metadata(ctx)
    data[ctx.params["key"]] = value
    atomic_write(ctx.app.metadata_file, json.dumps(data).encode())
    return True


@route("DELETE", "/cluster/metadata/keys/{key}")
def delete_metadata_key(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "delete_cluster_metadata_key")
    data = _metadata(ctx)
    data.pop(ctx.params["key"], None)
    atomic_write(ctx.app.metadata_file, json.dumps(data).encode())
    return True


# ============================================================================ collections


@route("GET", "/collections")
def list_collections(ctx: Ctx) -> Any:
    ctx.checker.log_direct("list_collections")
    names = [n for n in ctx.app.storage.names() if can_see(ctx.identity.access, n)]
    return {"collections": [{"name": n} for n in names]}


@route("GET", "/aliases")
def list_aliases(ctx: Ctx) -> Any:
    ctx.checker.log_direct("list_aliases")
    access = ctx.identity.access
    return {
        "aliases": [
            {"alias_name": a, "collection_name": c}
            for a, c in ctx.app.storage.all_aliases()
            if can_see(access, c) and can_see(access, a)
        ]
    }


def _collection_info(ctx: Ctx, name: str) -> dict[str, Any]:
    col = ctx.app.storage.get(name)
    return {
        "status": "green",
        "optimizer_status": "ok",
        "warnings": [],
        "indexed_vectors_count": 0,
        "points_count": len(col.points),
        "segments_count": 1,
        "config": col.config,
        "payload_schema": col.payload_schema,
        "created_at": col.created_at,
    }


@route("GET", "/collections/{collection_name}")
def get_collection(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "get_collection")
    return _collection_info(ctx, ctx.c)


@route("GET", "/collections/{collection_name}/exists")
def collection_exists(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "collection_exists")
    return {"exists": ctx.app.storage.resolve(ctx.c) is not None}


@route("GET", "/collections/{collection_name}/aliases")
def collection_aliases(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "list_collection_aliases")
    storage = ctx.app.storage
    real = storage.get(ctx.c).name
    return {
        "aliases": [
            {"alias_name": a, "collection_name": ctx.c}
            for a in storage.collection_aliases(real)
            if can_see(ctx.identity.access, a)
        ]
    }


@route("GET", "/collections/{collection_name}/optimizations")
def optimizations(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "get_optimizations")
    ctx.app.storage.get(ctx.c)
    return {"running": [], "queued": [], "completed": []}


@route("GET", "/collections/{collection_name}/memory")
def collection_memory(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "get_collection_memory")
    ctx.app.storage.get(ctx.c)
    return {"ram_bytes": 0, "disk_bytes": 0}


@route("PUT", "/collections/{collection_name}")
def create_collection(ctx: Ctx) -> Any:
    body = ctx.obj(required=False)
    ctx.checker.check_global(G_MANAGE, "create_collection")
    result = ctx.app.storage.create_collection(ctx.c, body)
    ctx.app._replicate("create_collection", ctx.c, body)
    return result


@route("PATCH", "/collections/{collection_name}")
def update_collection(ctx: Ctx) -> Any:
    body = ctx.obj(required=False)
    ctx.checker.check_global(G_MANAGE, "update_collection")
    result = ctx.app.storage.update_collection(ctx.c, body)
    ctx.app._replicate("update_collection", ctx.c, body)
    return result


@route("DELETE", "/collections/{collection_name}")
def delete_collection(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "delete_collection")
    result = ctx.app.storage.delete_collection(ctx.c)
    if result:
        ctx.app._replicate("delete_collection", ctx.c, None)
    return result


@route("POST", "/collections/aliases")
def change_aliases(ctx: Ctx) -> Any:
    body = ctx.obj()
    actions = body.get("actions")
    if not isinstance(actions, list):
        raise HttpError(400, "Format error in JSON body: missing field `actions`")
    ctx.checker.check_global(G_MANAGE, "change_aliases")
    result = ctx.app.storage.change_aliases(actions)
    ctx.app._replicate("change_aliases", "", body)
    return result


def _collection_cluster(ctx: Ctx) -> dict[str, Any]:
    col = ctx.app.storage.get(ctx.c)
    if ctx.app.cluster is not None:
        return ctx.app.cluster.collection_cluster(col.name, len(col.points))
    return {
        "peer_id": ctx.app.peer_id,
        "shard_count": 1,
        "local_shards": [{"shard_id": 0, "points_count": len(col.points), "state": "Active"}],
        "remote_shards": [],
        "shard_transfers": [],
    }


@route("GET", "/collections/{collection_name}/cluster")
def get_collection_cluster(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ_X, "get_collection_cluster")
    return _collection_cluster(ctx)


_CLUSTER_META = {
    "move_shard": "transfer_shard",
    "replicate_shard": "transfer_shard",
    "abort_transfer": "transfer_shard",
    "restart_transfer": "transfer_shard",
    "drop_replica": "set_shard_replica_state",
    "create_sharding_key": "create_shard_key",
    "drop_sharding_key": "drop_shard_key",
    "start_resharding": "resharding",
    "abort_resharding": "resharding",
    "replicate_points": "transfer_shard",
}


def _cluster_update(ctx: Ctx, meta: str) -> Any:
    ctx.checker.check_collection(ctx.c, MANAGE, "update_collection_cluster")
    ctx.checker.check_collection(ctx.c, MANAGE, meta)
    ctx.app.storage.get(ctx.c)
    if ctx.app.cluster is None:
        raise _standalone()
    return True


@route("POST", "/collections/{collection_name}/cluster")
def update_collection_cluster(ctx: Ctx) -> Any:
    body = ctx.obj()
    op = next((k for k in body if k in _CLUSTER_META), None)
    if op is None:
        raise HttpError(400, "Format error in JSON body: unknown cluster operation")
    return _cluster_update(ctx, _CLUSTER_META[op])


@route("GET", "/collections/{collection_name}/shards")
def get_shard_keys(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ, "get_collection_shard_keys")
    ctx.app.storage.get(ctx.c)
    return {"shard_keys": None}


@route("PUT", "/collections/{collection_name}/shards")
def create_shard_key(ctx: Ctx) -> Any:
    ctx.obj()
    return _cluster_update(ctx, "create_shard_key")


@route("POST", "/collections/{collection_name}/shards/delete")
def drop_shard_key(ctx: Ctx) -> Any:
    ctx.obj()
    return _cluster_update(ctx, "drop_shard_key")


@route("PUT", "/collections/{collection_name}/index")
def create_index(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, WRITE_X, "create_payload_index")
    storage = ctx.app.storage
    storage.create_payload_index(ctx.c, body)
    ctx.app._replicate("create_payload_index", storage.get(ctx.c).name, body)
    return update_result(storage.op_counter, ctx)


@route("DELETE", "/collections/{collection_name}/index/{field_name}")
def drop_index(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "drop_payload_index")
    storage = ctx.app.storage
    storage.drop_payload_index(ctx.c, ctx.params["field_name"])
    ctx.app._replicate(
        "drop_payload_index", storage.get(ctx.c).name, {"field_name": ctx.params["field_name"]}
    )
    return update_result(storage.op_counter, ctx)


@route("PUT", "/collections/{collection_name}/vectors/{vector_name}")
def create_named_vector(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, WRITE_X, "create_named_vector")
    ctx.app.storage.named_vector(ctx.c, ctx.params["vector_name"], body)
    return update_result(ctx.app.storage.op_counter, ctx)


@route("DELETE", "/collections/{collection_name}/vectors/{vector_name}")
def delete_named_vector(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "delete_named_vector")
    ctx.app.storage.named_vector(ctx.c, ctx.params["vector_name"], None)
    return update_result(ctx.app.storage.op_counter, ctx)


# ============================================================================ point writes


def _by_filter(body: dict[str, Any]) -> bool:
    sel = body.get("points")
    return body.get("filter") is not None or (isinstance(sel, dict) and "filter" in sel)


def _apply_write(ctx: Ctx, kind: str, body: dict[str, Any], check: bool = True) -> int:
    """Check + apply one point write operation; ``kind`` is the batch operation key."""
    s = ctx.app.storage
    c = ctx.c
    if kind == "upsert":
        method = "upsert_points"
        fn = lambda: s.upsert(c, body)  # noqa: E731
    elif kind == "delete":
        method = "delete_points_by_filter" if _by_filter(body) else "delete_points"
        fn = lambda: s.delete_points(c, body)  # noqa: E731
    elif kind == "set_payload":
        method = "set_payload"
        fn = lambda: s.set_payload(c, body, overwrite=False)  # noqa: E731
    elif kind == "overwrite_payload":
        method = "overwrite_payload"
        fn = lambda: s.set_payload(c, body, overwrite=True)  # noqa: E731
    elif kind == "delete_payload":
        method = "delete_payload"
        fn = lambda: s.delete_payload(c, body)  # noqa: E731
    elif kind == "clear_payload":
        method = "clear_payload_by_filter" if _by_filter(body) else "clear_payload"
        fn = lambda: s.clear_payload(c, body)  # noqa: E731
    elif kind == "update_vectors":
        method = "update_vectors"
        fn = lambda: s.update_vectors(c, body)  # noqa: E731
    elif kind == "delete_vectors":
        method = "delete_vectors_by_filter" if _by_filter(body) else "delete_vectors"
        fn = lambda: s.delete_vectors(c, body)  # noqa: E731
    else:
        raise HttpError(400, f"Format error in JSON body: unknown operation `{kind}`")
    if check:
        ctx.checker.check_collection(c, WRITE, method)
    return fn()


def _write_route(kind: str) -> Any:
    def handler(ctx: Ctx) -> Any:
        body = ctx.obj()
        return update_result(_apply_write(ctx, kind, body), ctx)

    return handler


for _m, _p, _k in (
    ("PUT", "/points", "upsert"),
    ("POST", "/points/delete", "delete"),
    ("PUT", "/points/vectors", "update_vectors"),
    ("POST", "/points/vectors/delete", "delete_vectors"),
    ("POST", "/points/payload", "set_payload"),
    ("PUT", "/points/payload", "overwrite_payload"),
    ("POST", "/points/payload/delete", "delete_payload"),
    ("POST", "/points/payload/clear", "clear_payload"),
):
    route(_m, "/collections/{collection_name}" + _p)(_write_route(_k))


@route("POST", "/collections/{collection_name}/points/batch")
def batch_update(ctx: Ctx) -> Any:
    body = ctx.obj()
    ops = body.get("operations")
    if not isinstance(ops, list):
        raise HttpError(400, "Format error in JSON body: missing field `operations`")
    results = []
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            raise HttpError(400, "Format error in JSON body: invalid operation")
        ((kind, inner),) = op.items()
        if kind == "upsert" and isinstance(inner, dict):
            pass
        results.append(update_result(_apply_write(ctx, kind, inner), ctx))
    return results


# ============================================================================ point reads


def _lookups(body: dict[str, Any]) -> list[str]:
    out: list[str] = []
    lf = body.get("lookup_from")
    if isinstance(lf, dict) and isinstance(lf.get("collection"), str):
        out.append(lf["collection"])
    wl = body.get("with_lookup")
    if isinstance(wl, str):
        out.append(wl)
    elif isinstance(wl, dict) and isinstance(wl.get("collection"), str):
        out.append(wl["collection"])
    prefetch = body.get("prefetch")
    for p in prefetch if isinstance(prefetch, list) else [prefetch] if prefetch else []:
        if isinstance(p, dict):
            out.extend(_lookups(p))
    return out


def _strict_mode_timeout(ctx: Ctx) -> None:
    """With a ``timeout`` query parameter Qdrant checks strict mode first (an extra entry)."""
    if "timeout" in ctx.query:
        ctx.checker.check_collection(ctx.c, READ, "strict_mode_timeout_check")


@route("GET", "/collections/{collection_name}/points/{id}")
def get_point(ctx: Ctx) -> Any:
    _strict_mode_timeout(ctx)
    ctx.checker.check_collection(ctx.c, READ, "retrieve")
    raw: Any = ctx.params["id"]
    if raw.isdigit():
        raw = int(raw)
    points = ctx.app.storage.retrieve(ctx.c, [raw], True, True)
    if not points:
        raise StorageError(404, f"Not found: Point with id {ctx.params['id']} does not exists!")
    return points[0]


def _retrieve(ctx: Ctx) -> Any:
    body = ctx.obj()
    if "shard" not in ctx.params:
        _strict_mode_timeout(ctx)
    ctx.checker.check_collection(ctx.c, READ, "retrieve")
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise HttpError(400, "Format error in JSON body: missing field `ids`")
    return ctx.app.storage.retrieve(
        ctx.c, ids, body.get("with_payload", True), body.get("with_vector", False)
    )


def _scroll(ctx: Ctx) -> Any:
    body = ctx.obj(required=False)
    ctx.checker.check_collection(ctx.c, READ, "scroll")
    return ctx.app.storage.scroll(ctx.c, body)


def _count(ctx: Ctx) -> Any:
    body = ctx.obj(required=False)
    ctx.checker.check_collection(ctx.c, READ, "count")
    return {"count": ctx.app.storage.count(ctx.c, body)}


route("POST", "/collections/{collection_name}/points")(_retrieve)
route("POST", "/collections/{collection_name}/points/scroll")(_scroll)
route("POST", "/collections/{collection_name}/points/count")(_count)
route("POST", "/collections/{collection_name}/shards/{shard}/points")(_retrieve)
route("POST", "/collections/{collection_name}/shards/{shard}/points/scroll")(_scroll)
route("POST", "/collections/{collection_name}/shards/{shard}/points/count")(_count)


def _searches(ctx: Ctx, key: str) -> list[dict[str, Any]]:
    body = ctx.obj()
    items = body.get(key)
    if not isinstance(items, list):
        raise HttpError(400, f"Format error in JSON body: missing field `{key}`")
    return items


def _search_one(ctx: Ctx, body: dict[str, Any]) -> list[dict[str, Any]]:
    return ctx.app.storage.query(ctx.c, body)


@route("POST", "/collections/{collection_name}/points/search")
def search(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, READ, "core_search_batch")
    return _search_one(ctx, body)


@route("POST", "/collections/{collection_name}/points/search/batch")
def search_batch(ctx: Ctx) -> Any:
    items = _searches(ctx, "searches")
    for _ in items:
        ctx.checker.check_collection(ctx.c, READ, "core_search_batch")
    return [_search_one(ctx, b) for b in items]


def _recommend_body(body: dict[str, Any]) -> dict[str, Any]:
    q = dict(body)
    q["query"] = {"recommend": {"positive": body.get("positive") or []}}
    q.pop("vector", None)
    return q


@route("POST", "/collections/{collection_name}/points/query")
def query_points(ctx: Ctx) -> Any:
    body = ctx.obj(required=False)
    ctx.checker.check_collection(ctx.c, READ, "query_batch", _lookups(body))
    return {"points": _search_one(ctx, body)}


@route("POST", "/collections/{collection_name}/points/query/batch")
def query_batch(ctx: Ctx) -> Any:
    items = _searches(ctx, "searches")
    for b in items:
        ctx.checker.check_collection(ctx.c, READ, "query_batch", _lookups(b))
    return [{"points": _search_one(ctx, b)} for b in items]


@route("POST", "/collections/{collection_name}/points/recommend")
def recommend(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, READ, "recommend", _lookups(body))
    return _search_one(ctx, _recommend_body(body))


@route("POST", "/collections/{collection_name}/points/recommend/batch")
def recommend_batch(ctx: Ctx) -> Any:
    items = _searches(ctx, "searches")
    for b in items:
        ctx.checker.check_collection(ctx.c, READ, "recommend_batch", _lookups(b))
    return [_search_one(ctx, _recommend_body(b)) for b in items]


def _discover_body(body: dict[str, Any]) -> dict[str, Any]:
    q = dict(body)
    target = body.get("target")
    q["query"] = {"nearest": target} if target is not None else None
    return q


@route("POST", "/collections/{collection_name}/points/discover")
def discover(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, READ, "discover", _lookups(body))
    return _search_one(ctx, _discover_body(body))


@route("POST", "/collections/{collection_name}/points/discover/batch")
def discover_batch(ctx: Ctx) -> Any:
    items = _searches(ctx, "searches")
    for b in items:
        ctx.checker.check_collection(ctx.c, READ, "discover_batch", _lookups(b))
    return [_search_one(ctx, _discover_body(b)) for b in items]


def _groups(ctx: Ctx, recommend_style: bool) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, READ, "group", _lookups(body))
    group_by = body.get("group_by")
    if not isinstance(group_by, str):
        raise HttpError(400, "Format error in JSON body: missing field `group_by`")
    q = _recommend_body(body) if recommend_style else dict(body)
    group_size = int(body.get("group_size") or 3)
    limit = int(body.get("limit") or 10)
    q["limit"] = 1_000_000
    q.setdefault("with_payload", False)
    hits = _search_one(ctx, {**q, "with_payload": True})
    storage = ctx.app.storage
    groups: dict[str, dict[str, Any]] = {}
    from .storage import json_path_values, select_payload

    for hit in hits:
        for value in json_path_values(hit.get("payload") or {}, group_by):
            key = json.dumps(value)
            group = groups.setdefault(key, {"id": value, "hits": []})
            if len(group["hits"]) < group_size:
                shown = dict(hit)
                shown["payload"] = select_payload(hit.get("payload") or {}, body.get("with_payload"))
                group["hits"].append(shown)
    result = list(groups.values())[:limit]
    storage.get(ctx.c)
    return {"groups": result}


route("POST", "/collections/{collection_name}/points/search/groups")(
    lambda ctx: _groups(ctx, False)
)
route("POST", "/collections/{collection_name}/points/recommend/groups")(
    lambda ctx: _groups(ctx, True)
)
route("POST", "/collections/{collection_name}/points/query/groups")(
    lambda ctx: _groups(ctx, False)
)


def _matrix(ctx: Ctx, offsets: bool) -> Any:
    ctx.obj(required=False)
    ctx.checker.check_collection(ctx.c, READ, "search_points_matrix")
    ctx.app.storage.get(ctx.c)
    if offsets:
        return {"offsets_row": [], "offsets_col": [], "scores": [], "ids": []}
    return {"pairs": []}


route("POST", "/collections/{collection_name}/points/search/matrix/pairs")(
    lambda ctx: _matrix(ctx, False)
)
route("POST", "/collections/{collection_name}/points/search/matrix/offsets")(
    lambda ctx: _matrix(ctx, True)
)


@route("POST", "/collections/{collection_name}/facet")
def facet(ctx: Ctx) -> Any:
    body = ctx.obj()
    ctx.checker.check_collection(ctx.c, READ, "facet")
    if not isinstance(body.get("key"), str):
        raise HttpError(400, "Format error in JSON body: missing field `key`")
    return {"hits": ctx.app.storage.facet(ctx.c, body)}


@route("POST", "/collections/{collection_name}/shards/{shard}/cleanup")
def cleanup_shard(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE, "cleanup_local_shard")
    ctx.app.storage.get(ctx.c)
    return {"status": "done"}


@route("POST", "/collections/{collection_name}/truncate_unapplied_wal")
@_time_or_accept()
def truncate_wal(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "truncate_unapplied_wal")
    ctx.app.storage.get(ctx.c)
    return True


# ============================================================================ snapshots


def _shard(ctx: Ctx) -> int:
    try:
        return int(ctx.params["shard"])
    except ValueError:
        raise HttpError(400, "Path deserialize error: can not parse shard id") from None


def _file_response(path: Path) -> Response:
    return Response(200, path.read_bytes(), "application/octet-stream")


def _maybe_async(ctx: Ctx) -> None:
    if ctx.query.get("wait", "true").lower() == "false":
        raise Accepted()


@route("GET", "/collections/{collection_name}/snapshots")
def list_snapshots(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ_X, "list_snapshots")
    return ctx.app.storage.list_snapshots(ctx.c)


@route("POST", "/collections/{collection_name}/snapshots")
@_time_or_accept()
def create_snapshot(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "create_snapshot")
    desc = ctx.app.storage.create_snapshot(ctx.c)
    _maybe_async(ctx)
    return desc


@route("GET", "/collections/{collection_name}/snapshots/{snapshot_name}")
def get_snapshot(ctx: Ctx) -> Any:
    _plain_forbidden(
        lambda: ctx.checker.check_collection(ctx.c, READ_X, "get_snapshot")
    )
    return _file_response(ctx.app.storage.snapshot_path(ctx.c, ctx.params["snapshot_name"]))


@route("DELETE", "/collections/{collection_name}/snapshots/{snapshot_name}")
@_time_or_accept()
def delete_snapshot(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "delete_collection_snapshot")
    result = ctx.app.storage.delete_snapshot(ctx.c, ctx.params["snapshot_name"])
    _maybe_async(ctx)
    return result


def _fetch_location(ctx: Ctx, location: Any, api_key: Any) -> bytes:
    """Read a snapshot from ``file://`` (inside snapshots_path) or ``http(s)://``."""
    if not isinstance(location, str):
        raise HttpError(400, "Format error in JSON body: missing field `location`")
    scheme = location.split(":", 1)[0].lower() if ":" in location else ""
    if scheme == "file":
        return ctx.app.storage.resolve_snapshot_location(location).read_bytes()
    if scheme in ("http", "https"):
        headers = {"api-key": api_key} if isinstance(api_key, str) else {}
        request = urllib.request.Request(location, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise bad_request(f"Failed to download snapshot from {location}: {exc}") from None
    raise bad_request(f"Invalid snapshot URI, only file, http and https are supported: {location}")


def _url_policy(ctx: Ctx, location: Any) -> None:
    """Checked before the access check (facts 8)."""
    if (
        isinstance(location, str)
        and location.lower().startswith(("http://", "https://"))
        and not ctx.app.service.get("enable_snapshot_url_recovery", True)
    ):
        raise HttpError(
            403, "Forbidden: Snapshot recovery from remote URLs is disabled in the configuration"
        )


@route("PUT", "/collections/{collection_name}/snapshots/recover")
@_time_or_accept(json_body=True)
def recover_snapshot(ctx: Ctx) -> Any:
    body = ctx.obj()
    _url_policy(ctx, body.get("location"))
    ctx.checker.check_global(G_MANAGE, "recover_from_snapshot")
    data = _fetch_location(ctx, body.get("location"), body.get("api_key"))
    result = ctx.app.storage.restore_snapshot(ctx.c, data)
    _maybe_async(ctx)
    return result


def _multipart_file(ctx: Ctx) -> bytes:
    ctype = ctx.req.headers.get("content-type") or ""
    if "boundary=" not in ctype:
        raise HttpError(400, "Bad request: expected multipart/form-data with a `snapshot` part")
    boundary = ctype.split("boundary=", 1)[1].split(";")[0].strip().strip('"').encode()
    for part in ctx.req.body.split(b"--" + boundary):
        head, sep, content = part.partition(b"\r\n\r\n")
        if sep and b'name="snapshot"' in head:
            return content[:-2] if content.endswith(b"\r\n") else content
    raise HttpError(400, "Bad request: missing `snapshot` part")


@route("POST", "/collections/{collection_name}/snapshots/upload")
def upload_snapshot(ctx: Ctx) -> Any:
    _plain_forbidden(
        lambda: ctx.checker.check_global(
            G_MANAGE, "/collections/{collection_name}/snapshots/upload"
        )
    )
    data = _multipart_file(ctx)
    ctx.checker.check_global(G_MANAGE, "recover_from_snapshot")
    return ctx.app.storage.restore_snapshot(ctx.c, data)


@route("GET", "/collections/{collection_name}/shards/{shard}/snapshots")
def list_shard_snapshots(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, READ_X, "list_shard_snapshots")
    return ctx.app.storage.list_snapshots(ctx.c, _shard(ctx))


@route("POST", "/collections/{collection_name}/shards/{shard}/snapshots")
@_time_or_accept()
def create_shard_snapshot(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "create_shard_snapshot")
    desc = ctx.app.storage.create_snapshot(ctx.c, _shard(ctx))
    _maybe_async(ctx)
    return desc


@route("GET", "/collections/{collection_name}/shards/{shard}/snapshots/{snapshot_name}")
def download_shard_snapshot(ctx: Ctx) -> Any:
    _plain_forbidden(
        lambda: ctx.checker.check_collection(ctx.c, READ_X, "download_shard_snapshot")
    )
    return _file_response(
        ctx.app.storage.snapshot_path(ctx.c, ctx.params["snapshot_name"], _shard(ctx))
    )


@route("DELETE", "/collections/{collection_name}/shards/{shard}/snapshots/{snapshot_name}")
@_time_or_accept()
def delete_shard_snapshot(ctx: Ctx) -> Any:
    ctx.checker.check_collection(ctx.c, WRITE_X, "delete_shard_snapshot")
    result = ctx.app.storage.delete_snapshot(ctx.c, ctx.params["snapshot_name"], _shard(ctx))
    _maybe_async(ctx)
    return result


def _stream_new_snapshot(ctx: Ctx) -> Response:
    """A fresh shard snapshot streamed as the body (C-write+x, plain-text 403)."""
    _plain_forbidden(
        lambda: ctx.checker.check_collection(ctx.c, WRITE_X, "stream_shard_snapshot")
    )
    desc = ctx.app.storage.create_snapshot(ctx.c, _shard(ctx))
    path = ctx.app.storage.snapshot_path(ctx.c, desc["name"], _shard(ctx))
    data = path.read_bytes()
    path.unlink()
    return Response(200, data, "application/octet-stream")


@route("GET", "/collections/{collection_name}/shards/{shard}/snapshot")
def stream_shard_snapshot(ctx: Ctx) -> Any:
    return _stream_new_snapshot(ctx)


@route("POST", "/collections/{collection_name}/shards/{shard}/snapshots/upload")
def upload_shard_snapshot(ctx: Ctx) -> Any:
    _plain_forbidden(
        lambda: ctx.checker.check_global(
            G_MANAGE, "/collections/{collection_name}/shards/{shard}/snapshots/upload"
        )
    )
    data = _multipart_file(ctx)
    ctx.checker.check_global(G_MANAGE, "recover_shard_snapshot")
    return ctx.app.storage.restore_snapshot(ctx.c, data)


@route("PUT", "/collections/{collection_name}/shards/{shard}/snapshots/recover")
@_time_or_accept(json_body=True)
def recover_shard_snapshot(ctx: Ctx) -> Any:
    body = ctx.obj()
    _url_policy(ctx, body.get("location"))
    ctx.checker.check_global(G_MANAGE, "recover_shard_snapshot")
    data = _fetch_location(ctx, body.get("location"), body.get("api_key"))
    return ctx.app.storage.restore_snapshot(ctx.c, data)


@route("POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/create")
def partial_create(ctx: Ctx) -> Any:
    return _stream_new_snapshot(ctx)


@route("POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/recover")
def partial_recover(ctx: Ctx) -> Any:
    _plain_forbidden(
        lambda: ctx.checker.check_global(
            G_MANAGE, "/collections/{collection_name}/shards/{shard}/snapshot/partial/recover"
        )
    )
    data = _multipart_file(ctx)
    ctx.checker.check_global(G_MANAGE, "partial_snapshot_recovery_lock")
    return ctx.app.storage.restore_snapshot(ctx.c, data)


@route("POST", "/collections/{collection_name}/shards/{shard}/snapshot/partial/recover_from")
def partial_recover_from(ctx: Ctx) -> Any:
    body = ctx.obj()
    _url_policy(ctx, body.get("peer_url") or body.get("location"))
    ctx.checker.check_global(G_MANAGE, "recover_partial_snapshot_from")
    ctx.app.storage.get(ctx.c)
    return True


@route("GET", "/collections/{collection_name}/shards/{shard}/snapshot/partial/manifest")
def partial_manifest(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "get_partial_snapshot_manifest")
    col = ctx.app.storage.get(ctx.c)
    return {"segments": {}, "collection": col.name, "shard_id": _shard(ctx)}


@route("GET", "/snapshots")
def list_full(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_READ, "list_full_snapshots")
    return ctx.app.storage.list_snapshots(None)


@route("POST", "/snapshots")
@_time_or_accept()
def create_full(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "create_full_snapshot")
    desc = ctx.app.storage.create_snapshot(None)
    _maybe_async(ctx)
    return desc


@route("GET", "/snapshots/{snapshot_name}")
def get_full(ctx: Ctx) -> Any:
    _plain_forbidden(lambda: ctx.checker.check_global(G_READ, "get_full_snapshot"))
    return _file_response(ctx.app.storage.snapshot_path(None, ctx.params["snapshot_name"]))


@route("DELETE", "/snapshots/{snapshot_name}")
@_time_or_accept()
def delete_full(ctx: Ctx) -> Any:
    ctx.checker.check_global(G_MANAGE, "delete_full_snapshot")
    result = ctx.app.storage.delete_snapshot(None, ctx.params["snapshot_name"])
    _maybe_async(ctx)
    return result

