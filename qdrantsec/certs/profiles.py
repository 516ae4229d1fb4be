"""Certificate profiles: which extensions a CA, server, peer or client certificate carries.

What Qdrant (rustls + webpki) requires, from the facts file section 6:

- CA: ``basicConstraints CA:TRUE, pathlen:0`` (it signs leaves only) and key usage
  ``keyCertSign, cRLSign``.
- Leaves: ``CA:FALSE`` (webpki refuses a CA certificate used as an end entity), key usage
  ``digitalSignature`` (+ ``keyEncipherment`` for RSA key exchange in TLS 1.2), and an EKU:
  server ``serverAuth``; peer ``serverAuth`` **and** ``clientAuth`` (p2p is mutual TLS, and the
  same certificate is presented as the client identity); client ``clientAuth`` only.
- Every certificate: subject key identifier; leaves: authority key identifier.
"""

from __future__ import annotations

from typing import NamedTuple

SERVER_AUTH = "serverAuth"
CLIENT_AUTH = "clientAuth"


class Profile(NamedTuple):  # (not a frozen dataclass: see names.SanName)
    name: str
    eku: tuple[str, ...]
    needs_sans: bool

    @property
    def description(self) -> str:
        return f"{self.name} ({' + '.join(self.eku)})"


SERVER = Profile("server", (SERVER_AUTH,), needs_sans=True)
PEER = Profile("peer", (SERVER_AUTH, CLIENT_AUTH), needs_sans=True)
CLIENT = Profile("client", (CLIENT_AUTH,), needs_sans=False)
PROFILES = {p.name: p for p in (SERVER, PEER, CLIENT)}


#: RFC 5280 4.2.1.12 (id-kp-serverAuth, id-kp-clientAuth)
_EKU_OIDS = {SERVER_AUTH: "1.3.6.1.5.5.7.3.1", CLIENT_AUTH: "1.3.6.1.5.5.7.3.2"}


def eku_oids(names: tuple[str, ...]) -> list[str]:
    """The dotted OIDs of EKU names (no ``cryptography.x509.oid``: it imports all of x509)."""
    return [_EKU_OIDS[n] for n in names]


def eku_name(oid: object) -> str:
    """Short name of an EKU OID (``serverAuth``), or its dotted string."""
    from cryptography.x509.oid import ExtendedKeyUsageOID as E

    known = {E.SERVER_AUTH: SERVER_AUTH, E.CLIENT_AUTH: CLIENT_AUTH, E.CODE_SIGNING: "codeSigning",
             E.EMAIL_PROTECTION: "emailProtection", E.TIME_STAMPING: "timeStamping",
             E.OCSP_SIGNING: "OCSPSigning", E.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage"}
    return known.get(oid, getattr(oid, "dotted_string", str(oid)))  # type: ignore[call-overload]
