"""Shared fixtures for the certs tests: a CLI runner and small TLS servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qdrantsec.cli.app import main


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``qdrantsec ...`` through the real entry point (and its error boundary)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="module")
def tls_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated set per test module: server, 3 peers, 1 client."""
    out = tmp_path_factory.mktemp("set") / "tls"
    code = main(["certs", "generate", "--out", str(out), "--peers", "3", "--peer", "node-a.lan,127.0.0.1",
                 "--client", "app"])
    assert code == 0
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Server:
    port: int
    url: str


@pytest.fixture
def https_server() -> Iterator[Callable[..., Server]]:
    """Start an HTTPS server on 127.0.0.1 (port 0) with the given cert; optionally demand a
    client certificate from ``client_ca``."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(cert: Path, key: Path, client_ca: Path | None = None) -> Server:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        port = httpd.server_address[1]
        return Server(port, f"https://127.0.0.1:{port}")

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
