"""Qdrant's JWT claims (facts 3.2-3.4): building them for mint, and judging them as Qdrant does.

Qdrant deserialises the payload into ``{sub, exp, access, value_exists, subject}`` (unknown
claims ignored), checks ``exp`` with a 30 s leeway, then validates the access list
(duplicate collections, the removed ``payload`` member). :func:`claim_problems` lists every
reason it would refuse a claim set, :func:`claim_warnings` what is accepted but risky.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from qdrantsec.errors import InputError
from qdrantsec.exit_codes import ExitCode

# The same as qdrantsec.qdrant.access (a test pins them equal); repeated here so that
# minting does not import the access catalogue.
GLOBAL_MODES = ("r", "m")
COLLECTION_MODES = ("r", "rw", "prw")

LEEWAY_SECONDS = 30
LONG_LIFETIME_SECONDS = 90 * 86400
DEFAULT_LIFETIME_SECONDS = 24 * 3600
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
KNOWN_CLAIMS = ("sub", "exp", "access", "value_exists", "subject")

# -- problems -------------------------------------------------------------------------------

#: not a usable HS256 JWT (Qdrant skips the parser; alone: 401 "Invalid API key or JWT")
MALFORMED = "malformed"
#: signature matches no key (403 InvalidSignature)
SIGNATURE = "signature"
#: well signed, but the claims do not deserialise (skipped like MALFORMED; alone: 401)
CLAIMS = "claims"
#: exp more than 30 s in the past (403 ExpiredSignature)
EXPIRED = "expired"
#: deserialised, but the validator refuses them (401 with the validator's text)
INVALID = "invalid"

#: kinds a JWT parser reports as an error; the others make Qdrant skip the parser (facts 2.3)
ERROR_KINDS = frozenset({SIGNATURE, EXPIRED, INVALID})

# The order in which Qdrant (jsonwebtoken 10.4, then Qdrant's validator) meets problems.
STAGE_HEADER, STAGE_ALG, STAGE_SIG_DECODE, STAGE_SIGNATURE = 1, 2, 3, 4
STAGE_PAYLOAD_DECODE, STAGE_CLAIMS, STAGE_EXP, STAGE_VALIDATE = 5, 6, 7, 8

_ANSWERS = {
    MALFORMED: "401 Invalid API key or JWT",
    CLAIMS: "401 Invalid API key or JWT",
    SIGNATURE: "403 InvalidSignature",
    EXPIRED: "403 ExpiredSignature",
    INVALID: "401 (claim validation error)",
}
_EXIT = {
    MALFORMED: ExitCode.TOKEN_MALFORMED,
    CLAIMS: ExitCode.TOKEN_CLAIMS_REJECTED,
    SIGNATURE: ExitCode.TOKEN_BAD_SIGNATURE,
    EXPIRED: ExitCode.TOKEN_EXPIRED,
    INVALID: ExitCode.TOKEN_CLAIMS_REJECTED,
}


@dataclass(frozen=True)
class Problem:
    """One reason Qdrant would refuse a token. Messages never contain a key or the token."""

    code: str
    kind: str
    stage: int
    message: str
    #: the exact response body Qdrant sends, when known beyond the kind's fixed text
    body: str | None = None

    @property
    def qdrant_answer(self) -> str:
        if self.body is not None:
            return f"{_ANSWERS[self.kind].split()[0]} {self.body}"
        return _ANSWERS[self.kind]

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT[self.kind]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "kind": self.kind, "message": self.message,
                "qdrant_answer": self.qdrant_answer, "exit_code": int(self.exit_code)}


def _claims(code: str, message: str) -> Problem:
    return Problem(code, CLAIMS, STAGE_CLAIMS, message)


def _invalid(code: str, message: str) -> Problem:
    return Problem(code, INVALID, STAGE_VALIDATE, message)


# -- JSON with duplicate detection -----------------------------------------------------------

class JsonObject(dict):  # type: ignore[type-arg]
    """A decoded JSON object that remembers which keys appeared more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject()
    dups = []
    for k, v in pairs:
        if k in obj and k not in dups:
            dups.append(k)
        obj[k] = v
    obj.duplicates = tuple(dups)
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text} is out of range")  # serde_json refuses it too
    return value


