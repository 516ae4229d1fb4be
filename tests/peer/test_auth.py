"""Authentication conformance (facts 2.1-2.5, 3) over real sockets."""

from __future__ import annotations

import http.client
from typing import Any

import pytest

from tests.peer.conftest import ALT_KEY, API_KEY, AUTH_CONFIG, RO_KEY, jwt, now
from tests.peer.peerlib import PeerFactory, PeerProcess

pytestmark = pytest.mark.integration

MISSING = "Must provide an API key or an Authorization bearer token"
INVALID = "Invalid API key or JWT"
STATEFUL = "Invalid JWT, stateful validation failed"


@pytest.fixture(scope="module")
def peer(module_peer_factory: PeerFactory) -> PeerProcess:
    p = module_peer_factory(AUTH_CONFIG, name="auth")
    r = p.request(
        "PUT", "/collections/docs", api_key=API_KEY,
        json_body={"vectors": {"size": 2, "distance": "Dot"}},
    )
    assert r.status_code == 200, r.text
    r = p.request(
        "PUT", "/collections/docs/points?wait=true", api_key=API_KEY,
        json_body={"points": [
            {"id": 1, "vector": [1, 0], "payload": {"user": "alice", "tags": ["x", "y"], "n": 5}},
        ]},
    )
    assert r.status_code == 200, r.text
    return p


@pytest.fixture(scope="module")
def single_key_peer(module_peer_factory: PeerFactory) -> PeerProcess:
    return module_peer_factory(
        {"service": {"api_key": API_KEY, "jwt_rbac": True}}, name="single"
    )


def raw_get(peer: PeerProcess, path: str, headers: list[tuple[str, bytes]]) -> tuple[int, bytes]:
    """A GET with raw header bytes (http.client keeps latin-1 bytes as they are)."""
    conn = http.client.HTTPConnection("127.0.0.1", peer.http_port, timeout=10)
    conn.putrequest("GET", path)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def get(peer: PeerProcess, path: str = "/collections", **kw: Any) -> tuple[int, str]:
    r = peer.request("GET", path, **kw)
    return r.status_code, r.text


# ----------------------------------------------------------------------- credential sources


def test_no_credentials_401_plain_text_without_content_type(peer: PeerProcess) -> None:
    r = peer.request("GET", "/collections")
    assert r.status_code == 401
    assert r.text == MISSING
    assert "content-type" not in r.headers


@pytest.mark.parametrize("key", [API_KEY, ALT_KEY, RO_KEY])
@pytest.mark.parametrize("form", ["api-key", "bearer"])
def test_plain_keys(peer: PeerProcess, key: str, form: str) -> None:
    kw = {"api_key": key} if form == "api-key" else {"bearer": key}
    status, body = get(peer, **kw)
    assert status == 200, body


def test_header_name_case_insensitive(peer: PeerProcess) -> None:
    assert get(peer, headers={"Api-Key": API_KEY})[0] == 200
    assert get(peer, headers={"AUTHORIZATION": f"Bearer {API_KEY}"})[0] == 200


@pytest.mark.parametrize("value", [f"bearer {API_KEY}", f"Basic {API_KEY}", f"Bearer  {API_KEY}",
                                   API_KEY])
def test_authorization_needs_exact_bearer_prefix(peer: PeerProcess, value: str) -> None:
    status, body = get(peer, headers={"Authorization": value})
    if value.startswith("Bearer  "):
        assert (status, body) == (401, INVALID)  # credential keeps the extra space
    else:
        assert (status, body) == (401, MISSING)


def test_api_key_header_wins_even_when_empty(peer: PeerProcess) -> None:
    status, body = raw_get(
        peer, "/collections", [("api-key", b""), ("Authorization", f"Bearer {API_KEY}".encode())]
    )
    assert (status, body.decode()) == (401, INVALID)
    status, _ = raw_get(
        peer, "/collections", [("api-key", b"wrong"), ("Authorization", f"Bearer {API_KEY}".encode())]
    )
    assert status == 401


