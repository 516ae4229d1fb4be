"""qdrantsec.qdrant.access: the 4.1 matrix, the 4.2 table, the exact Forbidden messages."""

from __future__ import annotations

import pytest

from qdrantsec.errors import InputError, UsageError
from qdrantsec.qdrant import access as A
from qdrantsec.token import claims as C

M, R = A.Access.manage(), A.Access.read()
RW, RO, PRW = (A.Access.for_collections({"c": mode}) for mode in ("rw", "r", "prw"))

# facts 4.1, one row per requirement: global m, global r, coll rw, coll r, coll prw
MATRIX = {
    A.G_READ: (True, True, False, False, False),
    A.G_MANAGE: (True, False, False, False, False),
    A.C_READ: (True, True, True, True, True),
    A.C_READ_X: (True, True, True, True, False),
    A.C_WRITE: (True, False, True, False, True),
    A.C_WRITE_X: (True, False, True, False, False),
    A.C_MANAGE: (True, False, False, False, False),
}


@pytest.mark.parametrize("req", list(MATRIX), ids=lambda r: r.label)
def test_requirement_matrix(req: A.Requirement) -> None:
    got = tuple(A.check(a, req, "c").allowed for a in (M, R, RW, RO, PRW))
    assert got == MATRIX[req]


@pytest.mark.parametrize(("access", "action", "message"), [
    (R, "create_collection", "Global manage access is required"),
    (R, "upsert_points", "Global manage access is required"),
    (R, "update_collection_cluster", "Global manage access is required"),
    (RW, "create_collection", "Global access is required"),
    (RW, "metrics", "Global access is required"),
    (RW, "get_cluster", "Global access is required"),
    (RW, "list_full_snapshots", "Global access is required"),
    (RW, "upload_snapshot", "Global access is required"),
    (RW, "get_partial_snapshot_manifest", "Global access is required"),
    (RO, "upsert_points", "Write access to collection c is required"),
    (RO, "create_payload_index", "Write access to collection c is required"),
    (RW, "update_collection_cluster", "Manage access for this operation is required"),
    (RW, "create_shard_key", "Manage access for this operation is required"),
    (RO, "delete_shard_key", "Write access to collection c is required"),
    (PRW, "create_shard_key", "Only points access is allowed for collection c"),
    (PRW, "create_snapshot", "Only points access is allowed for collection c"),
    (PRW, "list_snapshots", "Only points access is allowed for collection c"),
    (PRW, "get_collection_cluster", "Only points access is allowed for collection c"),
    (PRW, "create_named_vector", "Only points access is allowed for collection c"),
    (PRW, "stream_shard_snapshot", "Only points access is allowed for collection c"),
])
def test_exact_forbidden_messages(access: A.Access, action: str, message: str) -> None:
    d = A.decide(access, action, "c")
    assert d.outcome == "denied" and d.status == 403
    assert d.forbidden == f"Forbidden: {message}"


def test_unlisted_collection_message() -> None:
    d = A.decide(RW, "get_collection", "other")
    assert d.forbidden == "Forbidden: Access to collection other is required"
    # collection-scoped manage checks never say "Global access is required" (facts 2.5)
    assert A.decide(RW, "update_collection_cluster", "other").message == \
        "Access to collection other is required"


def test_matching_is_exact_and_case_sensitive() -> None:
    a = A.Access.for_collections({"Docs": "rw"})
    assert not A.decide(a, "get_collection", "docs").allowed
    assert not A.decide(a, "get_collection", "Docs ").allowed
    assert A.decide(a, "get_collection", "Docs").allowed


@pytest.mark.parametrize("action", ["list_collections", "list_aliases", "telemetry",
                                    "cluster_telemetry", "issues"])
def test_filtered_for_collection_tokens(action: str) -> None:
    assert A.decide(RO, action).outcome == "filtered"
    assert A.decide(A.Access.for_collections({}), action).outcome == "filtered"
    assert A.decide(R, action).outcome == "allowed"
    assert A.decide(M, action).outcome == "allowed"


def test_list_collection_aliases_is_filtered_only_for_listed_collection() -> None:
    assert A.decide(RO, "list_collection_aliases", "c").outcome == "filtered"
    assert A.decide(RO, "list_collection_aliases", "x").outcome == "denied"
    assert A.decide(R, "list_collection_aliases", "x").outcome == "allowed"


def test_public_endpoints_need_nothing() -> None:
    nothing = A.Access.for_collections({})
    for name in ("version", "healthz", "dashboard"):
        assert A.decide(nothing, name).outcome == "allowed"


def test_telemetry_follows_source_not_docs() -> None:
    act = A.get_action("telemetry")
    assert act.docs_row == "telemetry" and act.docs_differs
    assert A.decide(PRW, act).allowed


