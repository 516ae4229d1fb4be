"""QP2xx: TLS as a client meets it. Raw handshakes (stdlib ``ssl``), counted by the rate
limit like requests: one without verification to read the certificate and learn whether a
client certificate is demanded, one verifying the chain, one per legacy protocol version,
and plain HTTP sent to the TLS port."""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext
from qdrantsec.probe.model import ProbeCheck


class PlaintextHttp(ProbeCheck):
    id = "QP201"
    name = "plaintext-http"
    severity = Severity.HIGH
    summary = "The REST API answers over plain HTTP (an http:// URL, or plain HTTP on the TLS port)."
    rationale = ("API keys and JWTs travel in request headers: over plain HTTP anyone on the path "
                 "reads them, and the data, and can change both.")
    fix = ("Set `service.enable_tls: true` with `tls.cert`/`tls.key` (or terminate TLS in a proxy "
           "that does not also forward plain HTTP) and use https:// URLs.")
    references = ("https://qdrant.tech/documentation/guides/security/#tls",)


class CertUntrusted(ProbeCheck):
    id = "QP202"
    name = "cert-untrusted"
    severity = Severity.HIGH
    summary = ("The server's certificate chain does not verify against the CA given (--ca-cert) or "
               "the system CAs.")
    rationale = ("Clients either fail or are told to skip verification, and a client that skips it "
                 "hands its key to whoever answers.")
    fix = ("Serve a chain that verifies: the leaf first, then the intermediates, in `tls.cert`; "
           "give clients the CA (`qdrantsec certs verify` checks a chain offline).")


class CertExpiry(ProbeCheck):
    id = "QP203"
    name = "cert-expiry"
    severity = Severity.HIGH
    summary = ("The server's certificate has expired (critical) or expires within "
               "--cert-expiry-days (medium).")
    rationale = ("An expired certificate breaks every verifying client at once; Qdrant re-reads the "
                 "files only every `tls.cert_ttl` seconds.")
    fix = ("Renew the certificate (`qdrantsec certs generate`), replace the files and keep "
           "`tls.cert_ttl` set so that Qdrant picks them up.")


class CertHostnameMismatch(ProbeCheck):
    id = "QP204"
    name = "cert-hostname-mismatch"
    severity = Severity.HIGH
    summary = "The host name or IP in the URL is not among the certificate's subjectAltNames."
    rationale = ("Verifying clients refuse the connection; clients that turn the check off to get "
                 "going accept any server's certificate.")
    fix = ("Issue the certificate with a SAN for every name and IP clients use (`qdrantsec certs "
           "generate --host NAME`).")


class LegacyTls(ProbeCheck):
    id = "QP205"
    name = "legacy-tls-protocols"
    severity = Severity.MEDIUM
    summary = "The TLS port completes a TLS 1.0 or TLS 1.1 handshake."
    rationale = ("TLS 1.0 and 1.1 are deprecated (RFC 8996). Qdrant itself offers only TLS 1.2 and 1.3, "
                 "so an older version means something else (a proxy) terminates TLS.")
    fix = "Allow only TLS 1.2 and 1.3 on whatever terminates TLS in front of Qdrant."
    references = ("https://www.rfc-editor.org/rfc/rfc8996",)


class ClientCertNotRequired(ProbeCheck):
    id = "QP206"
    name = "client-cert-not-required"
    severity = Severity.LOW
    summary = "The TLS port accepts clients without a client certificate (no mutual TLS)."
    rationale = ("Without mTLS the API key is the only barrier; with "
                 "`service.verify_https_client_certificate` only holders of a certificate from your "
                 "CA reach the API at all.")
    fix = ("Set `service.verify_https_client_certificate: true` with `tls.ca_cert`, and issue client "
           "certificates (`qdrantsec certs generate --client NAME`). It covers REST and the metrics "
           "port, never gRPC.")


CHECKS = (PlaintextHttp, CertUntrusted, CertExpiry, CertHostnameMismatch, LegacyTls, ClientCertNotRequired)

#: OpenSSL verify codes: expiry is QP203's business, host names QP204's
_EXPIRED = 10
_HOSTNAME = (62, 64)


@dataclass
class Handshake:
    ok: bool
    error: str | None = None
    verify_code: int | None = None
    cert: bytes | None = None
    version: str | None = None
    status_line: str | None = None  # the answer to GET / over this connection
    cert_required: bool = False
    connected: bool = True


def _request_line(ctx: TargetContext) -> bytes:
    host = f"[{ctx.host}]" if ":" in ctx.host else ctx.host
    return (f"GET / HTTP/1.1\r\nHost: {host}:{ctx.port}\r\nUser-Agent: qdrantsec\r\n"
            f"x-request-id: {ctx.prober.request_id}\r\nConnection: close\r\n\r\n").encode()


def _read_status(sock: socket.socket | ssl.SSLSocket) -> str | None:
    data = b""
    while b"\r\n" not in data and len(data) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line if line.startswith("HTTP/") else None


