"""HTTP(S) listeners: a threaded HTTP/1.1 server with keep-alive and rustls-like TLS handling.

TLS (facts 6): the certificate chain and key are validated like Qdrant's rustls loader (the first
recognised PEM item of ``tls.key`` must be a private key), client certificates are required when
``verify_https_client_certificate`` is on, and the pair is reloaded lazily on a handshake once it
is ``cert_ttl`` seconds old (the server's ``sni_callback`` swaps the connection's SSLContext).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

log = logging.getLogger("qdrant_peer.server")

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
_KEY_LABELS = {b"RSA PRIVATE KEY", b"PRIVATE KEY", b"EC PRIVATE KEY"}
_OTHER_LABELS = {b"CERTIFICATE", b"X509 CRL", b"CERTIFICATE REQUEST", b"PUBLIC KEY"}


class TlsError(Exception):
    """TLS material cannot be loaded (start-up failure)."""


# Texts of Qdrant's `certificate_helpers::Error` (src/actix/certificate_helpers.rs).
ERR_OPEN = "TLS file could not be opened: {path}"
ERR_NO_CERT = "no server certificate found"
ERR_NO_KEY = "no private key found"
ERR_INVALID_KEY = "invalid private key"
ERR_SIGN = "TLS signing error"
ERR_CLIENT_VERIFIER = "client certificate verification"
ERR_NO_CA = "No ca_cert provided"

# rustls 0.23's default TLS 1.2 suites with the ring provider (TLS 1.3 uses OpenSSL's default
# three suites, which are rustls's three).  No CBC, no RSA key exchange, no DHE.
RUSTLS_TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TlsError(f"{ERR_OPEN.format(path=path)}: {exc}") from exc


def pem_certificates(data: bytes) -> list[bytes]:
    """Every ``CERTIFICATE`` block, in order (``rustls_pemfile::certs``)."""
    return [m.group(0) for m in _PEM.finditer(data) if m.group(1) == b"CERTIFICATE"]


def read_cert_chain(path: str) -> bytes:
    """All CERTIFICATE blocks of the file, in order (other blocks ignored)."""
    blocks = pem_certificates(_read(path))
    if not blocks:
        raise TlsError(f"{ERR_NO_CERT} in {path}")
    return b"\n".join(blocks) + b"\n"


def _check_ring_signing_key(key: Any, label: bytes, path: str) -> None:
    """rustls' ``ring::sign::any_supported_type``: RSA 2048..4096 bits (ring's limits for
    private keys), ECDSA P-256/P-384, Ed25519 (PKCS#8 only).  Anything else fails with
    ``TLS signing error``."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        ok = 2048 <= key.key_size <= 4096
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        ok = isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1)
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        ok = label == b"PRIVATE KEY"
    else:
        ok = False
    if not ok:
        raise TlsError(
            f"{ERR_SIGN}: failed to parse private key as RSA, ECDSA, or EdDSA ({path})"
        )


