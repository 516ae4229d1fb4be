"""Make a CA, issue leaves from it, and load (and check) an existing CA for reuse."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, NamedTuple

from qdrantsec.certs import der, keys
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

def _parse(cert_pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert_pem)


class CA(NamedTuple):
    key: Any  # the private key
    cert_pem: bytes
    key_pem: bytes
    reused: bool
    subject: bytes  # DER of its subject name: the leaves' issuer
    key_id: bytes  # its subject key identifier: the leaves' authority key identifier
    not_after: dt.datetime
    loaded: Any = None  # the cryptography.x509.Certificate of a CA read from files

    def __repr__(self) -> str:
        return f"CA(reused={self.reused!r}, not_after={self.not_after!r})"

    @property
    def cert(self) -> Any:
        """The certificate as a ``cryptography.x509.Certificate`` (parsed when asked for:
        ``certs generate`` itself does not import ``cryptography.x509``)."""
        return self.loaded if self.loaded is not None else _parse(self.cert_pem)


class Leaf(NamedTuple):
    profile: Profile
    name: str
    sans: list[SanName]
    cert_pem: bytes
    key_pem: bytes
    not_after: dt.datetime

    def __repr__(self) -> str:
        return (f"Leaf(profile={self.profile.name!r}, name={self.name!r}, sans={self.sans!r}, "
                f"not_after={self.not_after!r})")

    @property
    def cert(self) -> Any:
        """The certificate as a ``cryptography.x509.Certificate`` (parsed when asked for)."""
        return _parse(self.cert_pem)


def random_serial() -> int:
    """A positive 159-bit random serial (RFC 5280: at most 20 octets, positive)."""
    while True:
        serial = int.from_bytes(os.urandom(20), "big") >> 1
        if serial:
            return serial


def _now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (a naive time taken as UTC, as CertificateBuilder takes it), or the clock."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now


def new_ca(kind: keys.KeyType, *, days: int = CA_DAYS, now: dt.datetime | None = None,
           common_name: str | None = None) -> CA:
    """A self-signed CA that can sign leaves only (pathlen 0)."""
    now = _now(now)
    key = keys.generate(kind)
    cn = common_name or f"qdrantsec CA {os.urandom(4).hex()}"
    subject = der.name([(der.ORGANIZATION, "qdrantsec"), (der.CN, cn)])
    key_id = der.key_identifier(key.public_key())
    not_after = now + dt.timedelta(days=days)
    algorithm, sign = der.signer(key)
    tbs = der.tbs_certificate(
        serial=random_serial(), algorithm=algorithm, issuer=subject, subject=subject,
        not_before=now - CLOCK_SKEW, not_after=not_after, public_key=key.public_key(),
        extensions=[
            der.basic_constraints(ca=True, path_length=0),
            der.key_usage(key_cert_sign=True, crl_sign=True),
            der.subject_key_id(key_id),
            der.authority_key_id(key_id),
        ])
    cert_pem = der.pem(der.sign_certificate(tbs, algorithm, sign))
    return CA(key, cert_pem, keys.private_pem(key), reused=False, subject=subject, key_id=key_id,
              not_after=not_after)


def issue(ca: CA, profile: Profile, name: str, sans: list[SanName], kind: keys.KeyType, *,
          days: int = LEAF_DAYS, now: dt.datetime | None = None) -> Leaf:
    """A leaf certificate for ``profile`` signed by ``ca``; ``name`` is the subject CN."""
    now = _now(now)
    # DNS names first, then IP addresses, each in the order given
    sans = [s for s in sans if s.kind == "dns"] + [s for s in sans if s.kind == "ip"]
    not_after = now + dt.timedelta(days=days)
    ca_end = ca.not_after
    if not_after > ca_end:
        raise InputError(
            f"the {profile.name} certificate for {name} would outlive the CA "
            f"(CA expires {ca_end:%Y-%m-%d})",
            hint="use fewer --days, or a newer CA",
        )
    key = keys.generate(kind)
    extensions = [
        der.basic_constraints(ca=False, path_length=None),
        der.key_usage(digital_signature=True, key_encipherment=kind.family == "rsa"),
        der.ext_key_usage(eku_oids(profile.eku)),
        der.subject_key_id(der.key_identifier(key.public_key())),
        der.authority_key_id(ca.key_id),
    ]
    if sans:
        extensions.append(der.subject_alt_names([(s.kind, s.value) for s in sans]))
    algorithm, sign = der.signer(ca.key)
    tbs = der.tbs_certificate(
        serial=random_serial(), algorithm=algorithm, issuer=ca.subject,
        subject=der.name([(der.CN, name[:64])]), not_before=now - CLOCK_SKEW, not_after=not_after,
        public_key=key.public_key(), extensions=extensions)
    cert_pem = der.pem(der.sign_certificate(tbs, algorithm, sign))
    return Leaf(profile, name, list(sans), cert_pem, keys.private_pem(key), not_after)


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
    try:
        key_id = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:  # the leaves' authority key id is then the key's own
        key_id = der.key_identifier(cert.public_key())
    f = keys.formats()
    return CA(key, cert.public_bytes(f.Encoding.PEM), key_data, reused=True,
              subject=cert.subject.public_bytes(), key_id=key_id, not_after=cert.not_valid_after_utc,
              loaded=cert)