# Every row of the docs page's access table, by its snake_case name
DOCS_ROWS = {
    "list collections": "list_collections", "get collection info": "get_collection",
    "create collection": "create_collection", "delete collection": "delete_collection",
    "update collection params": "update_collection",
    "get collection cluster info": "get_collection_cluster",
    "collection exists": "collection_exists",
    "update collection cluster setup": "update_collection_cluster",
    "update aliases": "update_aliases", "list collection aliases": "list_collection_aliases",
    "list aliases": "list_aliases", "create shard key": "create_shard_key",
    "delete shard key": "delete_shard_key", "create payload index": "create_payload_index",
    "delete payload index": "delete_payload_index",
    "list collection snapshots": "list_snapshots",
    "create collection snapshot": "create_snapshot",
    "delete collection snapshot": "delete_snapshot",
    "download collection snapshot": "get_snapshot",
    "upload collection snapshot": "upload_snapshot",
    "recover collection snapshot": "recover_snapshot",
    "list shard snapshots": "list_shard_snapshots",
    "create shard snapshot": "create_shard_snapshot",
    "delete shard snapshot": "delete_shard_snapshot",
    "download shard snapshot": "get_shard_snapshot",
    "upload shard snapshot": "upload_shard_snapshot",
    "recover shard snapshot": "recover_shard_snapshot",
    "list full snapshots": "list_full_snapshots", "create full snapshot": "create_full_snapshot",
    "delete full snapshot": "delete_full_snapshot",
    "download full snapshot": "get_full_snapshot", "get cluster info": "get_cluster",
    "recover raft state": "recover_raft_state", "delete peer": "delete_peer",
    "get point": "get_point", "get points": "retrieve_points", "upsert points": "upsert_points",
    "update points batch": "update_points_batch", "delete points": "delete_points",
    "update vectors": "update_vectors", "delete vectors": "delete_vectors",
    "set payload": "set_payload", "overwrite payload": "overwrite_payload",
    "delete payload": "delete_payload", "clear payload": "clear_payload",
    "scroll points": "scroll_points", "query points": "query_points",
    "search points": "search_points", "search groups": "search_groups",
    "recommend points": "recommend_points", "recommend groups": "recommend_groups",
    "discover points": "discover_points", "count points": "count_points", "version": "version",
    "readyz, healthz, livez": "healthz", "telemetry": "telemetry", "metrics": "metrics",
}


def test_every_docs_row_is_an_action() -> None:
    rows = {a.docs_row: a.name for a in A.docs_actions()}
    assert rows == DOCS_ROWS


# The docs table's answers for (manage, read-only, coll rw, coll r); "f" = filtered (🟡)
DOCS_ANSWERS = {
    "create_collection": "ynnn", "upsert_points": "ynyn", "get_point": "yyyy",
    "create_payload_index": "ynyn", "list_full_snapshots": "yynn", "get_cluster": "yynn",
    "metrics": "yynn", "list_collections": "yyff", "update_aliases": "ynnn",
    "recover_snapshot": "ynnn", "create_snapshot": "ynyn", "get_snapshot": "yyyy",
}


@pytest.mark.parametrize("name", sorted(DOCS_ANSWERS))
def test_docs_answers_where_docs_and_source_agree(name: str) -> None:
    want = DOCS_ANSWERS[name]
    got = ""
    for access in (M, R, RW, RO):
        d = A.decide(access, name, "c")
        got += {"allowed": "y", "denied": "n", "filtered": "f"}[d.outcome]
    assert got == want


def test_facts_only_rows_are_present() -> None:
    names = {a.name for a in A.actions()}
    for name in ("get_audit_logs", "get_quotas", "update_quotas", "get_logger_config",
                 "update_logger_config", "get_stacktrace", "get_slow_requests", "issues",
                 "clear_issues", "cluster_telemetry", "get_cluster_metadata_keys",
                 "update_cluster_metadata_key", "create_named_vector", "delete_named_vector",
                 "stream_shard_snapshot", "create_partial_snapshot", "recover_partial_snapshot",
                 "get_partial_snapshot_manifest", "cleanup_local_shard", "truncate_unapplied_wal",
                 "facet", "search_matrix", "query_groups", "get_optimizations",
                 "get_collection_memory", "list_shard_keys", "storage_read"):
        assert name in names
        assert A.get_action(name).docs_row is None


def test_names_are_unique_snake_case_and_aliases_resolve() -> None:
    names = [a.name for a in A.actions()]
    assert len(names) == len(set(names))
    assert all(n.isidentifier() and n == n.lower() for n in names)
    for alias, target in A.ALIASES.items():
        assert alias not in names
        assert A.get_action(alias).name == target
    assert A.get_action("Upsert-Points").name == "upsert_points"


def test_unknown_action_suggests() -> None:
    with pytest.raises(UsageError) as exc:
        A.get_action("upsert_point")
    assert "upsert_points" in (exc.value.hint or "")


