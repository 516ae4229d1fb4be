# ruff: noqa: E501
"""`audit query --url` against a fake ``POST /audit/logs``: push-down, paging past 10,000
entries (also when thousands share one timestamp), and the error messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

import qdrantsec.cli.audit as cli_audit
from tests.audit.fakeapi import FakeAudit, entry
from tests.audit.helpers import run

URL = "http://qdrant.test:6333"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(fake: FakeAudit) -> FakeAudit:
        monkeypatch.setattr(cli_audit, "TRANSPORT", fake.transport())
        return fake
    return install


def many(n_groups: int, per_group: int) -> list[dict[str, object]]:
    """``per_group`` entries on each of ``n_groups`` timestamps, each entry unique."""
    out = []
    for g in range(n_groups):
        ts = f"2026-12-01T10:{g // 60:02d}:{g % 60:02d}.123456789Z"
        for i in range(per_group):
            out.append(entry(ts, tracing_id=f"g{g}-{i}", collection="docs" if i % 2 else "logs"))
    return out


def test_paging_past_10000_with_many_equal_timestamps(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake = serve(FakeAudit(many(9, 3001)))  # 27,009 entries, 3,001 per timestamp
    res = run("audit", "query", "--url", URL, "-n", "0")
    assert res.code == 0, res
    ids = [o["tracing_id"] for o in res.objects]
    assert len(ids) == 27009 and len(set(ids)) == 27009
    want = [e["tracing_id"] for e in fake.entries]
    assert ids == want  # newest first, nothing missing, nothing twice
    assert len(fake.bodies) >= 3
    assert all(b["limit"] == 10000 for b in fake.bodies)
    # the next window ends 1 ns after the oldest timestamp of the page before (group 5)
    assert fake.bodies[1]["time_to"] == "2026-12-01T10:00:05.123456790Z"


def test_oldest_first_through_pages(serve) -> None:  # type: ignore[no-untyped-def]
    fake = serve(FakeAudit(many(5, 2500)))
    res = run("audit", "query", "--url", URL, "-n", "0", "--oldest-first")
    assert [o["tracing_id"] for o in res.objects] == [e["tracing_id"] for e in reversed(fake.entries)]
    res = run("audit", "query", "--url", URL, "-n", "3", "--oldest-first")
    assert [o["tracing_id"] for o in res.objects] == [e["tracing_id"] for e in reversed(fake.entries)][:3]


def test_more_than_a_page_on_one_timestamp_is_partial(serve) -> None:  # type: ignore[no-untyped-def]
    serve(FakeAudit([*many(1, 10001), entry("2026-12-01T09:00:00Z", tracing_id="older")]))
    res = run("audit", "query", "--url", URL, "-n", "0")
    assert res.code == 6
    assert len(res.lines) == 10001 and res.objects[-1]["tracing_id"] == "older"
    assert res.err == ("qdrantsec: warning: more than 10000 entries share the timestamp "
                       "2026-12-01T10:00:00.123456789Z; the API returns only 10000 of them\n")


def test_pushdown_and_local_filters(serve) -> None:  # type: ignore[no-untyped-def]
    fake = serve(FakeAudit([
        entry("2026-12-01T10:00:00Z", collection="docs", result="denied", subject="alice"),
        entry("2026-12-01T10:00:01Z", collection="docs", result="denied", subject="bob"),
        entry("2026-12-01T10:00:02Z", collection="logs", result="denied", subject="carol"),
        entry("2026-12-01T10:00:03Z", collection="docs", result="ok", subject="dave"),
    ]))
    res = run("audit", "query", "--url", URL, "--result", "denied", "-c", "docs", "-c", "logs",
              "-F", "subject!=bob", "--since", "2026-12-01T10:00:00Z", "--time-to", "2026-12-02")
    assert res.code == 0
    assert [o["subject"] for o in res.objects] == ["carol", "alice"]
    assert fake.bodies == [{"limit": 10000, "filters": {"result": "denied"},
                            "time_from": "2026-12-01T10:00:00.000000000Z",
                            "time_to": "2026-12-02T00:00:00.000000000Z"}]
    # nothing left to filter here: the limit goes to the server
    run("audit", "query", "--url", URL, "--subject", "dave", "-n", "7")
    assert fake.bodies[-1] == {"limit": 7, "filters": {"subject": "dave"}}
    assert fake.headers[-1]["x-request-id"].startswith("qdrantsec-audit-")


def test_key_and_env_url(serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    fake = serve(FakeAudit([entry("2026-12-01T10:00:00Z")]))
    key = tmp_path / "admin.key"
    key.write_text("k" * 40 + "\n")
    monkeypatch.setenv("QDRANT_URL", URL)
    res = run("audit", "query", "--api-key-file", str(key))
    assert res.code == 0 and len(res.lines) == 1
    assert fake.headers[-1]["api-key"] == "k" * 40
    assert "k" * 40 not in res.out + res.err
    # with files given, QDRANT_URL from the environment is not a second source
    f = tmp_path / "audit.log"
    f.write_text('{"timestamp":"2026-12-01T10:00:00Z","auth_type":"None","result":"ok"}\n')
    assert run("audit", "query", str(f)).code == 0


@pytest.mark.parametrize(("status", "error", "code", "message"), [
    (400, "Bad request: Audit logging is not configured", 4,
     f"{URL}: Bad request: Audit logging is not configured"),
    (400, "Bad request: Audit logging is not enabled", 4, f"{URL}: Bad request: Audit logging is not enabled"),
    (401, "Must provide an API key or an Authorization bearer token", 5,
     f"{URL}: 401 Must provide an API key or an Authorization bearer token"),
    (403, "Forbidden: Global manage access is required", 5,
     f"{URL}: 403 Forbidden: Global manage access is required"),
    (408, "Timeout: Operation 'Timed out fetching audit logs from peer 7 after Elapsed(())' timed out after 29s",
     3, f"{URL}: 408 Timeout: Operation 'Timed out fetching audit logs from peer 7 after Elapsed(())' timed out after 29s"),
    (500, "Service internal error: Failed to fetch audit logs from peer 7: unavailable", 4,
     f"{URL}: 500 Service internal error: Failed to fetch audit logs from peer 7: unavailable"),
])
def test_api_errors(serve, status: int, error: str, code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    serve(FakeAudit([], status=status, error=error))
    res = run("audit", "query", "--url", URL)
    assert res.code == code, res
    assert res.out == ""
    assert res.err.splitlines()[0] == f"qdrantsec: error: {message}"
    assert len(res.err.splitlines()) <= 2


def test_missing_peers_of_a_newer_server_make_the_answer_partial(serve) -> None:  # type: ignore[no-untyped-def]
    serve(FakeAudit([entry("2026-12-01T10:00:00Z")], extra={"missing_peers": [42]}))
    res = run("audit", "query", "--url", URL)
    assert res.code == 6 and len(res.lines) == 1
    assert res.err == f"qdrantsec: warning: {URL}: the server could not read the audit logs of peer(s) 42\n"


def test_unreachable_server() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run("audit", "query", "--url", f"http://127.0.0.1:{port}", "--timeout", "2")
    assert res.code == 3
    assert res.err.startswith(f"qdrantsec: error: cannot connect to http://127.0.0.1:{port}")


def test_bad_url() -> None:
    res = run("audit", "query", "--url", "qdrant:6333")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: --url 'qdrant:6333' has no scheme")


class Cluster:
    """Fake peers by host name: each answers from its own FakeAudit."""

    def __init__(self, fakes: dict[str, FakeAudit]) -> None:
        self.fakes = fakes

    def __call__(self, request):  # type: ignore[no-untyped-def]
        return self.fakes[request.url.host](request)


def test_peers_merge_tag_and_dedupe(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    shared = entry("2026-12-01T10:00:01Z", tracing_id="both")  # a cluster-wide answer repeats it
    a = FakeAudit([entry("2026-12-01T10:00:00Z", tracing_id="a0"), shared,
                   entry("2026-12-01T10:00:03Z", tracing_id="a3")])
    b = FakeAudit([entry("2026-12-01T10:00:02Z", tracing_id="b2"), dict(shared)])
    c = FakeAudit([], status=408, error="Timeout: Operation 'Timed out fetching audit logs from peer 3 "
                                        "after Elapsed(())' timed out after 29s")
    monkeypatch.setattr(cli_audit, "TRANSPORT", httpx.MockTransport(Cluster({"a": a, "b": b, "c": c})))
    res = run("audit", "query", "--peers", "http://a:6333,http://b:6333,http://c:6333")
    assert res.code == 6
    assert [(o["tracing_id"], o["peer"]) for o in res.objects] == [
        ("a3", "http://a:6333"), ("b2", "http://b:6333"), ("both", "http://a:6333"), ("a0", "http://a:6333")]
    assert res.err == ("qdrantsec: warning: peer http://c:6333 failed: http://c:6333: 408 Timeout: "
                       "Operation 'Timed out fetching audit logs from peer 3 after Elapsed(())' timed out "
                       "after 29s\n")
    # csv and table say which peer; one peer alone gets no peer member
    assert run("audit", "query", "--peers", "http://a:6333,http://b:6333", "-f", "csv").lines[0].endswith(",peer")
    assert "peer" not in run("audit", "query", "--peers", "http://a:6333").objects[0]


def test_key_from_stdin(serve) -> None:  # type: ignore[no-untyped-def]
    fake = serve(FakeAudit([entry("2026-12-01T10:00:00Z")]))
    res = run("audit", "query", "--url", URL, "--api-key-stdin", stdin=b"s" * 40 + b"\n")
    assert res.code == 0 and fake.headers[-1]["api-key"] == "s" * 40
    res = run("audit", "query", "-", "--api-key-stdin", stdin=b"x\n")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: --api-key-stdin is for --url/--peers")


def test_a_cluster_with_one_peer_down_says_to_read_the_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # Qdrant 1.19 (and tests/qdrant_peer): with one peer down, every other peer's POST
    # /audit/logs fails with 500 too (each gathers from all), so --peers gets nothing at all;
    # the error must say so instead of suggesting --peers
    import httpx

    down = "Service internal error: Failed to fetch audit logs from peer 7: status: Unavailable"
    a, b = FakeAudit([], status=500, error=down), FakeAudit([], status=500, error=down)
    monkeypatch.setattr(cli_audit, "TRANSPORT", httpx.MockTransport(Cluster({"a": a, "b": b})))
    res = run("audit", "query", "--peers", "http://a:6333,http://b:6333")
    assert res.code == 4 and res.out == ""
    err = res.err.splitlines()
    assert err[:2] == [f"qdrantsec: warning: peer http://{h}:6333 failed: http://{h}:6333: 500 {down}"
                       for h in "ab"]
    assert err[2] == f"qdrantsec: error: every peer failed; first: http://a:6333: 500 {down}"
    assert err[3] == ("qdrantsec: hint: a peer's POST /audit/logs asks every other peer of the cluster "
                      "and fails as a whole while one is down; --peers does not avoid that, as each "
                      "peer asks the others. Read the audit files of the peers that are up instead: "
                      "qdrantsec audit query --dir AUDIT_DIR on each of them (or copies of their files)")
    assert len(err) == 4


def test_a_slow_peer_times_out_the_whole_cluster_query(serve) -> None:  # type: ignore[no-untyped-def]
    serve(FakeAudit([], status=408, error="Timeout: Operation 'Timed out fetching audit logs from "
                                          "peer 7 after Elapsed(())' timed out after 29s"))
    res = run("audit", "query", "--url", URL)
    assert res.code == 3
    hint = res.err.splitlines()[1]
    assert hint.startswith("qdrantsec: hint: a peer's POST /audit/logs waits for every other peer of "
                           "the cluster, so one slow peer times out the whole query (try a larger "
                           "--timeout); --peers does not avoid that")
