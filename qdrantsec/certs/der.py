"""The X.509 certificates ``certs generate`` issues, encoded in DER here (RFC 5280).

Why not ``cryptography.x509.CertificateBuilder``: importing ``cryptography.x509`` costs
about 25 ms (its RFC 4514 regular expressions, ``email.utils``, every extension class), a
fifth of the whole command, while the certificates are a handful of fixed fields. Keys and
signatures still come from ``cryptography`` (its ``hazmat`` key modules do not import
``x509``). The bytes are the ones CertificateBuilder makes for the same input:
``tests/certs/test_der.py`` compares the to-be-signed part of each profile and key type
with it, byte for byte, and the PKCS#8 of ECDSA keys (``ec_private_key_info``) with
``private_bytes``'.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from binascii import b2a_base64
from collections.abc import Callable
from typing import Any

from qdrantsec.errors import InputError

# object identifiers (dotted), RFC 5280 and RFC 5758 / 8410 / 4055
CN = "2.5.4.3"
ORGANIZATION = "2.5.4.10"
_BASIC_CONSTRAINTS = "2.5.29.19"
_KEY_USAGE = "2.5.29.15"
_EXT_KEY_USAGE = "2.5.29.37"
_SUBJECT_KEY_ID = "2.5.29.14"
_AUTHORITY_KEY_ID = "2.5.29.35"
_SUBJECT_ALT_NAME = "2.5.29.17"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
_ECDSA_SHA384 = "1.2.840.10045.4.3.3"
_RSA_SHA256 = "1.2.840.113549.1.1.11"
_ED25519 = "1.3.101.112"
#: key usage bits in their RFC 5280 order
KEY_USAGE_BITS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                  "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


# -- DER ------------------------------------------------------------------------------------

def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def integer(n: int) -> bytes:
    return tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def _time(t: dt.datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), in UTC (a naive
    time is taken as UTC, as CertificateBuilder does)."""
    t = t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)
    if 1950 <= t.year < 2050:
        return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, f"{t.year:04d}{t:%m%d%H%M%S}Z".encode())


