"""Make a CA, issue leaves from it, and load (and check) an existing CA for reuse."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, NamedTuple

from qdrantsec.certs import keys
from qdrantsec.certs.names import SanName
from qdrantsec.certs.profiles import Profile, eku_oids
from qdrantsec.errors import InputError

CA_DAYS = 3650
LEAF_DAYS = 397
MAX_LEAF_DAYS = 3650
#: not-before is set this far in the past so that peers with a slightly slow clock accept it.
CLOCK_SKEW = dt.timedelta(minutes=5)


# The records are NamedTuples, not dataclasses: a dataclass runs its generated methods
# through exec when its module is imported, half a millisecond each at every start of
# `certs generate`. Their reprs leave out keys (tracebacks, logs).

class CA(NamedTuple):
    cert: Any  # cryptography.x509.Certificate
    key: Any  # the private key
    cert_pem: bytes
    key_pem: bytes
    reused: bool

    def __repr__(self) -> str:
        return f"CA(reused={self.reused!r}, not_after={self.not_after!r})"

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc  # type: ignore[no-any-return]


class Leaf(NamedTuple):
    profile: Profile
    name: str
    sans: list[SanName]
    cert: Any  # cryptography.x509.Certificate
    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:
        return (f"Leaf(profile={self.profile.name!r}, name={self.name!r}, sans={self.sans!r}, "
                f"not_after={self.not_after!r})")

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc  # type: ignore[no-any-return]


def random_serial() -> int:
    """A positive 159-bit random serial (RFC 5280: at most 20 octets, positive)."""
    while True:
        serial = int.from_bytes(os.urandom(20), "big") >> 1
        if serial:
            return serial


def _hash_for(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePrivateKey):  # the default: no Ed25519 module loaded
        return hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    return hashes.SHA256()


def _now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (a naive time taken as UTC, as CertificateBuilder takes it), or the clock."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now


def _pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[no-any-return]


def new_ca(kind: keys.KeyType, *, days: int = CA_DAYS, now: dt.datetime | None = None,
           common_name: str | None = None) -> CA:
    """A self-signed CA that can sign leaves only (pathlen 0)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    now = _now(now)
    key = keys.generate(kind)
    cn = common_name or f"qdrantsec CA {os.urandom(4).hex()}"
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qdrantsec"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, _hash_for(key))
    )
    return CA(cert, key, _pem(cert), keys.private_pem(key), reused=False)


def issue(ca: CA, profile: Profile, name: str, sans: list[SanName], kind: keys.KeyType, *,
          days: int = LEAF_DAYS, now: dt.datetime | None = None) -> Leaf:
    """A leaf certificate for ``profile`` signed by ``ca``; ``name`` is the subject CN."""
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    now = _now(now)
    # DNS names first, then IP addresses, each in the order given
    sans = [s for s in sans if s.kind == "dns"] + [s for s in sans if s.kind == "ip"]
    not_after = now + dt.timedelta(days=days)
    ca_end = ca.not_after
    if not_after > ca_end:
        raise InputError(
            f"the {profile.name} certificate for {name} would outlive the CA "
            f"(CA expires {ca_end:%Y-%m-%d}, certificate would expire {not_after:%Y-%m-%d})",
            hint="use fewer --days, or a newer CA",
        )
    key = keys.generate(kind)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=kind.family == "rsa",
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku_oids(profile.eku)]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(ca.cert), critical=False)
    )
    if sans:
        general = [x509.DNSName(s.value) if s.kind == "dns" else x509.IPAddress(ipaddress.ip_address(s.value))
                   for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    cert = builder.sign(ca.key, _hash_for(ca.key))
    return Leaf(profile, name, list(sans), cert, _pem(cert), keys.private_pem(key))


def _aki(ca_cert: Any) -> Any:
    from cryptography import x509

    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())


def load_ca(cert_data: bytes, key_data: bytes, cert_src: str, key_src: str,
            *, now: dt.datetime | None = None) -> CA:
    """An existing CA to issue from: must be a CA, valid now, and match its key."""
    from cryptography import x509

    from qdrantsec.certs.pem import load_certificates

    certs = load_certificates(cert_data, cert_src)
    cert = certs[0]
    key = keys.load_private(key_data, key_src)
    if not keys.same_public_key(cert.public_key(), key.public_key()):
        raise InputError(f"CA certificate {cert_src} and key {key_src} do not match",
                         hint="give the key that belongs to this CA certificate")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise InputError(f"{cert_src} is not a CA certificate (basicConstraints CA:TRUE missing)")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            raise InputError(f"{cert_src} may not sign certificates (keyCertSign missing)")
    except x509.ExtensionNotFound:
        pass
    now = _now(now)
    if cert.not_valid_after_utc <= now:
        raise InputError(f"CA certificate {cert_src} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    problem = keys.unsupported_by_qdrant(cert.public_key())
    if problem:
        raise InputError(f"CA certificate {cert_src}: {problem}")
    return CA(cert, key, _pem(cert), key_data, reused=True)
