"""What a certificate file (or a TLS server) holds: subject, SANs, key, validity, EKU."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from qdrantsec.certs.expiry import whole_days
from qdrantsec.errors import InputError, NetworkError, UsageError


@dataclass
class CertInfo:
    index: int
    subject: str
    issuer: str
    serial: str
    sans: list[str]
    key_type: str
    key_bits: int
    signature: str
    not_before: str
    not_after: str
    days_left: int
    expired: bool
    not_yet_valid: bool
    is_ca: bool
    path_length: int | None
    key_usage: list[str]
    eku: list[str] | None
    sha256: str
    sha1: str
    self_signed: bool


@dataclass
class Inspection:
    source: str
    certificates: list[CertInfo]
    chain_problems: list[str] = field(default_factory=list)

    @property
    def chain_ok(self) -> bool:
        return not self.chain_problems

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "certificates": [asdict(c) for c in self.certificates],
                "chain": {"checked": len(self.certificates) > 1, "ok": self.chain_ok,
                          "problems": self.chain_problems}}


def _colon_hex(data: bytes) -> str:
    return ":".join(f"{b:02X}" for b in data)


def sans_of(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out = [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
    out += [f"IP:{n}" for n in ext.get_values_for_type(x509.IPAddress)]
    out += [f"URI:{n}" for n in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    out += [f"email:{n}" for n in ext.get_values_for_type(x509.RFC822Name)]
    return out


def eku_of(cert: Any) -> list[str] | None:
    from cryptography import x509

    from qdrantsec.certs.profiles import eku_name

    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return [eku_name(o) for o in ext]


def basic_constraints(cert: Any) -> tuple[bool, int | None]:
    from cryptography import x509

    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False, None
    return bc.ca, bc.path_length


def key_usage_of(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign"]
    out = [n for n in names if getattr(ku, n)]
    if ku.key_agreement:
        out += [n for n in ("encipher_only", "decipher_only") if getattr(ku, n)]
    return [_camel(n) for n in out]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    special = {"crl": "CRL"}
    return head + "".join(special.get(r, r.capitalize()) for r in rest)


def describe(cert: Any, index: int = 1, *, now: dt.datetime | None = None) -> CertInfo:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    from qdrantsec.certs import keys

    now = now or dt.datetime.now(dt.timezone.utc)
    kind, bits = keys.describe(cert.public_key())
    is_ca, pathlen = basic_constraints(cert)
    der = cert.public_bytes(Encoding.DER)
    left = cert.not_valid_after_utc - now
    oid = cert.signature_algorithm_oid
    sig = getattr(oid, "_name", None) or oid.dotted_string
    return CertInfo(
        index=index, subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        serial=f"{cert.serial_number:x}", sans=sans_of(cert), key_type=kind, key_bits=bits,
        signature=sig, not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(), days_left=whole_days(left),
        expired=left.total_seconds() <= 0, not_yet_valid=cert.not_valid_before_utc > now,
        is_ca=is_ca, path_length=pathlen, key_usage=key_usage_of(cert), eku=eku_of(cert),
        sha256=_colon_hex(cert.fingerprint(hashes.SHA256())),
        sha1=_colon_hex(_sha1(der)),
        self_signed=cert.issuer == cert.subject,
    )


def _sha1(der: bytes) -> bytes:
    import hashlib

    return hashlib.sha1(der, usedforsecurity=False).digest()


def issued_by(child: Any, parent: Any) -> bool:
    """True when ``parent``'s key signed ``child`` and the names line up."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # InvalidSignature, ValueError, TypeError (unsupported key)
        return False
    return True


def chain_problems(certs: list[Any]) -> list[str]:
    """Problems with the order of a chain file (leaf first, each followed by its issuer)."""
    problems = []
    if len(certs) > 1:
        if basic_constraints(certs[0])[0]:
            problems.append("certificate 1 is a CA certificate; the leaf must come first")
        for i in range(len(certs) - 1):
            if not issued_by(certs[i], certs[i + 1]):
                problems.append(f"certificate {i + 2} did not issue certificate {i + 1}; "
                                "order must be leaf, then its issuer, and so on")
    return problems