def _bits(flags: list[bool]) -> bytes:
    """A DER BIT STRING of named bits: trailing zero bits left out."""
    last = max((i for i, on in enumerate(flags) if on), default=-1)
    if last < 0:
        return tlv(0x03, b"\x00")
    value = 0
    for i in range(last + 1):
        value = value << 1 | flags[i]
    unused = 7 - last % 8
    return tlv(0x03, bytes((unused,)) + (value << unused).to_bytes(last // 8 + 1, "big"))


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at ``pos``."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        size = n & 0x7F
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    return tag, pos, pos + n


# -- certificate parts ----------------------------------------------------------------------

def name(attributes: list[tuple[str, str]]) -> bytes:
    """A distinguished name, one attribute per RDN, each value a UTF8String."""
    return seq(*(tlv(0x31, seq(oid(o), tlv(0x0C, v.encode()))) for o, v in attributes))


def spki(public_key: Any) -> bytes:
    from qdrantsec.certs.keys import formats

    f = formats()
    return public_key.public_bytes(f.Encoding.DER, f.PublicFormat.SubjectPublicKeyInfo)


def key_identifier(public_key: Any) -> bytes:
    """SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1)."""
    from cryptography.hazmat.primitives import hashes

    data = spki(public_key)
    _, start, _ = _read(data, 0)  # SubjectPublicKeyInfo
    _, _, alg_end = _read(data, start)  # its AlgorithmIdentifier
    _, bits, end = _read(data, alg_end)  # the BIT STRING: unused-bits byte, then the key
    h = hashes.Hash(hashes.SHA1())
    h.update(data[bits + 1:end])
    return bytes(h.finalize())


def extension(ext_oid: str, value: bytes, *, critical: bool) -> bytes:
    return seq(oid(ext_oid), *([tlv(0x01, b"\xff")] if critical else []), tlv(0x04, value))


def basic_constraints(*, ca: bool, path_length: int | None) -> bytes:
    body = [tlv(0x01, b"\xff")] if ca else []  # cA DEFAULT FALSE: absent when false
    if path_length is not None:
        body.append(integer(path_length))
    return extension(_BASIC_CONSTRAINTS, seq(*body), critical=True)


def key_usage(**flags: bool) -> bytes:
    unknown = set(flags) - set(KEY_USAGE_BITS)
    if unknown:
        raise ValueError(f"unknown key usage {sorted(unknown)}")
    return extension(_KEY_USAGE, _bits([flags.get(b, False) for b in KEY_USAGE_BITS]), critical=True)


def ext_key_usage(oids: list[str]) -> bytes:
    return extension(_EXT_KEY_USAGE, seq(*(oid(o) for o in oids)), critical=False)


def subject_key_id(key_id: bytes) -> bytes:
    return extension(_SUBJECT_KEY_ID, tlv(0x04, key_id), critical=False)


def authority_key_id(key_id: bytes) -> bytes:
    return extension(_AUTHORITY_KEY_ID, seq(tlv(0x80, key_id)), critical=False)


def subject_alt_names(sans: list[tuple[str, str]]) -> bytes:
    """(``"dns"`` or ``"ip"``, value) pairs: dNSName [2] IA5String, iPAddress [7] octets."""
    names = [tlv(0x82, v.encode("ascii")) if kind == "dns" else tlv(0x87, ipaddress.ip_address(v).packed)
             for kind, v in sans]
    return extension(_SUBJECT_ALT_NAME, seq(*names), critical=False)


def signer(key: Any) -> tuple[bytes, Callable[[bytes], bytes]]:
    """The AlgorithmIdentifier and signing function for a CA key, as CertificateBuilder
    picks them: ECDSA with SHA-384 for curves of 384 bits and more, SHA-256 otherwise;
    RSA PKCS#1 v1.5 with SHA-256; Ed25519."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        big = key.curve.key_size >= 384
        algorithm = ec.ECDSA(hashes.SHA384() if big else hashes.SHA256())
        return seq(oid(_ECDSA_SHA384 if big else _ECDSA_SHA256)), lambda data: key.sign(data, algorithm)
    if isinstance(key, rsa.RSAPrivateKey):
        from cryptography.hazmat.primitives.asymmetric import padding

        return (seq(oid(_RSA_SHA256), tlv(0x05, b"")),
                lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    from cryptography.hazmat.primitives.asymmetric import ed25519  # (not loaded for ECDSA keys)

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return seq(oid(_ED25519)), key.sign
    raise InputError(f"cannot sign with a {type(key).__name__} key",
                     hint="use an ECDSA P-256/P-384, RSA or Ed25519 CA")


def tbs_certificate(*, serial: int, algorithm: bytes, issuer: bytes, not_before: dt.datetime,
                    not_after: dt.datetime, subject: bytes, public_key: Any,
                    extensions: list[bytes]) -> bytes:
    return seq(
        tlv(0xA0, integer(2)),  # version v3
        integer(serial),
        algorithm,
        issuer,
        seq(_time(not_before), _time(not_after)),
        subject,
        spki(public_key),
        tlv(0xA3, seq(*extensions)),
    )


def sign_certificate(tbs: bytes, algorithm: bytes, sign: Callable[[bytes], bytes]) -> bytes:
    return seq(tbs, algorithm, tlv(0x03, b"\x00" + sign(tbs)))


_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_CURVES = {"secp256r1": ("1.2.840.10045.3.1.7", 32), "secp384r1": ("1.3.132.0.34", 48)}


def ec_private_key_info(key: Any) -> bytes | None:
    """PKCS#8 PrivateKeyInfo of a P-256 or P-384 key, as OpenSSL writes it: the named curve
    in the algorithm, an RFC 5915 ECPrivateKey (version 1, the private value padded to the
    curve's size, the uncompressed public point) inside. None for other keys."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        return None
    curve, size = _CURVES[key.curve.name]
    from qdrantsec.certs.keys import formats

    f = formats()
    point = key.public_key().public_bytes(f.Encoding.X962, f.PublicFormat.UncompressedPoint)
    inner = seq(integer(1), tlv(0x04, key.private_numbers().private_value.to_bytes(size, "big")),
                tlv(0xA1, tlv(0x03, b"\x00" + point)))
    return seq(integer(0), seq(oid(_EC_PUBLIC_KEY), oid(curve)), tlv(0x04, inner))


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    """PEM text of ``der``: 64 base64 characters a line, as OpenSSL and cryptography write."""
    lines = [b2a_base64(der[i:i + 48], newline=False) for i in range(0, len(der), 48)]
    return b"".join([f"-----BEGIN {label}-----\n".encode(), *(ln + b"\n" for ln in lines),
                     f"-----END {label}-----\n".encode()])