#: serde_json's recursion limit: its remaining_depth starts at 128 and a parse fails when
#: an array or object brings it to 0, so 127 levels of nesting are the most it reads
MAX_JSON_DEPTH = 127


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings skipped (a linear scan, so a
    hostile token cannot make the parser recurse)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def loads_strict(data: bytes) -> Any:
    """Parse JSON as serde_json would: UTF-8 only, no NaN/Infinity, no out-of-range
    numbers, at most 127 levels of nesting; duplicate keys recorded."""
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels (serde_json's limit)")
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constants,
                      parse_float=_finite_float)


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def _dups(obj: Mapping[str, Any], known: Sequence[str], where: str) -> list[Problem]:
    dups = [k for k in getattr(obj, "duplicates", ()) if k in known]
    return [_claims("duplicate_field", f"{where} has the field {k!r} twice") for k in dups]


# -- judging claims as Qdrant does ---------------------------------------------------------------

def claim_problems(claims: object) -> list[Problem]:
    """Every reason Qdrant would refuse these claims: deserialisation (``CLAIMS``) first, then
    validation (``INVALID``). ``exp`` in the past is judged separately (:func:`expiry_problem`)."""
    if not isinstance(claims, Mapping):
        return [_claims("claims_not_object", f"the payload is {_kind(claims)}, not a JSON object")]
    out = _dups(claims, KNOWN_CLAIMS, "the payload")
    for name in ("sub", "subject"):
        if name in claims and claims[name] is not None and not isinstance(claims[name], str):
            out.append(_claims(f"{name}_not_string",
                               f"{name} is {_kind(claims[name])}; Qdrant needs a string"))
    if "exp" in claims:
        exp = claims["exp"]
        if exp is not None and not is_int(exp):
            out.append(_claims("exp_not_integer",
                               f"exp is {_kind(exp)}; Qdrant needs an integer (seconds since the epoch)"))
        elif is_int(exp) and not 0 <= exp <= U64_MAX:
            out.append(_claims("exp_out_of_range", f"exp {exp} is not an unsigned 64-bit integer"))
    if "access" in claims:
        out += _access_problems(claims["access"])
    if "value_exists" in claims and claims["value_exists"] is not None:
        out += _value_exists_problems(claims["value_exists"])
    out.sort(key=lambda p: p.stage)
    return out


def _access_problems(access: object) -> list[Problem]:
    if access is None:
        return [_claims("access_null", "access is null; omit it or use \"r\", \"m\" or a list")]
    if isinstance(access, str):
        if access not in GLOBAL_MODES:
            return [_claims("unknown_access_mode",
                            f"unknown global access mode {access!r} (Qdrant knows \"r\" and \"m\"; "
                            "per-collection modes go in a list)")]
        return []
    if not isinstance(access, list):
        return [_claims("access_bad_type", f"access is {_kind(access)}; use \"r\", \"m\" or a list")]
    out: list[Problem] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(access):
        where = f"access[{i}]"
        if not isinstance(entry, Mapping):
            out.append(_claims("access_entry_bad_type", f"{where} is {_kind(entry)}, not an object"))
            continue
        out += _dups(entry, ("collection", "access", "payload"), where)
        name = entry.get("collection")
        if "collection" not in entry or not isinstance(name, str):
            out.append(_claims("access_entry_no_collection", f"{where} has no string 'collection'"))
            name = None
        mode = entry.get("access")
        if "access" not in entry:
            out.append(_claims("access_entry_no_mode", f"{where} has no 'access' mode"))
        elif mode not in COLLECTION_MODES:
            out.append(_claims("unknown_access_mode",
                               f"{where}: unknown collection access mode {mode!r} (use r, rw or prw)"))
        if entry.get("payload") is not None:
            out.append(_invalid("deprecated_payload",
                                f"{where} has a 'payload' constraint, removed from Qdrant; "
                                "the whole token is refused"))
        if name is not None:
            if name in seen:
                out.append(_invalid("duplicate_collection",
                                    f"collection {name!r} is listed twice (access[{seen[name]}] "
                                    f"and {where})"))
            else:
                seen[name] = i
    if any(p.kind == INVALID for p in out):
        body = validator_text(access)
        out = [replace(p, body=body) if p.kind == INVALID else p for p in out]
    return out


MSG_UNIQUE = "Collection name should be unique"
MSG_PAYLOAD = "The 'payload' constraint is deprecated and should not be used"


