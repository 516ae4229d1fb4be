"""Access-rule conformance: every facts 4.2 row the peer serves, for every kind of credential.

Each (row, credential) case sends the request twice, once with ``api-key`` and once with
``Authorization: Bearer``; expectations come from facts 4.1/2.5 (exact ``Forbidden:`` texts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.peer.conftest import ALT_KEY, API_KEY, AUTH_CONFIG, RO_KEY, jwt
from tests.peer.peerlib import PeerFactory, PeerProcess, wait_for

pytestmark = pytest.mark.integration

VEC = {"v": {"size": 2, "distance": "Dot"}}
Q = {"name": "v", "vector": [1.0, 0.0]}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    kind: str  # none all all_nolog g_read g_read_nolog g_manage c_read c_read_x c_write ...
    body: Any = None
    audit: tuple[str, ...] = ()
    ok: int = 200
    destructive: bool = False
    plain: bool = False  # Forbidden answered as text/plain
    raw: bool = False  # body is raw bytes (multipart uploads)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


MULTI = {"content-type": "multipart/form-data; boundary=xyz"}

ROWS: list[Row] = [
    Row("GET", "/", "none"),
    Row("GET", "/healthz", "none"),
    Row("GET", "/livez", "none"),
    Row("GET", "/readyz", "none"),
    Row("GET", "/telemetry", "all_nolog"),
    Row("GET", "/cluster/telemetry", "all_nolog"),
    Row("GET", "/metrics", "g_read_nolog"),
    Row("GET", "/issues", "all", audit=("issues",)),
    Row("DELETE", "/issues", "g_manage", audit=("clear_issues",)),
    Row("GET", "/logger", "g_read", audit=("get_logger_config",)),
    Row("POST", "/logger", "g_manage", {"log_level": "INFO"}, audit=("update_logger_config",)),
    Row("GET", "/stacktrace", "g_manage", audit=("get_stacktrace",)),
    Row("GET", "/profiler/slow_requests", "g_manage", audit=("get_slow_requests",)),
    Row("GET", "/debugger", "g_manage", audit=("get_debugger_config",)),
    Row("PATCH", "/debugger", "g_manage", {}, audit=("update_debugger_config",)),
    Row("POST", "/audit/logs", "g_manage", {}, audit=("get_audit_logs",), ok=400),
    Row("GET", "/quotas", "g_read", audit=("get_quotas",)),
    Row("PUT", "/quotas", "g_manage", {}, audit=("update_quotas",)),
    Row("GET", "/cluster", "g_read", audit=("cluster_status",)),
    Row("POST", "/cluster/recover", "g_manage", audit=("recover_current_peer",), ok=405),
    Row("DELETE", "/cluster/peer/7", "g_manage", audit=("remove_peer",), ok=405),
    Row("GET", "/cluster/metadata/keys", "g_read", audit=("get_cluster_metadata_keys",)),
    Row("GET", "/cluster/metadata/keys/k", "g_read", audit=("get_cluster_metadata_key",)),
    Row("PUT", "/cluster/metadata/keys/k", "g_manage", {"a": 1},
        audit=("update_cluster_metadata_key",)),
    Row("DELETE", "/cluster/metadata/keys/k", "g_manage", audit=("delete_cluster_metadata_key",)),
    Row("GET", "/collections", "all", audit=("list_collections",)),
    Row("GET", "/aliases", "all", audit=("list_aliases",)),
    Row("GET", "/collections/{c}", "c_read", audit=("get_collection",)),
    Row("GET", "/collections/{c}/exists", "c_read", audit=("collection_exists",)),
    Row("GET", "/collections/{c}/aliases", "c_read", audit=("list_collection_aliases",)),
    Row("GET", "/collections/{c}/optimizations", "c_read", audit=("get_optimizations",)),
    Row("GET", "/collections/{c}/memory", "c_read", audit=("get_collection_memory",)),
    Row("PUT", "/collections/created_by_test", "g_manage", {"vectors": VEC},
        audit=("create_collection",), destructive=True),
    Row("PATCH", "/collections/{c}", "g_manage", {"optimizers_config": {"indexing_threshold": 1}},
        audit=("update_collection",)),
    Row("DELETE", "/collections/{c}", "g_manage", audit=("delete_collection",), destructive=True),
    Row("POST", "/collections/aliases", "g_manage",
        {"actions": [{"create_alias": {"collection_name": "col", "alias_name": "tmp_alias"}}]},
        audit=("change_aliases",), destructive=True),
    Row("GET", "/collections/{c}/cluster", "c_read_x", audit=("get_collection_cluster",)),
    Row("POST", "/collections/{c}/cluster", "c_manage",
        {"drop_replica": {"shard_id": 0, "peer_id": 1}},
        audit=("update_collection_cluster", "set_shard_replica_state"), ok=405),
    Row("GET", "/collections/{c}/shards", "c_read", audit=("get_collection_shard_keys",)),
    Row("PUT", "/collections/{c}/shards", "c_manage", {"shard_key": "a"},
        audit=("update_collection_cluster", "create_shard_key"), ok=405),
    Row("POST", "/collections/{c}/shards/delete", "c_manage", {"shard_key": "a"},
        audit=("update_collection_cluster", "drop_shard_key"), ok=405),
    Row("PUT", "/collections/{c}/index", "c_write_x", {"field_name": "k", "field_schema": "keyword"},
        audit=("create_payload_index",)),
    Row("DELETE", "/collections/{c}/index/k", "c_write_x", audit=("drop_payload_index",)),
    Row("PUT", "/collections/{c}/vectors/extra", "c_write_x", {"size": 2, "distance": "Cosine"},
        audit=("create_named_vector",)),
    Row("DELETE", "/collections/{c}/vectors/extra", "c_write_x", audit=("delete_named_vector",)),
    Row("PUT", "/collections/{c}/points", "c_write",
        {"points": [{"id": 4, "vector": {"v": [1, 1]}, "payload": {"k": "b"}}]},
        audit=("upsert_points",)),
    Row("POST", "/collections/{c}/points/delete", "c_write", {"points": [4]},
        audit=("delete_points",)),
    Row("POST", "/collections/{c}/points/delete", "c_write",
        {"filter": {"must": [{"key": "k", "match": {"value": "zzz"}}]}},
        audit=("delete_points_by_filter",)),
    Row("PUT", "/collections/{c}/points/vectors", "c_write",
        {"points": [{"id": 1, "vector": {"v": [1, 0]}}]}, audit=("update_vectors",)),
    Row("POST", "/collections/{c}/points/vectors/delete", "c_write",
        {"points": [4], "vector": ["v"]}, audit=("delete_vectors",)),
    Row("POST", "/collections/{c}/points/payload", "c_write", {"payload": {"x": 1}, "points": [1]},
        audit=("set_payload",)),
    Row("PUT", "/collections/{c}/points/payload", "c_write",
        {"payload": {"k": "a"}, "points": [1]}, audit=("overwrite_payload",)),
    Row("POST", "/collections/{c}/points/payload/delete", "c_write",
        {"keys": ["x"], "points": [1]}, audit=("delete_payload",)),
    Row("POST", "/collections/{c}/points/payload/clear", "c_write", {"points": [4]},
        audit=("clear_payload",)),
    Row("POST", "/collections/{c}/points/batch", "c_write",
        {"operations": [{"upsert": {"points": [{"id": 5, "vector": {"v": [0, 1]}}]}},
                        {"delete": {"points": [5]}}]},
        audit=("upsert_points", "delete_points")),
    Row("GET", "/collections/{c}/points/1", "c_read", audit=("retrieve",)),
    Row("POST", "/collections/{c}/points", "c_read", {"ids": [1, 2]}, audit=("retrieve",)),
    Row("POST", "/collections/{c}/points/scroll", "c_read", {"limit": 2}, audit=("scroll",)),
    Row("POST", "/collections/{c}/points/count", "c_read", {}, audit=("count",)),
    Row("POST", "/collections/{c}/points/search", "c_read", {"vector": Q, "limit": 2},
        audit=("core_search_batch",)),
    Row("POST", "/collections/{c}/points/search/batch", "c_read",
        {"searches": [{"vector": Q, "limit": 1}, {"vector": Q, "limit": 2}]},
        audit=("core_search_batch", "core_search_batch")),
    Row("POST", "/collections/{c}/points/search/groups", "c_read",
        {"vector": Q, "group_by": "k", "limit": 2, "group_size": 1}, audit=("group",)),
    Row("POST", "/collections/{c}/points/recommend", "c_read", {"positive": [1], "using": "v"},
        audit=("recommend",)),
    Row("POST", "/collections/{c}/points/recommend/batch", "c_read",
        {"searches": [{"positive": [1], "using": "v"}]}, audit=("recommend_batch",)),
    Row("POST", "/collections/{c}/points/recommend/groups", "c_read",
        {"positive": [1], "using": "v", "group_by": "k"}, audit=("group",)),
    Row("POST", "/collections/{c}/points/discover", "c_read", {"target": 1, "using": "v"},
        audit=("discover",)),
    Row("POST", "/collections/{c}/points/discover/batch", "c_read",
        {"searches": [{"target": 1, "using": "v"}]}, audit=("discover_batch",)),
    Row("POST", "/collections/{c}/points/query", "c_read", {"query": [1, 0], "using": "v"},
        audit=("query_batch",)),
    Row("POST", "/collections/{c}/points/query/batch", "c_read",
        {"searches": [{"query": [1, 0], "using": "v"}]}, audit=("query_batch",)),
    Row("POST", "/collections/{c}/points/query/groups", "c_read",
        {"query": [1, 0], "using": "v", "group_by": "k"}, audit=("group",)),
    Row("POST", "/collections/{c}/points/search/matrix/pairs", "c_read", {},
        audit=("search_points_matrix",)),
    Row("POST", "/collections/{c}/points/search/matrix/offsets", "c_read", {},
        audit=("search_points_matrix",)),
    Row("POST", "/collections/{c}/facet", "c_read", {"key": "k"}, audit=("facet",)),
    Row("GET", "/collections/{c}/snapshots", "c_read_x", audit=("list_snapshots",)),
    Row("POST", "/collections/{c}/snapshots", "c_write_x", audit=("create_snapshot",)),
    Row("GET", "/collections/{c}/snapshots/{snap}", "c_read_x", audit=("get_snapshot",),
        plain=True),
    Row("DELETE", "/collections/{c}/snapshots/{snap}", "c_write_x",
        audit=("delete_collection_snapshot",), destructive=True),
    Row("POST", "/collections/{c}/snapshots/upload", "g_manage", b"--xyz--\r\n",
        audit=("/collections/{collection_name}/snapshots/upload",), ok=400, plain=True,
        raw=True),
    Row("PUT", "/collections/{c}/snapshots/recover", "g_manage",
        {"location": "file://{snapdir}/col/{snap}"}, audit=("recover_from_snapshot",),
        destructive=True),
    Row("GET", "/collections/{c}/shards/0/snapshots", "c_read_x", audit=("list_shard_snapshots",)),
    Row("POST", "/collections/{c}/shards/0/snapshots", "c_write_x",
        audit=("create_shard_snapshot",)),
    Row("GET", "/collections/{c}/shards/0/snapshots/{shard_snap}", "c_read_x",
        audit=("download_shard_snapshot",), plain=True),
    Row("DELETE", "/collections/{c}/shards/0/snapshots/{shard_snap}", "c_write_x",
        audit=("delete_shard_snapshot",), destructive=True),
    Row("GET", "/collections/{c}/shards/0/snapshot", "c_write_x",
        audit=("stream_shard_snapshot",), plain=True),
    Row("POST", "/collections/{c}/shards/0/snapshots/upload", "g_manage", b"--xyz--\r\n",
        audit=("/collections/{collection_name}/shards/{shard}/snapshots/upload",), ok=400,
        plain=True, raw=True),
    Row("PUT", "/collections/{c}/shards/0/snapshots/recover", "g_manage",
        {"location": "file://{snapdir}/col/shards/0/{shard_snap}"},
        audit=("recover_shard_snapshot",), destructive=True),
    Row("POST", "/collections/{c}/shards/0/snapshot/partial/create", "c_write_x",
        audit=("stream_shard_snapshot",), plain=True),
    Row("POST", "/collections/{c}/shards/0/snapshot/partial/recover", "g_manage", b"--xyz--\r\n",
        audit=("/collections/{collection_name}/shards/{shard}/snapshot/partial/recover",),
        ok=400, plain=True, raw=True),
    Row("POST", "/collections/{c}/shards/0/snapshot/partial/recover_from", "g_manage",
        {"peer_url": "http://127.0.0.1:9"}, audit=("recover_partial_snapshot_from",)),
    Row("GET", "/collections/{c}/shards/0/snapshot/partial/manifest", "g_read",
        audit=("get_partial_snapshot_manifest",)),
    Row("GET", "/snapshots", "g_read", audit=("list_full_snapshots",)),
    Row("POST", "/snapshots", "g_manage", audit=("create_full_snapshot",)),
    Row("GET", "/snapshots/{full}", "g_read", audit=("get_full_snapshot",), plain=True),
    Row("DELETE", "/snapshots/{full}", "g_manage", audit=("delete_full_snapshot",),
        destructive=True),
    Row("POST", "/collections/{c}/shards/0/points", "c_read", {"ids": [1]}, audit=("retrieve",)),
    Row("POST", "/collections/{c}/shards/0/points/scroll", "c_read", {}, audit=("scroll",)),
    Row("POST", "/collections/{c}/shards/0/points/count", "c_read", {}, audit=("count",)),
    Row("POST", "/collections/{c}/shards/0/cleanup", "c_write", audit=("cleanup_local_shard",)),
    Row("POST", "/collections/{c}/truncate_unapplied_wal", "g_manage",
        audit=("truncate_unapplied_wal",)),
]


@dataclass(frozen=True)
class Cred:
    name: str
    token: str
    mode: str  # m | r | rw | ro_coll(r) | prw  (global: "m"/"r"; collection: "c:<mode>")
    target: str = "col"

    @property
    def is_global(self) -> bool:
        return not self.mode.startswith("c:")


def _coll_token(mode: str) -> str:
    return jwt({"access": [{"collection": "col", "access": mode}], "subject": f"tok-{mode}"})


CREDS: list[Cred] = [
    Cred("api_key", API_KEY, "m"),
    Cred("alt_api_key", ALT_KEY, "m"),
    Cred("read_only_key", RO_KEY, "r"),
    Cred("jwt_m", jwt({"access": "m"}), "m"),
    Cred("jwt_m_alt_signed", jwt({"access": "m"}, ALT_KEY), "m"),
    Cred("jwt_r", jwt({"access": "r"}), "r"),
    *[Cred(f"jwt_{m}@col", _coll_token(m), f"c:{m}", "col") for m in ("rw", "r", "prw")],
    *[Cred(f"jwt_{m}@other", _coll_token(m), f"c:{m}", "other") for m in ("rw", "r", "prw")],
]


def expected_error(row: Row, cred: Cred) -> str | None:
    """The Forbidden message the request must get, or None if it must be allowed."""
    kind, c = row.kind, cred.target
    if kind in ("none", "all", "all_nolog"):
        return None
    write = kind in ("c_write", "c_write_x", "c_manage")
    extras = kind in ("c_read_x", "c_write_x", "c_manage")
    if kind in ("g_read", "g_read_nolog", "g_manage"):
        if not cred.is_global:
            return "Global access is required"
        if kind == "g_manage" and cred.mode == "r":
            return "Global manage access is required"
        return None
    if cred.is_global:
        return "Global manage access is required" if write and cred.mode == "r" else None
    mode = cred.mode[2:]
    if c != "col":
        return f"Access to collection {c} is required"
    if write and mode == "r":
        return f"Write access to collection {c} is required"
    if extras and mode == "prw":
        return f"Only points access is allowed for collection {c}"
    if kind == "c_manage":
        return "Manage access for this operation is required"
    return None


class State:
    """Puts the peer into a known state (collections, points, alias, snapshots)."""

    def __init__(self, peer: PeerProcess) -> None:
        self.peer = peer
        self.values: dict[str, str] = {"snapdir": str(peer.workdir / "snapshots")}
        self.client = peer.client()
        self.admin = peer.client(headers={"api-key": API_KEY})

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        r = self.admin.request(method, path, json=body)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r

    def reset(self) -> None:
        for name in self.call("GET", "/collections").json()["result"]["collections"]:
            self.call("DELETE", f"/collections/{name['name']}")
        for snap in self.call("GET", "/snapshots").json()["result"]:
            self.call("DELETE", f"/snapshots/{snap['name']}")
        for name in ("col", "other"):
            self.call("PUT", f"/collections/{name}", {"vectors": VEC})
            self.call("PUT", f"/collections/{name}/points?wait=true", {"points": [
                {"id": i, "vector": {"v": [float(i), 1.0]}, "payload": {"k": "a" if i < 3 else "b"}}
                for i in (1, 2, 3)
            ]})
        self.call("POST", "/collections/aliases", {"actions": [
            {"create_alias": {"collection_name": "col", "alias_name": "col_alias"}}]})
        self.values["snap"] = self.call("POST", "/collections/col/snapshots").json()["result"][
            "name"]
        self.values["shard_snap"] = self.call(
            "POST", "/collections/col/shards/0/snapshots").json()["result"]["name"]
        self.values["full"] = self.call("POST", "/snapshots").json()["result"]["name"]

    def fill(self, text: str, target: str) -> str:
        out = text.replace("{c}", target)
        for k, v in self.values.items():
            out = out.replace("{" + k + "}", v)
        return out


@pytest.fixture(scope="module")
def env(module_peer_factory: PeerFactory) -> State:
    peer = module_peer_factory(AUTH_CONFIG, name="access")
    state = State(peer)
    state.reset()
    return state


def send(state: State, row: Row, cred: Cred, form: str, tracing: str | None = None) -> httpx.Response:
    path = state.fill(row.path, cred.target)
    headers = {"api-key": cred.token} if form == "api-key" else {
        "Authorization": f"Bearer {cred.token}"}
    if tracing:
        headers["x-request-id"] = tracing
    if row.raw:
        headers.update(MULTI)
        return state.client.request(row.method, path, headers=headers, content=row.body)
    body = row.body
    if isinstance(body, dict):
        import json as _json

        body = _json.loads(state.fill(_json.dumps(body), cred.target))
    return state.client.request(row.method, path, headers=headers, json=body)


def check(resp: httpx.Response, row: Row, err: str | None) -> None:
    if err is None:
        assert resp.status_code == row.ok, resp.text
        assert resp.status_code not in (401, 403)
        return
    assert resp.status_code == 403, resp.text
    if row.plain:
        assert resp.headers["content-type"].startswith("text/plain")
        assert resp.text == f"Forbidden: {err}"
    else:
        body = resp.json()
        assert body["status"] == {"error": f"Forbidden: {err}"}
        assert "result" not in body
        assert isinstance(body["time"], float)


CASES = [
    pytest.param(row, cred, id=f"{row.id}-{cred.name}")
    for row in ROWS
    for cred in CREDS
    if row.kind != "none" or cred.name in ("api_key", "jwt_r@col")  # whitelisted: two suffice
]


@pytest.mark.parametrize(("row", "cred"), CASES)
def test_row(env: State, row: Row, cred: Cred) -> None:
    err = expected_error(row, cred)
    for form in ("api-key", "bearer"):
        resp = send(env, row, cred, form)
        try:
            check(resp, row, err)
        finally:
            if row.destructive and err is None:
                env.reset()


# ----------------------------------------------------------------------- filtered lists


def test_filtered_lists(env: State) -> None:
    env.call("POST", "/collections/aliases", {"actions": [
        {"create_alias": {"collection_name": "other", "alias_name": "other_alias"}}]})
    try:
        tok = jwt({"access": [{"collection": "col", "access": "r"},
                              {"collection": "col_alias", "access": "r"}]})
        c = env.client
        names = c.get("/collections", headers={"api-key": tok}).json()["result"]["collections"]
        assert names == [{"name": "col"}]
        aliases = c.get("/aliases", headers={"api-key": tok}).json()["result"]["aliases"]
        assert aliases == [{"alias_name": "col_alias", "collection_name": "col"}]
        only = jwt({"access": [{"collection": "col", "access": "r"}]})
        r = c.get("/collections/col/aliases", headers={"api-key": only})
        assert r.json()["result"]["aliases"] == []
        r = c.get("/collections/col/aliases", headers={"api-key": tok})
        assert r.json()["result"]["aliases"] == [
            {"alias_name": "col_alias", "collection_name": "col"}]
        empty = jwt({"access": []})
        assert c.get("/collections", headers={"api-key": empty}).json()["result"] == {
            "collections": []}
        all_names = env.admin.get("/collections").json()["result"]["collections"]
        assert {n["name"] for n in all_names} == {"col", "other"}
        tele = c.get("/telemetry", headers={"api-key": tok}).json()["result"]
        assert "requests" not in tele and "cluster" not in tele and "memory" not in tele
        assert tele["collections"]["number_of_collections"] == 1
        full = env.admin.get("/telemetry").json()["result"]
        assert "requests" in full and full["collections"]["number_of_collections"] == 2
        assert full["app"]["jwt_rbac"] is True
        r = c.get("/metrics", headers={"api-key": tok})
        assert r.json()["status"]["error"] == "Forbidden: Global access is required"
    finally:
        env.call("POST", "/collections/aliases", {"actions": [
            {"delete_alias": {"alias_name": "other_alias"}}]})


def test_alias_name_counts_as_its_own_name(env: State) -> None:
    c = env.client
    by_alias = jwt({"access": [{"collection": "col_alias", "access": "r"}]})
    by_real = jwt({"access": [{"collection": "col", "access": "r"}]})
    r = c.post("/collections/col_alias/points/count", json={}, headers={"api-key": by_alias})
    assert r.status_code == 200 and r.json()["result"]["count"] == 3
    r = c.post("/collections/col_alias/points/count", json={}, headers={"api-key": by_real})
    assert r.json()["status"]["error"] == "Forbidden: Access to collection col_alias is required"
    r = c.post("/collections/col/points/count", json={}, headers={"api-key": by_alias})
    assert r.status_code == 403


def test_lookup_collections_are_checked(env: State) -> None:
    tok = jwt({"access": [{"collection": "col", "access": "r"}]})
    body = {"query": 1, "using": "v", "lookup_from": {"collection": "other", "vector": "v"}}
    r = env.client.post("/collections/col/points/query", json=body, headers={"api-key": tok})
    assert r.json()["status"]["error"] == "Forbidden: Access to collection other is required"
    body = {"query": [1, 0], "using": "v", "prefetch": [{"query": 1, "using": "v",
            "lookup_from": {"collection": "other"}}]}
    r = env.client.post("/collections/col/points/query", json=body, headers={"api-key": tok})
    assert r.status_code == 403
    both = jwt({"access": [{"collection": "col", "access": "r"},
                           {"collection": "other", "access": "prw"}]})
    body = {"vector": Q, "group_by": "k", "with_lookup": "other"}
    r = env.client.post("/collections/col/points/search/groups", json=body,
                        headers={"api-key": both})
    assert r.status_code == 200
    r = env.client.post("/collections/col/points/search/groups", json=body,
                        headers={"api-key": tok})
    assert r.status_code == 403


def test_batch_checks_every_sub_request(env: State) -> None:
    tok = jwt({"access": [{"collection": "col", "access": "r"}]})
    body = {"searches": [{"query": [1, 0], "using": "v"},
                         {"query": [1, 0], "using": "v", "lookup_from": {"collection": "x"}}]}
    r = env.client.post("/collections/col/points/query/batch", json=body,
                        headers={"api-key": tok})
    assert r.json()["status"]["error"] == "Forbidden: Access to collection x is required"


def test_snapshot_url_policy_checked_before_access(module_peer_factory: PeerFactory) -> None:
    p = module_peer_factory({**AUTH_CONFIG, "service": {
        **AUTH_CONFIG["service"], "enable_snapshot_url_recovery": False}}, name="nourl")
    tok = jwt({"access": [{"collection": "c", "access": "r"}]})
    for key in (tok, API_KEY):
        r = p.request("PUT", "/collections/c/snapshots/recover", api_key=key,
                      json_body={"location": "https://example.invalid/s.snapshot"})
        assert r.status_code == 403
        assert r.json()["status"]["error"] == (
            "Forbidden: Snapshot recovery from remote URLs is disabled in the configuration")
    r = p.request("PUT", "/collections/c/snapshots/recover", api_key=API_KEY,
                  json_body={"location": "file:///etc/passwd"})
    assert r.status_code == 403
    assert r.json()["status"]["error"].startswith(
        "Forbidden: Snapshot file path must be inside the snapshots directory")
    r = p.request("PUT", "/collections/c/snapshots/recover", api_key=API_KEY,
                  json_body={"location": "ftp://x/y"})
    assert r.status_code == 400


# ----------------------------------------------------------------------- audit method names

audit_mod = pytest.importorskip("tests.qdrant_peer.audit")


@pytest.fixture(scope="module")
def audited(module_peer_factory: PeerFactory) -> State:
    cfg = {**AUTH_CONFIG, "audit": {"enabled": True, "dir": "./audit"}}
    peer = module_peer_factory(cfg, name="audited")
    state = State(peer)
    state.reset()
    return state


def audit_entries(state: State, tracing: str, expect: int) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]] | None:
        r = state.admin.post("/audit/logs", json={"filters": {"tracing_id": tracing}})
        assert r.status_code == 200, r.text
        entries = r.json()["result"]["entries"]
        return entries if len(entries) >= expect else None

    try:
        return list(reversed(wait_for(fetch, timeout=3)))
    except TimeoutError:
        r = state.admin.post("/audit/logs", json={"filters": {"tracing_id": tracing}})
        return list(reversed(r.json()["result"]["entries"]))


AUDITED_ROWS = [r for r in ROWS if r.audit]


@pytest.mark.parametrize("row", AUDITED_ROWS, ids=[r.id for r in AUDITED_ROWS])
def test_audit_methods(audited: State, row: Row) -> None:
    tracing = f"t-{time.monotonic_ns()}"
    admin = CREDS[0]
    api = audited.fill(row.path, "col")
    send(audited, row, admin, "api-key", tracing)
    if row.destructive:
        audited.reset()
    entries = audit_entries(audited, tracing, len(row.audit))
    assert [e.get("method") for e in entries] == list(row.audit)
    for e in entries:
        assert e["auth_type"] == "ApiKey"
        assert e["result"] == "ok"
        assert e["remote"] == "127.0.0.1"
        assert e["api"] == api
        meta = {"create_collection", "update_collection", "delete_collection", "change_aliases",
                "create_payload_index", "drop_payload_index", "create_named_vector",
                "delete_named_vector", "transfer_shard", "set_shard_replica_state",
                "create_shard_key", "drop_shard_key"}
        if row.kind.startswith("c_") and e["method"] not in meta:
            assert e["collection"] == "col"
        else:
            assert "collection" not in e


def test_audit_denied_and_auth_failures(audited: State) -> None:
    c = audited.client
    tok = jwt({"access": [{"collection": "col", "access": "r"}], "subject": "alice"})
    c.put("/collections/col/points", headers={"api-key": tok, "x-request-id": "deny-1"},
          json={"points": [{"id": 8, "vector": {"v": [1, 1]}}]})
    (entry,) = audit_entries(audited, "deny-1", 1)
    assert entry == {
        "timestamp": entry["timestamp"], "method": "upsert_points",
        "api": "/collections/col/points", "auth_type": "Jwt", "subject": "alice",
        "remote": "127.0.0.1", "collection": "col", "tracing_id": "deny-1",
        "result": "denied", "error": "Forbidden: Write access to collection col is required",
    }
    c.get("/collections", headers={"api-key": "", "x-request-id": "deny-2"})
    c.get("/collections", headers={"api-key": jwt({"exp": 1}), "x-request-id": "deny-3"})
    plain = audited.peer.client()
    plain.get("/collections", headers={"x-request-id": "deny-4"})
    (e2,) = audit_entries(audited, "deny-2", 1)
    (e3,) = audit_entries(audited, "deny-3", 1)
    (e4,) = audit_entries(audited, "deny-4", 1)
    for e in (e2, e3, e4):
        assert "method" not in e
        assert e["auth_type"] == "None"
        assert e["api"] == "/collections"
        assert e["result"] == "denied"
    assert e2["error"] == "Unauthorized: Invalid API key or JWT"
    assert e3["error"] == "Forbidden: ExpiredSignature"
    assert e4["error"] == (
        "Unauthorized: Must provide an API key or an Authorization bearer token")
    # not logged: whitelisted, /metrics, /telemetry
    for path in ("/healthz", "/metrics", "/telemetry", "/"):
        audited.admin.get(path, headers={"x-request-id": "nolog"})
    time.sleep(0.3)
    r = audited.admin.post("/audit/logs", json={"filters": {"tracing_id": "nolog"}})
    assert r.json()["result"]["entries"] == []


def test_audit_strict_mode_timeout_entry(audited: State) -> None:
    audited.admin.get("/collections/col/points/1?timeout=5", headers={"x-request-id": "smt"})
    entries = audit_entries(audited, "smt", 2)
    assert [e["method"] for e in entries] == ["strict_mode_timeout_check", "retrieve"]
    tok = jwt({"access": [{"collection": "col", "access": "r"}]})
    audited.client.post("/collections/other/points?timeout=5", json={"ids": [1]},
                        headers={"api-key": tok, "x-request-id": "smt2"})
    (entry,) = audit_entries(audited, "smt2", 1)
    assert entry["method"] == "strict_mode_timeout_check"
    assert entry["result"] == "denied"


def test_audit_logs_endpoint_validation(audited: State) -> None:
    c = audited.admin
    r = c.post("/audit/logs", json={"limit": 2})
    assert r.status_code == 200 and len(r.json()["result"]["entries"]) == 2
    for limit in (0, 10001):
        r = c.post("/audit/logs", json={"limit": limit})
        assert r.status_code == 422
        assert r.json()["status"]["error"].startswith("Validation error in JSON body")
    r = c.post("/audit/logs", json={"filters": {"method": 5}})
    assert r.status_code == 400
    r = c.post("/audit/logs", content=b"{bad json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = c.post("/audit/logs", json={"filters": {"timestamp": "x"}})
    assert r.json()["result"]["entries"] == []
    r = c.post("/audit/logs", json={"filters": {"method": "list_collections",
                                                "auth_type": "ApiKey"}, "limit": 1})
    (entry,) = r.json()["result"]["entries"]
    assert entry["method"] == "list_collections"
    tok = jwt({"access": "r"})
    r = audited.client.post("/audit/logs", json={}, headers={"api-key": tok})
    assert r.json()["status"]["error"] == "Forbidden: Global manage access is required"
    tele = c.get("/telemetry").json()["result"]["app"]
    assert tele["audit"] == {"dir": "./audit", "rotation": "daily", "max_log_files": 7,
                             "trust_forwarded_headers": False, "log_api": True}


@pytest.mark.parametrize(
    ("audit", "message"),
    [(None, "Bad request: Audit logging is not configured"),
     ({"enabled": False}, "Bad request: Audit logging is not enabled")],
)
def test_audit_logs_not_configured(peer_factory: PeerFactory, audit: Any, message: str) -> None:
    cfg: dict[str, Any] = {"service": {"api_key": API_KEY, "hide_jwt_dashboard": True}}
    if audit is not None:
        cfg["audit"] = audit
    p = peer_factory(cfg)
    r = p.request("POST", "/audit/logs", api_key=API_KEY, json_body={})
    assert r.status_code == 400
    assert r.json()["status"]["error"] == message
    app = p.request("GET", "/telemetry", api_key=API_KEY).json()["result"]["app"]
    assert app["hide_jwt_dashboard"] is True
    assert "jwt_rbac" not in app and "audit" not in app


def test_audit_without_keys_has_no_api_field(peer_factory: PeerFactory) -> None:
    p = peer_factory({"audit": {"enabled": True}})
    p.request("GET", "/collections", headers={"x-request-id": "nokey"})

    def fetch() -> list[dict[str, Any]]:
        r = p.request("POST", "/audit/logs", json_body={"filters": {"tracing_id": "nokey"}})
        return r.json()["result"]["entries"]

    (entry,) = wait_for(fetch, timeout=3)
    assert entry["auth_type"] == "None"
    assert entry["method"] == "list_collections"
    assert "api" not in entry
    assert (p.workdir / "storage" / "audit").is_dir()


def test_audit_log_api_false(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY},
                      "audit": {"enabled": True, "log_api": False}})
    p.request("GET", "/collections", api_key=API_KEY, headers={"x-request-id": "noapi"})
    p.request("GET", "/collections", headers={"x-request-id": "noapi-denied"})

    def fetch(tid: str) -> list[dict[str, Any]]:
        r = p.request("POST", "/audit/logs", api_key=API_KEY,
                      json_body={"filters": {"tracing_id": tid}})
        return r.json()["result"]["entries"]

    (ok,) = wait_for(lambda: fetch("noapi"), timeout=3)
    assert "api" not in ok
    (denied,) = wait_for(lambda: fetch("noapi-denied"), timeout=3)
    assert denied["api"] == "/collections"  # denied-authentication entries always carry it