def _watch_certificate_request(tls_ctx: ssl.SSLContext) -> list[bool]:
    """Note whether the server sends a CertificateRequest. A server that demands a client
    certificate may just close the connection when none comes (no alert to read), so the
    request itself is the evidence. Uses CPython's message callback where it exists."""
    seen: list[bool] = []
    wanted = getattr(getattr(ssl, "_TLSMessageType", None), "CERTIFICATE_REQUEST", None)
    if wanted is None or not hasattr(tls_ctx, "_msg_callback"):
        return seen

    def callback(_conn: object, direction: str, _version: object, _content: object, msg_type: object,
                 _data: object) -> None:
        if direction == "read" and msg_type == wanted:
            seen.append(True)

    tls_ctx._msg_callback = callback
    return seen


def handshake(ctx: TargetContext, tls_ctx: ssl.SSLContext, *, ask: bool) -> Handshake:
    ctx.prober.limit.wait()
    timeout = ctx.prober.settings.timeout
    try:
        raw = socket.create_connection((ctx.host, ctx.port), timeout=timeout)
    except OSError as exc:
        return Handshake(False, exc.strerror or type(exc).__name__, connected=False)
    requested = _watch_certificate_request(tls_ctx)
    try:
        with tls_ctx.wrap_socket(raw, server_hostname=ctx.host) as tls:
            out = Handshake(True, cert=tls.getpeercert(binary_form=True), version=tls.version())
            if ask:
                tls.sendall(_request_line(ctx))
                out.status_line = _read_status(tls)
            return out
    except ssl.SSLCertVerificationError as exc:
        return Handshake(False, exc.verify_message or exc.reason or str(exc), verify_code=exc.verify_code)
    except ssl.SSLError as exc:
        reason = exc.reason or type(exc).__name__
        required = bool(requested) or "CERTIFICATE_REQUIRED" in reason
        return Handshake(False, reason, cert_required=required)
    except OSError as exc:
        return Handshake(False, exc.strerror or type(exc).__name__, cert_required=bool(requested))
    finally:
        raw.close()


def _client_context(verify: bool, ca_cert: str | None) -> ssl.SSLContext:
    if verify:
        try:
            tls_ctx = ssl.create_default_context(cafile=ca_cert)
        except (OSError, ssl.SSLError) as exc:
            from qdrantsec.errors import InputError

            raise InputError(f"cannot load CA certificate {ca_cert}: {exc}") from None
        tls_ctx.check_hostname = False  # host names are QP204's, checked against the SANs
        return tls_ctx
    tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls_ctx.check_hostname = False
    tls_ctx.verify_mode = ssl.CERT_NONE
    return tls_ctx