def validator_text(access: list[Any]) -> str:
    """The 401 body Qdrant sends for an access list its validator refuses: validator 0.20's
    Display of ``{"access": List{i: {field: [error]}}}`` (src/common/auth/claims.rs
    ``Claims::validate``, lib/storage/src/rbac/mod.rs ``Access::validate``): one
    ``access[i].field: message`` per problem, concatenated without a separator. For an entry
    with both problems Qdrant's order is a HashMap's (unspecified); this says collection first."""
    parts: list[str] = []
    names: set[str] = set()
    for i, entry in enumerate(access):
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("collection")
        if isinstance(name, str):
            if name in names:
                parts.append(f"access[{i}].collection: {MSG_UNIQUE}")
            names.add(name)
        if entry.get("payload") is not None:
            parts.append(f"access[{i}].payload: {MSG_PAYLOAD}")
    return "".join(parts)


def _value_exists_problems(ve: object) -> list[Problem]:
    if not isinstance(ve, Mapping):
        return [_claims("malformed_value_exists", f"value_exists is {_kind(ve)}, not an object")]
    out = _dups(ve, ("collection", "matches"), "value_exists")
    if not isinstance(ve.get("collection"), str):
        out.append(_claims("malformed_value_exists", "value_exists has no string 'collection'"))
    matches = ve.get("matches")
    if not isinstance(matches, list):
        out.append(_claims("malformed_value_exists", "value_exists has no 'matches' list"))
        return out
    for i, m in enumerate(matches):
        where = f"value_exists.matches[{i}]"
        if not isinstance(m, Mapping):
            out.append(_claims("malformed_value_exists", f"{where} is {_kind(m)}, not an object"))
            continue
        out += _dups(m, ("key", "value"), where)
        if not isinstance(m.get("key"), str):
            out.append(_claims("malformed_value_exists", f"{where} has no string 'key'"))
        elif not is_json_path(m["key"]):
            out.append(_claims("malformed_value_exists",
                               f"{where}: key {m['key']!r} is not a Qdrant JSON path"))
        if "value" not in m:
            out.append(_claims("malformed_value_exists", f"{where} has no 'value'"))
        else:
            reason = value_problem(m["value"])
            if reason:
                out.append(_claims("malformed_value_exists", f"{where}: {reason}"))
    return out


def value_problem(value: object) -> str | None:
    """Why Qdrant refuses ``value`` in a match (a string, an i64 or a boolean), if it does."""
    if isinstance(value, (str, bool)):
        return None
    if is_int(value):
        if I64_MIN <= value <= I64_MAX:  # type: ignore[operator]
            return None
        return f"value {value} does not fit a signed 64-bit integer"
    return f"value is {_kind(value)}; Qdrant accepts a string, an integer or a boolean"


def is_expired(exp: int, now: int) -> bool:
    """Qdrant's rule: refused when ``exp < now - 30`` (``now - 30`` passes, ``now - 31`` fails)."""
    return exp < now - LEEWAY_SECONDS


def expiry_problem(claims: object, now: int) -> Problem | None:
    if not isinstance(claims, Mapping):
        return None
    exp = claims.get("exp")
    if is_int(exp) and 0 <= exp <= U64_MAX and is_expired(exp, now):  # type: ignore[operator]
        from qdrantsec.token.durations import humanize

        return Problem("expired", EXPIRED, STAGE_EXP,
                       f"expired {humanize(now - exp)} ago (beyond Qdrant's 30 s leeway)")  # type: ignore[operator]
    return None


def _raw_key_end(text: str, i: int) -> int:
    """End of a raw key at ``i``: letters/digits (Unicode), ``_`` and ``-``."""
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] in "_-"):
        j += 1
    return j


def _quoted_key_end(text: str, i: int) -> int:
    """End (after the closing quote) of a quoted key at ``i``, or -1: no ``\\`` or ``"`` inside."""
    if i >= len(text) or text[i] != '"':
        return -1
    j = i + 1
    while j < len(text) and text[j] not in '\\"':
        j += 1
    return j + 1 if j < len(text) and text[j] == '"' else -1


def _key_end(text: str, i: int) -> int:
    j = _raw_key_end(text, i)
    return j if j > i else _quoted_key_end(text, i)


