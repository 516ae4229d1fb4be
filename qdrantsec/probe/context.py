"""What the checks of one URL share: where it is, how to ask it, what was learnt so far."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from qdrantsec.errors import UsageError
from qdrantsec.probe.http import Prober
from qdrantsec.probe.model import PROBE_COLLECTION_PREFIX, Exchange, ProbeKeys, ProbeOptions


def parse_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a REST URL; UsageError for anything else."""
    text = url.strip()
    if "://" not in text:
        raise UsageError(f"{url!r} has no scheme", hint="write it as https://HOST:6333 (or http://HOST:6333)")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 literal
        raise UsageError(f"{url!r} is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"{url!r}: the scheme must be http or https, not {scheme!r}")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{url!r}: the port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise UsageError(f"{url!r} has no host")
    problem = _host_problem(parts.hostname)
    if problem:
        raise UsageError(f"{url!r}: the host is not an IP address or a DNS name: {problem}")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise UsageError(f"{url!r}: give the REST base URL only (no path or query)",
                         hint="e.g. https://qdrant.example:6333")
    # no port: the scheme's own (a reverse proxy in front of Qdrant), as any HTTP client does
    return scheme, parts.hostname, port if port is not None else (443 if scheme == "https" else 80)


def _host_problem(host: str) -> str | None:
    import ipaddress

    from qdrantsec.certs.names import dns_problem

    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        return dns_problem(host, allow_wildcard=False)


def base_url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


@dataclass
class TargetContext:
    url: str  # the base URL as probed
    scheme: str
    host: str
    port: int
    prober: Prober
    keys: ProbeKeys
    options: ProbeOptions
    #: True when HTTP requests can be made (plain http, or TLS that verified or --insecure)
    http_ok: bool = True
    #: the server demands a client certificate and none was given
    client_cert_missing: bool = False
    #: the API answered without credentials (QP101/QP102)
    open: bool = False
    version: str | None = None
    #: GET /cluster's result, when some credential could read it
    cluster: dict[str, Any] | None = None
    #: (who, exchange) of every GET /telemetry that answered, for QP405
    telemetry: list[tuple[str, Exchange]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: a collection name that cannot exist, for the write probes
    probe_collection: str = field(default_factory=lambda: PROBE_COLLECTION_PREFIX + secrets.token_hex(6))

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def keys_allowed(self) -> bool:
        """Whether keys may be sent to this URL (never in plain text unless asked for)."""
        return self.tls or self.options.allow_http_keys

    def get(self, path: str, credential: str = "without credentials",
            headers: dict[str, str] | None = None, **kwargs: Any) -> Exchange:
        return self.prober.request(self.url, "GET", path, credential, headers, **kwargs)

    def request(self, method: str, path: str, credential: str = "without credentials",
                headers: dict[str, str] | None = None, **kwargs: Any) -> Exchange:
        return self.prober.request(self.url, method, path, credential, headers, **kwargs)