def test_non_visible_ascii_api_key_is_absent(peer: PeerProcess) -> None:
    status, _ = raw_get(
        peer, "/collections",
        [("api-key", b"caf\xe9"), ("Authorization", f"Bearer {API_KEY}".encode())],
    )
    assert status == 200
    status, body = raw_get(peer, "/collections", [("api-key", b"caf\xe9")])
    assert (status, body.decode()) == (401, MISSING)


def test_unknown_key_is_401(peer: PeerProcess) -> None:
    assert get(peer, api_key="nope") == (401, INVALID)
    assert get(peer, api_key=API_KEY + "x") == (401, INVALID)


def test_read_only_key_cannot_write(peer: PeerProcess) -> None:
    r = peer.request("PUT", "/collections/ro_try", api_key=RO_KEY, json_body={})
    assert r.status_code == 403
    assert r.json()["status"]["error"] == "Forbidden: Global manage access is required"
    assert "result" not in r.json()
    assert isinstance(r.json()["time"], float)


# ----------------------------------------------------------------------- whitelist / routes


@pytest.mark.parametrize("path", ["/", "/healthz", "/livez", "/readyz", "/readyz/", "/healthz/"])
def test_whitelisted_paths_ignore_credentials(peer: PeerProcess, path: str) -> None:
    assert get(peer, path)[0] == 200
    assert get(peer, path, api_key="garbage")[0] == 200
    assert get(peer, path, bearer="x.y.z")[0] == 200


def test_health_bodies(peer: PeerProcess) -> None:
    r = peer.request("GET", "/healthz")
    assert r.text == "healthz check passed"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert peer.request("GET", "/readyz").text == "all shards are ready"
    root = peer.request("GET", "/").json()
    assert root["title"] == "qdrant - vector search engine"
    assert root["version"] == "1.19.0"


@pytest.mark.parametrize(
    "path", ["/metrics", "/telemetry", "/healthz/x", "/readyzz", "/dashboard",
             "/dashboard%2f..%2fcollections", "/no/such/route"]
)
def test_non_whitelisted_need_credentials(peer: PeerProcess, path: str) -> None:
    assert get(peer, path) == (401, MISSING)


@pytest.mark.parametrize("path", ["/no/such/route", "/dashboard", "/dashboard%2f..%2fcollections"])
def test_unknown_route_with_credentials_is_404(peer: PeerProcess, path: str) -> None:
    assert get(peer, path, api_key=API_KEY)[0] == 404


def test_dashboard_whitelisted_only_when_static_dir_exists(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}}, start=False)
    (p.workdir / "static").mkdir()
    (p.workdir / "static" / "index.html").write_text("<html>ui</html>")
    p.start()
    r = p.request("GET", "/dashboard")
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    assert "ui" in r.text
    assert get(p, "/dashboard%2f..%2fcollections") == (401, MISSING)
    assert get(p, "/collections") == (401, MISSING)


def test_trailing_slash_trimmed_before_auth(peer: PeerProcess) -> None:
    assert get(peer, "/collections/", api_key=API_KEY)[0] == 200
    assert get(peer, "/collections/")[0] == 401


# ----------------------------------------------------------------------- JWT


@pytest.mark.parametrize("form", ["api-key", "bearer"])
def test_jwt_global_modes(peer: PeerProcess, form: str) -> None:
    def kw(token: str) -> dict[str, Any]:
        return {"api_key": token} if form == "api-key" else {"bearer": token}

    assert get(peer, **kw(jwt({"access": "m"})))[0] == 200
    assert get(peer, **kw(jwt({})))[0] == 200  # access defaults to manage
    r = peer.request("PUT", "/collections/x_try", json_body={}, **kw(jwt({"access": "r"})))
    assert r.status_code == 403
    assert get(peer, **kw(jwt({"access": "r"})))[0] == 200


def test_jwt_expiry_and_leeway(peer: PeerProcess) -> None:
    t = now()
    assert get(peer, api_key=jwt({"exp": t - 20}))[0] == 200
    assert get(peer, api_key=jwt({"exp": t - 29}))[0] == 200
    assert get(peer, api_key=jwt({"exp": t - 60})) == (403, "ExpiredSignature")
    assert get(peer, api_key=jwt({"exp": t + 3600}))[0] == 200
    assert get(peer, api_key=jwt({"sub": "x"}))[0] == 200  # no exp: never expires