def legacy_context(version: ssl.TLSVersion) -> ssl.SSLContext | None:
    """A client context offering only ``version``, or None when the local OpenSSL cannot even
    produce such a ClientHello (then the version is "not tested", never guessed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            tls_ctx = _client_context(False, None)
            tls_ctx.set_ciphers("ALL:@SECLEVEL=0")
            tls_ctx.minimum_version = version
            tls_ctx.maximum_version = version
        except (ssl.SSLError, ValueError):
            return None
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        return tls_ctx if outgoing.pending else None
    except ssl.SSLError:
        return None
    return None


def plaintext_answer(ctx: TargetContext) -> str | None:
    """The status line the TLS port answers to plain HTTP, or None (no HTTP answer)."""
    ctx.prober.limit.wait()
    try:
        with socket.create_connection((ctx.host, ctx.port), timeout=ctx.prober.settings.timeout) as sock:
            sock.sendall(_request_line(ctx))
            return _read_status(sock)
    except OSError:
        return None


def run(ctx: TargetContext) -> Iterator[Finding]:
    """TLS checks of an https:// URL; sets ``ctx.http_ok`` and ``ctx.client_cert_missing``."""
    if not ctx.tls:
        return
    settings = ctx.prober.settings
    where = f"tls://{ctx.url.split('://', 1)[1]}"
    first = handshake(ctx, _client_context(False, None), ask=True)
    if not first.connected:
        raise ConnectionError(first.error or "connection failed")
    if not first.ok and first.cert is None and not first.cert_required:
        ctx.http_ok = False
        answer = plaintext_answer(ctx)
        if answer is not None:  # no TLS at all: a plain-HTTP server behind an https:// URL
            yield PlaintextHttp().finding(
                ctx.url, "the https:// URL's port speaks plain HTTP, not TLS",
                ctx.url.replace("https://", "http://", 1) + "/",
                f"TLS handshake: {first.error}; plain GET / over TCP: {answer}")
            return
        # TLS, but not TLS 1.2/1.3 as a current client offers it: perhaps only older versions
        ctx.notes.append(f"{ctx.url}: a TLS 1.2/1.3 handshake failed ({first.error}); "
                         "HTTP checks skipped")
        yield from _legacy(ctx, where)
        return
    if first.cert_required:
        ctx.client_cert_missing = not settings.client_cert
        ctx.notes.append(f"{ctx.url}: the server demands a client certificate (mutual TLS)"
                         + ("; give --client-cert/--client-key to run the HTTP checks"
                            if ctx.client_cert_missing else ""))
    elif first.status_line is not None:
        yield ClientCertNotRequired().finding(
            ctx.url, f"TLS connections without a client certificate are accepted ({first.version})",
            where, f"TLS handshake without a client certificate, then GET /: {first.status_line}")

    verified = handshake(ctx, _client_context(True, settings.ca_cert), ask=False)
    trust = f"the CA in {settings.ca_cert}" if settings.ca_cert else "the system CAs"
    if not verified.ok and verified.cert_required:
        pass  # TLS 1.2 servers refuse the handshake itself without a client cert: no verdict
    elif not verified.ok and verified.verify_code not in (_EXPIRED, *_HOSTNAME):
        yield CertUntrusted().finding(
            ctx.url, f"the certificate chain does not verify against {trust}: {verified.error}",
            where, f"TLS handshake verifying against {trust}: {verified.error}")
    # expired counts as "does not verify" here (clients refuse it), though QP203 reports it
    chain_ok = verified.ok or verified.cert_required
    cert = first.cert or verified.cert
    hostname_ok = True
    if cert:
        yield from _expiry(ctx, cert, where)
        hostname_ok = yield from _hostname(ctx, cert, where)
    ctx.http_ok = settings.insecure or (chain_ok and hostname_ok)
    if ctx.client_cert_missing:
        ctx.http_ok = False
    if not ctx.http_ok and not ctx.client_cert_missing:
        ctx.notes.append(f"{ctx.url}: the certificate does not verify, so no HTTP checks were made "
                         "(give --ca-cert CA.pem, or --insecure to probe anyway)")
    yield from _legacy(ctx, where)
    answer = plaintext_answer(ctx)
    if answer is not None and " 400 " not in f"{answer} ":
        yield PlaintextHttp().finding(
            ctx.url, "the TLS port also answers plain HTTP", ctx.url.replace("https://", "http://", 1) + "/",
            f"plain GET / over TCP to port {ctx.port}: {answer}")


def _expiry(ctx: TargetContext, der: bytes, where: str) -> Iterator[Finding]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    now = ctx.options.now or datetime.now(timezone.utc)
    end = cert.not_valid_after_utc
    days = int((end - now).total_seconds() // 86400)
    stamp = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    if end <= now:
        yield CertExpiry().finding(ctx.url, f"the server's certificate expired on {stamp}", where,
                                   f"certificate notAfter {stamp}", severity=Severity.CRITICAL)
    elif days < ctx.options.cert_expiry_days:
        yield CertExpiry().finding(
            ctx.url, f"the server's certificate expires in {days} days ({stamp})", where,
            f"certificate notAfter {stamp}; window --cert-expiry-days {ctx.options.cert_expiry_days}",
            severity=Severity.MEDIUM)


def _hostname(ctx: TargetContext, der: bytes, where: str) -> Iterator[Finding]:
    from cryptography import x509

    from qdrantsec.certs.inspect import sans_of
    from qdrantsec.certs.names import SanName, matches, parse_reference
    from qdrantsec.errors import InputError

    cert = x509.load_der_x509_certificate(der)
    shown = sans_of(cert)
    sans = []
    for text in shown:
        kind, _, value = text.partition(":")
        if kind in ("DNS", "IP"):
            sans.append(SanName("dns" if kind == "DNS" else "ip", value.lower()))
    try:
        ok = matches(sans, parse_reference(ctx.host))
    except InputError:
        ok = False
    if not ok:
        yield CertHostnameMismatch().finding(
            ctx.url, f"{ctx.host} is not among the certificate's subjectAltNames", where,
            f"certificate SANs: {', '.join(shown) or 'none'}")
    return ok


def _legacy(ctx: TargetContext, where: str) -> Iterator[Finding]:
    accepted, untested = [], []
    for label, version in (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1)):
        tls_ctx = legacy_context(version)
        if tls_ctx is None:
            untested.append(label)
            continue
        if ctx.prober.settings.client_cert:
            tls_ctx.load_cert_chain(ctx.prober.settings.client_cert, ctx.prober.settings.client_key)
        if handshake(ctx, tls_ctx, ask=False).ok:
            accepted.append(label)
    if untested:
        ctx.notes.append(f"{ctx.url}: {' and '.join(untested)} not tested: the local OpenSSL cannot "
                         "offer them")
    if accepted:
        yield LegacyTls().finding(ctx.url, f"the TLS port accepts {' and '.join(accepted)}", where,
                                  f"TLS handshakes offering only {', '.join(accepted)}: completed")
