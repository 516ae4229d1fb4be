"""A small HTTP client for one Qdrant peer: TLS verified by default, a timeout on every
call, the key in the ``api-key`` header, an ``x-request-id`` on every request, and httpx
errors turned into qdrantsec errors that never echo a key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qdrantsec.errors import AuthError, InputError, NetworkError, ServerError

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from qdrantsec.secrets import Secret


@dataclass(frozen=True)
class ConnectionSettings:
    url: str
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    #: every request carries ``x-request-id: <prefix>-<16 hex>`` (per request) so that it can
    #: be found in Qdrant's audit log; a command may fix the id per run (rotate-key, probe)
    request_id_prefix: str = "qdrantsec"
    #: a run's own id, carried by *every* request as is (rotate-key, probe), so that
    #: ``audit query --tracing-id <id>`` finds the whole run with one exact filter
    request_id: str | None = None

    def base_url(self) -> str:
        url = self.url.rstrip("/")
        if "://" not in url:
            raise InputError(f"--url {self.url!r} has no scheme",
                             hint="write it as https://HOST:6333 (or http:// for plain text)")
        scheme = url.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise InputError(f"--url scheme must be http or https, not {scheme!r}")
        return url


def make_client(settings: ConnectionSettings, key: Secret | None = None,
                transport: Any = None) -> httpx.Client:
    """An httpx.Client for ``settings``; ``transport`` lets tests inject a fake."""
    import ssl

    import httpx

    if settings.client_key and not settings.client_cert:
        raise InputError("--client-key needs --client-cert")
    for option, path in (("--ca-cert", None if settings.insecure else settings.ca_cert),
                         ("--client-cert", settings.client_cert), ("--client-key", settings.client_key)):
        _regular_file(option, path)
    try:
        ctx = ssl.create_default_context(cafile=settings.ca_cert if not settings.insecure else None)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"cannot load CA certificate {settings.ca_cert}: {exc}") from None
    if settings.insecure:
        # --insecure skips checking the *server*; a client certificate is still presented
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if settings.client_cert:
        try:
            ctx.load_cert_chain(settings.client_cert, settings.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(
                f"cannot load client certificate {settings.client_cert}: {exc}",
                hint=None if settings.client_key else
                "its private key is not in that file: pass it with --client-key KEY.pem",
            ) from None
    headers = {"user-agent": "qdrantsec"}
    if key is not None:
        headers["api-key"] = key.value
    prefix = settings.request_id_prefix
    fixed = settings.request_id

    def add_request_id(request: httpx.Request) -> None:
        request.headers.setdefault("x-request-id", fixed or f"{prefix}-{uuid.uuid4().hex[:16]}")

    return httpx.Client(
        base_url=settings.base_url(), verify=ctx, timeout=settings.timeout,
        headers=headers, transport=transport,
        event_hooks={"request": [add_request_id]},
    )


def _regular_file(option: str, path: str | None) -> None:
    """OpenSSL would block on a FIFO and read a device for ever: refuse both up front."""
    import os
    import stat

    if not path:
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: OpenSSL's own error says so below
    if not stat.S_ISREG(mode):
        raise InputError(f"{option} {path} is not a regular file")


def send(client: httpx.Client, method: str, path: str, *, max_bytes: int | None = None,
         **kwargs: Any) -> httpx.Response:
    """Send one request and return the response whatever its status; only transport
    failures (connect, TLS, timeout) raise, as ``NetworkError`` without any header value.
    With ``max_bytes`` at most that much of the (decoded) body is read, so that a server
    that never stops sending cannot exhaust memory or hold the caller for ever."""
    import httpx

    try:
        if max_bytes is None:
            return client.request(method, path, **kwargs)
        return _send_bounded(client, client.build_request(method, path, **kwargs), max_bytes)
    except httpx.TimeoutException:
        raise NetworkError(f"{client.base_url}: timed out ({method} {path})") from None
    except httpx.ConnectError as exc:
        raise NetworkError(f"cannot connect to {client.base_url}: {_reason(exc)}",
                           hint=_tls_hint(exc)) from None
    except httpx.HTTPError as exc:
        raise NetworkError(f"{client.base_url}: {type(exc).__name__}: {_reason(exc)}",
                           hint=_tls_hint(exc)) from None


def _send_bounded(client: httpx.Client, request: httpx.Request, max_bytes: int) -> httpx.Response:
    import httpx

    response = client.send(request, stream=True)
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= max_bytes:
                break
    finally:
        response.close()
    # the body is decoded already: drop the headers that describe the encoded one
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=bytes(body[:max_bytes]),
                          request=request)


def request_json(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Send one request and return the parsed body's ``result``; map failures to errors."""
    return parse_response(send(client, method, path, **kwargs))


def parse_response(resp: httpx.Response) -> Any:
    where = f"{resp.request.method} {resp.request.url.path}"
    if resp.status_code in (401, 403):
        raise AuthError(f"{where}: {resp.status_code} {_error_text(resp)}")
    if resp.status_code >= 400:
        raise ServerError(f"{where}: {resp.status_code} {_error_text(resp)}")
    try:
        body = resp.json()
    except ValueError:
        raise ServerError(f"{where}: response is not JSON") from None
    return body.get("result") if isinstance(body, dict) else body


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        err = body.get("status", {}).get("error") if isinstance(body, dict) else None
        if err:
            return str(err)[:300]
    except ValueError:
        pass
    return resp.text.strip()[:300] or resp.reason_phrase


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


def _tls_hint(exc: Exception) -> str | None:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the server's certificate is not trusted: pass --ca-cert CA.pem (or --insecure to skip checks)"
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return "TLS mismatch: use http:// for a plain-text server, https:// for TLS"
    if "CERTIFICATE_REQUIRED" in text or "certificate required" in text:
        # TLS 1.3 reports the refusal on the first read, as a ReadError, not at connect
        return ("the server demands a client certificate (verify_https_client_certificate): "
                "pass --client-cert CERT.pem --client-key KEY.pem")
    return None
