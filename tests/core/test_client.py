"""The shared Qdrant HTTP client (connection options of every server-facing command),
against real test-peer processes over real TLS on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qdrantsec.errors import AuthError, InputError, NetworkError
from qdrantsec.qdrant.client import ConnectionSettings, make_client, request_json
from qdrantsec.secrets import Secret
from tests.peer.peerlib import PeerFactory, make_ca, make_leaf

pytestmark = pytest.mark.integration

KEY = "client-test-key-" + "c" * 32


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("client-pki")
    ca = make_ca(root / "ca")
    other = make_ca(root / "other", "Other CA")
    return {
        "ca": ca[0],
        "server": make_leaf(root / "server", ca, "server"),
        "client": make_leaf(root / "client", ca, "client", sans=(), server=False),
        "other_ca": other[0],
    }


@pytest.fixture(scope="module")
def tls_peer(module_peer_factory: PeerFactory, pki: dict[str, Any]) -> Any:
    return module_peer_factory({
        "service": {"api_key": KEY, "enable_tls": True, "verify_https_client_certificate": True},
        "tls": {"cert": str(pki["server"].cert), "key": str(pki["server"].key),
                "ca_cert": str(pki["ca"].cert)},
    })


def settings(peer: Any, pki: dict[str, Any], **kw: Any) -> ConnectionSettings:
    base: dict[str, Any] = {
        "url": peer.url, "ca_cert": str(pki["ca"].cert), "client_cert": str(pki["client"].cert),
        "client_key": str(pki["client"].key), "timeout": 5.0,
    }
    base.update(kw)
    return ConnectionSettings(**base)


def test_verified_mtls_request_with_api_key(tls_peer: Any, pki: dict[str, Any]) -> None:
    with make_client(settings(tls_peer, pki), Secret(KEY, "test")) as client:
        result = request_json(client, "GET", "/collections")
    assert result == {"collections": []}


def test_tls_is_verified_by_default(tls_peer: Any, pki: dict[str, Any]) -> None:
    s = settings(tls_peer, pki, ca_cert=str(pki["other_ca"].cert))
    with make_client(s, Secret(KEY, "t")) as client, pytest.raises(NetworkError) as exc:
        request_json(client, "GET", "/collections")
    assert exc.value.hint is not None and "--ca-cert" in exc.value.hint


def test_insecure_skips_server_verification(tls_peer: Any, pki: dict[str, Any]) -> None:
    s = settings(tls_peer, pki, ca_cert=None, insecure=True)
    with make_client(s, Secret(KEY, "t")) as client:
        assert request_json(client, "GET", "/collections") == {"collections": []}


def test_wrong_key_is_an_auth_error_without_the_key(tls_peer: Any, pki: dict[str, Any]) -> None:
    wrong = "wrong-key-" + "w" * 30
    with make_client(settings(tls_peer, pki), Secret(wrong, "t")) as client, \
            pytest.raises(AuthError) as exc:
        request_json(client, "GET", "/collections")
    assert "401" in exc.value.message and wrong not in exc.value.message


def test_unreachable_server_is_a_network_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with make_client(ConnectionSettings(url=f"http://127.0.0.1:{port}", timeout=2.0)) as client, \
            pytest.raises(NetworkError, match="cannot connect"):
        request_json(client, "GET", "/")


def test_request_id_header_is_sent(tls_peer: Any, pki: dict[str, Any]) -> None:
    seen: list[str] = []
    with make_client(settings(tls_peer, pki), Secret(KEY, "t")) as client:
        client.event_hooks["request"].append(lambda r: seen.append(r.headers["x-request-id"]))
        request_json(client, "GET", "/")
    assert seen and seen[0].startswith("qdrantsec-")


def test_a_run_id_is_carried_as_is_by_every_request() -> None:
    import httpx

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-request-id"])
        return httpx.Response(200, json={"result": {}})

    run = ConnectionSettings(url="http://127.0.0.1:1", request_id="qdrantsec-rotate-0123abcd")
    with make_client(run, transport=httpx.MockTransport(answer)) as client:
        request_json(client, "GET", "/")
        request_json(client, "GET", "/cluster")
    assert seen == ["qdrantsec-rotate-0123abcd"] * 2
    per_request: list[str] = []
    with make_client(ConnectionSettings(url="http://127.0.0.1:1", request_id_prefix="qdrantsec-x"),
                     transport=httpx.MockTransport(lambda r: per_request.append(
                         r.headers["x-request-id"]) or httpx.Response(200, json={}))) as client:
        request_json(client, "GET", "/")
        request_json(client, "GET", "/")
    assert len(set(per_request)) == 2 and all(i.startswith("qdrantsec-x-") for i in per_request)


@pytest.mark.parametrize("url", ["localhost:6333", "ftp://x:1"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(InputError):
        make_client(ConnectionSettings(url=url))


def test_missing_ca_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot load CA"):
        make_client(ConnectionSettings(url="https://127.0.0.1:1", ca_cert=str(tmp_path / "nope.pem")))