def test_jwt_wrong_signature_403(peer: PeerProcess) -> None:
    assert get(peer, api_key=jwt({"access": "m"}, "another-secret")) == (403, "InvalidSignature")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt({"access": "m"}, alg="none"), id="alg-none"),
        pytest.param(jwt({"access": "m"}, alg="HS384"), id="hs384"),
        pytest.param(jwt({"access": "m"}, alg="HS512"), id="hs512"),
        pytest.param(jwt({"access": "m", "xx": "y"}, pad=True), id="padded"),
        pytest.param(jwt({"access": "m"}, header={"typ": "JWT"}), id="no-alg"),
        pytest.param(jwt({"access": "m"}, header={"alg": "RS256"}), id="rs256-header"),
        pytest.param("a.b", id="two-parts"),
        pytest.param(jwt({"access": "m"}, header={"alg": "HS256", "typ": 1}), id="typ-int"),
        pytest.param(jwt({"access": "rw"}), id="global-rw"),
        pytest.param(jwt({"access": None}), id="access-null"),
        pytest.param(jwt({"exp": 1.5e12}), id="float-exp"),
        pytest.param(jwt({"exp": "123"}), id="string-exp"),
        pytest.param(jwt({"sub": 5}), id="int-sub"),
        pytest.param(jwt({"access": [{"collection": "docs", "access": "x"}]}), id="bad-mode"),
        pytest.param(jwt({"value_exists": {"collection": "docs", "matches": [
            {"key": "n", "value": 1.5}]}}), id="float-match"),
        pytest.param(jwt({}, raw_payload=b"not json"), id="payload-not-json"),
        pytest.param(jwt({}, raw_payload=b"[1]"), id="payload-array"),
    ],
)
def test_jwt_not_usable_is_401(single_key_peer: PeerProcess, token: str) -> None:
    assert get(single_key_peer, api_key=token) == (401, INVALID)
    assert get(single_key_peer, bearer=token) == (401, INVALID)


def test_jwt_malformed_claims_even_if_expired_is_401(single_key_peer: PeerProcess) -> None:
    token = jwt({"exp": now() - 1000, "access": "bogus"})
    assert get(single_key_peer, api_key=token) == (401, INVALID)


def test_jwt_deprecated_payload_and_duplicates_401(peer: PeerProcess) -> None:
    status, body = get(
        peer, api_key=jwt({"access": [{"collection": "docs", "access": "r", "payload": {"a": 1}}]})
    )
    assert status == 401
    assert "payload" in body and "deprecated" in body
    ok = jwt({"access": [{"collection": "docs", "access": "r", "payload": None}]})
    assert get(peer, api_key=ok)[0] == 200
    status, body = get(peer, api_key=jwt({"access": [
        {"collection": "docs", "access": "r"}, {"collection": "docs", "access": "rw"}]}))
    assert status == 401
    assert "unique" in body


def test_jwt_signed_by_alt_key(peer: PeerProcess) -> None:
    assert get(peer, api_key=jwt({"access": "m"}, ALT_KEY))[0] == 200
    # error precedence (facts 2.3): the api_key parser's InvalidSignature comes first
    assert get(peer, api_key=jwt({"exp": now() - 100}, ALT_KEY)) == (403, "InvalidSignature")
    bad_claims = jwt({"access": "bogus"}, API_KEY)
    assert get(peer, api_key=bad_claims) == (403, "InvalidSignature")
    payload_alt = jwt({"access": [{"collection": "d", "access": "r", "payload": {}}]}, ALT_KEY)
    assert get(peer, api_key=payload_alt) == (403, "InvalidSignature")
    payload_main = jwt({"access": [{"collection": "d", "access": "r", "payload": {}}]}, API_KEY)
    assert get(peer, api_key=payload_main)[0] == 401


@pytest.mark.parametrize("secret", [API_KEY, ALT_KEY])
def test_value_exists(peer: PeerProcess, secret: str) -> None:
    def tok(collection: str, key: str, value: Any) -> str:
        return jwt({"value_exists": {"collection": collection,
                                     "matches": [{"key": key, "value": value}]}}, secret)

    assert get(peer, api_key=tok("docs", "user", "alice"))[0] == 200
    assert get(peer, api_key=tok("docs", "tags", "y"))[0] == 200  # any array element
    assert get(peer, api_key=tok("docs", "n", 5))[0] == 200
    assert get(peer, api_key=tok("docs", "user", "bob")) == (401, STATEFUL)
    assert get(peer, api_key=tok("docs", "n", True)) == (401, STATEFUL)
    assert get(peer, api_key=tok("missing_collection", "user", "alice")) == (403, STATEFUL)