def inspect_file(path: str, *, now: dt.datetime | None = None) -> Inspection:
    from qdrantsec.certs.pem import load_certificates, read_bytes

    certs = load_certificates(read_bytes(path, "certificate file"), path)
    return Inspection(path, [describe(c, i, now=now) for i, c in enumerate(certs, 1)], chain_problems(certs))


def parse_https(url: str) -> tuple[str, int]:
    """(host, port) of an ``https://HOST[:PORT]`` URL; a host that no resolver could look
    up (``a..b``, ``[::1``, a label over 63 characters, a space) is an InputError here,
    not a UnicodeError from the IDNA codec inside the socket layer."""
    from urllib.parse import urlsplit

    shown = _short(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL", a bad netloc
        raise InputError(f"{shown} is not a valid URL ({exc})") from None
    if parts.scheme != "https" or not host:
        raise InputError(f"{shown} is not an https://HOST[:PORT] URL")
    try:
        port = parts.port or 443
    except ValueError:
        raise InputError(f"{shown} has an invalid port") from None
    problem = host_problem(host)
    if problem:
        raise InputError(f"{shown}: {problem}")
    return host, port


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def host_problem(host: str) -> str | None:
    """Why ``host`` (from a URL, brackets removed) is neither an IP address nor a DNS name
    the resolver accepts, or None."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if ":" in host:
        return f"{_short(host)} is not a valid IPv6 address"
    try:
        ascii_name = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:  # an empty label (a..b), a label over 63 characters, bad IDNA
        return f"host {_short(host)} is not a valid DNS name (empty label or one over 63 characters)"
    labels = ascii_name.split(".")
    if len(ascii_name) > 253:
        return f"host {_short(host)} is longer than 253 characters"
    for label in labels:
        if not label or len(label) > 63 or not all(c.isalnum() or c in "-_" for c in label):
            return f"host {_short(host)} is not a valid DNS name"
    return None


MAX_TIMEOUT = 3600.0


def check_timeout(timeout: float) -> None:
    """nan passes click's range check and 1e308 overflows the socket layer: refuse both."""
    import math

    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT:
        raise UsageError(f"--timeout must be a number of seconds between 0.1 and {MAX_TIMEOUT:g}")


def fetch_chain(url: str, *, timeout: float = 10.0) -> list[bytes]:
    """The DER certificates a TLS server presents, in the order sent. No verification:
    this is an inspection, and an untrusted or broken chain is exactly what one inspects."""
    import ipaddress
    import socket
    import ssl

    host, port = parse_https(url)
    check_timeout(timeout)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ipaddress.ip_address(host)
        sni = None
    except ValueError:
        sni = host
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=sni) as tls:
            chain = _peer_chain(tls)
    except ssl.SSLError as exc:
        raise NetworkError(f"TLS handshake with {host}:{port} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise NetworkError(f"{host}:{port} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise NetworkError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    if not chain:
        raise NetworkError(f"{host}:{port} presented no certificate")
    return chain


def _peer_chain(tls: Any) -> list[bytes]:
    import ssl

    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        chain = getter() or []
        der = getattr(ssl._ssl, "ENCODING_DER", 2)
        return [c if isinstance(c, bytes) else c.public_bytes(der) for c in chain]
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def inspect_url(url: str, *, timeout: float = 10.0, now: dt.datetime | None = None) -> Inspection:
    from qdrantsec.certs.pem import load_der_chain

    certs = load_der_chain(fetch_chain(url, timeout=timeout), url)
    return Inspection(url, [describe(c, i, now=now) for i, c in enumerate(certs, 1)], chain_problems(certs))
