"""The probe command end to end: formats, exit codes, usage errors, tokens, clusters and
versions, against real test peers (and a small fake "old Qdrant" HTTP server for versions
the peer cannot report)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.peer.conftest import API_KEY, jwt
from tests.peer.peerlib import PeerProcess, free_port
from tests.probe.conftest import write_key

pytestmark = pytest.mark.integration
SCHEMA = Path(__file__).resolve().parents[1] / "lint" / "sarif-2.1.0.schema.json"


@pytest.fixture(scope="module")
def open_peer(module_peer_factory: Any) -> PeerProcess:
    return module_peer_factory()


@pytest.fixture(scope="module")
def keyed_peer(module_peer_factory: Any) -> PeerProcess:
    """An API key, jwt_rbac off: tokens are refused (401) whatever they say."""
    return module_peer_factory({"service": {"api_key": API_KEY, "enable_cors": False}})


@pytest.fixture
def old_qdrant() -> Iterator[str]:
    """An HTTP server that says it is Qdrant 1.17.0 and refuses everything but GET /."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                body = json.dumps({"title": "qdrant - vector search engine", "version": "1.17.0"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            else:
                body = b"Must provide an API key or an Authorization bearer token"
                self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- formats --------------------------------------------------------------------------------

def test_sarif_points_at_the_urls_and_validates(probe: Any, open_peer: PeerProcess) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    run = probe(open_peer.url, "--format", "sarif")
    assert run.code == 1
    sarif = json.loads(run.out)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    (result_run,) = sarif["runs"]
    results = {r["ruleId"]: r for r in result_run["results"]}
    assert set(results) == {"QP101", "QP102", "QP201", "QP401", "QP404"}
    location = results["QP101"]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": f"{open_peer.url}/collections"}}
    assert results["QP101"]["properties"]["evidence"] == "GET /collections without credentials: 200 OK"
    rules = {r["id"]: r for r in result_run["tool"]["driver"]["rules"]}
    assert rules["QP101"]["helpUri"].endswith("#qp101-open-instance")
    assert "QP301" in rules  # every check is described, not only those that fired


