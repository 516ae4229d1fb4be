"""Qdrant 1.19's access model as data, and pure functions over it.

What a credential may do is decided in two steps (facts 4.1, 4.2):

1. every REST endpoint has a :class:`Requirement`: a *scope* (public, any authenticated
   caller, global-only, or one collection) and a combination of ``write``, ``manage`` and
   ``extras`` (snapshots, payload indexes, named vectors, collection cluster info);
2. an :class:`Access` (global ``m``/``r`` or a list of ``collection -> r|rw|prw``) either
   meets it, meets it with a filtered answer, or is refused with one of Qdrant's exact
   ``Forbidden: ...`` messages (facts 2.5).

The catalogue of :class:`Action` s names every row of the docs page's access table in
snake_case (``upsert_points``, ``create_collection``, ...) plus the rows the source adds
(quotas, logger, audit, cluster metadata, partial snapshots, named vectors, the local shard
API, ...), each with its REST routes and its audit ``method`` names (facts 5.7).

Where the docs table and the source differ, this module follows the source and says so in
:attr:`Action.docs_differs` (see :data:`DOCS_DIFFERENCES`).

Everything here is pure: no I/O, no printing, no clock. Errors are
:class:`qdrantsec.errors.InputError` / :class:`~qdrantsec.errors.UsageError`.

    >>> a = Access.for_collections({"docs": "r"})
    >>> decide(a, "upsert_points", "docs").forbidden
    'Forbidden: Write access to collection docs is required'
    >>> decide(a, match_request("POST /collections/docs/points/search")).outcome
    'allowed'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from qdrantsec.errors import InputError, UsageError

Outcome = Literal["allowed", "denied", "filtered"]
Scope = Literal["public", "any", "global", "collection"]

GLOBAL_MODES = ("r", "m")
COLLECTION_MODES = ("r", "rw", "prw")
COLLECTION_MODE_NAMES = {"r": "read", "rw": "read-write", "prw": "points read-write"}

# The exact RBAC messages (facts 2.5); Qdrant prefixes them with "Forbidden: ".
MSG_GLOBAL_MANAGE = "Global manage access is required"
MSG_GLOBAL_ACCESS = "Global access is required"
MSG_COLLECTION_ACCESS = "Access to collection {name} is required"
MSG_COLLECTION_WRITE = "Write access to collection {name} is required"
MSG_COLLECTION_MANAGE = "Manage access for this operation is required"
MSG_POINTS_ONLY = "Only points access is allowed for collection {name}"


# -- requirements (facts 4.1) ---------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    """What an endpoint asks of the caller."""

    scope: Scope
    label: str
    write: bool = False
    manage: bool = False
    extras: bool = False
    #: the answer is filtered for collection-scoped tokens (they still get 200)
    filtered: bool = False

    def describe(self) -> str:
        return REQUIREMENT_TEXT[self.label]


PUBLIC = Requirement("public", "public")
ANY_FILTERED = Requirement("any", "any-filtered", filtered=True)
G_READ = Requirement("global", "G-read")
G_MANAGE = Requirement("global", "G-manage", write=True, manage=True)
C_READ = Requirement("collection", "C-read")
C_READ_FILTERED = Requirement("collection", "C-read-filtered", filtered=True)
C_READ_X = Requirement("collection", "C-read+x", extras=True)
C_WRITE = Requirement("collection", "C-write", write=True)
C_WRITE_X = Requirement("collection", "C-write+x", write=True, extras=True)
# update_collection_cluster asks for write + manage + extras (src/common/collections.rs)
C_MANAGE = Requirement("collection", "C-manage", write=True, manage=True, extras=True)

REQUIREMENTS: tuple[Requirement, ...] = (
    PUBLIC, ANY_FILTERED, G_READ, G_MANAGE, C_READ, C_READ_FILTERED, C_READ_X, C_WRITE,
    C_WRITE_X, C_MANAGE,
)

REQUIREMENT_TEXT: dict[str, str] = {
    "public": "none (no credentials checked)",
    "any-filtered": "any credential; collection tokens get a filtered answer",
    "G-read": "global read (global r or m, read-only key)",
    "G-manage": "global manage (global m or the admin key)",
    "C-read": "collection read",
    "C-read-filtered": "collection read; the answer is filtered for collection tokens",
    "C-read+x": "collection read + extras (not prw)",
    "C-write": "collection write (rw, prw)",
    "C-write+x": "collection write + extras (rw only)",
    "C-manage": "collection manage (only global m)",
}


# -- access -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """A credential's access: global ``m``/``r``, or per-collection modes.

    ``global_mode`` is ``"m"`` or ``"r"`` for global access and ``None`` for a
    collection-scoped token, whose ``collections`` pairs are ``(name, mode)`` in claim order.
    """

    global_mode: Literal["r", "m"] | None
    collections: tuple[tuple[str, str], ...] = ()

    @classmethod
    def manage(cls) -> Access:
        """Global manage: ``access: "m"``, a token without ``access``, or the admin key."""
        return cls("m")

    @classmethod
    def read(cls) -> Access:
        """Global read: ``access: "r"`` or the read-only key."""
        return cls("r")

    @classmethod
    def for_collections(cls, modes: Mapping[str, str] | Iterable[tuple[str, str]]) -> Access:
        pairs = tuple(modes.items() if isinstance(modes, Mapping) else modes)
        seen: set[str] = set()
        for name, mode in pairs:
            if mode not in COLLECTION_MODES:
                raise InputError(f"unknown access mode {mode!r} for collection {name!r} "
                                 "(use r, rw or prw)")
            if name in seen:
                raise InputError(f"collection {name!r} is listed twice")
            seen.add(name)
        return cls(None, pairs)

    @classmethod
    def from_claim(cls, value: object, *, present: bool = True) -> Access:
        """The access a *valid* ``access`` claim grants (absent means manage, facts 3.3)."""
        if not present:
            return cls.manage()
        if value == "m":
            return cls.manage()
        if value == "r":
            return cls.read()
        if isinstance(value, list):
            pairs = []
            for entry in value:
                if not (isinstance(entry, Mapping) and isinstance(entry.get("collection"), str)
                        and isinstance(entry.get("access"), str)):
                    raise InputError("access entry is not {collection, access}")
                pairs.append((entry["collection"], entry["access"]))
            return cls.for_collections(pairs)
        raise InputError("access claim is not \"r\", \"m\" or a list of collections")

    @classmethod
    def for_key_type(cls, key_type: str) -> Access:
        """``admin`` (``api_key``/``alt_api_key``) or ``read-only`` (``read_only_api_key``)."""
        if key_type in ("admin", "api_key", "alt_api_key"):
            return cls.manage()
        if key_type in ("read-only", "read_only_api_key"):
            return cls.read()
        raise UsageError(f"unknown key type {key_type!r} (use admin or read-only)")

    @property
    def is_global(self) -> bool:
        return self.global_mode is not None

    def mode_for(self, collection: str) -> str | None:
        """The mode granted on ``collection`` (exact, case-sensitive match), if any."""
        for name, mode in self.collections:
            if name == collection:
                return mode
        return None

    def describe(self) -> str:
        if self.global_mode == "m":
            return "global manage (m)"
        if self.global_mode == "r":
            return "global read (r)"
        if not self.collections:
            return "no collections (empty access list)"
        return ", ".join(f"{name}: {mode}" for name, mode in self.collections)


# -- decisions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """The answer: ``allowed``, ``filtered`` (allowed, a filtered result) or ``denied``.

    For ``denied``, ``message`` is Qdrant's text after ``Forbidden: ``; for ``filtered`` it
    says what is filtered.
    """

    outcome: Outcome
    message: str | None = None
    status: int = 200
    #: a denial by an RBAC check (answered ``Forbidden: <message>``); False for refusals by
    #: the authentication layer and for ``wait=false`` answers, whose bodies differ
    rbac: bool = True

    @property
    def allowed(self) -> bool:
        return self.outcome != "denied"

    @property
    def forbidden(self) -> str | None:
        """The full body text Qdrant answers with (``Forbidden: ...``), for RBAC denials."""
        return f"Forbidden: {self.message}" if self.outcome == "denied" and self.rbac else None

    def as_dict(self) -> dict[str, object]:
        return {"decision": self.outcome, "allowed": self.allowed, "status": self.status,
                "message": self.forbidden or self.message}


ALLOWED = Decision("allowed")


def _denied(message: str) -> Decision:
    return Decision("denied", message, 403)


def check(access: Access, requirement: Requirement, collection: str | None = None,
          *, filter_note: str | None = None) -> Decision:
    """Apply the 4.1 matrix: does ``access`` meet ``requirement`` on ``collection``?"""
    req = requirement
    if req.scope == "public":
        return ALLOWED
    needs_write = req.write or req.manage
    if access.global_mode == "m":
        return ALLOWED
    if access.global_mode == "r":
        if req.scope in ("global", "collection") and needs_write:
            return _denied(MSG_GLOBAL_MANAGE)
        return ALLOWED
    # collection-scoped token
    if req.scope == "any":
        return Decision("filtered", filter_note or "only the token's collections are shown")
    if req.scope == "global":
        return _denied(MSG_GLOBAL_ACCESS)
    if collection is None:
        raise UsageError(f"a {req.label} check needs a collection name")
    mode = access.mode_for(collection)
    if mode is None:
        return _denied(MSG_COLLECTION_ACCESS.format(name=collection))
    # Qdrant's order (lib/storage/src/rbac/mod.rs CollectionAccessView::meets_requirements):
    # extras (prw refused), then write (r refused), then manage (every collection mode).
    if mode == "prw" and req.extras:
        return _denied(MSG_POINTS_ONLY.format(name=collection))
    if mode == "r" and req.write:
        return _denied(MSG_COLLECTION_WRITE.format(name=collection))
    if req.manage:
        return _denied(MSG_COLLECTION_MANAGE)
    if req.filtered:
        return Decision("filtered", filter_note or "only the token's collections are shown")
    return ALLOWED


# -- the catalogue (facts 4.2, docs access table) -------------------------------------------

@dataclass(frozen=True)
class Route:
    """One REST route: ``{name}`` matches one path segment; ``prefix`` routes match below."""

    method: str
    pattern: str
    prefix: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}{'*' if self.prefix else ''}"


@dataclass(frozen=True)
class Action:
    """One row of the access table."""

    name: str
    summary: str
    requirement: Requirement
    routes: tuple[Route, ...]
    #: audit log ``method`` names this action is logged as (empty: not logged)
    audit_methods: tuple[str, ...] = ()
    #: the docs table's row text; None when the row comes from the source only
    docs_row: str | None = None
    #: how the docs table's answer differs from the source's, if it does
    docs_differs: str | None = None
    #: what a filtered answer leaves out
    filter_note: str | None = None
    #: further conditions (lookups, URL policy, ...)
    note: str | None = None
    #: gRPC-only actions name their service here
    grpc: str | None = None
    staging_only: bool = False
    #: with ``?wait=false`` Qdrant answers 202 before the access check has run: the handler's
    #: work, check included, is spawned (src/actix/helpers.rs ``time_or_accept``) and a denial
    #: is only logged
    background_check: bool = False

    @property
    def collection_scoped(self) -> bool:
        return self.requirement.scope == "collection"

    @property
    def source(self) -> str:
        return "docs" if self.docs_row else "source"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "summary": self.summary,
            "requirement": self.requirement.label,
            "requirement_text": self.requirement.describe(),
            "collection_scoped": self.collection_scoped,
            "routes": [str(r) for r in self.routes],
            "audit_methods": list(self.audit_methods),
            "docs_row": self.docs_row, "docs_differs": self.docs_differs,
            "filter_note": self.filter_note, "note": self.note, "grpc": self.grpc,
            "staging_only": self.staging_only,
            "background_check": self.background_check,
        }


C = "/collections/{collection_name}"
SH = C + "/shards/{shard_id}"

_NO_EXTRAS_DIFF = "docs: allowed for every collection token; source: needs extras, so prw is denied"
_LOOKUP_NOTE = ("lookup_from / with_lookup collections must be accessible too; batch requests "
                "check every sub-request")


def _a(name: str, summary: str, req: Requirement, routes: Iterable[tuple[str, str] | Route],
       audit: Iterable[str] = (), **kw: object) -> Action:
    rs = tuple(r if isinstance(r, Route) else Route(r[0], r[1]) for r in routes)
    return Action(name, summary, req, rs, tuple(audit), **kw)  # type: ignore[arg-type]


ACTIONS: tuple[Action, ...] = (
    # service
    _a("version", "server name and version", PUBLIC, [("GET", "/")], docs_row="version"),
    # Qdrant whitelists "/readyz" and "/livez" as *prefixes of the matched route pattern*
    # (src/actix/mod.rs, src/actix/auth.rs is_path_whitelisted); the only such patterns are the
    # exact routes, so /livez/x matches no route and needs credentials like any unknown path.
    _a("healthz", "health, liveness and readiness probes", PUBLIC,
       [("GET", "/healthz"), ("GET", "/livez"), ("GET", "/readyz")],
       docs_row="readyz, healthz, livez"),
    _a("dashboard", "the Web UI", PUBLIC, [Route("GET", "/dashboard", True)],
       note="whitelisted only when the Web UI is available; otherwise an unknown route that "
            "needs credentials"),
    _a("telemetry", "telemetry", ANY_FILTERED, [("GET", "/telemetry")], docs_row="telemetry",
       docs_differs="docs: denied for collection tokens; source: allowed, filtered",
       filter_note="no requests, memory, cluster or quota details; only the token's collections"),
    _a("metrics", "Prometheus metrics", G_READ, [("GET", "/metrics")], docs_row="metrics",
       note="the separate metrics_port listener has no authentication at all"),
    _a("issues", "list issues", ANY_FILTERED, [("GET", "/issues")], ["issues"],
       filter_note="only issues of the token's collections"),
    _a("clear_issues", "clear issues", G_MANAGE, [("DELETE", "/issues")], ["clear_issues"]),
    _a("get_logger_config", "read the logger configuration", G_READ, [("GET", "/logger")],
       ["get_logger_config"]),
    _a("update_logger_config", "change the logger configuration", G_MANAGE,
       [("POST", "/logger")], ["update_logger_config"]),
    _a("get_stacktrace", "thread stack traces", G_MANAGE, [("GET", "/stacktrace")],
       ["get_stacktrace"]),
    _a("get_slow_requests", "profiler: slow requests", G_MANAGE,
       [("GET", "/profiler/slow_requests")], ["get_slow_requests"]),
    _a("get_debugger_config", "read the debugger configuration", G_MANAGE,
       [("GET", "/debugger")], ["get_debugger_config"]),
    _a("update_debugger_config", "change the debugger configuration", G_MANAGE,
       [("PATCH", "/debugger")], ["update_debugger_config"]),
    _a("get_audit_logs", "query the audit log", G_MANAGE, [("POST", "/audit/logs")],
       ["get_audit_logs"]),
    _a("get_quotas", "read quotas", G_READ, [("GET", "/quotas")], ["get_quotas"]),
    _a("update_quotas", "change quotas", G_MANAGE, [("PUT", "/quotas")], ["update_quotas"]),
    # cluster
    _a("get_cluster", "cluster status", G_READ, [("GET", "/cluster")], ["cluster_status"],
       docs_row="get cluster info"),
    _a("cluster_telemetry", "cluster telemetry", ANY_FILTERED, [("GET", "/cluster/telemetry")],
       filter_note="only the token's collections"),
    _a("recover_raft_state", "recover the current peer's raft state", G_MANAGE,
       [("POST", "/cluster/recover")], ["recover_current_peer"], docs_row="recover raft state"),
    _a("delete_peer", "remove a peer from the cluster", G_MANAGE,
       [("DELETE", "/cluster/peer/{peer_id}")], ["remove_peer"], docs_row="delete peer"),
    _a("get_cluster_metadata_keys", "list cluster metadata keys", G_READ,
       [("GET", "/cluster/metadata/keys")], ["get_cluster_metadata_keys"]),
    _a("get_cluster_metadata_key", "read a cluster metadata key", G_READ,
       [("GET", "/cluster/metadata/keys/{key}")], ["get_cluster_metadata_key"]),
    _a("update_cluster_metadata_key", "set a cluster metadata key", G_MANAGE,
       [("PUT", "/cluster/metadata/keys/{key}")], ["update_cluster_metadata_key"]),
    _a("delete_cluster_metadata_key", "delete a cluster metadata key", G_MANAGE,
       [("DELETE", "/cluster/metadata/keys/{key}")], ["delete_cluster_metadata_key"]),
    # collections
    _a("list_collections", "list collections", ANY_FILTERED, [("GET", "/collections")],
       ["list_collections"], docs_row="list collections",
       filter_note="lists only the token's collections"),
    _a("get_collection", "collection info", C_READ, [("GET", C)], ["get_collection"],
       docs_row="get collection info"),
    _a("collection_exists", "does a collection exist", C_READ, [("GET", C + "/exists")],
       ["collection_exists"], docs_row="collection exists"),
    _a("create_collection", "create a collection", G_MANAGE, [("PUT", C)], ["create_collection"],
       docs_row="create collection"),
    _a("update_collection", "change collection parameters", G_MANAGE, [("PATCH", C)],
       ["update_collection"], docs_row="update collection params"),
    _a("delete_collection", "delete a collection", G_MANAGE, [("DELETE", C)],
       ["delete_collection"], docs_row="delete collection"),
    _a("get_optimizations", "optimizer status", C_READ, [("GET", C + "/optimizations")],
       ["get_optimizations"]),
    _a("get_collection_memory", "collection memory usage", C_READ, [("GET", C + "/memory")],
       ["get_collection_memory"]),
    _a("get_collection_cluster", "collection cluster info", C_READ_X, [("GET", C + "/cluster")],
       ["get_collection_cluster"], docs_row="get collection cluster info",
       docs_differs=_NO_EXTRAS_DIFF),
    _a("update_collection_cluster", "change the collection's cluster setup (shard moves, "
       "replicas, resharding)", C_MANAGE, [("POST", C + "/cluster")],
       ["update_collection_cluster"], docs_row="update collection cluster setup",
       note="a collection-scoped check: collection tokens get a collection message, never "
            "'Global access is required'"),
    _a("list_shard_keys", "list shard keys", C_READ, [("GET", C + "/shards")],
       ["get_collection_shard_keys"]),
    _a("create_shard_key", "create a shard key", C_MANAGE, [("PUT", C + "/shards")],
       ["update_collection_cluster"], docs_row="create shard key"),
    _a("delete_shard_key", "delete a shard key", C_MANAGE, [("POST", C + "/shards/delete")],
       ["update_collection_cluster"], docs_row="delete shard key"),
    _a("truncate_unapplied_wal", "truncate the unapplied WAL", G_MANAGE,
       [("POST", C + "/truncate_unapplied_wal")], ["truncate_unapplied_wal"],
       background_check=True),
    # aliases
    _a("list_aliases", "list all aliases", ANY_FILTERED, [("GET", "/aliases")], ["list_aliases"],
       docs_row="list aliases", filter_note="lists only aliases of the token's collections"),
    _a("list_collection_aliases", "list a collection's aliases", C_READ_FILTERED,
       [("GET", C + "/aliases")], ["list_collection_aliases"], docs_row="list collection aliases",
       filter_note="only aliases the token also names"),
    _a("update_aliases", "create, rename or delete aliases", G_MANAGE,
       [("POST", "/collections/aliases")], ["change_aliases"], docs_row="update aliases"),
    # payload indexes and named vectors
    _a("create_payload_index", "create a payload index", C_WRITE_X, [("PUT", C + "/index")],
       ["create_payload_index"], docs_row="create payload index"),
    _a("delete_payload_index", "delete a payload index", C_WRITE_X,
       [("DELETE", C + "/index/{field_name}")], ["drop_payload_index"],
       docs_row="delete payload index"),
    _a("create_named_vector", "add a named vector", C_WRITE_X,
       [("PUT", C + "/vectors/{vector_name}")], ["create_named_vector"]),
    _a("delete_named_vector", "remove a named vector", C_WRITE_X,
       [("DELETE", C + "/vectors/{vector_name}")], ["delete_named_vector"]),
    # points: writes
    _a("upsert_points", "insert or replace points", C_WRITE, [("PUT", C + "/points")],
       ["upsert_points", "upsert_points_conditional"], docs_row="upsert points"),
    _a("update_points_batch", "a batch of point updates", C_WRITE, [("POST", C + "/points/batch")],
       ["upsert_points", "delete_points", "update_vectors", "set_payload", "..."],
       docs_row="update points batch", note="every operation in the batch is checked"),
    _a("delete_points", "delete points", C_WRITE, [("POST", C + "/points/delete")],
       ["delete_points", "delete_points_by_filter"], docs_row="delete points"),
    _a("update_vectors", "update vectors", C_WRITE, [("PUT", C + "/points/vectors")],
       ["update_vectors"], docs_row="update vectors"),
    _a("delete_vectors", "delete vectors", C_WRITE, [("POST", C + "/points/vectors/delete")],
       ["delete_vectors", "delete_vectors_by_filter"], docs_row="delete vectors"),
    _a("set_payload", "set payload keys", C_WRITE, [("POST", C + "/points/payload")],
       ["set_payload"], docs_row="set payload"),
    _a("overwrite_payload", "replace the payload", C_WRITE, [("PUT", C + "/points/payload")],
       ["overwrite_payload"], docs_row="overwrite payload"),
    _a("delete_payload", "delete payload keys", C_WRITE, [("POST", C + "/points/payload/delete")],
       ["delete_payload"], docs_row="delete payload"),
    _a("clear_payload", "clear the payload", C_WRITE, [("POST", C + "/points/payload/clear")],
       ["clear_payload", "clear_payload_by_filter"], docs_row="clear payload"),
    # points: reads
    _a("get_point", "retrieve one point", C_READ, [("GET", C + "/points/{id}")], ["retrieve"],
       docs_row="get point"),
    _a("retrieve_points", "retrieve points by id", C_READ, [("POST", C + "/points")], ["retrieve"],
       docs_row="get points"),
    _a("scroll_points", "scroll points", C_READ, [("POST", C + "/points/scroll")], ["scroll"],
       docs_row="scroll points"),
    _a("count_points", "count points", C_READ, [("POST", C + "/points/count")], ["count"],
       docs_row="count points"),
    _a("search_points", "vector search", C_READ,
       [("POST", C + "/points/search"), ("POST", C + "/points/search/batch")],
       ["core_search_batch"], docs_row="search points", note=_LOOKUP_NOTE),
    _a("search_groups", "search, grouped", C_READ, [("POST", C + "/points/search/groups")],
       ["group"], docs_row="search groups", note=_LOOKUP_NOTE),
    _a("recommend_points", "recommend", C_READ,
       [("POST", C + "/points/recommend"), ("POST", C + "/points/recommend/batch")],
       ["recommend", "recommend_batch"], docs_row="recommend points", note=_LOOKUP_NOTE),
    _a("recommend_groups", "recommend, grouped", C_READ,
       [("POST", C + "/points/recommend/groups")], ["group"], docs_row="recommend groups",
       note=_LOOKUP_NOTE),
    _a("discover_points", "discover", C_READ,
       [("POST", C + "/points/discover"), ("POST", C + "/points/discover/batch")],
       ["discover", "discover_batch"], docs_row="discover points", note=_LOOKUP_NOTE),
    _a("query_points", "universal query", C_READ,
       [("POST", C + "/points/query"), ("POST", C + "/points/query/batch")], ["query_batch"],
       docs_row="query points", note=_LOOKUP_NOTE),
    _a("query_groups", "universal query, grouped", C_READ,
       [("POST", C + "/points/query/groups")], ["group"], note=_LOOKUP_NOTE),
    _a("search_matrix", "distance matrix", C_READ,
       [("POST", C + "/points/search/matrix/pairs"), ("POST", C + "/points/search/matrix/offsets")],
       ["search_points_matrix"]),
    _a("facet", "facet counts", C_READ, [("POST", C + "/facet")], ["facet"]),
    # collection snapshots
    _a("list_snapshots", "list collection snapshots", C_READ_X, [("GET", C + "/snapshots")],
       ["list_snapshots"], docs_row="list collection snapshots", docs_differs=_NO_EXTRAS_DIFF),
    _a("create_snapshot", "create a collection snapshot", C_WRITE_X, [("POST", C + "/snapshots")],
       ["create_snapshot"], docs_row="create collection snapshot",
       background_check=True),
    _a("get_snapshot", "download a collection snapshot", C_READ_X,
       [("GET", C + "/snapshots/{snapshot_name}")], ["get_snapshot"],
       docs_row="download collection snapshot", docs_differs=_NO_EXTRAS_DIFF,
       note="a denial is plain text, not JSON"),
    _a("delete_snapshot", "delete a collection snapshot", C_WRITE_X,
       [("DELETE", C + "/snapshots/{snapshot_name}")], ["delete_collection_snapshot"],
       docs_row="delete collection snapshot",
       background_check=True),
    _a("upload_snapshot", "upload and recover a collection snapshot", G_MANAGE,
       [("POST", C + "/snapshots/upload")],
       ["/collections/{collection_name}/snapshots/upload", "recover_from_snapshot"],
       docs_row="upload collection snapshot",
       note="checked before the body is read; a denial is plain text"),
    _a("recover_snapshot", "recover a collection from a snapshot URL or file", G_MANAGE,
       [("PUT", C + "/snapshots/recover")], ["recover_from_snapshot"],
       docs_row="recover collection snapshot",
       note="URL recovery also needs storage.enable_snapshot_url_recovery (URL policy)",
       background_check=True),
    # shard snapshots
    _a("list_shard_snapshots", "list shard snapshots", C_READ_X, [("GET", SH + "/snapshots")],
       ["list_shard_snapshots"], docs_row="list shard snapshots", docs_differs=_NO_EXTRAS_DIFF),
    _a("create_shard_snapshot", "create a shard snapshot", C_WRITE_X,
       [("POST", SH + "/snapshots")], ["create_shard_snapshot"], docs_row="create shard snapshot",
       background_check=True),
    _a("get_shard_snapshot", "download a shard snapshot", C_READ_X,
       [("GET", SH + "/snapshots/{snapshot_name}")], ["download_shard_snapshot"],
       docs_row="download shard snapshot", docs_differs=_NO_EXTRAS_DIFF,
       note="a denial is plain text, not JSON"),
    _a("delete_shard_snapshot", "delete a shard snapshot", C_WRITE_X,
       [("DELETE", SH + "/snapshots/{snapshot_name}")], ["delete_shard_snapshot"],
       docs_row="delete shard snapshot",
       background_check=True),
    _a("stream_shard_snapshot", "stream a shard snapshot", C_WRITE_X,
       [("GET", SH + "/snapshot")], ["stream_shard_snapshot"],
       note="a GET that needs collection write + extras; a denial is plain text"),
    _a("upload_shard_snapshot", "upload and recover a shard snapshot", G_MANAGE,
       [("POST", SH + "/snapshots/upload")], docs_row="upload shard snapshot",
       note="checked before the body is read; audited under the route pattern"),
    _a("recover_shard_snapshot", "recover a shard from a snapshot", G_MANAGE,
       [("PUT", SH + "/snapshots/recover")], ["recover_shard_snapshot"],
       docs_row="recover shard snapshot",
       background_check=True),
    _a("create_partial_snapshot", "create a partial shard snapshot", C_WRITE_X,
       [("POST", SH + "/snapshot/partial/create")], ["stream_shard_snapshot"],
       note="a denial is plain text"),
    _a("recover_partial_snapshot", "upload and recover a partial shard snapshot", G_MANAGE,
       [("POST", SH + "/snapshot/partial/recover")], ["partial_snapshot_recovery_lock"],
       note="checked before the body is read; audited under the route pattern too"),
    _a("recover_partial_snapshot_from", "recover a partial shard snapshot from a peer URL",
       G_MANAGE, [("POST", SH + "/snapshot/partial/recover_from")],
       ["recover_partial_snapshot_from"], note="URL policy applies"),
    _a("get_partial_snapshot_manifest", "partial snapshot manifest", G_READ,
       [("GET", SH + "/snapshot/partial/manifest")], ["get_partial_snapshot_manifest"],
       note="a global check although the path names a collection"),
    # full snapshots
    _a("list_full_snapshots", "list full snapshots", G_READ, [("GET", "/snapshots")],
       ["list_full_snapshots"], docs_row="list full snapshots"),
    _a("create_full_snapshot", "create a full snapshot", G_MANAGE, [("POST", "/snapshots")],
       ["create_full_snapshot"], docs_row="create full snapshot",
       background_check=True),
    _a("get_full_snapshot", "download a full snapshot", G_READ,
       [("GET", "/snapshots/{snapshot_name}")], ["get_full_snapshot"],
       docs_row="download full snapshot", note="a denial is plain text"),
    _a("delete_full_snapshot", "delete a full snapshot", G_MANAGE,
       [("DELETE", "/snapshots/{snapshot_name}")], ["delete_full_snapshot"],
       docs_row="delete full snapshot",
       background_check=True),
    # local shard API
    _a("retrieve_shard_points", "retrieve points from one shard", C_READ,
       [("POST", SH + "/points")], ["retrieve"]),
    _a("scroll_shard_points", "scroll one shard", C_READ, [("POST", SH + "/points/scroll")],
       ["scroll"]),
    _a("count_shard_points", "count points in one shard", C_READ,
       [("POST", SH + "/points/count")], ["count"]),
    _a("cleanup_local_shard", "clean up a local shard", C_WRITE, [("POST", SH + "/cleanup")],
       ["cleanup_local_shard"]),
    # gRPC only
    _a("storage_read", "read raw shard files (gRPC qdrant.StorageRead/*)", C_READ, [],
       grpc="qdrant.StorageRead/*",
       note="gRPC only; needs only collection read, so r and prw tokens can read raw shard files"),
    # staging builds only
    _a("get_shard_wal", "shard WAL (staging builds)", G_MANAGE, [("GET", SH + "/wal")],
       staging_only=True),
    _a("get_shard_recovery_point", "shard recovery point (staging builds)", G_MANAGE,
       [("GET", SH + "/recovery_point")], staging_only=True),
    _a("debug_collection", "collection debug endpoint (staging builds)", G_MANAGE,
       [("POST", C + "/debug")], staging_only=True),
)

#: other names accepted for an action (docs wording, Qdrant's own names)
ALIASES: dict[str, str] = {
    "get_points": "retrieve_points",
    "batch_update_points": "update_points_batch",
    "livez": "healthz",
    "readyz": "healthz",
    "list_collection_snapshots": "list_snapshots",
    "create_collection_snapshot": "create_snapshot",
    "delete_collection_snapshot": "delete_snapshot",
    "download_snapshot": "get_snapshot",
    "download_collection_snapshot": "get_snapshot",
    "download_shard_snapshot": "get_shard_snapshot",
    "download_full_snapshot": "get_full_snapshot",
    "upload_collection_snapshot": "upload_snapshot",
    "recover_collection_snapshot": "recover_snapshot",
    "update_collection_params": "update_collection",
    "get_collection_info": "get_collection",
    "get_collection_cluster_info": "get_collection_cluster",
    "get_cluster_info": "get_cluster",
    "cluster_status": "get_cluster",
    "change_aliases": "update_aliases",
    "drop_payload_index": "delete_payload_index",
    "search_points_matrix": "search_matrix",
    "retrieve": "retrieve_points",
    "scroll": "scroll_points",
    "count": "count_points",
}

#: the documented differences between the docs page's access table and the source
DOCS_DIFFERENCES: tuple[str, ...] = (
    "collection tokens may call GET /telemetry (filtered); the docs table says denied",
    "list endpoints (collections, aliases) answer collection tokens with only their collections",
    "the prw (points read-write) collection mode exists; the docs table has no column for it",
    "get_collection_cluster and listing/downloading snapshots need 'extras', so prw is denied",
    "endpoints missing from the docs table are included (quotas, logger, audit, issues, "
    "cluster metadata, debugger, profiler, partial snapshots, named vectors, local shard API)",
)

_BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


def actions() -> tuple[Action, ...]:
    return ACTIONS


def docs_actions() -> tuple[Action, ...]:
    """The rows of the docs page's table (in the catalogue's order)."""
    return tuple(a for a in ACTIONS if a.docs_row)


def get_action(name: str) -> Action:
    """An action by name (snake_case; ``-`` and spaces accepted) or alias."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    found = _BY_NAME.get(key)
    if found is None:
        import difflib

        close = difflib.get_close_matches(key, [*_BY_NAME, *ALIASES], n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "list them with --list-actions"
        raise UsageError(f"unknown action {name!r}", hint=hint)
    return found


# -- requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestMatch:
    """A REST request matched to its action; ``params`` are percent-decoded path variables."""

    method: str
    path: str
    action: Action
    route: Route
    params: Mapping[str, str] = field(default_factory=dict)
    #: the query string's parameters (the last value of each), e.g. ``{"wait": "false"}``
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def collection(self) -> str | None:
        return self.params.get("collection_name")

    @property
    def accepted_unchecked(self) -> bool:
        """``wait=false`` on an action whose check runs in the background: Qdrant says 202."""
        return self.action.background_check and self.query.get("wait") == "false"


def _split(path: str) -> list[str]:
    return [s for s in path.split("/") if s != ""] if path != "/" else []


def _match_route(route: Route, segments: list[str]) -> dict[str, str] | None:
    pattern = _split(route.pattern)
    if route.prefix:
        if len(segments) < len(pattern):
            return None
        segments = segments[: len(pattern)]
    elif len(segments) != len(pattern):
        return None
    params: dict[str, str] = {}
    for pat, seg in zip(pattern, segments, strict=True):
        if pat.startswith("{") and pat.endswith("}"):
            params[pat[1:-1]] = unquote(seg)
        elif pat != seg:
            return None
    return params


def _specificity(route: Route) -> tuple[int, int]:
    segs = _split(route.pattern)
    return (0 if route.prefix else 1, sum(1 for s in segs if not s.startswith("{")))


def parse_request(text: str) -> tuple[str, str]:
    """``"PUT /collections/docs/points"`` (or a full URL) -> ``("PUT", "/collections/docs/points")``."""
    parts = text.split()
    if len(parts) != 2:
        raise InputError(f"request {text!r} is not 'METHOD /path'",
                         hint="e.g. 'PUT /collections/docs/points'")
    method, target = parts[0].upper(), parts[1]
    if not method.isalpha():
        raise InputError(f"{parts[0]!r} is not an HTTP method")
    if "://" in target:
        target = urlsplit(target).path or "/"
    target = target.split("?", 1)[0].split("#", 1)[0]
    if not target.startswith("/"):
        raise InputError(f"path {target!r} must start with /")
    # Qdrant trims a trailing slash before matching (facts 2.4)
    path = target.rstrip("/") or "/"
    return method, path


def match_request(text: str) -> RequestMatch:
    """Match ``METHOD /path`` against the REST routes of facts 4.2 (most specific wins)."""
    method, path = parse_request(text)
    segments = _split(path)
    hits: list[tuple[tuple[int, int], Action, Route, dict[str, str]]] = []
    methods_for_path: set[str] = set()
    for action in ACTIONS:
        for route in action.routes:
            params = _match_route(route, segments)
            if params is None:
                continue
            methods_for_path.add(route.method)
            if route.method == method:
                hits.append((_specificity(route), action, route, params))
    if not hits:
        if methods_for_path:
            allowed = ", ".join(sorted(methods_for_path))
            raise InputError(f"Qdrant has no {method} {path} (that path accepts {allowed})")
        raise InputError(f"no Qdrant 1.19 REST endpoint matches {method} {path}",
                         hint="an unknown route needs credentials and answers 404 with them")
    hits.sort(key=lambda h: h[0], reverse=True)
    _, action, route, params = hits[0]
    return RequestMatch(method, path, action, route, params, _query(text))


def _query(text: str) -> dict[str, str]:
    target = text.split()[-1]
    query = urlsplit(target).query if "://" in target else target.partition("?")[2]
    return dict(parse_qsl(query.split("#", 1)[0], keep_blank_values=True))


# -- the one entry point -----------------------------------------------------------------

def decide(access: Access, what: Action | RequestMatch | str, collection: str | None = None
           ) -> Decision:
    """May ``access`` do ``what`` (an action, its name, or a matched request) on ``collection``?

    For a :class:`RequestMatch` the collection comes from the path unless given. A
    collection-scoped action needs a collection name (``UsageError`` otherwise).
    """
    if isinstance(what, RequestMatch):
        action = what.action
        collection = collection if collection is not None else what.collection
    elif isinstance(what, Action):
        action = what
    else:
        action = get_action(what)
    if action.collection_scoped and collection is None:
        if access.global_mode is None:
            raise UsageError(f"{action.name} acts on one collection: name it",
                             hint="add --collection NAME")
        collection = "*"
    decision = check(access, action.requirement, collection, filter_note=action.filter_note)
    if isinstance(what, RequestMatch) and what.accepted_unchecked and not decision.allowed:
        return Decision("denied", "Accepted (wait=false): Qdrant answers 202 before checking; "
                        f"the check then fails in the background with "
                        f"'Forbidden: {decision.message}' and nothing is done", 202, rbac=False)
    return decision


def table(access: Access, collections: Iterable[str] | None = None
          ) -> list[tuple[Action, dict[str, Decision]]]:
    """Every action with its decision per collection (``"*"`` = any other collection).

    For global access one column ``"*"``; for a collection token one column per listed
    collection plus ``"*"`` for every collection it does not list.
    """
    if collections is None:
        cols = [name for name, _ in access.collections] if not access.is_global else []
    else:
        cols = list(collections)
    cols.append("*")
    unlisted = Access(access.global_mode, ())
    rows = []
    for action in ACTIONS:
        cells: dict[str, Decision] = {}
        for col in cols:
            if col == "*":
                cells[col] = check(unlisted, action.requirement, "{other}",
                                   filter_note=action.filter_note)
            else:
                cells[col] = check(access, action.requirement, col, filter_note=action.filter_note)
        rows.append((action, cells))
    return rows
