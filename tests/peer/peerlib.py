"""Helpers to run ``tests.qdrant_peer`` processes in tests, plus JWT and TLS material makers.

Used by the fixtures in ``tests/conftest.py`` (``peer_factory``, ``module_peer_factory``) and
importable directly: ``from tests.peer.peerlib import PeerProcess, RequestStream, mint_jwt``.
Nothing here imports ``qdrantsec``.
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_MARKER = "qdrant_peer ready"

_USED_PORTS: set[int] = set()
_PORT_LOCK = threading.Lock()
LIVE_PEERS: list[PeerProcess] = []


def ssl_context(
    ca: str | Path | None = None, cert: tuple[str, str] | tuple[Path, Path] | None = None
) -> ssl.SSLContext:
    """A client SSLContext trusting ``ca`` (else the default roots), presenting ``cert``."""
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a listener, unique in this session.

    Chosen *below* the kernel's ephemeral range: a port from that range (what binding port
    0 returns) can be taken, while its peer is down for a restart, by some other process's
    outgoing connection, and the restarted peer then fails with "Address already in use"."""
    import random

    low = max(_ephemeral_low(), 12000)
    with _PORT_LOCK:
        for _ in range(500):
            port = random.randint(10000, low - 1)
            if port in _USED_PORTS:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _USED_PORTS.add(port)
            return port
    raise RuntimeError("no free port")


def deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into a copy of ``base``; a value of ``DELETE`` removes the key."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


class PeerStartError(RuntimeError):
    """The peer exited or did not become ready in time."""


