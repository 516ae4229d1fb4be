"""``python -m tests.qdrant_peer --config-path FILE [--uri URI] [--bootstrap URI]``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .settings import ConfigError, load_settings


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{base}.{int(record.msecs):03d}Z"


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))


def _p2p_contexts(settings: dict[str, Any]) -> tuple[ssl.SSLContext | None, ssl.SSLContext | None]:
    """mTLS contexts for the p2p port (facts 6.5), built only when cluster.p2p.enable_tls."""
    cluster = settings["cluster"]
    if not cluster.get("enabled") or not cluster["p2p"].get("enable_tls"):
        return None, None
    from .server import read_cert_chain, read_private_key

    tls = settings.get("tls")
    if not isinstance(tls, dict):
        raise ConfigError("cluster.p2p.enable_tls requires the `tls` section")
    ca = tls.get("ca_cert")
    if not ca:
        raise ConfigError("CA certificate is required for TLS configuration")
    import tempfile

    chain = read_cert_chain(tls["cert"])
    key = read_private_key(tls["key"])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with tempfile.TemporaryDirectory(prefix="qdrant-peer-p2p-") as tmp:
        cert_file, key_file = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        Path(cert_file).write_bytes(chain)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        for ctx in (server, client):
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert_file, key_file)
            ctx.load_verify_locations(cafile=ca)
    server.verify_mode = ssl.CERT_REQUIRED
    client.check_hostname = True
    client.verify_mode = ssl.CERT_REQUIRED
    return server, client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.qdrant_peer")
    parser.add_argument("--config-path", default=None)
    parser.add_argument("--uri", default=os.environ.get("QDRANT_URI"))
    parser.add_argument("--bootstrap", default=os.environ.get("QDRANT_BOOTSTRAP"))
    parser.add_argument("--disable-telemetry", action="store_true")
    args = parser.parse_args(argv)

    _setup_logging("INFO")
    log = logging.getLogger("qdrant_peer")
    cwd = Path.cwd()
    try:
        settings, warnings = load_settings(args.config_path, os.environ, cwd)
    except ConfigError as exc:
        log.error("Configuration error: %s", exc)
        print(f"Error: invalid configuration: {exc}", file=sys.stderr)
        return 1
    _setup_logging(settings.get("log_level") or "INFO")
    for w in warnings:
        log.warning(w)

    from .app import App
    from .server import PeerHTTPServer, TlsError, TlsManager

    service = settings["service"]
    try:
        tls: TlsManager | None = None
        if service["enable_tls"]:
            tls = TlsManager(settings.get("tls"), bool(service["verify_https_client_certificate"]))
        p2p_server, p2p_client = _p2p_contexts(settings)
        app = App(settings, cwd, uri=args.uri, bootstrap=args.bootstrap)
    except (TlsError, ConfigError, RuntimeError, OSError) as exc:
        log.error("%s", exc)
        print(f"Error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)

    host = service["host"]
    keep_alive = int(service.get("http_keep_alive_timeout_sec") or 5)
    max_body = int(service["max_request_size_mb"]) * 1024 * 1024
    servers: list[PeerHTTPServer] = []
    try:
        rest = PeerHTTPServer(host, service["http_port"], app.dispatch, tls, keep_alive, max_body)
        servers.append(rest)
        if service.get("metrics_port") is not None:
            metrics = PeerHTTPServer(
                host, service["metrics_port"], app.metrics_only_dispatch, tls, keep_alive, 1024
            )
            servers.append(metrics)
        app.start_cluster(p2p_server, p2p_client)
    except (OSError, RuntimeError) as exc:
        log.error("failed to start: %s", exc)
        print(f"Error: {exc}", file=sys.stderr)
        for s in servers:
            s.server_close()
        return 1

    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("received signal %d, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    for i, s in enumerate(servers):
        s.serve_in_thread(f"http-{i}")
    port = rest.server_address[1]
    scheme = "https" if tls else "http"
    extra = f" metrics={host}:{servers[1].server_address[1]}" if len(servers) > 1 else ""
    log.info("Qdrant HTTP listening on %s", port)
    print(f"qdrant_peer ready http={host}:{port} scheme={scheme}{extra}", flush=True)
    while not stop.wait(0.1):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    app.shutdown()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
