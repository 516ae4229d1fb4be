# ruff: noqa: E501
"""`audit` against real tests/qdrant_peer processes with audit on: entries produced by real
requests are found through POST /audit/logs and through the files with the same results;
paging past 10,000 entries that share timestamps; --peers with one peer stopped; the
API's errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.audit.helpers import qline, run
from tests.peer.conftest import API_KEY, AUTH_CONFIG, RO_KEY, jwt, now
from tests.peer.peerlib import PeerFactory, PeerProcess

pytestmark = pytest.mark.integration

AUDIT = {"audit": {"enabled": True, "dir": "./audit"}}
DENY = "Forbidden: Write access to collection docs is required"


def _config(**extra: Any) -> dict[str, Any]:
    return {**AUTH_CONFIG, **AUDIT, **extra}


def _traffic(peer: PeerProcess) -> None:
    """Real requests: ok with the api key, denied by access (JWT), denied authentication."""
    def ok(resp: Any) -> None:
        assert resp.status_code < 300, resp.text

    ok(peer.request("PUT", "/collections/docs", api_key=API_KEY,
                    headers={"x-request-id": "req-create"},
                    json_body={"vectors": {"size": 2, "distance": "Dot"}}))
    ok(peer.request("PUT", "/collections/docs/points?wait=true", api_key=API_KEY,
                    headers={"x-request-id": "req-upsert"},
                    json_body={"points": [{"id": 1, "vector": [0.1, 0.2]}]}))
    reader = jwt({"access": [{"collection": "docs", "access": "r"}], "subject": "alice",
                  "exp": now() + 600})
    denied = peer.request("PUT", "/collections/docs/points", bearer=reader,
                          headers={"x-request-id": "req-denied"},
                          json_body={"points": [{"id": 2, "vector": [0.1, 0.2]}]})
    assert denied.status_code == 403
    ok(peer.request("POST", "/collections/docs/points/scroll", bearer=reader,
                    headers={"x-tracing-id": "req-scroll"}, json_body={}))
    assert peer.request("GET", "/collections").status_code == 401
    assert peer.request("GET", "/collections", api_key="wrong-key").status_code == 401


@pytest.fixture(scope="module")
def peer(module_peer_factory: PeerFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    p = module_peer_factory(_config(), name="audit-peer")
    _traffic(p)
    time.sleep(0.05)
    # every query through the API is itself audited (get_audit_logs): compare up to here
    ns = time.time_ns()
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
    key = tmp_path_factory.mktemp("keys") / "admin.key"
    key.write_text(API_KEY + "\n")
    key.chmod(0o600)
    return {"peer": p, "until": until, "key": str(key), "dir": str(p.workdir / "audit")}


def _both(peer: dict[str, Any], *args: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    via_api = run("audit", "query", "--url", peer["peer"].url, "--api-key-file", peer["key"],
                  "--until", peer["until"], "-n", "0", *args)
    via_files = run("audit", "query", "--dir", peer["dir"], "--until", peer["until"], "-n", "0", *args)
    assert via_api.code == 0 and via_api.err == "", via_api
    assert via_files.code == 0 and via_files.err == "", via_files
    assert via_api.out == via_files.out  # byte for byte: the same lines
    return via_api.objects, via_files.objects


def test_denied_by_access_with_tracing_id_and_jwt_subject(peer: dict[str, Any]) -> None:
    got, _ = _both(peer, "--tracing-id", "req-denied")
    assert len(got) == 1
    e = got[0]
    assert list(e) == ["timestamp", "method", "api", "auth_type", "subject", "remote", "collection",
                       "tracing_id", "result", "error"]
    assert (e["method"], e["auth_type"], e["subject"], e["remote"], e["collection"], e["result"],
            e["error"]) == ("upsert_points", "Jwt", "alice", "127.0.0.1", "docs", "denied", DENY)


@pytest.mark.parametrize(("args", "expect"), [
    (["--result", "denied"], [("None", None), ("None", None), ("Jwt", "upsert_points")]),
    (["--auth-type", "None"], [("None", None), ("None", None)]),
    (["--subject", "alice", "--oldest-first"], [("Jwt", "upsert_points"), ("Jwt", "scroll")]),
    (["-F", "tracing_id~^req-(create|upsert)$", "--oldest-first"],
     [("ApiKey", "create_collection"), ("ApiKey", "upsert_points")]),
    (["-c", "docs", "-F", "result!=denied", "-F", "auth_type=Jwt"], [("Jwt", "scroll")]),
    (["--method", "scroll", "--method", "create_collection", "--no-internal"],
     [("Jwt", "scroll"), ("ApiKey", "create_collection")]),
])
def test_api_and_files_agree(peer: dict[str, Any], args: list[str], expect: list[tuple[str, str | None]]) -> None:
    got, _ = _both(peer, *args)
    assert [(e["auth_type"], e.get("method")) for e in got] == expect


def test_denied_authentication_entries(peer: dict[str, Any]) -> None:
    got, _ = _both(peer, "--auth-type", "None", "--oldest-first")
    assert [e["error"] for e in got] == [
        "Unauthorized: Must provide an API key or an Authorization bearer token",
        "Unauthorized: Invalid API key or JWT"]
    assert all(e["api"] == "/collections" and "method" not in e for e in got)


def test_summary_api_and_files_agree(peer: dict[str, Any]) -> None:
    api = run("audit", "summary", "--url", peer["peer"].url, "--api-key-file", peer["key"],
              "--until", peer["until"], "-f", "json")
    files = run("audit", "summary", "--dir", peer["dir"], "--until", peer["until"], "-f", "json")
    assert api.code == files.code == 0
    assert api.out == files.out
    data = json.loads(api.out)
    assert data["by_result"] == {"denied": 3, "ok": 3}
    assert data["by_subject"] == {"(none)": 4, "alice": 2}


@pytest.mark.parametrize(("key", "code", "message"), [
    ("wrong-key", 5, "401 Invalid API key or JWT"),
    (RO_KEY, 5, "403 Forbidden: Global manage access is required"),
])
def test_refused_credentials(peer: dict[str, Any], tmp_path: Path, key: str, code: int, message: str) -> None:
    f = tmp_path / "k"
    f.write_text(key)
    res = run("audit", "query", "--url", peer["peer"].url, "--api-key-file", str(f))
    assert res.code == code
    assert res.err.splitlines()[0] == f"qdrantsec: error: {peer['peer'].url}: {message}"
    assert key not in res.err


def test_mutual_tls_needs_a_client_certificate(peer_factory: PeerFactory,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    # TLS 1.3 refuses a missing client certificate on the first read: the error had no hint
    from tests.peer.conftest import TlsMaterial

    tls = TlsMaterial(tmp_path_factory.mktemp("audit-mtls"))
    p = peer_factory({**_config(), "service": {**AUTH_CONFIG["service"], "enable_tls": True,
                                               "verify_https_client_certificate": True},
                      "tls": tls.tls_section()}, ca_path=tls.ca.cert,
                     client_cert=(str(tls.client.cert), str(tls.client.key)))
    key = tmp_path_factory.mktemp("k") / "admin.key"
    key.write_text(API_KEY)
    base = ["audit", "query", "--url", p.url, "--api-key-file", str(key), "--ca-cert", str(tls.ca.cert)]
    res = run(*base)
    assert res.code == 3 and res.out == ""
    err = res.err.splitlines()
    assert err[0].startswith(f"qdrantsec: error: {p.url}: ReadError: ") and "CERTIFICATE_REQUIRED" in err[0]
    assert err[1:] == ["qdrantsec: hint: the server demands a client certificate "
                       "(verify_https_client_certificate): pass --client-cert CERT.pem --client-key KEY.pem"]
    res = run(*base, "--client-cert", str(tls.client.cert))  # the key is in another file
    assert res.code == 2
    assert res.err.splitlines()[1] == ("qdrantsec: hint: its private key is not in that file: pass it with "
                                       "--client-key KEY.pem")
    res = run(*base, "--client-cert", str(tls.client.cert), "--client-key", str(tls.client.key))
    assert res.code == 0 and res.err == "" and res.objects


@pytest.mark.parametrize(("audit", "message"), [
    (None, "Bad request: Audit logging is not configured"),
    ({"enabled": False}, "Bad request: Audit logging is not enabled"),
])
def test_audit_off(peer_factory: PeerFactory, audit: Any, message: str) -> None:
    cfg: dict[str, Any] = {}
    if audit is not None:
        cfg["audit"] = audit
    p = peer_factory(cfg)
    res = run("audit", "query", "--url", p.url)
    assert res.code == 4
    assert res.err == (f"qdrantsec: error: {p.url}: {message}\n"
                       "qdrantsec: hint: set audit.enabled: true in the Qdrant config and restart it\n")


def test_paging_past_10000_with_equal_timestamps(peer_factory: PeerFactory, tmp_path: Path) -> None:
    p = peer_factory({**AUDIT}, start=False)
    adir = p.workdir / "audit"
    adir.mkdir(parents=True)
    lines = []
    for second in range(6):  # 6 x 2,500 entries, each group on one timestamp
        ts = f"2026-11-30T10:00:0{second}.123456789Z"
        lines += [qline(ts, method="scroll", auth_type="None", remote="10.0.0.5", collection="docs",
                        tracing_id=f"{second}-{i}") for i in range(2500)]
    (adir / "audit.2026-11-30.log").write_text("".join(lines))
    p.start()
    res = run("audit", "query", "--url", p.url, "-n", "0", "--until", "2026-12-01")
    assert res.code == 0, res.err
    ids = [o["tracing_id"] for o in res.objects]
    assert len(ids) == 15000 and len(set(ids)) == 15000
    # newest first: group 5 first; inside a group the peer's reader order (file order reversed)
    want = [json.loads(x)["tracing_id"] for x in reversed(lines)]
    assert ids == want
    files = run("audit", "query", "--dir", str(adir), "-n", "0", "--until", "2026-12-01")
    assert files.out == res.out


def test_peers_with_one_stopped(peer_factory: PeerFactory, tmp_path: Path) -> None:
    peers = peer_factory.many(3, _config())
    for i, p in enumerate(peers):
        assert p.request("GET", "/collections", api_key=API_KEY,
                         headers={"x-request-id": f"from-{i}"}).status_code == 200
        time.sleep(0.01)
    peers[1].stop()
    key = tmp_path / "admin.key"
    key.write_text(API_KEY)
    urls = ",".join(p.url for p in peers)
    res = run("audit", "query", "--peers", urls, "--api-key-file", str(key), "-F", "tracing_id~^from-",
              "--timeout", "5")
    assert res.code == 6, res
    assert [(o["tracing_id"], o["peer"]) for o in res.objects] == [("from-2", peers[2].url),
                                                                    ("from-0", peers[0].url)]
    # everything but the peer member is the line as the peer wrote it
    written = (peers[0].workdir / "audit").glob("audit.*.log")
    raw = [x for f in written for x in f.read_text().splitlines() if '"from-0"' in x]
    assert res.lines[1] == raw[0][:-1] + f',"peer":"{peers[0].url}"}}'
    err = res.err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"qdrantsec: warning: peer {peers[1].url} failed: "
                                               f"cannot connect to {peers[1].url}")
    table = run("audit", "query", "--peers", urls, "--api-key-file", str(key), "-F", "tracing_id~^from-",
                "--format", "table")
    assert table.code == 6 and f"peer {peers[2].url}" in table.out
    peers[0].stop()
    peers[2].stop()
    res = run("audit", "query", "--peers", urls, "--api-key-file", str(key))
    assert res.code == 3
    assert res.err.splitlines()[-1].startswith("qdrantsec: error: every peer failed; first: cannot connect")


def test_peers_with_one_hanging(peer_factory: PeerFactory, tmp_path: Path) -> None:
    import os
    import signal

    peers = peer_factory.many(2, _config())
    for i, p in enumerate(peers):
        assert p.request("GET", "/collections", api_key=API_KEY,
                         headers={"x-request-id": f"hang-{i}"}).status_code == 200
    key = tmp_path / "admin.key"
    key.write_text(API_KEY)
    assert peers[1].pid is not None
    os.kill(peers[1].pid, signal.SIGSTOP)  # accepts connections (kernel backlog), never answers
    try:
        res = run("audit", "query", "--peers", f"{peers[0].url},{peers[1].url}", "--api-key-file", str(key),
                  "-F", "tracing_id~^hang-", "--timeout", "1")
    finally:
        os.kill(peers[1].pid, signal.SIGCONT)
    assert res.code == 6, res
    assert [(o["tracing_id"], o["peer"]) for o in res.objects] == [("hang-0", peers[0].url)]
    assert res.err == (f"qdrantsec: warning: peer {peers[1].url} failed: {peers[1].url}: timed out "
                       "(POST /audit/logs)\n")
