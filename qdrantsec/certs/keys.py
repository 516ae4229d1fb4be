"""Key types Qdrant's TLS stack (rustls + ring) accepts, and their PEM form.

Keys are written as unencrypted PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``): the one form
both of Qdrant's loaders read (REST via rustls-pemfile, gRPC/p2p via tonic). P-521 and RSA
below 2048 bits are left out on purpose: ring cannot use them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from qdrantsec.errors import InputError


class KeyType(NamedTuple):  # (not a frozen dataclass: see names.SanName)
    name: str
    family: str  # "ec", "rsa" or "ed25519"
    size: int  # curve bits or modulus bits; 256 for Ed25519


KEY_TYPES: dict[str, KeyType] = {
    k.name: k
    for k in (
        KeyType("ecdsa-p256", "ec", 256),
        KeyType("ecdsa-p384", "ec", 384),
        KeyType("rsa-2048", "rsa", 2048),
        KeyType("rsa-3072", "rsa", 3072),
        KeyType("rsa-4096", "rsa", 4096),
        KeyType("ed25519", "ed25519", 256),
    )
}
DEFAULT_KEY_TYPE = "ecdsa-p256"
_ALIASES = {"p256": "ecdsa-p256", "p-256": "ecdsa-p256", "ec": "ecdsa-p256", "ecdsa": "ecdsa-p256",
            "p384": "ecdsa-p384", "p-384": "ecdsa-p384", "rsa": "rsa-2048"}


def key_type(name: str) -> KeyType:
    """Look up a key type by name (a few obvious aliases accepted)."""
    norm = name.strip().lower()
    norm = _ALIASES.get(norm, norm)
    try:
        return KEY_TYPES[norm]
    except KeyError:
        raise InputError(
            f"unknown key type {name!r}",
            hint="choose one of: " + ", ".join(KEY_TYPES),
        ) from None


def generate(kind: KeyType) -> Any:
    """A new private key of ``kind``."""
    if kind.family == "ec":
        from cryptography.hazmat.primitives.asymmetric import ec

        curve = ec.SECP256R1() if kind.size == 256 else ec.SECP384R1()
        return ec.generate_private_key(curve)
    if kind.family == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=kind.size)
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


def private_pem(key: Any) -> bytes:
    """Unencrypted PKCS#8 PEM, what Qdrant reads."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private(data: bytes, source: str) -> Any:
    """Parse a PEM (or DER) private key; one-line InputError naming ``source`` otherwise."""
    from cryptography.hazmat.primitives import serialization

    try:
        if b"-----BEGIN" in data:
            if b"ENCRYPTED" in data:
                raise InputError(f"{source} is an encrypted private key; Qdrant needs it unencrypted")
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except InputError:
        raise
    except (ValueError, TypeError):
        raise InputError(f"{source} does not hold a usable private key") from None
    except Exception as exc:  # cryptography.exceptions.UnsupportedAlgorithm and friends
        raise InputError(f"{source}: unsupported private key ({type(exc).__name__})") from None


def describe(public_key: Any) -> tuple[str, int]:
    """(type, bits) of a public key, e.g. ("ECDSA P-256", 256), ("RSA", 2048)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        curve = names.get(public_key.curve.name, public_key.curve.name)
        return f"ECDSA {curve}", public_key.curve.key_size
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(public_key).__name__, 0


def unsupported_by_qdrant(public_key: Any) -> str | None:
    """Why rustls/ring cannot use this key (None when it can)."""
    kind, bits = describe(public_key)
    if kind == "RSA" and bits < 2048:
        return f"RSA {bits}-bit keys are below ring's 2048-bit minimum"
    if kind in ("ECDSA P-256", "ECDSA P-384", "Ed25519", "RSA"):
        return None
    return f"{kind} keys are not supported by Qdrant's TLS stack (rustls with ring)"


def same_public_key(a: Any, b: Any) -> bool:
    from cryptography.hazmat.primitives import serialization

    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(a.public_bytes(*fmt) == b.public_bytes(*fmt))
