"""qdrantsec probe against real tests/qdrant_peer processes over real TCP and TLS: each
check fires when it should and not otherwise, nothing in the peer's storage changes, and
every request is in the audit log under the run's x-request-id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.peer.conftest import API_KEY, RO_KEY, TlsMaterial, jwt
from tests.peer.peerlib import PeerProcess, free_port
from tests.probe.conftest import request_id, tree_hash, write_key

pytestmark = pytest.mark.integration

AUDIT = {"enabled": True, "dir": "./audit"}


def _audit_entries(peer: PeerProcess) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted((peer.workdir / "audit").glob("audit*.log")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def _storage(peer: PeerProcess) -> str:
    return tree_hash(peer.workdir / "storage") + tree_hash(peer.workdir / "snapshots")


@pytest.fixture(scope="module")
def open_peer(module_peer_factory: Any) -> PeerProcess:
    peer = module_peer_factory({"service": {"metrics_port": free_port()}, "audit": AUDIT}, start=False)
    (peer.workdir / "static").mkdir()
    (peer.workdir / "static" / "index.html").write_text("<html>qdrant web ui</html>")
    peer.start()
    assert peer.request("PUT", "/collections/docs",
                        json_body={"vectors": {"size": 2, "distance": "Dot"}}).status_code == 200
    return peer


@pytest.fixture(scope="module")
def hardened(module_peer_factory: Any, tls_material: TlsMaterial) -> PeerProcess:
    config = {
        "service": {"enable_tls": True, "api_key": API_KEY, "read_only_api_key": RO_KEY,
                    "jwt_rbac": True, "enable_cors": False, "metrics_port": free_port()},
        "tls": tls_material.tls_section(),
        "audit": AUDIT,
    }
    peer = module_peer_factory(config, ca_path=tls_material.ca.cert)
    assert peer.request("PUT", "/collections/docs", api_key=API_KEY,
                        json_body={"vectors": {"size": 2, "distance": "Dot"}}).status_code == 200
    return peer


def test_open_instance_every_anonymous_check_fires(probe: Any, open_peer: PeerProcess) -> None:
    before = _storage(open_peer)
    run = probe(open_peer.url, "--metrics-port", str(open_peer.metrics_port), "--format", "json")
    assert run.code == 1, run.err
    assert run.rules() == ["QP101", "QP102", "QP201", "QP401", "QP402", "QP403", "QP404", "QP405"]
    doc = run.json()
    by_rule = {f["rule"]: f for f in doc["findings"]}
    open_ = by_rule["QP101"]
    assert open_["severity"] == "critical"
    assert open_["url"] == f"{open_peer.url}/collections"
    assert open_["evidence"] == "GET /collections without credentials: 200 OK"
    assert open_["file"] is None and open_["target"] == open_peer.url
    assert "1 collections" in open_["message"]
    assert by_rule["QP402"]["url"] == f"http://127.0.0.1:{open_peer.metrics_port}/metrics"
    assert doc["summary"]["urls"] == 1 and doc["summary"]["errors"] == 0
    assert doc["probe"]["request_id"] == request_id(run.err)
    assert doc["probe"]["versions"] == {open_peer.url: "1.19.0"}
    assert doc["probe"]["requests"] >= 9
    assert _storage(open_peer) == before


def test_every_request_carries_the_run_request_id(probe: Any, open_peer: PeerProcess) -> None:
    seen = len(_audit_entries(open_peer))
    run = probe(open_peer.url, "--format", "json")
    rid = request_id(run.err)
    assert rid.startswith("qdrantsec-probe-") and len(rid) == len("qdrantsec-probe-") + 12
    new = _audit_entries(open_peer)[seen:]
    ids = {e.get("tracing_id") for e in new}
    assert ids == {rid}, new
    assert {e["method"] for e in new} >= {"list_collections", "cluster_status"}


def test_read_only_key_that_is_the_admin_key_can_write(probe: Any, open_peer: PeerProcess,
                                                       tmp_path: Path) -> None:
    # the open peer has no keys: any "read-only key" may delete collections there
    before = _storage(open_peer)
    key = write_key(tmp_path, "ro.key", "not-really-read-only-0123456789abcdef")
    run = probe(open_peer.url, "--read-only-key-file", key, "--allow-http-keys", "--format", "json")
    finding = next(f for f in run.json()["findings"] if f["rule"] == "QP301")
    assert finding["severity"] == "critical"
    assert finding["evidence"].startswith("DELETE /collections/qdrantsec-probe-")
    assert finding["evidence"].endswith((": 200 OK", ": 404 Not Found"))
    assert _storage(open_peer) == before
    assert "not-really-read-only" not in run.out + run.err


def test_keys_are_not_sent_over_plain_http(probe: Any, open_peer: PeerProcess, tmp_path: Path) -> None:
    key = write_key(tmp_path, "ro.key", "not-really-read-only-0123456789abcdef")
    run = probe(open_peer.url, "--read-only-key-file", key, "--format", "json")
    assert "QP301" not in run.rules()
    assert "keys are not sent over plain http://" in run.err


def test_hardened_instance(probe: Any, hardened: PeerProcess, tls_material: TlsMaterial,
                           tmp_path: Path) -> None:
    before = _storage(hardened)
    seen = len(_audit_entries(hardened))
    admin = write_key(tmp_path, "admin.key", API_KEY)
    ro = write_key(tmp_path, "ro.key", RO_KEY)
    token = write_key(tmp_path, "app.jwt", jwt({"access": [{"collection": "docs", "access": "r"}]}))
    run = probe(hardened.url, "--ca-cert", str(tls_material.ca.cert), "--api-key-file", admin,
                "--read-only-key-file", ro, "--token-file", token, "--metrics-port",
                str(hardened.metrics_port), "--cert-expiry-days", "1", "--format", "json")
    # what is left on a hardened single node: no mTLS (low), telemetry shows jwt_rbac/audit
    # to the read-only key (low), and the metrics port, which has no authentication at all
    assert run.rules() == ["QP206", "QP402", "QP405"], run.out
    assert run.code == 0, run.err  # nothing at or above --fail-on high
    assert _storage(hardened) == before
    rid = request_id(run.err)
    new = _audit_entries(hardened)[seen:]
    assert new and {e.get("tracing_id") for e in new} == {rid}
    # the read-only key's write probe was refused, as it should be
    denied = [e for e in new if e.get("method") == "delete_collection"]
    assert denied and all(e["result"] == "denied" for e in denied)
    assert API_KEY not in run.out + run.err and RO_KEY not in run.out + run.err


def test_read_only_key_that_is_really_the_admin_key(probe: Any, hardened: PeerProcess,
                                                    tls_material: TlsMaterial, tmp_path: Path) -> None:
    before = _storage(hardened)
    fake_ro = write_key(tmp_path, "ro.key", API_KEY)  # handed out as "read-only", but it is the admin key
    run = probe(hardened.url, "--ca-cert", str(tls_material.ca.cert), "--read-only-key-file", fake_ro,
                "--cert-expiry-days", "1", "--format", "json")
    assert run.code == 1
    finding = next(f for f in run.json()["findings"] if f["rule"] == "QP301")
    assert finding["severity"] == "critical"
    assert finding["url"].startswith(f"{hardened.url}/collections/qdrantsec-probe-")
    assert _storage(hardened) == before
    real_ro = write_key(tmp_path, "real-ro.key", RO_KEY)
    assert "QP301" not in probe(hardened.url, "--ca-cert", str(tls_material.ca.cert),
                                "--read-only-key-file", real_ro, "--format", "json").rules()


def test_token_signed_with_another_key_says_the_server_refused_it(probe: Any, hardened: PeerProcess,
                                                                   tls_material: TlsMaterial,
                                                                   tmp_path: Path) -> None:
    # without the admin key explain cannot check the signature and predicts "allowed";
    # "the server answers 403" alone read as a wrong prediction, not as a token refused
    token = write_key(tmp_path, "other.jwt", jwt({"access": [{"collection": "docs", "access": "r"}]},
                                                  secret="another-signing-key-" + "x" * 20))
    run = probe(hardened.url, "--ca-cert", str(tls_material.ca.cert), "--token-file", token,
                "--cert-expiry-days", "1", "--format", "json")
    assert run.code == 0, run.err  # medium findings, under --fail-on high
    mismatches = [f for f in run.json()["findings"] if f["rule"] == "QP303"]
    assert {f["message"] for f in mismatches} >= {
        "GET /collections: token explain predicts allowed, the server answers 403 (InvalidSignature: "
        "the server refuses the token itself; give --api-key-file to check its signature)"}
    assert all(f["severity"] == "medium" for f in mismatches)
    admin = write_key(tmp_path, "admin.key", API_KEY)  # with the key, explain predicts the 403
    assert "QP303" not in probe(hardened.url, "--ca-cert", str(tls_material.ca.cert), "--token-file",
                                token, "--api-key-file", admin, "--format", "json").rules()
