"""The certificates encoded by ``qdrantsec.certs.der`` are the ones cryptography's
CertificateBuilder makes from the same fields: the to-be-signed bytes are compared, byte
for byte, for every profile, CA key type and leaf key type, a CA loaded from files (with
and without a subject key identifier) and validity dates from 2050 on (GeneralizedTime).
The signature is checked too (ECDSA signatures are randomised, so only the TBS is equal)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qdrantsec.certs import der, issue, keys
from qdrantsec.certs.names import parse_names
from qdrantsec.certs.profiles import CLIENT, PEER, SERVER, Profile
from qdrantsec.errors import InputError

NOW = dt.datetime(2026, 12, 3, 14, 0, 0, tzinfo=dt.timezone.utc)
_EKU = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
SANS = ["qdrant-0.qdrant-headless", "*.example.com", "localhost", "10.0.0.11", "::1", "127.0.0.1"]


def _hash(key: Any) -> Any:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _reference_ca(ca: issue.CA) -> x509.Certificate:
    """The CA rebuilt by CertificateBuilder from the fields of the one der.py made."""
    mine = ca.cert
    ski = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(mine.subject).issuer_name(mine.subject)
        .public_key(ca.key.public_key())
        .serial_number(mine.serial_number)
        .not_valid_before(mine.not_valid_before_utc).not_valid_after(mine.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca.key, _hash(ca.key))
    )


def _reference_leaf(ca: issue.CA, leaf: issue.Leaf, profile: Profile, rsa_leaf: bool) -> x509.Certificate:
    mine, ca_cert = leaf.cert, ca.cert
    try:
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, leaf.name[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(mine.public_key())
        .serial_number(mine.serial_number)
        .not_valid_before(mine.not_valid_before_utc).not_valid_after(mine.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=rsa_leaf,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([_EKU[e] for e in profile.eku]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(mine.public_key()), critical=False)
        .add_extension(aki, critical=False)
    )
    if leaf.sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName(s.value) if s.kind == "dns" else x509.IPAddress(ipaddress.ip_address(s.value))
            for s in leaf.sans]), critical=False)
    return builder.sign(ca.key, _hash(ca.key))


def _check_leaf(ca: issue.CA, profile: Profile, kind: keys.KeyType, *, name: str = "qdrant-0",
                now: dt.datetime = NOW) -> None:
    sans = [] if profile is CLIENT else parse_names(SANS)
    leaf = issue.issue(ca, profile, name, sans, kind, now=now)
    reference = _reference_leaf(ca, leaf, profile, kind.family == "rsa")
    assert leaf.cert.tbs_certificate_bytes == reference.tbs_certificate_bytes
    assert leaf.cert.signature_algorithm_oid == reference.signature_algorithm_oid
    leaf.cert.verify_directly_issued_by(ca.cert)
    utc = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    assert leaf.not_after == leaf.cert.not_valid_after_utc == utc + dt.timedelta(days=issue.LEAF_DAYS)
    assert leaf.cert.not_valid_before_utc == utc - issue.CLOCK_SKEW
    assert _spki(leaf.cert) == _spki(load_pem_private_key(leaf.key_pem, None))
    assert leaf.cert_pem == leaf.cert.public_bytes(Encoding.PEM)  # PEM as cryptography writes it


@pytest.mark.parametrize("ca_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_new_ca_is_what_the_builder_makes(ca_type: str) -> None:
    ca = issue.new_ca(keys.key_type(ca_type), now=NOW)
    reference = _reference_ca(ca)
    assert ca.cert.tbs_certificate_bytes == reference.tbs_certificate_bytes
    ca.cert.verify_directly_issued_by(ca.cert)
    assert ca.subject == ca.cert.subject.public_bytes()
    assert ca.not_after == ca.cert.not_valid_after_utc == NOW + dt.timedelta(days=issue.CA_DAYS)
    assert ca.cert_pem == ca.cert.public_bytes(Encoding.PEM)


@pytest.mark.parametrize("ca_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
@pytest.mark.parametrize("profile", [SERVER, PEER, CLIENT], ids=lambda p: p.name)
def test_leaf_is_what_the_builder_makes(ca_type: str, profile: Profile) -> None:
    ca = issue.new_ca(keys.key_type(ca_type), now=NOW)
    for leaf_type in ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"):
        _check_leaf(ca, profile, keys.key_type(leaf_type))


def _spki(key_or_cert: Any) -> bytes:
    return bytes(key_or_cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def test_times_in_other_zones_and_naive_times_are_utc() -> None:
    kind = keys.key_type("ecdsa-p256")
    berlin = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))
    naive = NOW.replace(tzinfo=None)
    for now in (berlin, naive):
        ca = issue.new_ca(kind, now=now)
        assert ca.cert.not_valid_before_utc == NOW - issue.CLOCK_SKEW
        assert ca.cert.tbs_certificate_bytes == _reference_ca(ca).tbs_certificate_bytes
        _check_leaf(ca, SERVER, kind, now=now)


def test_long_names_and_dates_from_2050() -> None:
    kind = keys.key_type("ecdsa-p256")
    later = dt.datetime(2045, 6, 1, tzinfo=dt.timezone.utc)
    ca = issue.new_ca(kind, now=later, common_name="a CA name with ünïcode")  # ends in 2055
    assert ca.cert.tbs_certificate_bytes == _reference_ca(ca).tbs_certificate_bytes
    _check_leaf(ca, SERVER, kind, now=later)  # ends 2046: UTCTime
    _check_leaf(ca, PEER, kind, now=later + dt.timedelta(days=2000))  # ends 2051: GeneralizedTime
    _check_leaf(ca, CLIENT, kind, name="c" * 64, now=later)


def _loaded_ca(key: Any, *, with_ski: bool) -> issue.CA:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "someone else's CA")])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(7).not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=5000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if with_ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(b"\x01" * 8), critical=False)
    cert = builder.sign(key, _hash(key))
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return issue.load_ca(cert.public_bytes(Encoding.PEM), key_pem, "ca.pem", "ca-key.pem", now=NOW)


@pytest.mark.parametrize("with_ski", [True, False])
def test_leaf_from_a_loaded_ca(with_ski: bool) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    for key in (ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 3072)):
        ca = _loaded_ca(key, with_ski=with_ski)
        for profile in (SERVER, PEER, CLIENT):
            _check_leaf(ca, profile, keys.key_type("ecdsa-p256"))


def test_der_pieces() -> None:
    assert der.integer(0) == b"\x02\x01\x00"
    assert der.integer(128) == b"\x02\x02\x00\x80"  # a leading zero keeps it positive
    assert der.tlv(0x04, b"x" * 200)[:3] == b"\x04\x81\xc8"
    assert der.tlv(0x04, b"x" * 300)[:4] == b"\x04\x82\x01\x2c"
    assert der.oid("1.2.840.113549.1.1.11") == bytes.fromhex("06092a864886f70d01010b")
    assert der.pem(b"") == b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"


def test_a_key_it_cannot_sign_with() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed448

    with pytest.raises(InputError, match="cannot sign with a"):
        der.signer(ed448.Ed448PrivateKey.generate())


def test_ec_private_keys_are_the_pkcs8_cryptography_writes() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    def reference(key: Any) -> bytes:
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    for curve in (ec.SECP256R1(), ec.SECP384R1()):
        for value in (1, 2**130 + 5):  # private values with leading zero bytes
            key = ec.derive_private_key(value, curve)
            assert keys.private_pem(key) == reference(key)
        for _ in range(50):
            key = ec.generate_private_key(curve)
            assert keys.private_pem(key) == reference(key)
    for other in (ec.generate_private_key(ec.SECP521R1()), ed25519.Ed25519PrivateKey.generate(),
                  rsa.generate_private_key(65537, 2048)):
        assert der.ec_private_key_info(other) is None
        assert keys.private_pem(other) == reference(other)


def test_generate_does_not_import_x509_or_serialization(tmp_path: Any) -> None:
    # what the encoders above are for: `certs generate` stays off cryptography.x509 and the
    # serialization package (the benchmark against mkcert, bench/bench_certs.py)
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from qdrantsec.certs import bundle, snippets; "
            "cs = bundle.generate(bundle.Request(out=Path(sys.argv[1]), peer_count=3, clients=['app'])); "
            "snippets.build(cs, sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith(('cryptography.x509', "
            "'cryptography.hazmat.primitives.serialization'))))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "tls")], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert len(list((tmp_path / "tls").iterdir())) == 12
