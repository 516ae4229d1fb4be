"""Core token logic: durations, claim building, Qdrant's rejection rules, strict decoding and
Qdrant's order of checks across api_key and alt_api_key."""

from __future__ import annotations

from typing import Any

import pytest

from qdrantsec.errors import InputError
from qdrantsec.exit_codes import ExitCode
from qdrantsec.secrets import Secret
from qdrantsec.token import claims as C
from qdrantsec.token import durations as D
from qdrantsec.token import jws
from qdrantsec.token.inspect import inspect
from qdrantsec.token.mint import make_spec, mint, resolve_expiry
from qdrantsec.token.verify import qdrant_verdict
from tests.token.helpers import b64, hs256, now, pyjwt_decode, pyjwt_encode

API = Secret("api-" + "a" * 64, "test", "api_key")
ALT = Secret("alt-" + "b" * 40, "test", "alt_api_key")
NOW = 1_800_000_000


# -- durations --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600),
    ("1d12h", 129600), (" 1H ", 3600)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert D.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "7", "7x", "1.5h", "-1h", "0s", "h", "1h 30m", "9" * 30 + "w"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(InputError):
        D.parse_duration(bad)


def test_bare_number_hint() -> None:
    with pytest.raises(InputError) as exc:
        D.parse_duration("30")
    assert "30s" in (exc.value.hint or "")


@pytest.mark.parametrize(("text", "ts"), [
    ("2027-01-15T08:00:00Z", 1_800_000_000),
    ("2027-01-15T10:00:00+02:00", 1_800_000_000),
    ("2027-01-15T08:00:00.9z", 1_800_000_000),
])
def test_parse_instant(text: str, ts: int) -> None:
    assert D.parse_instant(text) == ts


@pytest.mark.parametrize("bad", ["2027-01-15T08:00:00", "2027-01-15", "tomorrow", "2027-13-01T00:00Z"])
def test_bad_instants(bad: str) -> None:
    with pytest.raises(InputError):
        D.parse_instant(bad)


def test_relative_and_iso() -> None:
    assert D.relative(NOW + 6 * 86400 + 3600, NOW) == "in 6 days 1 hour"
    assert D.relative(NOW - 3 * 3600, NOW) == "3 hours ago"
    assert D.relative(NOW - 1, NOW) == "1 second ago"
    assert D.iso(0) == "1970-01-01T00:00:00Z"
    assert D.format_duration(5400) == "1h30m"


# -- expiry resolution ------------------------------------------------------------------------

def test_expiry_default_is_24h_and_integer() -> None:
    exp = resolve_expiry(now=NOW)
    assert exp == NOW + 86400 and isinstance(exp, int)


def test_expiry_choices() -> None:
    assert resolve_expiry(expires_in="7d", now=NOW) == NOW + 7 * 86400
    assert resolve_expiry(no_expiry=True, now=NOW) is None
    assert resolve_expiry(expires_at=D.iso(NOW + 60), now=NOW) == NOW + 60
    with pytest.raises(InputError, match="past"):
        resolve_expiry(expires_at=D.iso(NOW - 60), now=NOW)
    with pytest.raises(InputError, match="past"):
        resolve_expiry(expires_at=D.iso(NOW), now=NOW)
    with pytest.raises(InputError, match="only one"):
        resolve_expiry(expires_in="1h", no_expiry=True, now=NOW)
    with pytest.raises(InputError, match="only one"):
        resolve_expiry(expires_in="1h", expires_at=D.iso(NOW + 99), now=NOW)
    with pytest.raises(InputError):
        resolve_expiry(expires_in=90, now=NOW)  # a YAML number without unit


# -- building claims --------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "name", "mode"), [
    ("docs:r", "docs", "r"), ("a:b:rw", "a:b", "rw"), ("x:prw", "x", "prw")])
def test_parse_grant(spec: str, name: str, mode: str) -> None:
    assert C.parse_grant(spec) == C.Grant(name, mode)


@pytest.mark.parametrize("bad", ["docs", ":r", "docs:", "docs:m", "docs:w", "docs:R"])
def test_bad_grants(bad: str) -> None:
    with pytest.raises(InputError):
        C.parse_grant(bad)


