"""Compact JWS with HS256, encoded and decoded exactly as Qdrant (jsonwebtoken 10.4) does.

Only the standard library: ``hmac`` + ``hashlib`` + ``json`` + ``base64``. Decoding is
strict where Qdrant is strict (unpadded, canonical base64url; ``alg`` HS256; header field
types) and lenient only to *show* a token that Qdrant would refuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import InputError
from qdrantsec.token.claims import (
    MALFORMED,
    STAGE_ALG,
    STAGE_HEADER,
    STAGE_PAYLOAD_DECODE,
    STAGE_SIG_DECODE,
    Problem,
    loads_strict,
)

HEADER: dict[str, str] = {"alg": "HS256", "typ": "JWT"}
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
#: algorithms jsonwebtoken knows; any other ``alg`` makes the header undecodable
KNOWN_ALGS = ("HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512",
              "PS256", "PS384", "PS512", "EdDSA")
_STRING_HEADER_FIELDS = ("typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Strict: URL-safe alphabet, no padding, canonical trailing bits. ValueError says why."""
    if "=" in segment:
        raise ValueError("padded")
    if not _ALPHABET.fullmatch(segment):
        raise ValueError("alphabet")
    if len(segment) % 4 == 1:
        raise ValueError("length")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if b64url_encode(data) != segment:
        raise ValueError("non-canonical")
    return data


def _lenient_decode(segment: str) -> bytes | None:
    s = segment.strip().rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        return None


_B64_REASONS = {
    "padded": "is padded with '='; Qdrant decodes base64url without padding",
    "alphabet": "is not base64url (characters outside A-Z a-z 0-9 - _)",
    "length": "is not valid base64url (impossible length)",
    "non-canonical": "is not canonical base64url (non-zero trailing bits)",
}


def _segment_problem(part: str, segment: str, stage: int) -> Problem | None:
    try:
        b64url_decode(segment)
    except ValueError as exc:
        reason = str(exc)
        code = "padded" if reason == "padded" else "bad_base64"
        return Problem(code, MALFORMED, stage, f"the {part} {_B64_REASONS[reason]}")
    return None


def sign(signing_input: bytes, key: str) -> bytes:
    """HMAC-SHA256 with the UTF-8 bytes of ``key`` (how Qdrant uses api_key, facts 3.1)."""
    return hmac.new(key.encode("utf-8"), signing_input, hashlib.sha256).digest()


def encode(claims: Mapping[str, Any], key: str) -> str:
    """A compact HS256 JWS: header ``{"alg":"HS256","typ":"JWT"}``, unpadded base64url."""
    header = b64url_encode(json.dumps(HEADER, separators=(",", ":")).encode())
    payload = b64url_encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{b64url_encode(sign(signing_input, key))}"


@dataclass
class Decoded:
    """A token split and decoded: what it says (leniently, for display) and every structural
    reason Qdrant would refuse it (strictly, in Qdrant's order)."""

    segments: tuple[str, str, str]
    header: Any = None
    claims: Any = None
    signature: bytes | None = None
    problems: list[Problem] = field(default_factory=list)
    #: the claims as Qdrant would read them (None when the payload is not strictly decodable)
    strict_claims: Any = None
    payload_ok: bool = False
    #: set when the text is not a JWT at all (nothing can be shown): the reason
    unreadable: str | None = None

    @property
    def signing_input(self) -> bytes:
        return f"{self.segments[0]}.{self.segments[1]}".encode("ascii", "replace")

    def signature_matches(self, key: str) -> bool:
        if self.signature is None:
            return False
        return hmac.compare_digest(self.signature, sign(self.signing_input, key))

    def problems_before(self, stage: int) -> list[Problem]:
        return [p for p in self.problems if p.stage < stage]


def clean_token(text: str) -> str:
    """Strip whitespace and a leading ``Bearer `` (as copied from an Authorization header)."""
    token = text.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token


def _unreadable(token: str, reason: str) -> Decoded:
    del token  # nothing of it is kept: it may be a key pasted by mistake
    out = Decoded(("", "", ""), unreadable=reason)
    out.problems = [Problem("not_jwt", MALFORMED, STAGE_HEADER, f"not a JWT: {reason}")]
    return out


