"""Credentials and HS256 JWT validation (facts 2.1-2.5, 3).

The JWT decoder mirrors jsonwebtoken 10's order: strict unpadded base64url header -> ``alg``
must be HS256 -> signature -> claims deserialisation with Qdrant's claim types -> ``exp`` with a
30 s leeway.  A decoder result is one of: ``Claims`` (decoded), ``AuthError`` (signature/expiry
-> 403, claim validation -> 401) or ``None`` (not a usable JWT, silently skipped).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LEEWAY_SECONDS = 30
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

MSG_MISSING = "Must provide an API key or an Authorization bearer token"
MSG_INVALID = "Invalid API key or JWT"
MSG_STATEFUL = "Invalid JWT, stateful validation failed"
# Validator texts: validator 0.20's Display of Qdrant's nested `ValidationErrors`
# (src/common/auth/claims.rs, lib/storage/src/rbac/mod.rs).
MSG_PAYLOAD_DEPRECATED = (
    "access[{index}].payload: The 'payload' constraint is deprecated and should not be used"
)
MSG_DUPLICATE_COLLECTION = "access[{index}].collection: Collection name should be unique"


class AuthError(Exception):
    """An authentication failure: ``status`` 401 (Unauthorized) or 403 (Forbidden)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def audit_error(self) -> str:
        prefix = "Forbidden" if self.status == 403 else "Unauthorized"
        return f"{prefix}: {self.message}"


class NotAJwt(Exception):
    """The credential is not a usable JWT for this secret (skipped by the parser chain)."""


@dataclass(frozen=True)
class CollectionGrant:
    collection: str
    mode: str  # "r" | "rw" | "prw"


@dataclass
class Access:
    """Global (``m``/``r``) or a list of collection grants."""

    global_mode: str | None = "m"
    grants: list[CollectionGrant] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        return self.global_mode is not None

    def grant_for(self, name: str) -> CollectionGrant | None:
        for grant in self.grants:
            if grant.collection == name:
                return grant
        return None


@dataclass
class Identity:
    """The outcome of authentication for one request."""

    access: Access
    auth_type: str  # "ApiKey" | "Jwt" | "None"
    subject: str | None = None


FULL_ACCESS = Access("m")


def b64url_decode_strict(text: str) -> bytes:
    """Decode unpadded base64url the way Rust's ``URL_SAFE_NO_PAD`` engine does."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise NotAJwt("bad base64")
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise NotAJwt("bad base64") from None
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != text:
        raise NotAJwt("non-canonical trailing bits")
    return raw


def _is_u64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


_PATH_KEY = r'(?:[\w-]+|"[^"\\]*")'
_JSON_PATH = re.compile(_PATH_KEY + r"(?:\." + _PATH_KEY + r"|\[[0-9]+\]|\[\])*")


def valid_json_path(key: str) -> bool:
    """A payload key as Qdrant parses it (lib/segment/src/json_path/parse.rs); claims whose
    ``value_exists`` key does not parse fail deserialisation."""
    if not _JSON_PATH.fullmatch(key):
        return False
    return all(int(n) < 2**64 for n in re.findall(r"\[([0-9]+)\]", re.sub(r'"[^"]*"', "", key)))


class _Obj(dict):  # type: ignore[type-arg]
    """A JSON object that remembers the keys it saw more than once."""

    repeated: frozenset[str] = frozenset()


def _obj(pairs: list[tuple[str, Any]]) -> _Obj:
    out = _Obj()
    seen: set[str] = set()
    rep: set[str] = set()
    for k, v in pairs:
        (rep if k in seen else seen).add(k)
        out[k] = v
    out.repeated = frozenset(rep)
    return out


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def serde_json(raw: bytes) -> Any:
    """Parse like serde_json: UTF-8, no NaN/Infinity, finite numbers; objects are ``_Obj``."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_obj,
                      parse_constant=_bad_constant, parse_float=_float)


