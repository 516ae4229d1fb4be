"""Qdrant's own auth test expectations, as a table, checked against qdrantsec and the test peer.

The table restates facts from Qdrant 1.19's integration tests (no code taken from them):

- ``ACTION_ACCESS`` in tests/consensus_tests/auth_tests/test_jwt_access.py: for every REST
  endpoint, which credential kinds may call it.  "May" means an answer below 500 that is not
  403; "may not" means exactly 403, except tokens carrying the removed ``payload`` constraint,
  which get 401 everywhere but on the whitelisted endpoints;
- tests/consensus_tests/auth_tests/test_jwt_validation.py (``value_exists``, ``lookup_from``),
  test_audit_telemetry.py (telemetry / metrics for a collection token),
  test_dashboard_whitelist_bypass.py, test_snapshot_upload_authorization.py;
- the unit tests of src/common/auth/jwt_parser.rs (expiry leeway, wrong secret, not a JWT,
  deprecated payload) and src/common/auth/mod.rs (empty keys are unset).

Every row is judged twice: purely, by ``qdrantsec.qdrant.access`` / ``qdrantsec.token``
(``token explain --request`` answers from the same functions), and live by a
``tests.qdrant_peer`` process (``@pytest.mark.integration``).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from qdrantsec.errors import InputError
from qdrantsec.qdrant import access as A
from qdrantsec.secrets import Secret
from qdrantsec.token import explain, jws
from qdrantsec.token.inspect import inspect
from tests.peer.conftest import ALT_KEY, API_KEY, AUTH_CONFIG, RO_KEY
from tests.peer.peerlib import PeerFactory, PeerProcess, deep_merge, mint_jwt

COLL = "jwt_test_collection"
OTHER = "jwt_other_test_collection"
SHARD = 0
FIELD = "test_field"

# -- credential kinds (test_jwt_access.py: TOKEN_R, TOKEN_COLL_R, ..., SECRET, READ_ONLY_API_KEY)

CLAIMS: dict[str, dict[str, Any]] = {
    "r": {"access": "r"},
    "coll_r": {"access": [{"collection": COLL, "access": "r"}]},
    "coll_rw": {"access": [{"collection": COLL, "access": "rw"}]},
    "coll_prw": {"access": [{"collection": COLL, "access": "prw"}]},
    "coll_rw_payload": {"access": [{"collection": COLL, "access": "rw",
                                    "payload": {"user_id": "123"}}]},
    "coll_r_payload": {"access": [{"collection": COLL, "access": "r",
                                   "payload": {"user_id": 123}}]},
    "m": {"access": "m"},
}
KEYS = {"api_key": API_KEY, "ro_key": RO_KEY}
KINDS = ("r", "ro_key", "coll_r", "coll_rw", "coll_prw", "coll_r_payload", "coll_rw_payload",
         "m", "api_key")
PAYLOAD_KINDS = ("coll_r_payload", "coll_rw_payload")


def credential(kind: str) -> str:
    if kind in KEYS:
        return KEYS[kind]
    return mint_jwt(CLAIMS[kind], API_KEY)


@dataclass(frozen=True)
class Row:
    """One ``ACTION_ACCESS`` entry: who may call ``method path``.

    ``coll_r`` defaults to ``r``; ``coll_prw`` None means Qdrant's test does not try a prw
    token; ``everything`` marks whitelisted endpoints (even payload tokens pass).
    """

    name: str
    method: str
    path: str
    r: bool
    coll_rw: bool
    m: bool = True
    coll_r: bool | None = None
    coll_prw: bool | None = None
    everything: bool = False
    body: Any = None
    multipart: bool = False

    def allowed(self, kind: str) -> bool | None:
        if kind in PAYLOAD_KINDS:
            return self.everything
        return {
            "r": self.r, "ro_key": self.r,
            "coll_r": self.r if self.coll_r is None else self.coll_r,
            "coll_rw": self.coll_rw, "coll_prw": self.coll_prw,
            "m": self.m, "api_key": self.m,
        }[kind]

    def denied_status(self, kind: str) -> int:
        return 401 if kind in PAYLOAD_KINDS else 403


C = "/collections/" + COLL
SH = f"{C}/shards/{SHARD}"
UP = {"upsert_points", "update_points_batch"}
VEC4 = [1, 2, 3, 4]


def _cluster_op(name: str, op: dict[str, Any]) -> Row:
    return Row(name, "POST", C + "/cluster", False, False, body=op)


# fmt: off
ROWS: tuple[Row, ...] = (
    # collections
    Row("list_collections", "GET", "/collections", True, True),
    Row("get_collection", "GET", C, True, True),
    Row("create_collection", "PUT", "/collections/{new}", False, False, body={}),
    Row("delete_collection", "DELETE", "/collections/{new}", False, False),
    Row("update_collection_params", "PATCH", C, False, False, body={}),
    Row("get_collection_cluster_info", "GET", C + "/cluster", True, True),
    Row("collection_exists", "GET", C + "/exists", True, True),
    Row("get_optimizations", "GET", C + "/optimizations", True, True),
    _cluster_op("replicate_shard_operation",
                {"replicate_shard": {"shard_id": SHARD, "from_peer_id": 5, "to_peer_id": 3}}),
    _cluster_op("create_default_shard_key_operation",
                {"create_sharding_key": {"shard_key": "{new}"}}),
    _cluster_op("create_custom_shard_key_operation",
                {"create_sharding_key": {"shard_key": "{new}", "replication_factor": 3}}),
    _cluster_op("drop_shard_key_operation", {"drop_sharding_key": {"shard_key": "{new}"}}),
    _cluster_op("move_shard_operation",
                {"move_shard": {"shard_id": SHARD, "from_peer_id": 6, "to_peer_id": 7}}),
    _cluster_op("abort_shard_transfer_operation",
                {"abort_transfer": {"shard_id": SHARD, "from_peer_id": 6, "to_peer_id": 7}}),
    _cluster_op("drop_shard_replica_operation",
                {"drop_replica": {"shard_id": SHARD, "peer_id": 6}}),
    _cluster_op("restart_transfer_operation",
                {"restart_transfer": {"shard_id": SHARD, "from_peer_id": 0, "to_peer_id": 6,
                                      "method": "stream_records"}}),
    # aliases
    Row("create_alias", "POST", "/collections/aliases", False, False,
        body={"actions": [{"create_alias": {"collection_name": COLL, "alias_name": "{new}"}}]}),
    Row("rename_alias", "POST", "/collections/aliases", False, False,
        body={"actions": [{"rename_alias": {"old_alias_name": "{new}",
                                            "new_alias_name": "{new}"}}]}),
    Row("delete_alias", "POST", "/collections/aliases", False, False,
        body={"actions": [{"delete_alias": {"alias_name": "{new}"}}]}),
    Row("list_collection_aliases", "GET", C + "/aliases", True, True),
    Row("list_aliases", "GET", "/aliases", True, True),
    # shard keys
    Row("create_default_shard_key", "PUT", C + "/shards", False, False, body={"shard_key": "{new}"}),
    Row("create_custom_shard_key", "PUT", C + "/shards", False, False,
        body={"shard_key": "{new}", "replication_factor": 3}),
    Row("delete_shard_key", "POST", C + "/shards/delete", False, False,
        body={"shard_key": "{new}"}),
    Row("list_shard_keys", "GET", C + "/shards", True, True),
    # payload indexes and named vectors
    Row("create_index", "PUT", C + "/index", False, True, coll_prw=False,
        body={"field_name": FIELD, "field_schema": "keyword"}),
    Row("delete_index", "DELETE", C + "/index/fake_field_name", False, True, coll_prw=False),
    Row("create_vector_name", "PUT", C + "/vectors/new_vec", False, True, coll_prw=False,
        body={"dense": {"size": 4, "distance": "Cosine"}}),
    Row("delete_vector_name", "DELETE", C + "/vectors/fake_vector_name", False, True,
        coll_prw=False),
    # collection snapshots
    Row("list_collection_snapshots", "GET", C + "/snapshots", True, True, coll_prw=False),
    Row("create_collection_snapshot", "POST", C + "/snapshots", False, True, coll_prw=False),
    Row("delete_collection_snapshot", "DELETE", C + "/snapshots/{new}", False, True,
        coll_prw=False),
    Row("download_collection_snapshot", "GET", C + "/snapshots/{new}", True, True,
        coll_prw=False),
    Row("upload_collection_snapshot", "POST", C + "/snapshots/upload", False, False,
        multipart=True),
    Row("recover_collection_snapshot", "PUT", C + "/snapshots/recover", False, False,
        body={"location": "file:///nonexistent/{new}.snapshot"}),
    # shard snapshots
    Row("upload_shard_snapshot", "POST", SH + "/snapshots/upload", False, False, multipart=True),
    Row("recover_shard_snapshot", "PUT", SH + "/snapshots/recover", False, False,
        body={"location": "{new}.snapshot"}),
    Row("create_shard_snapshot", "POST", SH + "/snapshots", False, True),
    Row("list_shard_snapshots", "GET", SH + "/snapshots", True, True, coll_prw=False),
    Row("delete_shard_snapshot", "DELETE", SH + "/snapshots/{new}", False, True),
    Row("download_shard_snapshot", "GET", SH + "/snapshots/{new}", True, True),
    Row("stream_shard_snapshot", "GET", SH + "/snapshot", False, True),
    # full snapshots
    Row("list_full_snapshots", "GET", "/snapshots", True, False, coll_r=False),
    Row("create_full_snapshot", "POST", "/snapshots", False, False),
    Row("delete_full_snapshot", "DELETE", "/snapshots/{new}", False, False),
    Row("download_full_snapshot", "GET", "/snapshots/{new}", True, False, coll_r=False),
    # cluster
    Row("get_cluster", "GET", "/cluster", True, False, coll_r=False),
    Row("cluster_telemetry", "GET", "/cluster/telemetry", True, True),
    Row("recover_raft_state", "POST", "/cluster/recover", False, False),
    Row("delete_peer", "DELETE", "/cluster/peer/2000", False, False),
    # quotas
    Row("get_quotas", "GET", "/quotas", True, False, coll_r=False),
    Row("update_quotas", "PUT", "/quotas", False, False, body={"enabled": False}),
    # points
    Row("get_point", "GET", C + "/points/1", True, True),
    Row("get_points", "POST", C + "/points", True, True, coll_prw=True, body={"ids": [1]}),
    Row("upsert_points", "PUT", C + "/points", False, True, coll_prw=True,
        body={"points": [{"id": 1, "vector": VEC4}]}),
    Row("update_points_batch", "POST", C + "/points/batch", False, True, coll_prw=True,
        body={"operations": [
            {"upsert": {"points": [{"id": 1, "vector": VEC4}]}},
            {"delete": {"points": [3]}},
            {"set_payload": {"points": [1], "payload": {"key": "value"}}},
            {"overwrite_payload": {"points": [1], "payload": {"key": "value"}}},
            {"delete_payload": {"points": [1], "keys": ["key"]}},
            {"clear_payload": {"points": [1]}},
            {"update_vectors": {"points": [{"id": 1, "vector": VEC4}]}},
            {"delete_vectors": {"points": [2], "vector": [""]}},
        ]}),
    Row("delete_points", "POST", C + "/points/delete", False, True, coll_prw=True,
        body={"points": [3]}),
    Row("update_vectors", "PUT", C + "/points/vectors", False, True, coll_prw=True,
        body={"points": [{"id": 1, "vector": VEC4}]}),
    Row("delete_vectors", "POST", C + "/points/vectors/delete", False, True, coll_prw=True,
        body={"points": [2], "vector": [""]}),
    Row("set_payload", "POST", C + "/points/payload", False, True, coll_prw=True,
        body={"points": [1], "payload": {"my_key": "value"}}),
    Row("overwrite_payload", "PUT", C + "/points/payload", False, True, coll_prw=True,
        body={"points": [1], "payload": {"my_key": "value"}}),
    Row("delete_payload", "POST", C + "/points/payload/delete", False, True, coll_prw=True,
        body={"points": [1], "keys": ["my_key"]}),
    Row("clear_payload", "POST", C + "/points/payload/clear", False, True, coll_prw=True,
        body={"points": [1]}),
    Row("scroll_points", "POST", C + "/points/scroll", True, True, coll_prw=True,
        body={"limit": 10}),
    Row("search_points", "POST", C + "/points/search", True, True, coll_prw=True,
        body={"vector": VEC4, "limit": 10}),
    Row("search_points_batch", "POST", C + "/points/search/batch", True, True, coll_prw=True,
        body={"searches": [{"vector": VEC4, "limit": 10}]}),
    Row("search_point_groups", "POST", C + "/points/search/groups", True, True, coll_prw=True,
        body={"vector": VEC4, "limit": 10, "group_by": FIELD, "group_size": 3}),
    Row("recommend_points", "POST", C + "/points/recommend", True, True, coll_prw=True,
        body={"positive": [1], "limit": 10}),
    Row("recommend_points_batch", "POST", C + "/points/recommend/batch", True, True,
        coll_prw=True, body={"searches": [{"positive": [1], "limit": 10}]}),
    Row("recommend_point_groups", "POST", C + "/points/recommend/groups", True, True,
        coll_prw=True,
        body={"positive": [1], "limit": 10, "group_by": FIELD, "group_size": 3}),
    Row("discover_points", "POST", C + "/points/discover", True, True, coll_prw=True,
        body={"target": 1, "limit": 10}),
    Row("discover_points_batch", "POST", C + "/points/discover/batch", True, True,
        coll_prw=True, body={"searches": [{"target": 1, "limit": 10}]}),
    Row("count_points", "POST", C + "/points/count", True, True, body={}),
    Row("query_points", "POST", C + "/points/query", True, True,
        body={"query": [0.1, 0.2, 0.3, 0.4]}),
    Row("query_batch_points", "POST", C + "/points/query/batch", True, True,
        body={"searches": [{"query": [0.1, 0.2, 0.3, 0.4]}]}),
    Row("query_points_groups", "POST", C + "/points/query/groups", True, True,
        body={"query": [0.1, 0.2, 0.3, 0.4], "limit": 3, "group_size": 2, "group_by": FIELD}),
    Row("search_points_matrix_offsets", "POST", C + "/points/search/matrix/offsets", True, True,
        body={"sample": 10, "limit": 2}),
    Row("search_points_matrix_pairs", "POST", C + "/points/search/matrix/pairs", True, True,
        body={"sample": 10, "limit": 2}),
    Row("facet", "POST", C + "/facet", True, True, body={"key": "a"}),
    # service
    Row("root", "GET", "/", True, True, everything=True),
    Row("readyz", "GET", "/readyz", True, True, everything=True),
    Row("healthz", "GET", "/healthz", True, True, everything=True),
    Row("livez", "GET", "/livez", True, True, everything=True),
    Row("telemetry", "GET", "/telemetry", True, True),
    Row("metrics", "GET", "/metrics", True, False, coll_r=False),
    Row("get_issues", "GET", "/issues", True, True),
    Row("clear_issues", "DELETE", "/issues", False, False),
    Row("get_logger_config", "GET", "/logger", True, False, coll_r=False),
    Row("update_logger_config", "POST", "/logger", False, False, body={}),
)
# fmt: on

CASES = [(row, kind) for row, kind in itertools.product(ROWS, KINDS)
         if row.allowed(kind) is not None]


def _case_id(case: tuple[Row, str]) -> str:
    return f"{case[0].name}-{case[1]}"


def test_table_covers_every_rest_endpoint_qdrant_tests() -> None:
    """Every route of the catalogue that Qdrant's table names is in this table, and every row
    matches a catalogue route (so ``explain --request`` can answer it)."""
    names = {row.name for row in ROWS}
    assert len(names) == len(ROWS)
    for row in ROWS:
        A.match_request(f"{row.method} {_concrete(row.path)}")


# -- pure: qdrantsec.qdrant.access and qdrantsec.token ----------------------------------------

SECRETS = (Secret(API_KEY, "test", "api_key"), Secret(ALT_KEY, "test", "alt_api_key"))


def _subject(kind: str) -> explain.Subject:
    if kind == "api_key":
        return explain.subject_for_key_type("admin")
    if kind == "ro_key":
        return explain.subject_for_key_type("read-only")
    token = credential(kind)
    report = inspect(jws.decode(token), SECRETS, now=int(time.time()))
    return explain.subject_for_report(report)


def _concrete(path: str) -> str:
    return path.replace("{new}", "fresh_name")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_qdrantsec_predicts_qdrant(case: tuple[Row, str]) -> None:
    row, kind = case
    match = A.match_request(f"{row.method} {_concrete(row.path)}")
    ans = explain.answer(_subject(kind), match)
    if row.allowed(kind):
        assert ans.allowed, (row.name, kind, ans.decision)
        assert ans.decision.status == 200
    else:
        assert not ans.allowed, (row.name, kind, ans.decision)
        assert ans.decision.status == row.denied_status(kind), (row.name, kind, ans.decision)
        # RBAC denials answer "Forbidden: <message>"; the auth layer's refusals do not
        forbidden = ans.decision.forbidden
        if kind in PAYLOAD_KINDS:
            assert forbidden is None
        else:
            assert forbidden is not None and forbidden.startswith("Forbidden: ")


@pytest.mark.parametrize("kind", ["r", "ro_key", "coll_r", "coll_rw", "m", "api_key"])
def test_grpc_storage_read_is_collection_read(kind: str) -> None:
    """test_jwt_access.py storage_read_*: qdrant.StorageRead/* (gRPC only) is allowed for every
    one of these kinds (src/tonic/api/storage_read_api/helpers.rs asks for collection read)."""
    ans = explain.answer(_subject(kind), A.get_action("storage_read"), COLL)
    assert ans.allowed, (kind, ans.decision)


def test_payload_token_is_refused_with_401() -> None:
    """jwt_parser.rs test_jwt_parser_with_deprecated_payloads: a validation error (401)."""
    for kind in PAYLOAD_KINDS:
        report = inspect(jws.decode(credential(kind)), SECRETS, now=int(time.time()))
        assert report.accepted is False
        assert report.verdict is not None and report.verdict.reported is not None
        assert report.verdict.reported.qdrant_answer.startswith("401")


@pytest.mark.parametrize(("claims", "secret", "expected"), [
    # jwt_parser.rs test_exp_validation: 31 s in the past is beyond the 30 s leeway -> Forbidden
    ({"access": "r", "exp": -31}, API_KEY, "403 ExpiredSignature"),
    ({"access": "r", "exp": -30}, API_KEY, None),
    # test_no_exp / exp removed: accepted
    ({"access": "r"}, API_KEY, None),
    # test_invalid_token: another secret -> Forbidden
    ({"access": "r"}, "wrong-secret", "403 InvalidSignature"),
    # test_jwt_validation.py signs value_exists tokens with ALT_SECRET too: accepted
    ({"access": "r"}, ALT_KEY, None),
    # duplicate collection: a validation error (rbac/mod.rs validate_unique_collections)
    ({"access": [{"collection": "a", "access": "r"}, {"collection": "a", "access": "rw"}]},
     API_KEY, "401"),
    # "payload": null is not a constraint
    ({"access": [{"collection": "a", "access": "r", "payload": None}]}, API_KEY, None),
])
def test_jwt_parser_unit_expectations(claims: dict[str, Any], secret: str,
                                      expected: str | None) -> None:
    now = int(time.time())
    claims = dict(claims)
    if "exp" in claims:
        claims["exp"] = now + claims["exp"]
    report = inspect(jws.decode(mint_jwt(claims, secret)), SECRETS, now=now)
    verdict = report.verdict
    assert verdict is not None
    if expected is None:
        assert verdict.accepted, verdict.explanation()
    else:
        assert verdict.reported is not None
        assert verdict.reported.qdrant_answer.startswith(expected), verdict.explanation()


def test_not_a_jwt_is_401() -> None:
    """jwt_parser.rs test_invalid_token: "foo.bar.baz" is not a JWT (parser returns None)."""
    report = inspect(jws.decode("foo.bar.baz"), SECRETS, now=int(time.time()))
    assert report.accepted is False
    reported = report.verdict.reported if report.verdict else None
    assert reported is not None and reported.qdrant_answer == "401 Invalid API key or JWT"


def test_lookup_and_metrics_messages() -> None:
    """test_jwt_validation.py / test_audit_telemetry.py exact Forbidden texts."""
    coll_r = A.Access.for_collections({COLL: "r"})
    assert A.decide(coll_r, A.match_request("GET /metrics")).forbidden == \
        "Forbidden: Global access is required"
    # the lookup collection is not in the token (any mode would do)
    assert A.check(coll_r, A.C_READ, OTHER).forbidden == \
        f"Forbidden: Access to collection {OTHER} is required"
    assert A.decide(coll_r, A.match_request("GET /telemetry")).outcome == "filtered"
    assert A.decide(coll_r, A.match_request("GET /cluster/telemetry")).allowed


def test_dashboard_bypass_path_is_not_whitelisted() -> None:
    """test_dashboard_whitelist_bypass.py: /dashboard%2f..%2fcollections matches no route (so it
    needs credentials), while /dashboard itself is the whitelisted Web UI."""
    assert A.match_request("GET /dashboard").action.name == "dashboard"
    with pytest.raises(InputError, match=r"no Qdrant 1\.19 REST endpoint"):
        A.match_request("GET /dashboard%2f..%2fcollections")


@pytest.mark.parametrize(("mode", "write", "manage", "extras", "message"), [
    # lib/storage/src/rbac/mod.rs CollectionAccessView::meets_requirements: extras, then write,
    # then manage (whatever the collection mode)
    ("prw", True, True, True, "Only points access is allowed for collection c"),
    ("r", True, True, True, "Write access to collection c is required"),
    ("rw", True, True, True, "Manage access for this operation is required"),
    ("r", False, True, False, "Manage access for this operation is required"),
    ("prw", False, True, False, "Manage access for this operation is required"),
    ("prw", True, False, False, None),
    ("r", False, False, True, None),
])
def test_collection_check_order(mode: str, write: bool, manage: bool, extras: bool,
                                message: str | None) -> None:
    req = A.Requirement("collection", "x", write=write, manage=manage, extras=extras)
    assert A.check(A.Access.for_collections({"c": mode}), req, "c").message == message


def test_probe_prefixes_are_route_patterns() -> None:
    """src/actix/mod.rs whitelists /readyz and /livez as prefixes of the *matched route
    pattern* (src/actix/auth.rs); /livez/x matches no route, so it is not public."""
    for path in ("/livez/x", "/readyz/x", "/healthz/x"):
        with pytest.raises(InputError):
            A.match_request(f"GET {path}")
    assert A.match_request("GET /readyz/").action.name == "healthz"  # trailing / is trimmed


@pytest.mark.parametrize(("key", "ok"), [
    # lib/segment/src/json_path/parse.rs test_parse
    ("foo", True), ('foo[1][50].bar-baz[]."qux[.]quux"', True), ("", False),
    ("a b", False), ("a.", False), ("a[x]", False), ('"a b"', True),
])
def test_value_exists_key_must_be_a_json_path(key: str, ok: bool) -> None:
    """ValueExists.matches[].key is a JsonPath (src/common/auth/claims.rs): one that does not
    parse makes the claims undeserialisable, so the token is not a usable JWT."""
    claims = {"value_exists": {"collection": "u", "matches": [{"key": key, "value": 1}]}}
    token = mint_jwt(claims, API_KEY)
    verdict = inspect(jws.decode(token), SECRETS[:1], now=int(time.time())).verdict
    assert verdict is not None and verdict.accepted is ok
    if not ok:
        assert verdict.reported is not None
        assert verdict.reported.qdrant_answer == "401 Invalid API key or JWT"
        # with alt_api_key configured too, its parser's signature error is the one reported
        both = inspect(jws.decode(token), SECRETS, now=int(time.time())).verdict
        assert both is not None and both.reported is not None
        assert both.reported.qdrant_answer == "403 InvalidSignature"


# JWT edge cases with both secrets configured (as in Qdrant's auth tests: api_key and
# alt_api_key, jwt_rbac): (label, claims or raw token maker, expected status, expected body).
# Sources: jwt_parser.rs tests and JwtParser::new (HS256 only, 30 s leeway, no required claims),
# mod.rs validate_request (api_key's parser first, then alt's; the first error is reported, so
# a claims error from api_key's parser surfaces as alt's InvalidSignature), rbac/mod.rs
# (payload constraint, unique collections), serde (unknown fields ignored, known ones once).
def _tok(claims: Any, secret: str = API_KEY, **kw: Any) -> Any:
    return lambda now: mint_jwt(claims(now) if callable(claims) else claims, secret, **kw)


JWT_CASES: list[tuple[str, Any, int, str | None]] = [
    ("expired_31s", _tok(lambda now: {"access": "r", "exp": now - 31}), 403, "ExpiredSignature"),
    ("expired_within_leeway", _tok(lambda now: {"access": "r", "exp": now - 25}), 200, None),
    ("no_exp", _tok({"access": "r"}), 200, None),
    ("no_access_is_manage", _tok({}), 200, None),
    ("wrong_secret", _tok({"access": "r"}, "wrong-secret"), 403, "InvalidSignature"),
    ("alt_secret", _tok({"access": "r"}, ALT_KEY), 200, None),
    ("alt_secret_expired", _tok(lambda now: {"access": "r", "exp": now - 100}, ALT_KEY), 403,
     "InvalidSignature"),
    ("alg_hs512", _tok({"access": "r"}, alg="HS512"), 401, "Invalid API key or JWT"),
    ("alg_none", _tok({"access": "r"}, alg="none"), 401, "Invalid API key or JWT"),
    ("padded", _tok({"access": "r", "x": "a"}, pad=True), 401, "Invalid API key or JWT"),
    ("not_a_jwt", lambda now: "foo.bar.baz", 401, "Invalid API key or JWT"),
    ("payload_constraint", _tok(CLAIMS["coll_r_payload"]), 401,
     "access[0].payload: The 'payload' constraint is deprecated and should not be used"),
    ("payload_twice", _tok({"access": [
        {"collection": "a", "access": "r", "payload": {"k": 1}},
        {"collection": "b", "access": "rw", "payload": {"k": 2}}]}), 401,
     "access[0].payload: The 'payload' constraint is deprecated and should not be used"
     "access[1].payload: The 'payload' constraint is deprecated and should not be used"),
    ("payload_constraint_alt", _tok(CLAIMS["coll_r_payload"], ALT_KEY), 403, "InvalidSignature"),
    ("payload_null", _tok({"access": [{"collection": COLL, "access": "r", "payload": None}]}),
     200, None),
    ("duplicate_collection", _tok({"access": [{"collection": COLL, "access": "r"},
                                              {"collection": COLL, "access": "rw"}]}), 401,
     "access[1].collection: Collection name should be unique"),
    ("empty_access_list", _tok({"access": []}), 200, None),
    ("unknown_claims", _tok({"access": "r", "aud": 5, "nbf": 9999999999, "foo": [1]}), 200, None),
    ("global_rw_is_no_mode", _tok({"access": "rw"}), 403, "InvalidSignature"),
    ("access_null", _tok({"access": None}), 403, "InvalidSignature"),
    ("exp_float", _tok(lambda now: {"access": "r", "exp": now + 100.5}), 403, "InvalidSignature"),
    ("repeated_access", _tok(None, raw_payload=b'{"access":"r","access":"m"}'), 403,
     "InvalidSignature"),
    ("repeated_unknown", _tok(None, raw_payload=b'{"access":"r","x":1,"x":2}'), 200, None),
]


@pytest.mark.parametrize(("label", "make", "status", "text"), JWT_CASES,
                         ids=[c[0] for c in JWT_CASES])
def test_jwt_edge_cases_pure(label: str, make: Any, status: int, text: str | None) -> None:
    now = int(time.time())
    verdict = inspect(jws.decode(make(now)), SECRETS, now=now).verdict
    assert verdict is not None
    if status == 200:
        assert verdict.accepted, verdict.explanation()
        return
    assert verdict.reported is not None, label
    answer = verdict.reported.qdrant_answer
    assert answer.startswith(str(status)), (label, answer)
    if text is not None:
        assert answer == f"{status} {text}", (label, answer)


# src/actix/helpers.rs time_or_accept: these handlers spawn their work, access check included;
# with ?wait=false the caller gets 202 before any check (a denial is only logged). Uploads check
# manage access in an extractor first (src/actix/auth.rs ActixAccessManage): 403 regardless.
WAIT_FALSE_CASES: list[tuple[str, str, str, Any, int]] = [
    ("ro_key", "POST", C + "/snapshots", None, 202),
    ("coll_r", "DELETE", C + "/snapshots/nosuch.snapshot", None, 202),
    ("ro_key", "PUT", C + "/snapshots/recover", {"location": "file:///nonexistent.snapshot"}, 202),
    ("coll_prw", "POST", SH + "/snapshots", None, 202),
    ("coll_r", "DELETE", SH + "/snapshots/nosuch.snapshot", None, 202),
    ("ro_key", "PUT", SH + "/snapshots/recover", {"location": "nosuch.snapshot"}, 202),
    ("ro_key", "POST", "/snapshots", None, 202),
    ("coll_rw", "DELETE", "/snapshots/nosuch.snapshot", None, 202),
    ("ro_key", "POST", C + "/truncate_unapplied_wal", None, 202),
    ("ro_key", "POST", C + "/snapshots/upload", b"", 403),
    ("coll_r", "PUT", C + "/points", {"points": [{"id": 1, "vector": VEC4}]}, 403),
]


@pytest.mark.parametrize(("kind", "method", "path", "body", "status"), WAIT_FALSE_CASES,
                         ids=[f"{c[1]} {c[2]}-{c[0]}" for c in WAIT_FALSE_CASES])
def test_wait_false_answers_before_the_check_pure(kind: str, method: str, path: str, body: Any,
                                                  status: int) -> None:
    match = A.match_request(f"{method} {path}?wait=false")
    ans = explain.answer(_subject(kind), match)
    assert not ans.allowed
    assert ans.decision.status == status, ans.decision
    assert explain.answer(_subject(kind), A.match_request(f"{method} {path}")).decision.status \
        == 403


# -- live: the test peer ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def peer(module_peer_factory: PeerFactory) -> Iterator[PeerProcess]:
    p = module_peer_factory(AUTH_CONFIG, name="qdrant-auth-table")
    for name in (COLL, OTHER):
        r = p.request("PUT", f"/collections/{name}", api_key=API_KEY,
                      json_body={"vectors": {"size": 4, "distance": "Dot"}})
        assert r.status_code == 200, r.text
        r = p.request("PUT", f"/collections/{name}/points?wait=true", api_key=API_KEY,
                      json_body={"points": [{"id": i, "vector": [i, 1, 0, 1],
                                             "payload": {"a": "x", FIELD: i % 2}}
                                            for i in range(1, 31)]})
        assert r.status_code == 200, r.text
    yield p


@pytest.fixture(scope="module")
def client(peer: PeerProcess) -> Iterator[httpx.Client]:
    with peer.client(timeout=10.0) as c:
        yield c


def _fill(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("{new}", "n" + uuid.uuid4().hex[:12])
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v) for v in value]
    return value


def send(client: httpx.Client, row: Row, cred: str | None, *, bearer: bool = True
         ) -> httpx.Response:
    headers: dict[str, str] = {}
    if cred is not None:
        if bearer:
            headers["authorization"] = f"Bearer {cred}"
        else:
            headers["api-key"] = cred
    path = _fill(row.path)
    if row.multipart:
        return client.request(row.method, path, headers=headers,
                              files={"snapshot": ("x.snapshot", b"\0" * 64)})
    return client.request(row.method, path, headers=headers,
                          json=_fill(row.body) if row.body is not None else None)


@pytest.mark.integration
def test_peer_answers_as_qdrant_tests_expect(client: httpx.Client) -> None:
    """All of ACTION_ACCESS against one peer (one test: a few hundred requests)."""
    failures = []
    for row, kind in CASES:
        res = send(client, row, credential(kind))
        if row.allowed(kind):
            ok = res.status_code < 500 and res.status_code != 403
        else:
            ok = res.status_code == row.denied_status(kind)
        if not ok:
            failures.append(f"{row.name} [{kind}] {row.method} {row.path}: "
                            f"{res.status_code} {res.text[:160]}")
    assert not failures, "\n".join(failures)


@pytest.mark.integration
def test_peer_keys_in_either_header(client: httpx.Client) -> None:
    """The API key and the read-only key behave like m / r tokens (check_access compares the
    same expectation); Qdrant's test sends them as Bearer, the api-key header must agree."""
    for row in ROWS:
        for kind in ("api_key", "ro_key"):
            res = send(client, row, KEYS[kind], bearer=False)
            if row.allowed(kind):
                assert res.status_code < 500 and res.status_code != 403, (row.name, kind, res.text)
            else:
                assert res.status_code == 403, (row.name, kind, res.status_code, res.text)


def _forbidden_text(res: httpx.Response) -> str:
    return res.json()["status"]["error"]


@pytest.mark.integration
def test_peer_lookup_from_needs_the_other_collection(client: httpx.Client) -> None:
    """test_jwt_validation.py: recommend / query (top level and nested prefetch) lookup_from."""
    token = credential("coll_r")
    h = {"authorization": f"Bearer {token}"}
    res = client.post(f"{C}/points/recommend", headers=h, json={"positive": [1], "limit": 10})
    assert res.status_code == 200, res.text
    res = client.post(f"{C}/points/recommend", headers=h,
                      json={"positive": [1], "limit": 10, "lookup_from": {"collection": OTHER}})
    assert res.status_code == 403, res.text
    assert _forbidden_text(res) == f"Forbidden: Access to collection {OTHER} is required"
    res = client.post(f"{C}/points/query", headers=h,
                      json={"query": {"recommend": {"positive": [1]}}, "limit": 10})
    assert res.status_code == 200, res.text
    res = client.post(f"{C}/points/query", headers=h,
                      json={"query": {"recommend": {"positive": [1]}}, "limit": 10,
                            "lookup_from": {"collection": OTHER}})
    assert res.status_code == 403, res.text
    assert _forbidden_text(res) == f"Forbidden: Access to collection {OTHER} is required"
    res = client.post(f"{C}/points/query", headers=h,
                      json={"prefetch": [{"query": {"recommend": {"positive": [1]}},
                                          "lookup_from": {"collection": OTHER}}],
                            "limit": 10})
    assert res.status_code == 403, res.text
    assert _forbidden_text(res) == f"Forbidden: Access to collection {OTHER} is required"


@pytest.mark.integration
def test_peer_telemetry_for_collection_token(client: httpx.Client) -> None:
    """test_audit_telemetry.py: filtered telemetry, metrics refused, cluster telemetry allowed;
    the read-only key reads logger, telemetry, metrics and cluster telemetry."""
    h = {"authorization": f"Bearer {credential('coll_r')}"}
    res = client.get("/telemetry?details_level=1", headers=h)
    assert res.status_code == 200
    result = res.json()["result"]
    for key in ("requests", "memory", "cluster"):
        assert key not in result
    res = client.get("/metrics", headers=h)
    assert res.status_code == 403
    assert _forbidden_text(res) == "Forbidden: Global access is required"
    assert client.get("/cluster/telemetry?details_level=2", headers=h).status_code == 200
    ro = {"api-key": RO_KEY}
    for path in ("/logger", "/telemetry?details_level=1", "/metrics",
                 "/cluster/telemetry?details_level=2"):
        assert client.get(path, headers=ro).status_code == 200, path


@pytest.mark.integration
@pytest.mark.parametrize("path", [
    C + "/snapshots/upload", SH + "/snapshots/upload", SH + "/snapshot/partial/recover",
])
def test_peer_upload_refused_for_read_only_key(client: httpx.Client, path: str) -> None:
    """test_snapshot_upload_authorization.py: 403 for the read-only key on every upload."""
    res = client.post(path, headers={"api-key": RO_KEY},
                      files={"snapshot": ("x.snapshot", b"\0" * 4096)})
    assert res.status_code == 403, res.text


@pytest.mark.integration
@pytest.mark.parametrize("secret", [API_KEY, ALT_KEY])
def test_peer_value_exists(client: httpx.Client, secret: str) -> None:
    """test_jwt_validation.py test_value_exists_claim, with either signing secret."""
    vcoll = "jwt_validation_" + uuid.uuid4().hex[:8]
    token = mint_jwt({"value_exists": {"collection": vcoll,
                                       "matches": [{"key": "tokenId", "value": "token_42"}]}},
                     secret)
    h = {"authorization": f"Bearer {token}"}
    admin = {"api-key": API_KEY}

    def scroll() -> httpx.Response:
        return client.post(f"{C}/points/scroll", headers=h, json={"limit": 10})

    res = scroll()  # the validation collection does not exist
    assert res.status_code == 403, res.text
    assert res.text == "Invalid JWT, stateful validation failed"
    assert client.put(f"/collections/{vcoll}?timeout=10", headers=admin, json={}).status_code == 200
    res = scroll()  # exists, but no matching point
    assert res.status_code == 401, res.text
    assert res.text == "Invalid JWT, stateful validation failed"
    res = client.put(f"/collections/{vcoll}/points?wait=true", headers=admin,
                     json={"points": [{"id": 42, "vectors": {}, "payload": {"tokenId": "token_42"}}]})
    assert res.status_code == 200, res.text
    res = scroll()
    assert res.status_code == 200, res.text
    assert len(res.json()["result"]["points"]) == 10
    res = client.post(f"/collections/{vcoll}/points/delete?wait=true", headers=admin,
                      json={"points": [42]})
    assert res.status_code == 200, res.text
    assert scroll().status_code == 401
    client.delete(f"/collections/{vcoll}", headers=admin)


@pytest.mark.integration
def test_peer_jwt_parser_expectations(client: httpx.Client) -> None:
    """jwt_parser.rs unit tests, over HTTP: expiry leeway, wrong secret, not a JWT, payload."""
    now = int(time.time())

    def get(token: str) -> httpx.Response:
        return client.get("/collections", headers={"authorization": f"Bearer {token}"})

    res = get(mint_jwt({"access": "r", "exp": now - 31}, API_KEY))
    assert (res.status_code, res.text) == (403, "ExpiredSignature")
    assert get(mint_jwt({"access": "r", "exp": now - 25}, API_KEY)).status_code == 200
    assert get(mint_jwt({"access": "r"}, API_KEY)).status_code == 200
    res = get(mint_jwt({"access": "r"}, "wrong-secret"))
    assert (res.status_code, res.text) == (403, "InvalidSignature")
    res = get("foo.bar.baz")
    assert (res.status_code, res.text) == (401, "Invalid API key or JWT")
    assert get(credential("coll_rw_payload")).status_code == 401


@pytest.mark.integration
def test_peer_dashboard_whitelist(module_peer_factory: PeerFactory, tmp_path_factory:
                                  pytest.TempPathFactory) -> None:
    """test_dashboard_whitelist_bypass.py: with the Web UI available /dashboard needs no key;
    /dashboard%2f..%2fcollections is not the dashboard route and gets 401 without a key."""
    static = tmp_path_factory.mktemp("static_content")
    (static / "index.html").write_text("<!doctype html><title>dashboard</title>")
    cfg = deep_merge(AUTH_CONFIG, {"service": {"enable_static_content": True,
                                               "static_content_dir": str(static)}})
    p = module_peer_factory(cfg, name="qdrant-dashboard")
    assert p.request("GET", "/dashboard").status_code == 200
    assert p.request("GET", "/dashboard%2f..%2fcollections").status_code == 401


@pytest.mark.integration
def test_peer_empty_keys_are_unset(module_peer_factory: PeerFactory) -> None:
    """src/common/auth/mod.rs empty_api_keys_are_treated_as_unset: no auth layer at all."""
    p = module_peer_factory({"service": {"api_key": "", "alt_api_key": "",
                                         "read_only_api_key": "", "jwt_rbac": True}},
                            name="qdrant-empty-keys")
    assert p.request("GET", "/collections").status_code == 200
    assert p.request("DELETE", "/issues").status_code == 200


@pytest.mark.integration
def test_peer_unknown_probe_subpaths_need_credentials(client: httpx.Client) -> None:
    for path in ("/livez/x", "/readyz/x", "/healthz/x"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"api-key": API_KEY}).status_code == 404, path
    assert client.get("/readyz/").status_code == 200


@pytest.mark.integration
def test_peer_value_exists_key_must_be_a_json_path(client: httpx.Client) -> None:
    token = mint_jwt({"access": "r", "value_exists": {
        "collection": COLL, "matches": [{"key": "a b", "value": "x"}]}}, API_KEY)
    res = client.get("/collections", headers={"authorization": f"Bearer {token}"})
    # api_key's parser cannot deserialise the claims (skipped); alt_api_key's reports the
    # signature mismatch (src/common/auth/mod.rs validate_request: first error wins)
    assert (res.status_code, res.text) == (403, "InvalidSignature")
    token = mint_jwt({"access": "r", "value_exists": {
        "collection": COLL, "matches": [{"key": "a", "value": "x"}]}}, API_KEY)
    res = client.get("/collections", headers={"authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text


@pytest.mark.integration
def test_jwt_edge_cases_live(client: httpx.Client) -> None:
    now = int(time.time())
    failures = []
    for label, make, status, text in JWT_CASES:
        res = client.get("/collections", headers={"authorization": f"Bearer {make(now)}"})
        if res.status_code != status or (text is not None and res.text != text):
            failures.append(f"{label}: {res.status_code} {res.text[:120]}")
    assert not failures, "\n".join(failures)
    # an empty access list reaches nothing collection-scoped and lists nothing
    h = {"authorization": f"Bearer {mint_jwt({'access': []}, API_KEY)}"}
    assert client.get("/collections", headers=h).json()["result"]["collections"] == []
    res = client.get(C, headers=h)
    assert res.status_code == 403
    assert _forbidden_text(res) == f"Forbidden: Access to collection {COLL} is required"


@pytest.mark.integration
def test_wait_false_answers_before_the_check_live(client: httpx.Client) -> None:
    failures = []
    for kind, method, path, body, status in WAIT_FALSE_CASES:
        headers = {"authorization": f"Bearer {credential(kind)}"}
        if isinstance(body, bytes):
            res = client.request(method, path + "?wait=false", headers=headers,
                                 files={"snapshot": ("x.snapshot", b"\0" * 64)})
        else:
            res = client.request(method, path + "?wait=false", headers=headers, json=body)
        if res.status_code != status:
            failures.append(f"{kind} {method} {path}: {res.status_code} {res.text[:100]}")
        elif status == 202:
            assert res.json()["status"] == "accepted"
    assert not failures, "\n".join(failures)