def test_value_exists_checked_on_every_request(peer: PeerProcess) -> None:
    token = jwt({"value_exists": {"collection": "docs",
                                  "matches": [{"key": "user", "value": "carol"}]}})
    assert get(peer, api_key=token) == (401, STATEFUL)
    r = peer.request("PUT", "/collections/docs/points?wait=true", api_key=API_KEY,
                     json_body={"points": [{"id": 9, "vector": [0, 1],
                                            "payload": {"user": "carol"}}]})
    assert r.status_code == 200
    assert get(peer, api_key=token)[0] == 200
    r = peer.request("POST", "/collections/docs/points/delete?wait=true", api_key=API_KEY,
                     json_body={"points": [9]})
    assert r.status_code == 200
    assert get(peer, api_key=token) == (401, STATEFUL)


def test_jwt_ignored_without_jwt_rbac(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    assert get(p, api_key=jwt({"access": "m"})) == (401, INVALID)
    assert get(p, api_key=API_KEY)[0] == 200


def test_jwt_rbac_without_api_key_is_not_enabled(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"read_only_api_key": RO_KEY, "jwt_rbac": True,
                                  "api_key": ""}})
    assert get(p, api_key=jwt({"access": "m"}, "")) == (401, INVALID)
    assert get(p, api_key=RO_KEY)[0] == 200
    r = p.request("PUT", "/collections/c", api_key=RO_KEY, json_body={})
    assert r.status_code == 403  # with only a read-only key nobody can write
    assert "JWT RBAC configured but no API key set" in p.stderr_text()
    assert "treated as unset" in p.stderr_text()


def test_no_keys_means_no_auth(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": "", "jwt_rbac": True}})
    assert get(p)[0] == 200
    assert get(p, api_key="anything")[0] == 200
    r = p.request("PUT", "/collections/c", json_body={"vectors": {"size": 2, "distance": "Dot"}})
    assert r.status_code == 200


def test_same_key_as_api_and_read_only_grants_manage(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY, "read_only_api_key": API_KEY}})
    r = p.request("PUT", "/collections/c", api_key=API_KEY, json_body={})
    assert r.status_code == 200


# ----------------------------------------------------------------------- transport details


def test_keep_alive_many_requests_one_connection(peer: PeerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", peer.http_port, timeout=10)
    try:
        for _ in range(20):
            conn.request("GET", "/collections", headers={"api-key": API_KEY})
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("content-type") == "application/json"
            resp.read()
        sock = conn.sock
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        assert conn.sock is sock  # same TCP connection throughout
    finally:
        conn.close()


def test_cors_echoes_origin_and_answers_preflight(peer: PeerProcess) -> None:
    r = peer.request("GET", "/collections", api_key=API_KEY,
                     headers={"Origin": "https://evil.example"})
    assert r.headers["access-control-allow-origin"] == "https://evil.example"
    r = peer.request("OPTIONS", "/collections", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "api-key"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://evil.example"


def test_cors_disabled(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"enable_cors": False}})
    r = p.request("GET", "/collections", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_request_size_limit(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY, "max_request_size_mb": 1}})
    big = b'{"points": [' + b" " * (1024 * 1024 + 10) + b"]}"
    r = p.request("PUT", "/collections/c/points", api_key=API_KEY, content=big)
    assert r.status_code == 413


def test_plain_metrics_port_has_no_auth(peer_factory: PeerFactory) -> None:
    from tests.peer.peerlib import free_port

    port = free_port()
    p = peer_factory({"service": {"api_key": API_KEY, "metrics_port": port}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    assert resp.status == 200
    assert b"collections_total 0" in resp.read()
    conn.request("GET", "/collections")
    assert conn.getresponse().status == 404
    conn.close()
    assert p.request("GET", "/metrics").status_code == 401