def test_collection_scoped_action_needs_a_collection() -> None:
    with pytest.raises(UsageError):
        A.decide(RO, "upsert_points")
    assert A.decide(M, "upsert_points").allowed  # global access: any collection


@pytest.mark.parametrize(("request_text", "action", "collection"), [
    ("PUT /collections/docs/points", "upsert_points", "docs"),
    ("put /collections/docs/points/", "upsert_points", "docs"),
    ("POST /collections/docs/points", "retrieve_points", "docs"),
    ("GET /collections/docs/points/42", "get_point", "docs"),
    ("POST /collections/docs/points/search/batch", "search_points", "docs"),
    ("POST /collections/docs/points/search/groups", "search_groups", "docs"),
    ("POST /collections/docs/points/search/matrix/pairs", "search_matrix", "docs"),
    ("POST /collections/aliases", "update_aliases", None),
    ("GET /collections/my%20docs", "get_collection", "my docs"),
    ("GET /collections/docs/shards", "list_shard_keys", "docs"),
    ("POST /collections/docs/shards/delete", "delete_shard_key", "docs"),
    ("POST /collections/docs/shards/3/points/scroll", "scroll_shard_points", "docs"),
    ("GET /collections/docs/shards/3/snapshot", "stream_shard_snapshot", "docs"),
    ("GET /collections/docs/snapshots/s1.snapshot", "get_snapshot", "docs"),
    ("DELETE /collections/docs/index/field", "delete_payload_index", "docs"),
    ("GET /readyz", "healthz", None),
    ("GET /livez/", "healthz", None),
    ("GET /telemetry?details_level=3", "telemetry", None),
    ("GET https://qdrant.example:6333/metrics", "metrics", None),
    ("POST /audit/logs", "get_audit_logs", None),
    ("GET /", "version", None),
])
def test_request_matching(request_text: str, action: str, collection: str | None) -> None:
    m = A.match_request(request_text)
    assert m.action.name == action
    assert m.collection == collection


def test_every_route_matches_its_own_action() -> None:
    for action in A.actions():
        for route in action.routes:
            path = route.pattern.replace("{collection_name}", "coll").replace("{shard_id}", "1")
            for var in ("{snapshot_name}", "{field_name}", "{vector_name}", "{peer_id}", "{key}",
                        "{id}"):
                path = path.replace(var, "x")
            assert A.match_request(f"{route.method} {path}").action is action, route


@pytest.mark.parametrize("bad", ["GET", "GET /a /b", "/collections GET", "GET collections",
                                 "G3T /collections"])
def test_request_syntax_errors(bad: str) -> None:
    with pytest.raises(InputError):
        A.match_request(bad)


def test_unknown_route_and_wrong_method() -> None:
    with pytest.raises(InputError, match=r"no Qdrant 1\.19 REST endpoint"):
        A.match_request("GET /dashboard%2f..%2fcollections/x/y/z/w")
    with pytest.raises(InputError, match="accepts GET"):
        A.match_request("POST /metrics")


def test_decide_with_request_uses_path_collection() -> None:
    m = A.match_request("PUT /collections/docs/points")
    assert A.decide(RO, m).forbidden == "Forbidden: Access to collection docs is required"
    ro_docs = A.Access.for_collections({"docs": "r"})
    assert A.decide(ro_docs, m).message == "Write access to collection docs is required"


def test_access_from_claim() -> None:
    assert A.Access.from_claim(None, present=False) == M
    assert A.Access.from_claim("r") == R
    a = A.Access.from_claim([{"collection": "a", "access": "prw"}, {"collection": "b",
                                                                    "access": "r"}])
    assert a.mode_for("a") == "prw" and a.mode_for("b") == "r" and a.mode_for("c") is None
    with pytest.raises(InputError):
        A.Access.from_claim("rw")
    with pytest.raises(InputError):
        A.Access.for_collections([("a", "r"), ("a", "rw")])
    assert A.Access.for_key_type("admin") == M
    assert A.Access.for_key_type("read-only") == R
    with pytest.raises(UsageError):
        A.Access.for_key_type("root")


def test_table_columns() -> None:
    a = A.Access.for_collections({"docs": "r", "logs": "rw"})
    rows = A.table(a)
    assert list(rows[0][1]) == ["docs", "logs", "*"]
    by_name = {act.name: cells for act, cells in rows}
    assert by_name["upsert_points"]["docs"].outcome == "denied"
    assert by_name["upsert_points"]["logs"].outcome == "allowed"
    assert by_name["upsert_points"]["*"].message == "Access to collection {other} is required"
    assert list(A.table(M)[0][1]) == ["*"]


def test_mode_constants_agree_with_claims() -> None:
    assert C.GLOBAL_MODES == A.GLOBAL_MODES
    assert C.COLLECTION_MODES == A.COLLECTION_MODES