def is_json_path(text: str) -> bool:
    """Qdrant's payload key syntax (lib/segment/src/json_path/parse.rs): a raw or quoted key,
    then any of ``.key``, ``."key"``, ``[N]`` and ``[]``. A ``value_exists`` key that does not
    parse makes the claims undeserialisable."""
    i = _key_end(text, 0)
    if i < 0:
        return False
    while i < len(text):
        if text[i] == ".":
            i = _key_end(text, i + 1)
            if i < 0:
                return False
        elif text.startswith("[]", i):
            i += 2
        elif text[i] == "[":
            j = i + 1
            while j < len(text) and text[j] in "0123456789":
                j += 1
            if j == i + 1 or j >= len(text) or text[j] != "]" or int(text[i + 1:j]) > U64_MAX:
                return False
            i = j + 1
        else:
            return False
    return True


def claim_warnings(claims: object, now: int) -> list[str]:
    """What Qdrant accepts but an operator should know (never includes problems)."""
    if not isinstance(claims, Mapping):
        return []
    out: list[str] = []
    access = claims.get("access")
    if "access" not in claims:
        out.append("no access claim: Qdrant grants full manage access, like the api_key itself")
    elif access == "m":
        out.append("access m: full manage access, the same power as the api_key")
    elif access == []:
        out.append("access is an empty list: the token grants no collection")
    elif isinstance(access, list):
        for entry in access:
            name = entry.get("collection") if isinstance(entry, Mapping) else None
            if isinstance(name, str) and name != name.strip():
                out.append(f"collection {name!r} has surrounding spaces; matching is exact")
    exp = claims.get("exp")
    if exp is None:
        out.append("no exp: the token never expires (Qdrant requires no claim)")
    elif is_int(exp):
        iat = claims.get("iat")
        start = iat if is_int(iat) and iat <= exp else now
        if exp - start > LONG_LIFETIME_SECONDS:
            from qdrantsec.token.durations import humanize

            out.append(f"long lifetime: {humanize(exp - start)} (more than 90 days)")
        if now - LEEWAY_SECONDS <= exp < now:
            out.append(f"expired {now - exp} s ago but still accepted within Qdrant's 30 s leeway")
    if "sub" in claims and "subject" not in claims:
        out.append("sub is set but subject is not: Qdrant writes the 'subject' claim to the "
                   "audit log, and uses 'sub' only as an inference token")
    if "nbf" in claims:
        out.append("nbf is not checked by Qdrant: the token works before that time")
    ignored = [c for c in ("aud", "iss") if c in claims]
    if ignored:
        out.append(f"{' and '.join(ignored)} not checked by Qdrant")
    ve = claims.get("value_exists")
    if isinstance(ve, Mapping) and ve.get("matches") == []:
        out.append(f"value_exists has no matches: any point in {ve.get('collection')!r} "
                   "keeps the token valid")
    unknown = [k for k in claims if k not in (*KNOWN_CLAIMS, "iat", "nbf", "aud", "iss", "jti")]
    if unknown:
        out.append(f"claims ignored by Qdrant: {', '.join(unknown)}")
    return out


# -- building claims (mint) ---------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    key: str
    value: str | int | bool

    def as_claim(self) -> dict[str, object]:
        return {"key": self.key, "value": self.value}


@dataclass(frozen=True)
class ValueExists:
    collection: str
    matches: tuple[Match, ...]

    def as_claim(self) -> dict[str, object]:
        return {"collection": self.collection, "matches": [m.as_claim() for m in self.matches]}


@dataclass(frozen=True)
class Grant:
    collection: str
    mode: str

    def as_claim(self) -> dict[str, str]:
        return {"collection": self.collection, "access": self.mode}


@dataclass(frozen=True)
class TokenSpec:
    """A validated request for a token: access, expiry, revocation condition, audit subject."""

    access: str | tuple[Grant, ...]
    exp: int | None
    value_exists: ValueExists | None = None
    subject: str | None = None
    sub: str | None = None

    def claims(self, iat: int) -> dict[str, object]:
        out: dict[str, object] = {}
        if isinstance(self.access, str):
            out["access"] = self.access
        else:
            out["access"] = [g.as_claim() for g in self.access]
        if self.value_exists is not None:
            out["value_exists"] = self.value_exists.as_claim()
        if self.subject is not None:
            out["subject"] = self.subject
        if self.sub is not None:
            out["sub"] = self.sub
        out["iat"] = iat
        if self.exp is not None:
            out["exp"] = self.exp
        return out


