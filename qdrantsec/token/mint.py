"""Minting: token specs from options or a batch file, signed HS256 with the standard library.

Kept free of heavy imports (no PyJWT, no YAML unless a YAML batch file is read) so that
``qdrantsec token mint`` starts about as fast as ``import typer``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qdrantsec.errors import InputError
from qdrantsec.secrets import Secret
from qdrantsec.token import claims as C
from qdrantsec.token.durations import (
    MAX_TIMESTAMP,
    instant_from_datetime,
    iso,
    parse_duration,
    parse_instant,
)
from qdrantsec.token.jws import HEADER, encode


@dataclass(frozen=True)
class Minted:
    name: str | None
    token: str = field(repr=False)  # a bearer credential
    claims: dict[str, Any]
    exp: int | None
    key_role: str
    key_fingerprint: str

    @property
    def expires_at(self) -> str | None:
        return iso(self.exp) if self.exp is not None else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out.update({"token": self.token, "header": dict(HEADER), "claims": self.claims,
                    "expires_at": self.expires_at,
                    "signing_key": {"role": self.key_role, "fingerprint": self.key_fingerprint}})
        return out


def resolve_expiry(*, expires_in: object = None, expires_at: object = None,
                   no_expiry: bool = False, now: int) -> int | None:
    """Exactly one of a duration, an instant or "no expiry"; default 24 hours. Never past."""
    given = [n for n, v in (("expires-in", expires_in), ("expires-at", expires_at),
                             ("no-expiry", no_expiry or None)) if v is not None]
    if len(given) > 1:
        raise InputError(f"give only one of {', '.join(given)}")
    if no_expiry:
        return None
    if expires_in is not None:
        if not isinstance(expires_in, str):
            raise InputError(f"expires-in {expires_in!r} is not a duration",
                             hint="write it with a unit, e.g. 90s, 30m, 12h, 7d, 2w")
        exp = now + parse_duration(expires_in)
    elif expires_at is not None:
        if isinstance(expires_at, datetime):
            exp = instant_from_datetime(expires_at)
        elif isinstance(expires_at, str):
            exp = parse_instant(expires_at)
        else:
            raise InputError(f"expires-at {expires_at!r} is not an ISO-8601 time")
        if exp <= now:
            raise InputError(f"expires-at {iso(exp)} is in the past (now {iso(now)})")
    else:
        exp = now + C.DEFAULT_LIFETIME_SECONDS
    if exp > MAX_TIMESTAMP:
        raise InputError("the expiry is after the year 9999")
    return exp


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, not {type(value).__name__}")
    if not value.strip():
        raise InputError(f"{what} is empty")
    return value


def make_spec(*, access: str | None = None, grants: Sequence[C.Grant] = (),
              expires_in: object = None, expires_at: object = None, no_expiry: bool = False,
              value_exists: str | None = None, matches: Sequence[C.Match] = (),
              subject: object = None, sub: object = None, now: int) -> C.TokenSpec:
    """Validate everything a token needs and return its spec (nothing is signed yet)."""
    return C.TokenSpec(
        access=C.build_access(access, grants),
        exp=resolve_expiry(expires_in=expires_in, expires_at=expires_at, no_expiry=no_expiry,
                           now=now),
        value_exists=C.build_value_exists(value_exists, matches),
        subject=_text(subject, "subject"),
        sub=_text(sub, "sub"),
    )


def mint(spec: C.TokenSpec, key: Secret, *, now: int, name: str | None = None) -> Minted:
    claims = spec.claims(iat=now)
    token = encode(claims, key.value)
    return Minted(name, token, claims, spec.exp, key.role, key.fingerprint)


def spec_warnings(spec: C.TokenSpec, now: int) -> list[str]:
    """The same warnings inspect gives, minus the ones the user asked for explicitly."""
    return C.claim_warnings(spec.claims(iat=now), now)


# -- batch files ------------------------------------------------------------------------------

FIELDS = ("name", "access", "collections", "expires_in", "expires_at", "no_expiry",
          "value_exists", "subject", "sub")


def load_batch_document(text: str, path: str) -> Any:
    """Parse a batch file: JSON for ``.json``, else YAML (a superset of JSON)."""
    if path.lower().endswith(".json"):
        import json

        try:
            return json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path} is not valid JSON: {exc}") from None
        except RecursionError:
            raise InputError(f"{path} is nested too deeply to be a batch file") from None
    # through the located loader, as every YAML qdrantsec reads: an alias bomb, an anchor
    # used inside itself and deep nesting are refused; an impossible date (2026-02-30) stays
    # text, which the field's own check then refuses
    from qdrantsec.yamlloc import YamlSyntaxError, load_located

    try:
        docs = load_located(text, name=path)
    except YamlSyntaxError as exc:
        where = f" (line {exc.line})" if exc.line is not None else ""
        raise InputError(f"{path} is not valid YAML{where}: {exc.problem}") from None
    if len(docs) > 1:
        raise InputError(f"{path} holds {len(docs)} YAML documents; a batch file is one document")
    root = docs[0].root if docs else None
    return root.plain() if root is not None else None


def specs_from_document(doc: Any, *, now: int, path: str = "batch file"
                        ) -> list[tuple[str, C.TokenSpec]]:
    """A list of token entries, or ``{defaults: {...}, tokens: [...]}``; names are unique."""
    defaults: Mapping[str, Any] = {}
    entries = doc
    if isinstance(doc, Mapping):
        extra = sorted(set(doc) - {"tokens", "defaults"})
        if extra:
            raise InputError(f"{path}: unknown top-level key(s) {', '.join(map(str, extra))} "
                             "(use 'tokens' and 'defaults')")
        defaults = doc.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise InputError(f"{path}: 'defaults' must be a mapping")
        if "name" in defaults:
            raise InputError(f"{path}: 'defaults' cannot set a name")
        _check_fields(defaults, f"{path}: defaults")
        entries = doc.get("tokens")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected a non-empty list of tokens",
                         hint="each entry has a name and the same fields as the options, "
                              "e.g. - {name: tenant-a, collections: ['tenant_a:rw'], expires_in: 30d}")
    out: list[tuple[str, C.TokenSpec]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: tokens[{i}]"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where} is not a mapping")
        _check_fields(entry, where)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{where} has no name")
        where = f"{path}: token {name!r}"
        if name in seen:
            raise InputError(f"{where} is defined twice")
        seen.add(name)
        merged = {**defaults, **entry}
        if any(k in entry for k in ("expires_in", "expires_at", "no_expiry")):
            for k in ("expires_in", "expires_at", "no_expiry"):
                if k not in entry:
                    merged.pop(k, None)
        if any(k in entry for k in ("access", "collections")):
            for k in ("access", "collections"):
                if k not in entry:
                    merged.pop(k, None)
        try:
            out.append((name, _spec_from_entry(merged, now)))
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}", hint=exc.hint) from None
    return out


def _check_fields(entry: Mapping[str, Any], where: str) -> None:
    unknown = [str(k) for k in entry if k not in FIELDS]
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}",
                         hint=f"known fields: {', '.join(FIELDS)}")


def _spec_from_entry(e: Mapping[str, Any], now: int) -> C.TokenSpec:
    access = e.get("access")
    if access is not None and not isinstance(access, str):
        raise InputError("access must be r or m (per-collection access goes in 'collections')")
    grants = [_grant(g) for g in _as_list(e.get("collections"), "collections")]
    ve = e.get("value_exists")
    ve_collection: str | None = None
    matches: list[C.Match] = []
    if ve is not None:
        if not isinstance(ve, Mapping) or set(ve) - {"collection", "matches"}:
            raise InputError("value_exists must be {collection: NAME, matches: ...}")
        ve_collection = ve.get("collection")
        if not isinstance(ve_collection, str):
            raise InputError("value_exists.collection must be a collection name")
        matches = _matches(ve.get("matches"))
    no_expiry = e.get("no_expiry", False)
    if not isinstance(no_expiry, bool):
        raise InputError("no_expiry must be true or false")
    return make_spec(access=access, grants=grants, expires_in=e.get("expires_in"),
                     expires_at=e.get("expires_at"), no_expiry=no_expiry,
                     value_exists=ve_collection, matches=matches, subject=e.get("subject"),
                     sub=e.get("sub"), now=now)


def _as_list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise InputError(f"{what} must be a list")


def _grant(item: object) -> C.Grant:
    if isinstance(item, str):
        return C.parse_grant(item)
    if isinstance(item, Mapping):
        if set(item) - {"collection", "access"}:
            raise InputError("a collection entry is NAME:MODE or {collection: NAME, access: MODE}")
        return C.make_grant(item.get("collection"), item.get("access"))
    raise InputError("a collection entry is NAME:MODE or {collection: NAME, access: MODE}")


def _matches(value: object) -> list[C.Match]:
    if isinstance(value, Mapping):
        return [C.make_match(k, v) for k, v in value.items()]
    out = []
    for item in _as_list(value, "value_exists.matches"):
        if isinstance(item, str):
            out.append(C.parse_match(item))
        elif isinstance(item, Mapping) and set(item) == {"key", "value"}:
            out.append(C.make_match(item["key"], item["value"]))
        else:
            raise InputError("a match is KEY=VALUE or {key: KEY, value: VALUE}")
    return out
