"""Build odd certificates for verify/inspect tests (expired, intermediates, wrong EKU ...)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.timezone.utc)
EKU = {"server": [ExtendedKeyUsageOID.SERVER_AUTH], "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
       "peer": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
       "any": [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}


class Made:
    def __init__(self, cert: x509.Certificate, key: Any) -> None:
        self.cert, self.key = cert, key

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, path: Path, *extra: Made) -> Path:
        path.write_bytes(self.pem + b"".join(e.pem for e in extra))
        return path


def make(cn: str, *, issuer: Made | None = None, ca: bool = False, pathlen: int | None = None,
         sans: list[str] | None = None, eku: str | None = "server", days: int = 30,
         start: dt.datetime | None = None, key_cert_sign: bool | None = None) -> Made:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = start or NOW - dt.timedelta(minutes=5)
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer.cert.subject if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None), critical=True))
    sign = key_cert_sign if key_cert_sign is not None else ca
    b = b.add_extension(x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=sign, crl_sign=sign, encipher_only=False,
        decipher_only=False), critical=True)
    if eku is not None and not ca:
        b = b.add_extension(x509.ExtendedKeyUsage(EKU[eku]), critical=False)
    if sans:
        general: list[x509.GeneralName] = []
        for s in sans:
            try:
                general.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                general.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(general), critical=False)
    signer = issuer.key if issuer else key
    return Made(b.sign(signer, hashes.SHA256()), key)
