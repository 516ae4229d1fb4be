"""A generated set, with the config `certs generate` prints, on real tests/qdrant_peer processes:
HTTPS, REST mutual TLS (verify_https_client_certificate) and a 3-peer cluster with p2p TLS."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from qdrantsec.cli.app import main
from tests.peer.peerlib import PeerFactory, wait_for

pytestmark = pytest.mark.integration


def _ctx(ca: Path, cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    # our own SSL context: httpx 0.28 ignores cert= when verify= is a path string
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(*cert)
    return ctx


def _get(url: str, ca: Path, cert: tuple[str, str] | None = None) -> httpx.Response:
    with httpx.Client(verify=_ctx(ca, cert), timeout=10) as c:
        return c.get(url)


def _generate(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["certs", "generate", "--out", str(out), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_single_node_https_and_client_certificates(
    peer_factory: PeerFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    data = _generate(capsys, out, "--client", "app")
    config = yaml.safe_load(data["config"]["yaml"]["single_node"])
    assert config["service"]["verify_https_client_certificate"] is True
    client_cert = (str(out / "client-app.pem"), str(out / "client-app-key.pem"))
    peer = peer_factory(config, name="tls-single", ca_path=out / "ca.pem", client_cert=client_cert)
    assert peer.url.startswith("https://127.0.0.1:")
    ca = out / "ca.pem"
    resp = _get(f"{peer.url}/collections", ca, client_cert)
    assert resp.status_code == 200, resp.text
    # host names are checked too: https://localhost works, the certificate has DNS:localhost
    assert _get(f"https://localhost:{peer.http_port}/collections", ca, client_cert).status_code == 200
    # no client certificate, or one from another CA: refused
    other = tmp_path / "other"
    _generate(capsys, other, "--client", "app")
    for cert in (None, (str(other / "client-app.pem"), str(other / "client-app-key.pem"))):
        with pytest.raises(httpx.TransportError):
            _get(f"{peer.url}/collections", ca, cert)


def _cluster_config(data: dict[str, Any], out: Path, stem: str) -> dict[str, Any]:
    config = yaml.safe_load(data["config"]["yaml"]["cluster_peer"])
    config["tls"]["cert"] = str(out / f"peer-{stem}.pem")
    config["tls"]["key"] = str(out / f"peer-{stem}-key.pem")
    return config


def _agreement(peers: list[Any], ca: Path) -> list[dict[str, Any]]:
    statuses = []
    for p in peers:
        resp = _get(f"{p.url}/cluster", ca)
        if resp.status_code != 200:
            return []
        statuses.append(resp.json()["result"])
    if any(len(s["peers"]) != len(peers) or s["message_send_failures"] for s in statuses):
        return []
    if len({s["raft_info"]["leader"] for s in statuses}) != 1:
        return []
    return statuses


def test_three_peer_cluster_with_p2p_tls(
    peer_factory: PeerFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    data = _generate(capsys, out, "--peers", "3")
    peers = []
    for i in range(3):
        config = _cluster_config(data, out, f"qdrant-{i}")
        assert config["cluster"]["p2p"]["enable_tls"] is True and config["service"]["enable_tls"] is True
        p = peer_factory(config, name=f"node{i}", start=False, ca_path=out / "ca.pem")
        p.args = ["--uri", p.p2p_uri] + (["--bootstrap", peers[0].p2p_uri] if peers else [])
        peers.append(p)
    for p in peers:
        p.start()
    statuses = wait_for(lambda: _agreement(peers, out / "ca.pem"), timeout=20)
    assert all(v["uri"].startswith("https://") for v in statuses[0]["peers"].values())

    # a node whose certificate has serverAuth only (server.pem) cannot join: p2p is mutual TLS
    config = _cluster_config(data, out, "qdrant-0")
    config["tls"]["cert"], config["tls"]["key"] = str(out / "server.pem"), str(out / "server-key.pem")
    config["cluster"]["consensus"] = {"bootstrap_timeout_sec": 1}
    intruder = peer_factory(config, name="server-only", start=False, ca_path=out / "ca.pem")
    intruder.args = ["--uri", intruder.p2p_uri, "--bootstrap", peers[0].p2p_uri]
    intruder.start(wait=False)
    assert intruder.wait_exit(timeout=20) != 0
    assert "Failed to bootstrap" in intruder.logs()
    assert len(_agreement(peers, out / "ca.pem")[0]["peers"]) == 3

    # certs inspect against a live peer's REST port sees the peer certificate
    capsys.readouterr()
    assert main(["certs", "inspect", peers[1].url, "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["certificates"][0]["subject"] == "CN=qdrant-1.qdrant-headless"
    assert info["certificates"][0]["eku"] == ["serverAuth", "clientAuth"]
