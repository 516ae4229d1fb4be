"""How the probe talks to a server: one client per URL (qdrantsec.qdrant.client, TLS as the
user configured it), a shared rate limit over every request, TCP connect and TLS handshake,
one ``x-request-id: qdrantsec-probe-<run id>`` on every request so that the whole run can be
found in Qdrant's audit log, and every answer recorded as an :class:`Exchange`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qdrantsec.errors import NetworkError
from qdrantsec.probe.model import Exchange

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from qdrantsec.qdrant.client import ConnectionSettings

#: the longest answer body kept (telemetry of a big instance can be large; we need a few keys)
MAX_BODY = 1024 * 1024


@dataclass
class RateLimit:
    """At most ``rate`` events a second, over the whole run (requests, connects, handshakes)."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = None
    count: int = 0

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None:
            gap = 1.0 / self.rate - (now - self._last)
            if gap > 0:
                self.sleep(gap)
                now = self.clock()
        self._last = now
        self.count += 1


@dataclass
class Prober:
    """Sends the probe's requests for one run."""

    settings: ConnectionSettings  # timeout, TLS options, request-id prefix (url unused)
    limit: RateLimit
    request_id: str  # the x-request-id every request carries
    transport: Any = None  # tests may inject an httpx transport
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, base_url: str) -> httpx.Client:
        from dataclasses import replace

        from qdrantsec.qdrant.client import make_client

        if base_url not in self._clients:
            client = make_client(replace(self.settings, url=base_url, request_id=self.request_id),
                                 None, transport=self.transport)
            self._clients[base_url] = client
        return self._clients[base_url]

    def request(self, base_url: str, method: str, path: str, credential: str = "without credentials",
                headers: dict[str, str] | None = None, **kwargs: Any) -> Exchange:
        """One request; a transport failure is an Exchange without a status, never an error."""
        from qdrantsec.qdrant.client import send

        client = self.client(base_url)
        ex = Exchange(method, base_url.rstrip("/") + path, path, credential)
        self.limit.wait()
        try:
            resp = send(client, method, path, headers=headers, max_bytes=MAX_BODY, **kwargs)
        except NetworkError as exc:
            ex.error = exc.message
            return ex
        ex.status, ex.reason = resp.status_code, resp.reason_phrase
        ex.headers = {k.lower(): v for k, v in resp.headers.items()}
        content = resp.content
        try:
            import json

            ex.body = json.loads(content)
        except ValueError:
            ex.body = content.decode("utf-8", "replace")
        return ex

    def connect(self, host: str, port: int) -> str | None:
        """A TCP connect (and close, nothing sent); None when it succeeded, else why not."""
        import socket

        self.limit.wait()
        try:
            with socket.create_connection((host, port), timeout=self.settings.timeout):
                return None
        except OSError as exc:
            return exc.strerror or type(exc).__name__

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