def test_github_annotations_are_workflow_level(probe: Any, open_peer: PeerProcess,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    run = probe(open_peer.url)  # --format auto picks github under GitHub Actions
    lines = run.out.splitlines()
    assert lines[-1] == "5 problems (1 critical, 2 high, 2 medium) in 1 URL checked."
    open_line = next(line for line in lines if "QP101" in line)
    assert open_line.startswith("::error title=QP101 open-instance::collections can be listed")
    assert "file=" not in open_line
    assert f"%0AURL: {open_peer.url}/collections%0A" in open_line
    assert "%0AEvidence: GET /collections without credentials: 200 OK%0A" in open_line
    assert any(line.startswith("::warning title=QP404 cors-any-origin::") for line in lines)


def test_text(probe: Any, open_peer: PeerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    run = probe(open_peer.url, "--format", "text")
    lines = run.out.splitlines()
    head = next(line for line in lines if "QP101" in line)
    assert head.startswith(f"{open_peer.url}/collections  CRITICAL  QP101 open-instance  ")
    assert lines[lines.index(head) + 1] == "    evidence: GET /collections without credentials: 200 OK"
    assert lines[-1] == "5 problems (1 critical, 2 high, 2 medium) in 1 URL checked."
    assert "\x1b[" not in run.out


def test_output_file_and_fail_on(probe: Any, open_peer: PeerProcess, tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    run = probe(open_peer.url, "--format", "json", "-o", str(out), "--fail-on", "critical")
    assert run.code == 1 and run.out == ""
    assert json.loads(out.read_text())["summary"]["by_severity"]["critical"] == 1


def test_clean_run_exits_zero(probe: Any, keyed_peer: PeerProcess) -> None:
    run = probe(keyed_peer.url, "--format", "json")
    assert run.rules() == ["QP201"]  # plain http is all there is (no key, no CORS, 1.19.0)
    assert run.code == 1
    assert probe(keyed_peer.url, "--fail-on", "critical", "--format", "text").code == 0


# -- exit codes and usage errors ---------------------------------------------------------

def test_nothing_reachable_exits_3(probe: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    run = probe(dead, "--format", "json")
    assert run.code == 3
    assert f"qdrantsec: error: {dead}: cannot connect to {dead}: " in run.err  # said once, not twice
    doc = run.json()
    assert doc["findings"] == [] and doc["errors"][0]["file"] == dead
    assert doc["summary"]["urls"] == 0 and doc["summary"]["errors"] == 1  # nothing was checked
    github = probe(dead, "--format", "github").out.splitlines()
    assert github[0].startswith(f"::error title=qdrantsec%3A URL not reached::{dead}: cannot connect to ")
    assert github[-1] == "No problems found in 0 URLs. 1 URL could not be reached."
    sarif = json.loads(probe(dead, "--format", "sarif").out)["runs"][0]
    (notification,) = sarif["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": dead}
    assert sarif["invocations"][0]["executionSuccessful"] is False and sarif["results"] == []


def test_one_of_two_unreachable(probe: Any, open_peer: PeerProcess, keyed_peer: PeerProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert probe(open_peer.url, dead, "--format", "json").code == 1  # findings win
    partial = probe(keyed_peer.url, dead, "--fail-on", "critical", "--format", "text")
    assert partial.code == 3  # not clean: a URL was not probed
    assert partial.out.splitlines()[-1] == ("1 problem (1 high) in 1 URL checked. "
                                            "1 URL could not be reached.")


@pytest.mark.parametrize(("args", "message"), [
    (["localhost:6333"], "'localhost:6333' has no scheme"),
    (["ftp://h:21"], "the scheme must be http or https, not 'ftp'"),
    (["http://h:6333/collections"], "give the REST base URL only"),
    (["http://h:99999"], "the port is not a number from 0 to 65535"),
    (["https://a..b:6333"], "the host is not an IP address or a DNS name: empty label"),
    (["https://[::1:6333"], "is not a URL"),
    ([], "no URL to probe"),
    (["http://h:6333", "--format", "junit"], "unknown format 'junit'"),
    (["http://h:6333", "--fail-on", "severe"], "unknown severity 'severe'"),
    (["http://h:6333", "--read-only-key-file", "/nonexistent/ro.key"], "key file not found"),
    (["http://h:6333", "--client-key", "k.pem"], "--client-key needs --client-cert"),
    (["https://h:6333", "--ca-cert", "/dev/zero"], "CA certificate /dev/zero"),
    (["https://h:6333", "--ca-cert", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
    (["--explain", "QP999"], "unknown probe check QP999"),
])
def test_usage_errors_exit_2(probe: Any, args: list[str], message: str) -> None:
    run = probe(*args)
    assert run.code == 2, run.err
    assert run.err.startswith("qdrantsec: error: ") and message in run.err
    assert "Traceback" not in run.err


def test_key_file_hints_name_the_option_given(probe: Any, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # the key itself given where its file belongs: the hint names the option that was used
    # (it named --api-key-file for --read-only-key-file) and the key is never echoed
    monkeypatch.chdir(tmp_path)
    key = "Abcdefghijklmnop1234567890"
    run = probe("http://h:6333", "--read-only-key-file", key)
    assert run.code == 2 and key not in run.err
    assert run.err.startswith("qdrantsec: error: key file not found, and its name looks like a key")
    (hint,) = [line for line in run.err.splitlines() if line.startswith("qdrantsec: hint: ")]
    assert hint.startswith("qdrantsec: hint: --read-only-key-file takes a path")
    assert "--api-key" not in run.err
    admin = probe("http://h:6333", "--api-key-file", key)
    assert admin.code == 2 and key not in admin.err
    assert "qdrantsec: hint: --api-key-file takes a path" in admin.err


def test_list_and_explain(probe: Any) -> None:
    listing = probe("--list-checks")
    assert listing.code == 0 and listing.out.splitlines()[0].split() == ["ID", "NAME", "SEVERITY", "SUMMARY"]
    assert sum(1 for line in listing.out.splitlines() if line.startswith("QP")) >= 19
    explained = probe("--explain", "read-only-key-can-write")
    assert explained.out.startswith("QP301 read-only-key-can-write (default severity: critical)")


# -- tokens ---------------------------------------------------------------------------------

def test_token_refused_by_a_server_without_jwt_rbac(probe: Any, keyed_peer: PeerProcess,
                                                    tmp_path: Path) -> None:
    token = write_key(tmp_path, "t.jwt", jwt({"access": "r"}))
    admin = write_key(tmp_path, "admin.key", API_KEY)
    run = probe(keyed_peer.url, "--token-file", token, "--api-key-file", admin, "--allow-http-keys",
                "--format", "json")
    mismatches = [f for f in run.json()["findings"] if f["rule"] == "QP303"]
    # read probes: predicted allowed, the server (jwt_rbac off) says 401
    assert {f["evidence"].split(" with")[0] for f in mismatches} >= {"GET /collections", "GET /telemetry"}
    assert all(f["severity"] == "medium" and "401" in f["message"] for f in mismatches)


def test_token_allowed_more_than_predicted(probe: Any, open_peer: PeerProcess, tmp_path: Path) -> None:
    before = open_peer.request("GET", "/collections").json()
    token = write_key(tmp_path, "t.jwt", jwt({"access": "r"}))
    run = probe(open_peer.url, "--token-file", token, "--allow-http-keys", "--format", "json")
    worse = [f for f in run.json()["findings"] if f["rule"] == "QP303"]
    assert worse and all(f["severity"] == "high" for f in worse)
    assert {f["evidence"].split(" ")[0] for f in worse} == {"POST", "DELETE"}
    assert "more access than predicted" in worse[0]["message"]
    assert open_peer.request("GET", "/collections").json()["result"] == before["result"]


# -- versions and clusters ------------------------------------------------------------------

def test_old_version_and_peers_disagreeing(probe: Any, open_peer: PeerProcess, old_qdrant: str) -> None:
    run = probe(old_qdrant, "--peers", f"{open_peer.url}", "--format", "json")
    doc = run.json()
    fixes = [f for f in doc["findings"] if f["rule"] == "QP501"]
    ids = {f["message"].split(" for ")[1].split(":")[0] for f in fixes}
    # 1.17.0 lacks the fixes of 1.17.1, 1.18.1 and 1.19.0, not those of 1.8.x
    assert ids == {"qdrant-pr-8341", "GHSA-3v92-w72v-j994", "qdrant-issue-8856", "GHSA-p9c2-9vq2-gxh8"}
    assert all(f["target"] == old_qdrant for f in fixes)
    s3 = next(f for f in fixes if "GHSA-p9c2-9vq2-gxh8" in f["message"])
    assert "https://github.com/qdrant/qdrant/security/advisories/GHSA-p9c2-9vq2-gxh8" in s3["message"]
    differ = next(f for f in doc["findings"] if f["rule"] == "QP602")
    assert "1.17.0" in differ["message"] and "1.19.0" in differ["message"]
    assert doc["summary"]["urls"] == 2


def test_p2p_port_reachable(probe: Any, module_peer_factory: Any, tmp_path: Path) -> None:
    peer = module_peer_factory({"service": {"api_key": API_KEY}, "cluster": {"enabled": True}})
    closed = probe(peer.url, "--format", "json")  # no key: /cluster unread, 6335 closed
    assert "QP601" not in closed.rules()
    by_port = probe(peer.url, "--p2p-port", str(peer.p2p_port), "--format", "json")
    finding = next(f for f in by_port.json()["findings"] if f["rule"] == "QP601")
    assert finding["url"] == f"tcp://127.0.0.1:{peer.p2p_port}"
    assert finding["evidence"] == f"TCP connect to 127.0.0.1:{peer.p2p_port}: connected (nothing sent)"
    admin = write_key(tmp_path, "admin.key", API_KEY)
    from_cluster = probe(peer.url, "--api-key-file", admin, "--allow-http-keys", "--format", "json")
    finding = next(f for f in from_cluster.json()["findings"] if f["rule"] == "QP601")
    assert "in GET /cluster" in finding["message"]
    assert finding["url"] == f"tcp://127.0.0.1:{peer.p2p_port}"
    # the port the deployment named is used: no note about a guessed 6335 being closed
    assert "6335" not in from_cluster.err and "p2p port" not in from_cluster.err


def test_a_server_that_never_stops_sending(probe: Any) -> None:
    """Every answer is read up to a bound: an endless body cannot hold the probe for ever."""

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run = probe(f"http://127.0.0.1:{server.server_address[1]}", "--format", "json")
    finally:
        server.shutdown()
        server.server_close()
    assert run.code == 1
    assert {"QP101", "QP102", "QP201", "QP401", "QP403"} <= set(run.rules())
    assert "does not look like Qdrant" in run.err