def parse_grant(text: str) -> Grant:
    """``NAME:MODE`` (split on the last colon) with MODE r, rw or prw."""
    name, sep, mode = text.rpartition(":")
    if not sep:
        raise InputError(f"collection spec {text!r} has no mode",
                         hint="write NAME:r, NAME:rw or NAME:prw")
    return make_grant(name, mode.strip(), spec=text)


def make_grant(name: object, mode: object, *, spec: str | None = None) -> Grant:
    what = f"collection spec {spec!r}" if spec is not None else "collection"
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} has an empty collection name")
    if mode not in COLLECTION_MODES:
        hint = "use --access m for global manage" if mode == "m" else None
        raise InputError(f"{what}: unknown mode {mode!r} (use r, rw or prw)", hint=hint)
    return Grant(name, str(mode))


def build_access(global_mode: str | None, grants: Sequence[Grant]) -> str | tuple[Grant, ...]:
    """Exactly one of a global mode (``r``/``m``) or one or more collection grants."""
    if global_mode is not None and grants:
        raise InputError("give either a global access mode or collections, not both")
    if global_mode is not None:
        if global_mode not in GLOBAL_MODES:
            hint = ("per-collection modes go with --collection NAME:MODE"
                    if global_mode in COLLECTION_MODES else None)
            raise InputError(f"unknown global access mode {global_mode!r} (use r or m)", hint=hint)
        return global_mode
    if not grants:
        raise InputError("no access given: a token without 'access' gets full manage in Qdrant",
                         hint="use --access r, --collection NAME:MODE, or --access m if you "
                              "really mean manage")
    seen: set[str] = set()
    for g in grants:
        if g.collection in seen:
            raise InputError(f"collection {g.collection!r} is given twice (Qdrant refuses such tokens)")
        seen.add(g.collection)
    return tuple(grants)


def parse_match_value(text: str, *, key: str = "KEY") -> str | int | bool:
    """A JSON integer or boolean when ``text`` parses as one; a quoted JSON string forces a
    string; floats are refused (Qdrant refuses them); anything else is the string itself."""
    digits = text.strip().removeprefix("-")
    if len(digits) > 4000 and digits.isascii() and digits.isdigit() and digits[0] != "0":
        # json.loads refuses over 4300 digits, which would turn the number into a string
        raise InputError(f"match value {text.strip()[:24]}... does not fit a signed 64-bit integer")
    try:
        parsed = json.loads(text, parse_constant=_no_constants)
    except ValueError:
        return text
    if isinstance(parsed, (bool, str)):
        return parsed
    if is_int(parsed):
        if not I64_MIN <= parsed <= I64_MAX:
            raise InputError(f"match value {text} does not fit a signed 64-bit integer")
        return parsed  # type: ignore[no-any-return]
    if isinstance(parsed, float):
        raise InputError(f"match value {text!r} is a float; Qdrant accepts only strings, "
                         "integers and booleans",
                         hint=f'quote it to match the string: --match \'{key}="{text}"\'')
    return text


def parse_match(text: str) -> Match:
    """``KEY=VALUE`` (split on the first ``=``)."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise InputError(f"match {text!r} is not KEY=VALUE")
    return make_match(key, parse_match_value(raw, key=key or "KEY"), spec=text)


def make_match(key: object, value: object, *, spec: str | None = None) -> Match:
    what = f"match {spec!r}" if spec is not None else "match"
    if not isinstance(key, str) or not key:
        raise InputError(f"{what} has an empty key")
    if not is_json_path(key):
        raise InputError(f"{what}: key {key!r} is not a Qdrant JSON path (Qdrant would refuse "
                         "the token)", hint='quote a key with special characters: \'"my key"\'')
    reason = value_problem(value)
    if reason:
        raise InputError(f"{what}: {reason}")
    return Match(key, value)  # type: ignore[arg-type]


def build_value_exists(collection: str | None, matches: Sequence[Match]) -> ValueExists | None:
    if collection is None:
        if matches:
            raise InputError("a match needs the collection to look in",
                             hint="add --value-exists COLLECTION")
        return None
    if not collection:
        raise InputError("value_exists needs a collection name")
    if not matches:
        raise InputError("value_exists needs at least one KEY=VALUE match",
                         hint="add --match KEY=VALUE (e.g. --match user_id=42)")
    return ValueExists(collection, tuple(matches))
