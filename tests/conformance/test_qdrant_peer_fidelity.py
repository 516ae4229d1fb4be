"""Fidelity of the test peer (tests/qdrant_peer) to Qdrant 1.19, row by row.

Each row of ``BEHAVIOURS`` is a behaviour that one of Qdrant's own tests asserts, or, where no
Qdrant test covers it, that Qdrant's source fixes; ``source`` names the file (paths are in the
qdrant/qdrant repository at the 1.19.0 commit 74f3e85b94).  The test that checks the row against
a live peer carries the row's id in its name or parameters.  The peer was written independently;
nothing here is copied from Qdrant.

Run: ``.venv/bin/pytest -q tests/conformance/test_qdrant_peer_fidelity.py`` (about 15 s).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.peer.peerlib import (
    PeerFactory,
    PeerProcess,
    make_ca,
    make_leaf,
    mint_jwt,
    ssl_context,
    wait_for,
)
from tests.qdrant_peer.settings import ConfigError, load_settings

pytestmark = pytest.mark.integration

# The keys of tests/consensus_tests/auth_tests/utils.py (start_jwt_protected_cluster).
SECRET = "my_top_secret_key"
ALT_SECRET = "my_alternative_secret_key"
READ_ONLY_API_KEY = "boo-hoo, this can only read!"
COLL = "jwt_audit_telemetry_collection"

# id -> (source, behaviour).  "T:" = asserted by a Qdrant test, "S:" = fixed by Qdrant's source.
BEHAVIOURS: dict[str, tuple[str, str]] = {
    # ---- service endpoints
    "root-keys": ("T: tests/openapi/test_root_api.py",
                  "GET / -> JSON with exactly title, version, commit; commit is 40 hex chars"),
    "health-text": ("T: tests/openapi/test_k8s_health.py",
                    "/healthz and /livez answer 200 `healthz check passed`"),
    "readyz-text": ("T: tests/openapi/test_k8s_health.py",
                    "/readyz answers 200 `all shards are ready` on a single node"),
    "probe-plaintext": ("S: src/actix/api/service_api.rs",
                        "health/ready bodies are text/plain (ContentType::plaintext)"),
    "metrics-lines": ("T: tests/openapi/test_service.py::test_metrics",
                      "HELP/TYPE app_info lines, app_info{name=\"qdrant\",version=...}, "
                      "collections_total, rest_responses_total"),
    "telemetry-level0": ("T: tests/openapi/test_service.py::test_telemetry_detail",
                         "level 0 members: id, app, collections, cluster, requests, quota; "
                         "collections has only number_of_collections"),
    "telemetry-level1+": ("T: tests/openapi/test_service.py::test_telemetry_detail",
                          "levels >= 1 add memory, hardware, search_pool; collections adds "
                          "collections and snapshots"),
    "telemetry-collection-l1": ("T: tests/openapi/test_service.py::test_telemetry_detail",
                                "level 1 collection entry keys: vectors, optimizers_status, "
                                "params"),
    "telemetry-collection-l2": ("T: tests/openapi/test_service.py::test_telemetry_detail",
                                "level 2 collection entry keys: id, init_time_ms, config"),
    "telemetry-id": ("S: src/main.rs (TelemetryCollector::generate_id)",
                     "the telemetry id is a UUIDv4 drawn at process start: a restart changes "
                     "it"),
    "telemetry-params": ("S: src/actix/api/service_api.rs + src/actix/mod.rs",
                         "bad details_level -> 400 `Deserialize error in query parameters`, "
                         "timeout=0 -> 422 `Validation error in query parameters`"),
    "standalone-recover": ("T: tests/openapi/test_cluster.py",
                           "POST /cluster/recover on a single node -> 405 `standalone mode`"),
    "standalone-remove-peer": ("T: tests/openapi/test_cluster.py",
                               "DELETE /cluster/peer/1 on a single node -> 405"),
    "cluster-disabled": ("S: lib/storage/src/types.rs (ClusterStatus, tag=status)",
                         "single node /cluster result is exactly {\"status\": \"disabled\"}"),
    # ---- audit and telemetry (JWT cluster with audit enabled by env)
    "audit-logger-logged": ("T: tests/consensus_tests/auth_tests/test_audit_telemetry.py",
                            "GET /logger with the read-only key is audited as "
                            "get_logger_config in storage/audit/audit.*.log"),
    "audit-scrapes-unlogged": ("T: tests/consensus_tests/auth_tests/test_audit_telemetry.py",
                               "/telemetry, /metrics, /cluster/telemetry add no audit lines"),
    "telemetry-collection-token": ("T: tests/consensus_tests/auth_tests/"
                                   "test_audit_telemetry.py",
                                   "a collection `r` token gets /telemetry without requests, "
                                   "memory, cluster; /metrics 403 `Forbidden: Global access is "
                                   "required`; /cluster/telemetry 200; nothing audited"),
    "telemetry-app-flags": ("S: src/common/telemetry_ops/app_telemetry.rs",
                            "app.jwt_rbac from settings; app.audit {dir, rotation, "
                            "max_log_files, trust_forwarded_headers, log_api}, dir_size_bytes "
                            "only above level 2; startup rounded to 10 ms, AutoSi digits"),
    "audit-limit-422": ("S: src/actix/api/audit_api.rs + lib/collection/.../validation.rs",
                        "limit 0 or 10001 -> 422 `Validation error in JSON body: [limit: value "
                        "N invalid, must be from 1 to 10000]`"),
    "audit-timeout-query": ("S: src/actix/api/audit_api.rs",
                            "?timeout=0 -> 422, ?timeout=x -> 400, before the access check"),
    "audit-null-filters": ("S: src/actix/api/audit_api.rs (serde default only when absent)",
                           "filters: null -> 400; filters absent -> all entries"),
    "audit-window-filters": ("S: lib/storage/src/audit_reader.rs",
                             "time_from inclusive, time_to exclusive, unknown filter key "
                             "matches nothing, newest first"),
    "audit-reader-serde": ("S: lib/storage/src/audit_reader.rs + lib/storage/src/audit.rs",
                           "lines that do not deserialise as AuditEvent (bad auth_type or "
                           "result) are skipped; other audit*.log names are read"),
    "audit-undated-first": ("S: lib/storage/src/audit_reader.rs (read_local_audit_logs)",
                            "audit*.log files without a date in the name are read before the "
                            "dated ones (descending name order), so they lead the newest-first "
                            "answer and fill the limit first"),
    "audit-timestamp-autosi": ("S: lib/storage/src/audit.rs (AuditEvent.timestamp: "
                               "DateTime<Utc>) + chrono serde (SecondsFormat::AutoSi)",
                               "timestamps are written and returned as RFC 3339 UTC with 0, 3, "
                               "6 or 9 fractional digits; a stored `+02:00` or `.500000000` "
                               "comes back re-rendered"),
    "audit-timeout-408": ("S: src/common/audit.rs + lib/storage/src/content_manager/errors.rs",
                          "a peer that does not answer within ?timeout=N -> 408 `Timeout: "
                          "Operation 'Timed out fetching audit logs from peer {id} after "
                          "Elapsed(())' timed out after Ns`"),
    # ---- settings
    "settings-validation-warnings": ("T: src/settings.rs tests "
                                     "(test_invalid_http_transport_config)",
                                     "zero timeouts only warn: `Settings configuration file has "
                                     "validation errors:` + `- field: value 0 invalid, must be "
                                     "1 or larger`"),
    "settings-missing-config-path": ("T: src/settings.rs tests (test_no_config_files)",
                                     "a missing --config-path logs an error and start-up "
                                     "goes on"),
    "settings-custom-config": ("T: src/settings.rs tests (test_custom_config)",
                               "--config-path wins over the layers; timeouts default to 5"),
    "settings-yaml-typing": ("S: config-rs yaml.rs + yaml-rust2 Yaml::from_str",
                             "`api_key: yes` is the string yes, `0123` is 123, `Null` is a "
                             "string; ints accept true/on/yes"),
    "settings-file-lookup": ("S: config-rs src/file/source/file.rs (find_file)",
                             "an existing --config-path with a non-YAML extension is ignored"),
    "settings-env-edges": ("S: config-rs src/env.rs + src/value.rs (into_uint)",
                           "prefix matched case-insensitively, `___` keeps an underscore, "
                           "integers are not trimmed (` 7000` is an error), `6333.0` is an "
                           "error, `on` is 1"),
    "settings-key-warnings": ("S: src/settings.rs (validate_and_warn)",
                              "`Service alt_api_key is set but empty, ...` and the 32-byte "
                              "advice over every set key"),
    # ---- TLS
    "tls-mtls-endpoints": ("T: tests/e2e_tests/test_tls.py",
                           "over mutual TLS /telemetry and /cluster answer 200"),
    "tls-client-cert-required": ("S: src/actix/certificate_helpers.rs",
                                 "no client certificate -> handshake refused"),
    "tls-rustls-suites": ("S: rustls 0.23 defaults (ring)",
                          "TLS 1.2 CBC suites are refused; ALPN http/1.1 is selected"),
    "tls-ring-keys": ("S: src/actix/certificate_helpers.rs (any_supported_type)",
                      "an RSA-1024 or P-521 key fails start-up with `TLS signing error`"),
    # ---- cluster
    "cluster-shape": ("S: lib/storage/src/types.rs",
                      "/cluster keys in order status, peer_id, peers, raft_info, "
                      "consensus_thread_status, message_send_failures; timestamps in AutoSi"),
    "collection-cluster-shape": ("S: lib/collection/.../collection_info (facts 7.2)",
                                 "/collections/{c}/cluster has peer_id, shard_count, "
                                 "local_shards, remote_shards, shard_transfers"),
    "telemetry-cluster-status": ("S: src/common/telemetry_ops/cluster_telemetry.rs",
                                 "cluster.status at level >= 1 (number_of_peers, term, commit, "
                                 "...), config/peers at level >= 2"),
    "readyz-false-positive": ("S: src/common/health.rs (cluster_commit_index)",
                              "a restarted peer whose only other peer is down becomes ready "
                              "once the commit requests failed"),
}


def test_behaviour_table_is_cited() -> None:
    for key, (source, text) in BEHAVIOURS.items():
        assert source.startswith(("T: ", "S: ")), key
        assert text, key


# --------------------------------------------------------------------------- helpers


def _json(resp: httpx.Response) -> Any:
    return resp.json()


def _audit_methods(peer: PeerProcess) -> list[str | None]:
    methods: list[str | None] = []
    for log_file in sorted((peer.workdir / "storage" / "audit").glob("audit.*.log")):
        for line in log_file.read_text().splitlines():
            if line.strip():
                methods.append(json.loads(line).get("method"))
    return methods


# --------------------------------------------------------------------------- service endpoints


@pytest.fixture(scope="module")
def plain(module_peer_factory: PeerFactory) -> PeerProcess:
    peer = module_peer_factory({}, name="plain")
    r = peer.request("PUT", "/collections/docs",
                     json_body={"vectors": {"size": 2, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    r = peer.request("PUT", "/collections/docs/points?wait=true",
                     json_body={"points": [{"id": 1, "vector": [1, 0]}]})
    assert r.status_code == 200, r.text
    return peer


def test_root_keys(plain: PeerProcess) -> None:
    r = plain.request("GET", "/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body.keys() == {"title", "version", "commit"}
    assert body["title"] == "qdrant - vector search engine"
    assert body["version"] == "1.19.0"
    assert len(body["commit"]) == 40 and int(body["commit"], 16) >= 0


@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_health_text(plain: PeerProcess, path: str) -> None:
    r = plain.request("GET", path)
    assert r.status_code == 200 and r.text == "healthz check passed"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"  # probe-plaintext


def test_readyz_text(plain: PeerProcess) -> None:
    r = plain.request("GET", "/readyz")
    assert r.status_code == 200 and r.text == "all shards are ready"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"  # probe-plaintext


def test_metrics_lines(plain: PeerProcess) -> None:
    plain.request("POST", "/collections/docs/points/scroll", json_body={"limit": 1})
    r = plain.request("GET", "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "# HELP app_info information about qdrant server" in r.text
    assert "# TYPE app_info gauge" in r.text
    assert 'app_info{name="qdrant",version="' in r.text
    assert "collections_total " in r.text
    assert "rest_responses_total" in r.text


@pytest.mark.parametrize("level", [0, 1, 2, 3, 10])
def test_telemetry_levels(plain: PeerProcess, level: int) -> None:
    r = plain.request("GET", f"/telemetry?details_level={level}")
    assert r.status_code == 200
    result = r.json()["result"]
    assert result["collections"]["number_of_collections"] >= 1
    if level == 0:  # telemetry-level0
        assert set(result) == {"id", "app", "collections", "cluster", "requests", "quota"}
        assert set(result["collections"]) == {"number_of_collections"}
        return
    # telemetry-level1+
    assert set(result) == {"id", "app", "collections", "cluster", "requests", "memory",
                           "hardware", "search_pool", "quota"}
    assert set(result["collections"]) == {"number_of_collections", "collections", "snapshots"}
    collection = result["collections"]["collections"][0]
    if level == 1:  # telemetry-collection-l1
        assert set(collection) == {"vectors", "optimizers_status", "params"}
    elif level == 2:  # telemetry-collection-l2
        assert set(collection) == {"id", "init_time_ms", "config"}
    else:  # level >= 3 adds shards/transfers/resharding in Qdrant: not modelled (README)
        assert {"id", "init_time_ms", "config"} <= set(collection)


@pytest.mark.parametrize(
    ("query", "status", "prefix"),
    [("details_level=abc", 400, "Deserialize error in query parameters: invalid digit"),
     ("details_level=-1", 400, "Deserialize error in query parameters: invalid digit"),
     ("timeout=0", 422, "Validation error in query parameters: [timeout: value 0 invalid, "
                        "must be 1 or larger]"),
     ("anonymize=yes", 400, "Deserialize error in query parameters")],
)
def test_telemetry_params(plain: PeerProcess, query: str, status: int, prefix: str) -> None:
    r = plain.request("GET", f"/telemetry?{query}")
    assert r.status_code == status
    assert r.json()["status"]["error"].startswith(prefix)


def test_telemetry_id(peer_factory: PeerFactory) -> None:
    peer = peer_factory({}, name="tid")
    first = peer.request("GET", "/telemetry").json()["result"]["id"]
    assert uuid.UUID(first).version == 4
    peer.restart()
    assert peer.request("GET", "/telemetry").json()["result"]["id"] != first


def test_standalone_cluster_endpoints(plain: PeerProcess) -> None:
    r = plain.request("POST", "/cluster/recover")  # standalone-recover
    assert r.status_code == 405 and "standalone mode" in r.json()["status"]["error"]
    r = plain.request("DELETE", "/cluster/peer/1")  # standalone-remove-peer
    assert r.status_code == 405 and "standalone mode" in r.json()["status"]["error"]
    assert plain.request("GET", "/cluster").json()["result"] == {"status": "disabled"}


# --------------------------------------------------------------------------- audit + telemetry


@pytest.fixture(scope="module")
def jwt_audit(module_peer_factory: PeerFactory) -> PeerProcess:
    """One cluster-mode peer with the keys of start_jwt_protected_cluster and audit by env."""
    env = {
        "QDRANT__SERVICE__API_KEY": SECRET,
        "QDRANT__SERVICE__ALT_API_KEY": ALT_SECRET,
        "QDRANT__SERVICE__READ_ONLY_API_KEY": READ_ONLY_API_KEY,
        "QDRANT__SERVICE__JWT_RBAC": "true",
        "QDRANT__AUDIT__ENABLED": "true",
    }
    peer = module_peer_factory({"cluster": {"enabled": True}}, env, name="jwt-audit")
    r = peer.request("PUT", f"/collections/{COLL}", api_key=SECRET,
                     json_body={"vectors": {"size": 2, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    return peer


def test_audit_logger_logged_and_scrapes_unlogged(jwt_audit: PeerProcess) -> None:
    before = _audit_methods(jwt_audit)
    r = jwt_audit.request("GET", "/logger", api_key=READ_ONLY_API_KEY)
    assert r.status_code == 200
    wait_for(lambda: len(_audit_methods(jwt_audit)) == len(before) + 1, timeout=10)
    after_control = _audit_methods(jwt_audit)
    assert after_control[-1] == "get_logger_config"  # audit-logger-logged
    for path in ("/telemetry?details_level=1", "/metrics", "/cluster/telemetry?details_level=2"):
        assert jwt_audit.request("GET", path, api_key=READ_ONLY_API_KEY).status_code == 200
    time.sleep(0.3)
    assert _audit_methods(jwt_audit) == after_control  # audit-scrapes-unlogged


def test_telemetry_collection_token(jwt_audit: PeerProcess) -> None:
    before = _audit_methods(jwt_audit)
    token = mint_jwt({"access": [{"collection": COLL, "access": "r"}]}, SECRET)
    r = jwt_audit.request("GET", "/telemetry?details_level=1", bearer=token)
    assert r.status_code == 200
    result = r.json()["result"]
    assert "requests" not in result and "memory" not in result and "cluster" not in result
    r = jwt_audit.request("GET", "/metrics", bearer=token)
    assert r.status_code == 403
    assert r.json()["status"]["error"] == "Forbidden: Global access is required"
    r = jwt_audit.request("GET", "/cluster/telemetry?details_level=2", bearer=token)
    assert r.status_code == 200
    time.sleep(0.3)
    assert _audit_methods(jwt_audit) == before


def test_telemetry_app_flags(jwt_audit: PeerProcess) -> None:
    app = jwt_audit.request("GET", "/telemetry", api_key=SECRET).json()["result"]["app"]
    assert app["jwt_rbac"] is True
    assert app["audit"] == {"dir": "./storage/audit", "rotation": "daily", "max_log_files": 7,
                            "trust_forwarded_headers": False, "log_api": True}
    # startup: Utc::now().round_subsecs(2) in chrono's AutoSi form
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d0)?Z", app["startup"])
    app3 = jwt_audit.request("GET", "/telemetry?details_level=3",
                             api_key=SECRET).json()["result"]["app"]
    assert isinstance(app3["audit"]["dir_size_bytes"], int)


def test_telemetry_cluster_status(jwt_audit: PeerProcess) -> None:
    def cluster(level: int) -> dict[str, Any]:
        r = jwt_audit.request("GET", f"/telemetry?details_level={level}", api_key=SECRET)
        return r.json()["result"]["cluster"]

    assert set(cluster(0)) <= {"enabled", "resharding_enabled"}
    status = cluster(1)["status"]
    assert set(status) == {"number_of_peers", "term", "commit", "pending_operations", "role",
                           "is_voter", "peer_id", "consensus_thread_status"}
    assert status["number_of_peers"] == 1 and status["role"] == "Leader"
    assert {"config", "peers"} <= set(cluster(2))


@pytest.mark.parametrize(
    ("query", "body", "status", "error"),
    [
        ("", {"limit": 0}, 422,
         "Validation error in JSON body: [limit: value 0 invalid, must be from 1 to 10000]"),
        ("", {"limit": 10001}, 422,
         "Validation error in JSON body: [limit: value 10001 invalid, must be from 1 to 10000]"),
        ("?timeout=0", {}, 422,
         "Validation error in query parameters: [timeout: value 0 invalid, must be 1 or larger]"),
        ("?timeout=x", {}, 400, "Deserialize error in query parameters: invalid digit found in "
                                "string"),
        ("", {"filters": None}, 400, "Format error in JSON body:"),
        ("", {"time_from": "2026-01-01"}, 400, "Format error in JSON body:"),
    ],
    ids=["limit-0", "limit-10001", "timeout-0", "timeout-x", "null-filters", "date-only"],
)
def test_audit_request_validation(jwt_audit: PeerProcess, query: str, body: dict[str, Any],
                                  status: int, error: str) -> None:
    # validation happens in the extractors, before the access check: even the read-only key
    # sees it (and nothing is audited for it)
    r = jwt_audit.request("POST", f"/audit/logs{query}", api_key=READ_ONLY_API_KEY,
                          json_body=body)
    assert r.status_code == status
    assert r.json()["status"]["error"].startswith(error)


def test_audit_window_filters_and_reader(jwt_audit: PeerProcess) -> None:
    audit_dir = jwt_audit.workdir / "storage" / "audit"
    lines = [
        {"timestamp": "2020-01-01T10:00:00Z", "auth_type": "ApiKey", "result": "ok",
         "tracing_id": "w1", "extra": "dropped"},
        {"timestamp": "2020-01-01T11:00:00Z", "auth_type": "ApiKey", "result": "ok",
         "tracing_id": "w2", "method": None},
        {"timestamp": "2020-01-01T11:30:00Z", "auth_type": "Bogus", "result": "ok",
         "tracing_id": "w-bad-auth"},
        {"timestamp": "2020-01-01T11:40:00Z", "auth_type": "None", "result": "maybe",
         "tracing_id": "w-bad-result"},
        {"timestamp": "2020-01-01T12:00:00Z", "auth_type": "Jwt", "result": "denied",
         "tracing_id": "w3"},
    ]
    dated = audit_dir / "audit.2020-01-01.log"
    undated = audit_dir / "audit.imported.log"
    dated.write_text("".join(json.dumps(x) + "\n" for x in lines))
    undated.write_text(json.dumps(
        {"timestamp": "2020-01-01T11:15:00Z", "auth_type": "None", "result": "ok",
         "tracing_id": "w-undated"}) + "\n")

    def ids(body: dict[str, Any]) -> list[str]:
        r = jwt_audit.request("POST", "/audit/logs", api_key=SECRET, json_body=body)
        assert r.status_code == 200, r.text
        return [e.get("tracing_id") for e in r.json()["result"]["entries"]]

    try:
        window = {"time_from": "2020-01-01T11:00:00Z", "time_to": "2020-01-01T12:00:00Z"}
        # audit-undated-first: the undated file is read first although its entry is older
        assert ids(window) == ["w-undated", "w2"]
        assert "w-bad-auth" not in ids({"time_to": "2020-01-02T00:00:00Z"})
        assert "w-bad-result" not in ids({"time_to": "2020-01-02T00:00:00Z"})
        assert ids({"time_from": "2020-01-01T12:00:00+00:00",
                    "time_to": "2020-01-01T13:00:00+01:00"}) == []  # 13:00+01 == 12:00Z
        assert ids({**window, "filters": {"timestamp": "2020-01-01T11:00:00Z"}}) == []
        assert ids({**window, "filters": {"auth_type": "ApiKey"}}) == ["w2"]
        r = jwt_audit.request("POST", "/audit/logs", api_key=SECRET,
                              json_body={"time_to": "2020-01-01T10:30:00Z"})
        (entry,) = r.json()["result"]["entries"]
        assert list(entry) == ["timestamp", "auth_type", "tracing_id", "result"]  # re-serialised
        # audit-undated-first: it leads even the unfiltered answer, before today's entries
        newest = ids({"limit": 3})
        assert newest[0] == "w-undated"
        assert len(newest) == 3 and not any(t and t.startswith("w") for t in newest[1:])
    finally:
        undated.unlink()
        dated.unlink()


AUTOSI = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{3}|\d{6}|\d{9}))?Z")


def test_audit_timestamp_autosi(jwt_audit: PeerProcess) -> None:
    audit_dir = jwt_audit.workdir / "storage" / "audit"
    # written: every line the peer wrote has AutoSi digits
    written = [json.loads(line)["timestamp"]
               for f in sorted(audit_dir.glob("audit.*.log"))
               for line in f.read_text().splitlines() if line.strip()]
    assert written and all(AUTOSI.fullmatch(t) for t in written)
    # returned: stored stamps are parsed and serialised again
    planted = audit_dir / "audit.2019-06-01.log"
    stored = ["2019-06-01T12:00:00.500000000+02:00", "2019-06-01T11:00:00.000Z",
              "2019-06-01T11:30:00.123456Z"]
    planted.write_text("".join(json.dumps({"timestamp": t, "auth_type": "None", "result": "ok",
                                           "tracing_id": f"ts{i}"}) + "\n"
                               for i, t in enumerate(stored)))
    try:
        r = jwt_audit.request("POST", "/audit/logs", api_key=SECRET,
                              json_body={"time_from": "2019-06-01T00:00:00Z",
                                         "time_to": "2019-06-02T00:00:00Z"})
        assert r.status_code == 200, r.text
        got = {e["tracing_id"]: e["timestamp"] for e in r.json()["result"]["entries"]}
        assert got == {"ts0": "2019-06-01T10:00:00.500Z", "ts1": "2019-06-01T11:00:00Z",
                       "ts2": "2019-06-01T11:30:00.123456Z"}
    finally:
        planted.unlink()


def test_audit_timeout_408(peer_factory: PeerFactory) -> None:
    config = {"cluster": {"enabled": True}, "audit": {"enabled": True}}
    first = peer_factory(config, name="a1")
    second = peer_factory(config, name="a2", args=("--bootstrap", first.p2p_uri))
    wait_for(lambda: len(_json(first.request("GET", "/cluster"))["result"]["peers"]) == 2,
             timeout=10)
    second_id = _json(second.request("GET", "/cluster"))["result"]["peer_id"]
    assert first.request("POST", "/audit/logs?timeout=1", json_body={}).status_code == 200
    os.kill(second.pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        r = first.request("POST", "/audit/logs?timeout=1", json_body={})
    finally:
        os.kill(second.pid, signal.SIGCONT)
    assert r.status_code == 408
    assert r.json()["status"]["error"] == (
        f"Timeout: Operation 'Timed out fetching audit logs from peer {second_id} "
        "after Elapsed(())' timed out after 1s")


# --------------------------------------------------------------------------- settings


def test_settings_validation_warnings_live(peer_factory: PeerFactory) -> None:
    env = {"QDRANT__SERVICE__HTTP_KEEP_ALIVE_TIMEOUT_SEC": "0",
           "QDRANT__SERVICE__HTTP_CLIENT_REQUEST_TIMEOUT_SEC": "0"}
    peer = peer_factory({}, env, name="warn")
    assert peer.request("GET", "/healthz").status_code == 200
    err = peer.stderr_text()
    assert "Settings configuration file has validation errors:" in err
    assert ("- service.http_keep_alive_timeout_sec: value 0 invalid, must be 1 or larger"
            in err)
    assert ("- service.http_client_request_timeout_sec: value 0 invalid, must be 1 or larger"
            in err)


def test_settings_yaml_typing_live(peer_factory: PeerFactory) -> None:
    """`config/local.yaml` in the working directory, with bare scalars PyYAML would retype."""
    peer = peer_factory({}, name="yaml", start=False)
    (peer.workdir / "config").mkdir()
    (peer.workdir / "config" / "local.yaml").write_text(
        "service:\n  api_key: yes\n  read_only_api_key: 0123\n")
    peer.start()
    assert peer.request("GET", "/collections", api_key="yes").status_code == 200
    assert peer.request("GET", "/collections", api_key="true").status_code == 401
    assert peer.request("GET", "/collections", api_key="123").status_code == 200
    assert peer.request("GET", "/collections", api_key="83").status_code == 401


def test_settings_missing_and_custom_config_path(tmp_path: Path) -> None:
    settings, warnings = load_settings("config/non_existing_config", {}, tmp_path)
    assert settings["service"]["http_port"] == 6333
    assert "Config file not found: config/config" in warnings
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "custom.yaml").write_text("service:\n    http_port: 9999")
    settings, _ = load_settings("config/custom.yaml", {}, tmp_path)
    assert settings["service"]["http_port"] == 9999
    assert settings["service"]["http_keep_alive_timeout_sec"] == 5
    assert settings["service"]["http_client_request_timeout_sec"] == 5
    assert settings["service"]["http_client_disconnect_timeout_sec"] == 5


def test_settings_yaml_typing_and_file_lookup(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "service:\n  api_key: Null\n  alt_api_key: 1_000\n  http_port: yes\n"
        "  enable_tls: on\n  grpc_port: 0x10\n")
    s, _ = load_settings(str(tmp_path / "c.yaml"), {}, tmp_path)
    assert s["service"]["api_key"] == "Null"
    assert s["service"]["alt_api_key"] == "1_000"
    assert s["service"]["http_port"] == 1  # config-rs: "yes" -> 1 for integers
    assert s["service"]["enable_tls"] is True
    assert s["service"]["grpc_port"] == 16
    (tmp_path / "c.conf").write_text("service:\n  api_key: from-conf\n")
    s, _ = load_settings(str(tmp_path / "c.conf"), {}, tmp_path)
    assert s["service"]["api_key"] is None  # settings-file-lookup
    (tmp_path / "bad.yaml").write_text("service:\n  api_key: .inf\n")
    with pytest.raises(ConfigError):
        load_settings(str(tmp_path / "bad.yaml"), {}, tmp_path)


def test_settings_env_edges(tmp_path: Path) -> None:
    s, _ = load_settings(None, {"qdrant__service__api_key": "lower",
                                "QDRANT__SERVICE___READ_ONLY_API_KEY": "ignored",
                                "QDRANT__SERVICE__GRPC_PORT": "on"}, tmp_path)
    assert s["service"]["api_key"] == "lower"
    assert s["service"]["read_only_api_key"] is None
    assert s["service"]["grpc_port"] == 1
    for bad in (" 7000", "6333.0", "0x10"):
        with pytest.raises(ConfigError):
            load_settings(None, {"QDRANT__SERVICE__HTTP_PORT": bad}, tmp_path)


def test_settings_key_warnings(tmp_path: Path) -> None:
    _, warnings = load_settings(None, {"QDRANT__SERVICE__API_KEY": "k" * 40,
                                       "QDRANT__SERVICE__ALT_API_KEY": "",
                                       "QDRANT__SERVICE__JWT_RBAC": "true"}, tmp_path)
    assert ("Service alt_api_key is set but empty, it is treated as unset and authentication "
            "may be disabled") in warnings
    assert ("It is highly recommended to use an API key of 32 bytes when JWT RBAC is enabled"
            in warnings)


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fidelity-tls")


@pytest.fixture(scope="module")
def mtls(module_peer_factory: PeerFactory, tls_dir: Path) -> Iterator[dict[str, Any]]:
    ca = make_ca(tls_dir / "ca")
    server = make_leaf(tls_dir / "server", ca, "server")
    client = make_leaf(tls_dir / "client", ca, "client", sans=(), server=False)
    config = {
        "service": {"enable_tls": True, "verify_https_client_certificate": True},
        "tls": {"cert": str(server.cert), "key": str(server.key), "ca_cert": str(ca[0].cert)},
    }
    peer = module_peer_factory(config, name="mtls", ca_path=ca[0].cert,
                               client_cert=(str(client.cert), str(client.key)))
    yield {"peer": peer, "ca": ca, "client": client}


def test_tls_mtls_endpoints(mtls: dict[str, Any]) -> None:
    peer: PeerProcess = mtls["peer"]
    assert peer.request("GET", "/telemetry").status_code == 200
    assert peer.request("GET", "/cluster").status_code == 200


def _handshake(peer: PeerProcess, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", peer.http_port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def test_tls_client_cert_required(mtls: dict[str, Any]) -> None:
    peer: PeerProcess = mtls["peer"]
    ctx = ssl_context(str(mtls["ca"][0].cert), None)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)), _handshake(peer, ctx) as s:
        # TLS 1.3: the server's refusal shows on first use of the connection
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        if not s.recv(1):
            raise ConnectionError("closed")


def test_tls_rustls_suites_and_alpn(mtls: dict[str, Any]) -> None:
    peer: PeerProcess = mtls["peer"]
    client = mtls["client"]
    cbc = ssl_context(str(mtls["ca"][0].cert), (str(client.cert), str(client.key)))
    cbc.maximum_version = ssl.TLSVersion.TLSv1_2
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA")
    with pytest.raises((ssl.SSLError, OSError)):
        _handshake(peer, cbc).close()
    good = ssl_context(str(mtls["ca"][0].cert), (str(client.cert), str(client.key)))
    good.set_alpn_protocols(["http/1.1"])
    with _handshake(peer, good) as s:
        assert s.selected_alpn_protocol() == "http/1.1"


@pytest.mark.parametrize("kind", ["rsa1024", "p521"])
def test_tls_ring_keys(peer_factory: PeerFactory, tls_dir: Path, kind: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    _, ca_cert, ca_key = make_ca(tls_dir / f"ca-{kind}")
    key: Any = (rsa.generate_private_key(public_exponent=65537, key_size=1024)
                if kind == "rsa1024" else ec.generate_private_key(ec.SECP521R1()))
    now = ca_cert.not_valid_before_utc
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kind)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(ca_cert.not_valid_after_utc)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tls_dir / f"{kind}.pem", tls_dir / f"{kind}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    peer = peer_factory({"service": {"enable_tls": True},
                         "tls": {"cert": str(cert_path), "key": str(key_path)}},
                        name=f"ring-{kind}", wait=False)
    assert peer.wait_exit(10) != 0
    assert "TLS signing error" in peer.stderr_text()


# --------------------------------------------------------------------------- cluster


@pytest.fixture(scope="module")
def pair(module_peer_factory: PeerFactory) -> list[PeerProcess]:
    first = module_peer_factory({"cluster": {"enabled": True}}, name="c1")
    second = module_peer_factory({"cluster": {"enabled": True}}, name="c2",
                                 args=("--bootstrap", first.p2p_uri))
    wait_for(lambda: len(_json(first.request("GET", "/cluster"))["result"]["peers"]) == 2,
             timeout=10)
    return [first, second]


def test_cluster_shape(pair: list[PeerProcess]) -> None:
    result = pair[0].request("GET", "/cluster").json()["result"]
    assert list(result) == ["status", "peer_id", "peers", "raft_info",
                            "consensus_thread_status", "message_send_failures"]
    assert result["status"] == "enabled"
    assert list(result["raft_info"]) == ["term", "commit", "pending_operations", "leader",
                                         "role", "is_voter"]
    assert result["consensus_thread_status"]["consensus_thread_status"] == "working"
    # DateTime<Utc> serialises with AutoSi: 0, 3, 6 or 9 fractional digits
    assert re.fullmatch(r"[0-9T:-]{19}(\.(\d{3}|\d{6}|\d{9}))?Z",
                        result["consensus_thread_status"]["last_update"])
    assert all(set(p) == {"uri"} for p in result["peers"].values())


def test_collection_cluster_shape(pair: list[PeerProcess]) -> None:
    r = pair[0].request("PUT", "/collections/cc", json_body={"vectors": {"size": 2,
                                                                         "distance": "Dot"}})
    assert r.status_code == 200, r.text
    result = pair[0].request("GET", "/collections/cc/cluster").json()["result"]
    assert set(result) == {"peer_id", "shard_count", "local_shards", "remote_shards",
                           "shard_transfers"}
    assert result["local_shards"][0]["state"] == "Active"
    assert {"shard_id", "peer_id", "state"} <= set(result["remote_shards"][0])


def test_readyz_false_positive(peer_factory: PeerFactory) -> None:
    first = peer_factory({"cluster": {"enabled": True}}, name="r1")
    second = peer_factory({"cluster": {"enabled": True}}, name="r2",
                          args=("--bootstrap", first.p2p_uri))
    assert wait_for(lambda: second.request("GET", "/readyz").status_code == 200, timeout=10)
    first.stop()
    second.restart()
    # every GetConsensusCommit fails -> Qdrant takes 0 as the cluster commit and is ready
    assert wait_for(lambda: second.request("GET", "/readyz").status_code == 200, timeout=10)