class PeerProcess:
    """One ``python -m tests.qdrant_peer`` process in its own working directory.

    ``config`` is written to ``workdir/peer-config.yaml`` and passed with ``--config-path``.
    When ``config`` does not name them, ``service.host`` is 127.0.0.1 and ``service.http_port``
    (and ``cluster.p2p.port`` when ``cluster.enabled``) get free ports; they are kept across
    restarts.
    """

    def __init__(
        self,
        workdir: Path,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        name: str = "peer",
        args: Iterable[str] = (),
        ca_path: str | Path | None = None,
        client_cert: tuple[str, str] | None = None,
        config_file: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.env: dict[str, str] = dict(env or {})
        self.args: list[str] = list(args)
        self.ca_path = str(ca_path) if ca_path else None
        self.client_cert = client_cert
        self.config_file = config_file
        # host used in ``url`` (set to "localhost" for certificates without an IP SAN)
        self.connect_host = "127.0.0.1"
        self.config: dict[str, Any] = self._with_ports(dict(config or {}))
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.starts = 0
        self._stdout_offset = 0

    # ------------------------------------------------------------------ config / ports
    def _with_ports(self, config: dict[str, Any]) -> dict[str, Any]:
        config = copy.deepcopy(config)
        service = config.setdefault("service", {})
        if service is None:
            service = config["service"] = {}
        service.setdefault("host", "127.0.0.1")
        if "http_port" not in service and "QDRANT__SERVICE__HTTP_PORT" not in self.env:
            service["http_port"] = free_port()
        cluster = config.get("cluster")
        if isinstance(cluster, dict) and cluster.get("enabled"):
            p2p = cluster.setdefault("p2p", {})
            if "port" not in p2p:
                p2p["port"] = free_port()
        return config

    @property
    def config_path(self) -> Path:
        return self.workdir / "peer-config.yaml"

    @property
    def http_port(self) -> int:
        env = self.env.get("QDRANT__SERVICE__HTTP_PORT")
        return int(env) if env else int(self.config["service"]["http_port"])

    @property
    def p2p_port(self) -> int | None:
        cluster = self.config.get("cluster") or {}
        return (cluster.get("p2p") or {}).get("port")

    @property
    def metrics_port(self) -> int | None:
        return self.config["service"].get("metrics_port")

    @property
    def tls(self) -> bool:
        flag = self.env.get("QDRANT__SERVICE__ENABLE_TLS")
        if flag is not None:
            return flag.lower() in ("true", "1", "on", "yes")
        return bool(self.config["service"].get("enable_tls"))

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.connect_host}:{self.http_port}"

    @property
    def p2p_uri(self) -> str:
        p2p_tls = bool(((self.config.get("cluster") or {}).get("p2p") or {}).get("enable_tls"))
        return f"{'https' if p2p_tls else 'http'}://127.0.0.1:{self.p2p_port}"

    @property
    def api_key(self) -> str | None:
        return self.env.get("QDRANT__SERVICE__API_KEY") or self.config["service"].get("api_key")

    # ------------------------------------------------------------------ lifecycle
    def _environ(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith("QDRANT__")
            and k not in ("QDRANT_URI", "QDRANT_BOOTSTRAP", "RUN_MODE")
        }
        env["PYTHONPATH"] = str(REPO_ROOT) + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
        )
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        return env

    def start(self, wait: bool = True, timeout: float = 10.0) -> PeerProcess:
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running")
        if self.config_file:
            self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        cmd = [sys.executable, "-m", "tests.qdrant_peer"]
        if self.config_file:
            cmd += ["--config-path", str(self.config_path)]
        cmd += self.args
        self.starts += 1
        for path in (self.stdout_path, self.stderr_path):
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"----- start #{self.starts} of {self.name} -----\n")
        self._stdout_offset = self.stdout_path.stat().st_size
        out = open(self.stdout_path, "ab")  # noqa: SIM115 - handed to the child
        err = open(self.stderr_path, "ab")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, env=self._environ(), stdout=out, stderr=err,
                stdin=subprocess.DEVNULL,
            )
        finally:
            out.close()
            err.close()
        if self not in LIVE_PEERS:
            LIVE_PEERS.append(self)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait for the ready line on stdout; raise PeerStartError with the logs otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.stdout_path, "rb") as fh:
                fh.seek(self._stdout_offset)
                if READY_MARKER.encode() in fh.read():
                    return
            if self.proc is not None and self.proc.poll() is not None:
                raise PeerStartError(
                    f"{self.name} exited with {self.proc.returncode} before ready\n{self.logs()}"
                )
            time.sleep(0.02)
        raise PeerStartError(f"{self.name} not ready after {timeout}s\n{self.logs()}")

    def wait_exit(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL and wait."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        return self.proc.returncode

    def restart(
        self,
        config_changes: Mapping[str, Any] | None = None,
        env_changes: Mapping[str, str | None] | None = None,
        *,
        args: Iterable[str] | None = None,
        kill: bool = False,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> PeerProcess:
        """Stop (SIGTERM, or SIGKILL with ``kill=True``), apply changes, start again.

        ``config_changes`` is deep-merged (use ``DELETE`` as a value to remove a key);
        ``env_changes`` values of ``None`` remove a variable.
        """
        if kill:
            self.kill()
        else:
            self.stop()
        if config_changes:
            self.config = deep_merge(self.config, config_changes)
        for k, v in (env_changes or {}).items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        if args is not None:
            self.args = list(args)
        return self.start(wait=wait, timeout=timeout)

    # ------------------------------------------------------------------ logs
    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def logs(self) -> str:
        return (
            f"===== {self.name} ({self.workdir}) stdout =====\n{self.stdout_text()}"
            f"===== {self.name} stderr =====\n{self.stderr_text()}"
        )

    # ------------------------------------------------------------------ HTTP
    def verify(self) -> ssl.SSLContext | bool:
        """What to pass as httpx ``verify=``: an SSLContext trusting ``ca_path`` (with the
        client certificate when set), or True for plain HTTP."""
        if not self.tls:
            return True
        return ssl_context(self.ca_path, self.client_cert)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this peer's REST port (TLS settings filled in)."""
        kwargs.setdefault("verify", self.verify())
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.url, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        api_key: str | None = None,
        bearer: str | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """One request on a fresh connection (``api_key``/``bearer`` add the auth header)."""
        hdrs = dict(headers or {})
        if api_key is not None:
            hdrs["api-key"] = api_key
        if bearer is not None:
            hdrs["Authorization"] = f"Bearer {bearer}"
        with self.client(timeout=timeout) as c:
            if json_body is not None:
                return c.request(method, path, headers=hdrs, json=json_body)
            return c.request(method, path, headers=hdrs, content=content)

    def __repr__(self) -> str:
        return f"<PeerProcess {self.name} {self.url} pid={self.pid}>"


class PeerFactory:
    """Creates peers in per-peer temporary directories and tears all of them down."""

    def __init__(self, make_dir: Callable[[str], Path]) -> None:
        self._make_dir = make_dir
        self.peers: list[PeerProcess] = []

    def __call__(
        self,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        args: Iterable[str] = (),
        ca_path: str | Path | None = None,
        client_cert: tuple[str, str] | None = None,
        start: bool = True,
        wait: bool = True,
        timeout: float = 10.0,
        workdir: Path | None = None,
    ) -> PeerProcess:
        name = name or f"peer{len(self.peers)}"
        peer = PeerProcess(
            workdir or self._make_dir(name), config, env, name=name, args=args,
            ca_path=ca_path, client_cert=client_cert,
        )
        self.peers.append(peer)
        if start:
            peer.start(wait=wait, timeout=timeout)
        return peer

    def many(self, n: int, config: Mapping[str, Any] | None = None, **kwargs: Any) -> list[PeerProcess]:
        """Start ``n`` peers with the same base config (each gets its own ports and dir)."""
        started = [self(config, start=False, **{k: v for k, v in kwargs.items() if k != "wait"})
                   for _ in range(n)]
        for p in started:
            p.start(wait=False)
        for p in started:
            if kwargs.get("wait", True):
                p.wait_ready(kwargs.get("timeout", 10.0))
        return started

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.peers)

    def teardown(self) -> None:
        for p in self.peers:
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in self.peers:
            if p.proc is None:
                continue
            try:
                p.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait(5)
            if p in LIVE_PEERS:
                LIVE_PEERS.remove(p)


# ---------------------------------------------------------------------------- request stream


class RequestStream:
    """A background thread sending a steady stream of requests and counting the outcomes.

    ``headers`` is called before every request, so the credential can change mid-stream.
    ``counts`` maps HTTP status codes (int) and ``"connection_error"`` / ``"timeout"`` to
    numbers.  Stops after ``max_requests`` or ``duration`` seconds or ``stop()``.
    """

    def __init__(
        self,
        url: str,
        headers: Callable[[], Mapping[str, str]] | Mapping[str, str] | None = None,
        *,
        method: str = "GET",
        json_body: Any = None,
        verify: bool | str | Path | ssl.SSLContext = True,
        cert: tuple[str, str] | None = None,
        interval: float = 0.01,
        max_requests: int | None = None,
        duration: float | None = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        if isinstance(verify, str | Path) or (cert and not isinstance(verify, ssl.SSLContext)):
            verify = ssl_context(verify if isinstance(verify, str | Path) else None, cert)
        self._headers = headers
        self.method = method
        self.json_body = json_body
        self.verify = verify
        self.cert = cert
        self.interval = interval
        self.max_requests = max_requests
        self.duration = duration
        self.timeout = timeout
        self.counts: collections.Counter[int | str] = collections.Counter()
        self.events: list[tuple[float, int | str]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _hdrs(self) -> dict[str, str]:
        if self._headers is None:
            return {}
        if callable(self._headers):
            return dict(self._headers())
        return dict(self._headers)

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration if self.duration else None
        sent = 0
        client = httpx.Client(verify=self.verify, timeout=self.timeout)
        try:
            while not self._stop.is_set():
                if self.max_requests is not None and sent >= self.max_requests:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                outcome: int | str
                try:
                    resp = client.request(
                        self.method, self.url, headers=self._hdrs(), json=self.json_body
                    )
                    outcome = resp.status_code
                except httpx.TimeoutException as exc:
                    outcome = "timeout"
                    self.errors.append(repr(exc))
                except httpx.TransportError as exc:
                    outcome = "connection_error"
                    self.errors.append(repr(exc))
                    client.close()
                    client = httpx.Client(verify=self.verify, timeout=self.timeout)
                sent += 1
                with self._lock:
                    self.counts[outcome] += 1
                    self.events.append((time.monotonic(), outcome))
                if self.interval:
                    self._stop.wait(self.interval)
        finally:
            client.close()

    def start(self) -> RequestStream:
        self._thread = threading.Thread(target=self._run, name="request-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> RequestStream:
        self._stop.set()
        self.join(timeout)
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> dict[int | str, int]:
        with self._lock:
            return dict(self.counts)

    def __enter__(self) -> RequestStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------- JWT


def b64url(data: bytes, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode()
    return text if pad else text.rstrip("=")


def mint_jwt(
    claims: Mapping[str, Any] | Any,
    secret: str,
    *,
    alg: str = "HS256",
    header: Mapping[str, Any] | None = None,
    pad: bool = False,
    raw_payload: bytes | None = None,
) -> str:
    """Build a compact JWS by hand (edge cases: any ``alg``, padding, raw payload bytes)."""
    head = dict(header) if header is not None else {"alg": alg, "typ": "JWT"}
    h = b64url(json.dumps(head, separators=(",", ":")).encode(), pad)
    payload = raw_payload if raw_payload is not None else json.dumps(claims).encode()
    p = b64url(payload, pad)
    signing = f"{h}.{p}".encode()
    if alg == "none":
        sig = b""
    else:
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        sig = hmac.new(secret.encode(), signing, digest).digest()
    return f"{h}.{p}.{b64url(sig, pad)}"


# ---------------------------------------------------------------------------- TLS material


@dataclass
class CertPair:
    cert: Path
    key: Path


def make_ca(directory: Path, name: str = "Test CA") -> tuple[CertPair, Any, Any]:
    """A self-signed CA (ECDSA P-256).  Returns (paths, certificate, private key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pair = CertPair(directory / "ca.pem", directory / "ca.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pair, cert, key


def make_leaf(
    directory: Path,
    ca: tuple[CertPair, Any, Any],
    name: str = "server",
    *,
    sans: Iterable[str] = ("127.0.0.1", "localhost"),
    server: bool = True,
    client: bool = True,
    key_format: str = "pkcs8",
    key_type: str = "ec",
    days: int = 2,
) -> CertPair:
    """A leaf certificate signed by ``ca`` with the given SANs (IPs and DNS names).

    ``key_format``: ``pkcs8`` (``PRIVATE KEY``), ``traditional`` (``RSA``/``EC PRIVATE KEY``).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    _, ca_cert, ca_key = ca
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_type == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    alt: list[x509.GeneralName] = []
    for san in sans:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            alt.append(x509.DNSName(san))
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    directory.mkdir(parents=True, exist_ok=True)
    pair = CertPair(directory / f"{name}.pem", directory / f"{name}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fmt = (
        serialization.PrivateFormat.PKCS8
        if key_format == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    pair.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    )
    return pair


def cert_serial(pem_path: Path) -> int:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem_path.read_bytes()).serial_number


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