def read_private_key(path: str) -> bytes:
    """The first recognised PEM item must be an unencrypted private key (facts 6.2) that
    ring can sign with."""
    data = _read(path)
    for m in _PEM.finditer(data):
        label = m.group(1)
        if label in _OTHER_LABELS:
            raise TlsError(f"{ERR_INVALID_KEY} in {path}: found {label.decode()} first")
        if label in _KEY_LABELS:
            try:
                key = serialization.load_pem_private_key(m.group(0), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
                raise TlsError(f"{ERR_SIGN}: {exc} ({path})") from exc
            _check_ring_signing_key(key, label, path)
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
    # `ENCRYPTED PRIVATE KEY` and other unknown labels are skipped by rustls_pemfile
    raise TlsError(f"{ERR_NO_KEY} in {path}")


class TlsManager:
    """Server TLS contexts for REST and metrics listeners, with ``cert_ttl`` reloading."""

    def __init__(self, tls: dict[str, Any] | None, verify_client: bool) -> None:
        if not isinstance(tls, dict):
            raise TlsError("TLS is enabled but the `tls` section is missing")
        self.cert_path: str = tls["cert"]
        self.key_path: str = tls["key"]
        self.ttl: int = int(tls.get("cert_ttl") or 0)
        self.ca_data: str | None = None
        if verify_client:
            ca = tls.get("ca_cert")
            if ca is None:  # an empty string is a path that cannot be opened
                raise TlsError(ERR_NO_CA)
            # only CERTIFICATE blocks become trust anchors; none at all fails the verifier
            blocks = pem_certificates(_read(ca))
            if not blocks:
                raise TlsError(f"{ERR_CLIENT_VERIFIER}: no trust anchors in {ca}")
            self.ca_data = b"\n".join(blocks).decode("ascii")
        self._lock = threading.Lock()
        self.context = self._build()
        self.loaded_at = time.monotonic()
        self.reloads = 0

    def _build(self) -> ssl.SSLContext:
        chain = read_cert_chain(self.cert_path)
        key = read_private_key(self.key_path)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_ciphers(RUSTLS_TLS12_CIPHERS)
        # actix offers h2 and http/1.1; the peer only speaks HTTP/1.1, so it offers that alone
        ctx.set_alpn_protocols(["http/1.1"])
        with tempfile.TemporaryDirectory(prefix="qdrant-peer-tls-") as tmp:
            cert_file = os.path.join(tmp, "cert.pem")
            key_file = os.path.join(tmp, "key.pem")
            with open(cert_file, "wb") as fh:
                fh.write(chain)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
            try:
                ctx.load_cert_chain(cert_file, key_file)
            except ssl.SSLError as exc:
                raise TlsError(f"{ERR_SIGN}: certificate/key pair rejected: {exc}") from exc
        if self.ca_data is not None:
            try:
                ctx.load_verify_locations(cadata=self.ca_data)
            except ssl.SSLError as exc:
                raise TlsError(f"{ERR_CLIENT_VERIFIER}: {exc}") from exc
            ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.sni_callback = self._on_client_hello
        return ctx

    def current(self) -> ssl.SSLContext:
        """The context to use for a new handshake, reloading the pair if it is too old."""
        with self._lock:
            if self.ttl and time.monotonic() - self.loaded_at >= self.ttl:
                try:
                    self.context = self._build()
                    self.loaded_at = time.monotonic()
                    self.reloads += 1
                    log.info("Refreshed server TLS certificate")
                except Exception as exc:
                    log.error("Failed to refresh server TLS certificate, keeping current: %s", exc)
            return self.context

    def _on_client_hello(
        self, sslobj: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, ctx: ssl.SSLContext
    ) -> None:
        fresh = self.current()
        if fresh is not ctx:
            sslobj.context = fresh
        return None

    def wrap(self, sock: socket.socket) -> ssl.SSLSocket:
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Any
    body: bytes
    peer_ip: str
    client_cert: dict[str, Any] | None = None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Dispatcher = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "qdrant_peer"
    sys_version = ""
    dispatcher: Dispatcher
    max_body: int

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.client_address[0], format % args)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > self.max_body:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body:
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._read_body()
        if body is None:
            self.close_connection = True
            resp = Response(413, b"", None)
        else:
            cert = None
            if isinstance(self.connection, ssl.SSLSocket):
                with contextlib.suppress(Exception):
                    cert = self.connection.getpeercert()
            req = Request(
                self.command, path, query, self.headers, body, self.client_address[0], cert
            )
            try:
                resp = self.dispatcher(req)
            except Exception as exc:  # pragma: no cover - defensive
                log.exception("handler crashed")
                resp = Response(500, f"Service internal error: {exc}".encode(), "text/plain")
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        # one write for headers + body (avoids Nagle / delayed-ACK stalls on keep-alive)
        buffer: list[bytes] = getattr(self, "_headers_buffer")  # noqa: B009
        buffer.append(b"\r\n")
        if self.command != "HEAD":
            buffer.append(resp.body)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch


class PeerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        host: str,
        port: int,
        dispatcher: Dispatcher,
        tls: TlsManager | None,
        keep_alive: int,
        max_body: int,
    ) -> None:
        handler = type(
            "Handler",
            (_Handler,),
            {
                "dispatcher": staticmethod(dispatcher),
                "timeout": max(1, keep_alive),
                "max_body": max_body,
            },
        )
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.tls = tls
        super().__init__((host, port), handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap(sock)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(10)
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                log.info("TLS handshake with %s failed: %s", client_address[0], exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def serve_in_thread(self, name: str) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        thread.start()
        return thread