_HEADER_FIELDS = ("typ", "alg", "cty", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256")


def _no_repeats(obj: Any, fields: tuple[str, ...], where: str) -> None:
    """serde's derived structs refuse a known field given twice (unknown ones are ignored)."""
    if isinstance(obj, _Obj) and obj.repeated & set(fields):
        raise NotAJwt(f"{where}: duplicate field")


def parse_claims(payload: Any) -> tuple[dict[str, Any], Access]:
    """Deserialize claims with Qdrant's types; raise NotAJwt on any type error."""
    if not isinstance(payload, dict):
        raise NotAJwt("claims not an object")
    _no_repeats(payload, ("sub", "exp", "access", "value_exists", "subject"), "claims")
    sub = payload.get("sub")
    if sub is not None and not isinstance(sub, str):
        raise NotAJwt("sub")
    exp = payload.get("exp")
    if exp is not None and not _is_u64(exp):
        raise NotAJwt("exp")
    subject = payload.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise NotAJwt("subject")
    access = _parse_access(payload["access"]) if "access" in payload else Access("m")
    ve = payload.get("value_exists")
    if ve is not None:
        if not isinstance(ve, dict) or not isinstance(ve.get("collection"), str):
            raise NotAJwt("value_exists")
        _no_repeats(ve, ("collection", "matches"), "value_exists")
        matches = ve.get("matches")
        if not isinstance(matches, list):
            raise NotAJwt("value_exists.matches")
        for m in matches:
            if not isinstance(m, dict) or not isinstance(m.get("key"), str):
                raise NotAJwt("value_exists.matches.key")
            _no_repeats(m, ("key", "value"), "value_exists.matches")
            if not valid_json_path(m["key"]):
                raise NotAJwt("value_exists.matches.key is not a JSON path")
            if "value" not in m:
                raise NotAJwt("value_exists.matches.value")
            value = m["value"]
            is_int = isinstance(value, int) and not isinstance(value, bool)
            if not (isinstance(value, str | bool) or (is_int and -(2**63) <= value < 2**63)):
                raise NotAJwt("value_exists.matches.value type")
    return payload, access


def _parse_access(raw: Any) -> Access:
    if isinstance(raw, str):
        if raw in ("r", "m"):
            return Access(raw)
        raise NotAJwt("global access mode")
    if not isinstance(raw, list):
        raise NotAJwt("access type")
    grants: list[CollectionGrant] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise NotAJwt("access entry")
        _no_repeats(entry, ("collection", "access", "payload"), "access entry")
        name = entry.get("collection")
        mode = entry.get("access")
        if not isinstance(name, str) or mode not in ("r", "rw", "prw"):
            raise NotAJwt("access entry fields")
        grants.append(CollectionGrant(name, mode))
    return Access(None, grants)


def validate_claims(payload: Mapping[str, Any]) -> None:
    """Qdrant's ``Validate`` for claims: no deprecated ``payload``, unique collection names."""
    raw = payload.get("access")
    if not isinstance(raw, list):
        return
    # validator 0.20 renders every entry's errors, index order, with no separator; within one
    # entry the field order is a HashMap's in Qdrant (collection first here)
    seen: set[str] = set()
    errors: list[str] = []
    for index, entry in enumerate(raw):
        if entry["collection"] in seen:
            errors.append(MSG_DUPLICATE_COLLECTION.format(index=index))
        seen.add(entry["collection"])
        if entry.get("payload") is not None:
            errors.append(MSG_PAYLOAD_DEPRECATED.format(index=index))
    if errors:
        raise AuthError(401, "".join(errors))


def decode_jwt(token: str, secret: str, now: float | None = None) -> tuple[dict[str, Any], Access]:
    """Decode one token with one secret.

    Returns (claims, access); raises AuthError (an error the parser chain reports) or NotAJwt.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise NotAJwt("not three parts")
    header_b64, payload_b64, sig_b64 = parts
    try:
        header = serde_json(b64url_decode_strict(header_b64))
    except ValueError:
        raise NotAJwt("header json") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise NotAJwt("header alg")
    _no_repeats(header, _HEADER_FIELDS, "header")
    # jsonwebtoken's Header struct: typed optional members fail deserialisation when mistyped
    for name in ("typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256"):
        if header.get(name) is not None and not isinstance(header[name], str):
            raise NotAJwt(f"header {name}")
    x5c = header.get("x5c")
    if x5c is not None and not (isinstance(x5c, list) and all(isinstance(x, str) for x in x5c)):
        raise NotAJwt("header x5c")
    if header.get("jwk") is not None and not isinstance(header["jwk"], dict):
        raise NotAJwt("header jwk")
    # jsonwebtoken only knows these algorithm names; anything else is a JSON error.
    known = {"HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512",
             "PS256", "PS384", "PS512", "EdDSA"}
    if header["alg"] not in known or header["alg"] != "HS256":
        raise NotAJwt("algorithm")
    signature = b64url_decode_strict(sig_b64)
    expected = hmac.new(
        secret.encode("utf-8"), f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise AuthError(403, "InvalidSignature")
    try:
        payload = serde_json(b64url_decode_strict(payload_b64))
    except ValueError:
        raise NotAJwt("claims json") from None
    claims, access = parse_claims(payload)
    exp = claims.get("exp")
    current = time.time() if now is None else now
    if exp is not None and exp < int(current) - LEEWAY_SECONDS:
        raise AuthError(403, "ExpiredSignature")
    validate_claims(claims)
    return claims, access


def visible_ascii(value: str) -> bool:
    return all(ch == "\t" or 0x20 <= ord(ch) <= 0x7E for ch in value)


def extract_credential(headers: Mapping[str, str] | Any) -> str | None:
    """``api-key`` wins when present (even empty); else ``Authorization: Bearer <x>``."""
    api_key = headers.get("api-key")
    if api_key is not None and visible_ascii(api_key):
        return api_key
    if api_key is not None:
        api_key = None
    auth = headers.get("authorization")
    if auth is not None and visible_ascii(auth) and auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return None


def _eq(a: str, b: str) -> bool:
    ab, bb = a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
    if len(ab) != len(bb):
        return False
    return hmac.compare_digest(ab, bb)


ValueExistsCheck = Callable[[dict[str, Any]], None]


class Authenticator:
    """Evaluates a request's credentials against the configured keys (facts 2.3)."""

    def __init__(self, service: Mapping[str, Any]) -> None:
        self.api_key: str | None = service.get("api_key") or None
        self.alt_api_key: str | None = service.get("alt_api_key") or None
        self.read_only_api_key: str | None = service.get("read_only_api_key") or None
        self.enabled = bool(self.api_key or self.alt_api_key or self.read_only_api_key)
        secrets = [k for k in (self.api_key, self.alt_api_key) if k]
        self.jwt_secrets: list[str] = secrets if service.get("jwt_rbac") else []

    def authenticate(
        self,
        headers: Mapping[str, str] | Any,
        value_exists: ValueExistsCheck | None = None,
        now: float | None = None,
    ) -> Identity:
        """Return the Identity or raise AuthError."""
        if not self.enabled:
            return Identity(FULL_ACCESS, "None")
        credential = extract_credential(headers)
        if credential is None:
            raise AuthError(401, MSG_MISSING)
        for key in (self.api_key, self.alt_api_key):
            if key and _eq(credential, key):
                return Identity(Access("m"), "ApiKey")
        if self.read_only_api_key and _eq(credential, self.read_only_api_key):
            return Identity(Access("r"), "ApiKey")
        first_error: AuthError | None = None
        for secret in self.jwt_secrets:
            try:
                claims, access = decode_jwt(credential, secret, now)
            except NotAJwt:
                continue
            except AuthError as err:
                if first_error is None:
                    first_error = err
                continue
            if claims.get("value_exists") is not None and value_exists is not None:
                value_exists(claims["value_exists"])
            return Identity(access, "Jwt", claims.get("subject"))
        if first_error is not None:
            raise first_error
        raise AuthError(401, MSG_INVALID)