def decode(token: str) -> Decoded:
    """Split and decode. Never raises: a text that is not a JWT at all comes back with
    ``unreadable`` set (see :func:`require_readable`)."""
    parts = token.split(".")
    if len(parts) != 3:
        n = len(parts)
        return _unreadable(token, f"{n} part{'s' if n != 1 else ''} separated by '.', a JWT has 3")
    if not token.isascii():
        return _unreadable(token, "it contains non-ASCII characters")
    h, p, s = parts
    out = Decoded((h, p, s))
    problems: list[Problem] = []

    # 1. header: strict base64url, JSON object, field types, alg
    raw_header = _lenient_decode(h)
    bad = _segment_problem("header", h, STAGE_HEADER)
    if bad:
        problems.append(bad)
    header = None
    if raw_header is not None:
        try:
            header = loads_strict(raw_header)
        except ValueError:
            header = None
    out.header = header
    if header is None and raw_header is None:
        return _unreadable(token, "the header is not base64url")
    if header is None:
        problems.append(Problem("header_not_json", MALFORMED, STAGE_HEADER,
                                "the header is not JSON"))
    elif not isinstance(header, dict):
        problems.append(Problem("header_not_object", MALFORMED, STAGE_HEADER,
                                "the header is not a JSON object"))
    else:
        problems += _header_problems(header)

    # 3. signature: strict base64url (the HMAC itself is checked per key)
    bad = _segment_problem("signature", s, STAGE_SIG_DECODE)
    if bad:
        problems.append(bad)
    out.signature = None if bad else b64url_decode(s)

    # 5. payload: strict base64url, then JSON (claims are judged by claims.claim_problems)
    raw_payload = _lenient_decode(p)
    bad = _segment_problem("payload", p, STAGE_PAYLOAD_DECODE)
    if bad:
        problems.append(bad)
    if raw_payload is not None:
        try:
            out.claims = loads_strict(raw_payload)
            out.payload_ok = bad is None
        except ValueError:
            problems.append(Problem("payload_not_json", MALFORMED, STAGE_PAYLOAD_DECODE,
                                    "the payload is not JSON (UTF-8, no NaN)"))
    else:
        problems.append(Problem("payload_not_json", MALFORMED, STAGE_PAYLOAD_DECODE,
                                "the payload cannot be decoded"))
    if out.payload_ok:
        out.strict_claims = out.claims
    out.problems = sorted(problems, key=lambda x: x.stage)
    return out


def require_readable(decoded: Decoded) -> Decoded:
    """Raise InputError when the text is not a JWT at all."""
    if decoded.unreadable:
        raise InputError(f"not a JWT: {decoded.unreadable}",
                         hint="Qdrant answers such a credential with 401 Invalid API key or JWT")
    return decoded


def _header_problems(header: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    for k in getattr(header, "duplicates", ()):
        if k in ("alg", *_STRING_HEADER_FIELDS, "x5c", "jwk"):
            out.append(Problem("header_duplicate_field", MALFORMED, STAGE_HEADER,
                               f"the header has the field {k!r} twice"))
    for k in _STRING_HEADER_FIELDS:
        if header.get(k) is not None and not isinstance(header[k], str):
            out.append(Problem("header_bad_field", MALFORMED, STAGE_HEADER,
                               f"the header field {k!r} is not a string"))
    x5c = header.get("x5c")
    if x5c is not None and not (isinstance(x5c, list) and all(isinstance(c, str) for c in x5c)):
        out.append(Problem("header_bad_field", MALFORMED, STAGE_HEADER,
                           "the header field 'x5c' is not a list of strings"))
    alg = header.get("alg")
    if "alg" not in header:
        out.append(Problem("no_alg", MALFORMED, STAGE_HEADER, "the header has no 'alg'"))
    elif alg not in KNOWN_ALGS:
        code = "alg_none" if isinstance(alg, str) and alg.lower() == "none" else "unknown_alg"
        out.append(Problem(code, MALFORMED, STAGE_HEADER,
                           f"alg {alg!r} is not a signing algorithm Qdrant can parse "
                           "(only HS256 is accepted)"))
    elif alg != "HS256":
        out.append(Problem("not_hs256", MALFORMED, STAGE_ALG,
                           f"alg {alg} is not accepted; Qdrant accepts only HS256"))
    return out