@pytest.mark.parametrize(("text", "value"), [
    ("42", 42), ("-7", -7), ("true", True), ("false", False), ("alice", "alice"),
    ('"42"', "42"), ("null", "null"), ("", ""), ("007", "007"), ("[1]", "[1]"),
    (str(2**63 - 1), 2**63 - 1)])
def test_match_values(text: str, value: object) -> None:
    got = C.parse_match_value(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("bad", ["1.5", "1e3", "-0.0", str(2**63), "NaN"])
def test_match_values_refused(bad: str) -> None:
    if bad == "NaN":
        assert C.parse_match_value(bad) == "NaN"  # not JSON: a string
        return
    with pytest.raises(InputError):
        C.parse_match_value(bad)


def test_parse_match() -> None:
    assert C.parse_match("user.id=a=b") == C.Match("user.id", "a=b")
    with pytest.raises(InputError):
        C.parse_match("novalue")
    with pytest.raises(InputError):
        C.parse_match("=1")


def test_build_access_rules() -> None:
    assert C.build_access("r", []) == "r"
    assert C.build_access(None, [C.Grant("a", "r")]) == (C.Grant("a", "r"),)
    with pytest.raises(InputError, match="full manage"):
        C.build_access(None, [])
    with pytest.raises(InputError, match="twice"):
        C.build_access(None, [C.Grant("a", "r"), C.Grant("a", "rw")])
    with pytest.raises(InputError, match="not both"):
        C.build_access("r", [C.Grant("a", "r")])
    with pytest.raises(InputError) as exc:
        C.build_access("rw", [])
    assert "--collection" in (exc.value.hint or "")


def test_value_exists_rules() -> None:
    with pytest.raises(InputError):
        C.build_value_exists("users", [])
    with pytest.raises(InputError):
        C.build_value_exists(None, [C.Match("a", 1)])
    assert C.build_value_exists(None, []) is None


def test_spec_claims_shape() -> None:
    spec = make_spec(grants=[C.Grant("docs", "r")], value_exists="users",
                     matches=[C.Match("id", 42)], subject="alice", sub="inf", now=NOW)
    assert spec.claims(NOW) == {
        "access": [{"collection": "docs", "access": "r"}],
        "value_exists": {"collection": "users", "matches": [{"key": "id", "value": 42}]},
        "subject": "alice", "sub": "inf", "iat": NOW, "exp": NOW + 86400}
    with pytest.raises(InputError):
        make_spec(access="r", subject="  ", now=NOW)


# -- judging claims -----------------------------------------------------------------------

def codes(claims: Any) -> list[str]:
    return [p.code for p in C.claim_problems(claims)]


@pytest.mark.parametrize(("claims", "code", "kind"), [
    ({"exp": 1.5e9}, "exp_not_integer", C.CLAIMS),
    ({"exp": "1800000000"}, "exp_not_integer", C.CLAIMS),
    ({"exp": True}, "exp_not_integer", C.CLAIMS),
    ({"exp": -1}, "exp_out_of_range", C.CLAIMS),
    ({"exp": 2**64}, "exp_out_of_range", C.CLAIMS),
    ({"access": "rw"}, "unknown_access_mode", C.CLAIMS),
    ({"access": None}, "access_null", C.CLAIMS),
    ({"access": {"collection": "a"}}, "access_bad_type", C.CLAIMS),
    ({"access": [{"collection": "a", "access": "w"}]}, "unknown_access_mode", C.CLAIMS),
    ({"access": [{"collection": "a"}]}, "access_entry_no_mode", C.CLAIMS),
    ({"access": [{"access": "r"}]}, "access_entry_no_collection", C.CLAIMS),
    ({"access": ["a"]}, "access_entry_bad_type", C.CLAIMS),
    ({"access": [{"collection": "a", "access": "r"}, {"collection": "a", "access": "rw"}]},
     "duplicate_collection", C.INVALID),
    ({"access": [{"collection": "a", "access": "r", "payload": {"user": "x"}}]},
     "deprecated_payload", C.INVALID),
    ({"value_exists": {"collection": "u", "matches": [{"key": "k", "value": 1.5}]}},
     "malformed_value_exists", C.CLAIMS),
    ({"value_exists": {"collection": "u", "matches": [{"key": "k", "value": None}]}},
     "malformed_value_exists", C.CLAIMS),
    ({"value_exists": {"collection": "u", "matches": [{"key": "k", "value": {"a": 1}}]}},
     "malformed_value_exists", C.CLAIMS),
    ({"value_exists": {"collection": "u"}}, "malformed_value_exists", C.CLAIMS),
    ({"value_exists": {"matches": []}}, "malformed_value_exists", C.CLAIMS),
    ({"value_exists": "users"}, "malformed_value_exists", C.CLAIMS),
    ({"value_exists": {"collection": "u", "matches": [{"value": 1}]}}, "malformed_value_exists",
     C.CLAIMS),
    ({"sub": 5}, "sub_not_string", C.CLAIMS),
    ({"subject": ["a"]}, "subject_not_string", C.CLAIMS),
    ([1, 2], "claims_not_object", C.CLAIMS),
])
def test_claim_problems(claims: Any, code: str, kind: str) -> None:
    problems = C.claim_problems(claims)
    assert [p.code for p in problems] == [code]
    assert problems[0].kind == kind


def test_accepted_claims() -> None:
    for ok in ({}, {"access": "r"}, {"access": []}, {"exp": None, "sub": None},
               {"access": [{"collection": "a", "access": "prw", "payload": None, "x": 1}]},
               {"value_exists": None}, {"unknown": [1.5]},
               {"value_exists": {"collection": "u", "matches": [{"key": "k", "value": True}]}}):
        assert codes(ok) == [], ok


def test_duplicate_json_fields_are_refused() -> None:
    parsed = C.loads_strict(b'{"exp": 1, "exp": 2, "other": 1, "other": 2}')
    assert [p.code for p in C.claim_problems(parsed)] == ["duplicate_field"]


def test_every_problem_listed_not_just_the_first() -> None:
    claims = {"exp": "x", "access": [{"collection": "a", "access": "r", "payload": 1},
                                     {"collection": "a", "access": "zz"}]}
    got = codes(claims)
    assert set(got) == {"exp_not_integer", "unknown_access_mode", "deprecated_payload",
                        "duplicate_collection"}
    # deserialisation problems come before validation ones (Qdrant's order)
    assert got.index("deprecated_payload") > got.index("unknown_access_mode")


def test_leeway_boundary() -> None:
    assert not C.is_expired(NOW - 30, NOW)
    assert C.is_expired(NOW - 31, NOW)
    assert C.expiry_problem({"exp": NOW - 30}, NOW) is None
    p = C.expiry_problem({"exp": NOW - 31}, NOW)
    assert p is not None and p.exit_code == ExitCode.TOKEN_EXPIRED


def test_warnings() -> None:
    def w(claims: dict[str, Any]) -> str:
        return " | ".join(C.claim_warnings(claims, NOW))

    assert "full manage" in w({"exp": NOW + 60})
    assert "never expires" in w({"access": "r"})
    assert "same power as the api_key" in w({"access": "m", "exp": NOW + 60})
    assert "grants no collection" in w({"access": [], "exp": NOW + 60})
    assert "more than 90 days" in w({"access": "r", "exp": NOW + 91 * 86400})
    assert "more than 90 days" not in w({"access": "r", "exp": NOW + 89 * 86400})
    assert "more than 90 days" in w({"access": "r", "iat": NOW - 100 * 86400, "exp": NOW + 60})
    assert "audit log" in w({"access": "r", "exp": NOW + 60, "sub": "alice"})
    assert "audit log" not in w({"access": "r", "exp": NOW + 60, "sub": "a", "subject": "a"})
    assert "nbf is not checked" in w({"access": "r", "exp": NOW + 60, "nbf": NOW + 10})
    assert "within Qdrant's 30 s leeway" in w({"access": "r", "exp": NOW - 10})
    assert "ignored by Qdrant: role" in w({"access": "r", "exp": NOW + 60, "role": "x"})
    assert "any point" in w({"access": "r", "exp": NOW + 60,
                             "value_exists": {"collection": "u", "matches": []}})
    assert w({"access": "r", "exp": NOW + 60, "subject": "a"}) == ""


# -- strict decoding --------------------------------------------------------------------------

def test_b64url_strict() -> None:
    assert jws.b64url_decode("YQ") == b"a"
    for bad, reason in (("YQ==", "padded"), ("YR", "non-canonical"), ("Y+", "alphabet"),
                        ("Y", "length"), ("YQ.", "alphabet")):
        with pytest.raises(ValueError, match=reason):
            jws.b64url_decode(bad)


def test_pyjwt_token_is_accepted() -> None:
    token = pyjwt_encode({"access": "r", "exp": now() + 60}, API.value)
    report = inspect(jws.decode(token), [API], now=now())
    assert report.problems == [] and report.accepted is True


@pytest.mark.parametrize(("token_fn", "code"), [
    (lambda: pyjwt_encode({"access": "r"}, API.value, algorithm="HS384"), "not_hs256"),
    (lambda: pyjwt_encode({"access": "r"}, API.value, algorithm="HS512"), "not_hs256"),
    (lambda: b64({"alg": "none", "typ": "JWT"}) + "." + b64({"access": "r"}) + ".", "alg_none"),
    (lambda: hs256({"alg": "XS256"}, {"access": "r"}, API.value), "unknown_alg"),
    (lambda: hs256({"typ": "JWT"}, {"access": "r"}, API.value), "no_alg"),
    (lambda: hs256({"alg": "HS256", "kid": 5}, {"access": "r"}, API.value), "header_bad_field"),
    (lambda: hs256(b64("[1]"), {"access": "r"}, API.value), "header_not_object"),
    (lambda: hs256(b64("{nope"), {"access": "r"}, API.value), "header_not_json"),
    (lambda: hs256({"alg": "HS256"}, b64("not json"), API.value), "payload_not_json"),
])
def test_malformed_tokens(token_fn: Any, code: str) -> None:
    decoded = jws.decode(token_fn())
    assert code in [p.code for p in decoded.problems]
    verdict = qdrant_verdict(decoded, [API], now())
    assert verdict.exit_code == ExitCode.TOKEN_MALFORMED
    assert verdict.reported is not None and verdict.reported.qdrant_answer == \
        "401 Invalid API key or JWT"


def test_padded_token_is_not_usable() -> None:
    good = pyjwt_encode({"access": "r"}, API.value)
    h, p, s = good.split(".")
    for token in (f"{h}==.{p}.{s}", f"{h}.{p}.{s}=", f"{h}.{p}{'=' * (-len(p) % 4) or '=='}.{s}"):
        decoded = jws.decode(token)
        assert "padded" in [x.code for x in decoded.problems]
        assert decoded.claims == {"access": "r"}  # still shown
        assert qdrant_verdict(decoded, [API], now()).exit_code in (
            ExitCode.TOKEN_MALFORMED, ExitCode.TOKEN_BAD_SIGNATURE)


def test_padded_payload_with_valid_signature_is_malformed() -> None:
    # the signature covers the padded segment, so only the payload decoding fails
    h = b64({"alg": "HS256", "typ": "JWT"})
    p = b64({"access": "r", "x": "y"})
    p_padded = p + "=" * (-len(p) % 4 or 4)
    token = hs256(h, p_padded, API.value)
    verdict = qdrant_verdict(jws.decode(token), [API], now())
    assert verdict.exit_code == ExitCode.TOKEN_MALFORMED
    assert verdict.reported is not None and verdict.reported.code == "padded"


@pytest.mark.parametrize("text", ["abc", "a.b", "a.b.c.d", "", "ü.ü.ü"])
def test_not_a_jwt(text: str) -> None:
    decoded = jws.decode(text)
    assert decoded.unreadable
    with pytest.raises(InputError, match="not a JWT"):
        jws.require_readable(decoded)
    assert qdrant_verdict(decoded, [API], NOW).exit_code == ExitCode.TOKEN_MALFORMED


def test_clean_token() -> None:
    assert jws.clean_token("  Bearer abc.def.ghi\n") == "abc.def.ghi"
    assert jws.clean_token("bearer x") == "x"


# -- Qdrant's order across keys (facts 2.3, 3.1) ---------------------------------------------

def verdict(claims: dict[str, Any], signer: Secret, keys: list[Secret], at: int = NOW) -> Any:
    return qdrant_verdict(jws.decode(hs256({"alg": "HS256", "typ": "JWT"}, claims, signer.value)),
                          keys, at)


def test_signature_before_expiry() -> None:
    v = verdict({"access": "r", "exp": NOW - 3600}, ALT, [API])
    assert v.exit_code == ExitCode.TOKEN_BAD_SIGNATURE


def test_expired_beyond_leeway() -> None:
    assert verdict({"exp": NOW - 31, "access": "r"}, API, [API]).exit_code == ExitCode.TOKEN_EXPIRED
    assert verdict({"exp": NOW - 30, "access": "r"}, API, [API]).accepted


def test_alt_key_accepts() -> None:
    v = verdict({"access": "r", "exp": NOW + 60}, ALT, [API, ALT])
    assert v.accepted and v.accepted_by is not None and v.accepted_by.role == "alt_api_key"


def test_alt_signed_expired_is_reported_as_invalid_signature() -> None:
    v = verdict({"access": "r", "exp": NOW - 3600}, ALT, [API, ALT])
    assert v.exit_code == ExitCode.TOKEN_BAD_SIGNATURE
    assert v.root_cause is not None and v.root_cause.code == "expired"
    assert "signed with alt_api_key" in v.explanation()


def test_api_signed_bad_claims_with_two_keys_is_invalid_signature() -> None:
    v = verdict({"access": "rw"}, API, [API, ALT])
    assert v.exit_code == ExitCode.TOKEN_BAD_SIGNATURE  # from the alt_api_key parser
    assert v.root_cause is not None and v.root_cause.code == "unknown_access_mode"
    assert verdict({"access": "rw"}, API, [API]).exit_code == ExitCode.TOKEN_CLAIMS_REJECTED


def test_validation_error_comes_first_with_two_keys() -> None:
    claims = {"access": [{"collection": "a", "access": "r", "payload": {"k": 1}}]}
    v = verdict(claims, API, [API, ALT])
    assert v.exit_code == ExitCode.TOKEN_CLAIMS_REJECTED and v.reported is not None
    assert v.reported.code == "deprecated_payload"
    # signed with alt_api_key: the api_key parser's signature error is first
    assert verdict(claims, ALT, [API, ALT]).exit_code == ExitCode.TOKEN_BAD_SIGNATURE


def test_well_signed_malformed_claims_fail_even_if_expired() -> None:
    v = verdict({"exp": "soon", "access": "r"}, API, [API])
    assert v.exit_code == ExitCode.TOKEN_CLAIMS_REJECTED
    v = verdict({"exp": NOW - 999, "access": "zz"}, API, [API])
    assert v.exit_code == ExitCode.TOKEN_CLAIMS_REJECTED  # deserialisation before exp


def test_expired_before_validation() -> None:
    claims = {"exp": NOW - 999, "access": [{"collection": "a", "access": "r"},
                                           {"collection": "a", "access": "r"}]}
    assert verdict(claims, API, [API]).exit_code == ExitCode.TOKEN_EXPIRED


def test_neither_key_message() -> None:
    v = verdict({"access": "r"}, Secret("other-" + "c" * 40, "t"), [API, ALT])
    assert v.reported is not None and "neither" in v.reported.message
    assert API.fingerprint in v.reported.message and ALT.fingerprint in v.reported.message


def test_mint_round_trip_with_pyjwt() -> None:
    spec = make_spec(grants=[C.Grant("docs", "rw")], expires_in="1h", subject="ü-user", now=now())
    minted = mint(spec, API, now=now())
    assert pyjwt_decode(minted.token, API.value) == minted.claims
    header = jws.decode(minted.token).header
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert "=" not in minted.token


@pytest.mark.parametrize("raw", [b'{"x": 1e400}', b'{"x": NaN}', b'{"x": Infinity}',
                                 b'\xef\xbb\xbf{"access": "r"}', b'{"access": "\xff"}'])
def test_payload_json_is_parsed_like_serde(raw: bytes) -> None:
    token = hs256({"alg": "HS256"}, b64(raw), API.value)
    decoded = jws.decode(token)
    assert "payload_not_json" in [p.code for p in decoded.problems]
    assert qdrant_verdict(decoded, [API], NOW).exit_code == ExitCode.TOKEN_MALFORMED
