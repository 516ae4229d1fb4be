"""`token inspect` never reports "Claims: null" and success for a token whose claims cannot
be read (issue 8), its text output is not hard-wrapped in a pipe, and a --qdrant-config
without a key is an error rather than a silent "unverified"."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.exit_codes import ExitCode
from tests.token.conftest import Runner
from tests.token.helpers import b64, hs256, now

HEADER = b64({"alg": "HS256", "typ": "JWT"})
SIG = b64(b"\x01" * 32)
ANSWER = "Qdrant answers 401 Invalid API key or JWT"


@pytest.mark.parametrize(("payload", "why"), [
    ("@@@", "the payload is not base64url (characters outside A-Z a-z 0-9 - _); "
            "the payload is not JSON (UTF-8, no NaN)"),
    (b64("not json"), "the payload is not JSON (UTF-8, no NaN)"),
    (b64("[1, 2]"), "the payload is an array, not a JSON object"),
    (b64('"access"'), "the payload is a string, not a JSON object"),
])
def test_undecodable_claims_exit_12_after_showing_what_was_read(run: Runner, payload: str, why: str) -> None:
    token = f"{HEADER}.{payload}.{SIG}"
    r = run("token", "inspect", token)
    assert r.code == ExitCode.TOKEN_MALFORMED
    assert r.err == f"qdrantsec: error: the token's claims cannot be decoded ({why}); {ANSWER}\n"
    assert 'Header:    {"alg": "HS256", "typ": "JWT"}' in r.out  # what could be read is shown
    assert "Qdrant:    refuses it: 401 Invalid API key or JWT" in r.out
    assert "null" not in r.out and "Expires:" not in r.out  # nothing is made up
    doc = run("token", "inspect", "--format", "json", token)
    assert doc.code == ExitCode.TOKEN_MALFORMED and doc.err == r.err
    assert doc.json()["claims_error"] == why and doc.json()["accepted"] is False


def test_claims_cannot_be_decoded_line(run: Runner) -> None:
    r = run("token", "inspect", f"{HEADER}.{b64('nope')}.{SIG}")
    assert "Claims:    cannot be decoded (the payload is not JSON (UTF-8, no NaN))\n" in r.out


@pytest.mark.parametrize("claims", [
    {"access": "r", "exp": now() + 3600},  # fine
    {"access": "rw"},  # Qdrant refuses the claims, but they decode
    {"access": "r", "exp": now() - 7200},  # expired
])
def test_tokens_that_decode_exit_0_whatever_qdrant_says(run: Runner, claims: dict[str, object]) -> None:
    r = run("token", "inspect", hs256({"alg": "HS256", "typ": "JWT"}, claims, "k" * 40))
    assert (r.code, r.err) == (0, "")
    doc = run("token", "inspect", "-f", "json", hs256({"alg": "HS256", "typ": "JWT"}, claims, "k" * 40))
    assert doc.code == 0 and doc.json()["claims_error"] is None


def test_a_padded_payload_still_decodes(run: Runner) -> None:
    padded = b64({"access": "r"}) + "="  # Qdrant refuses the padding; the claims are readable
    r = run("token", "inspect", "-f", "json", f"{HEADER}.{padded}.{SIG}")
    assert r.code == 0 and r.json()["claims"] == {"access": "r"}
    assert "padded" in [x["code"] for x in r.json()["rejections"]]


def test_text_is_not_hard_wrapped_in_a_pipe(run: Runner) -> None:
    r = run("token", "inspect", f"{HEADER}.@@@.{SIG}")
    lines = r.out.splitlines()
    assert ("  - the payload is not base64url (characters outside A-Z a-z 0-9 - _) "
            "[bad_base64; 401 Invalid API key or JWT]") in lines
    assert ("  - the payload is not JSON (UTF-8, no NaN) "
            "[payload_not_json; 401 Invalid API key or JWT]") in lines


def test_explain_table_is_not_squeezed_in_a_pipe(run: Runner) -> None:
    r = run("token", "explain", "--key-type", "read-only")
    assert r.code == 0
    header = next(line for line in r.out.splitlines() if line.strip().startswith("action"))
    assert "request" in header  # the routes column fits when nothing limits the width
    assert any(line.startswith("* the docs table says otherwise;") and line.endswith("the routes.")
               for line in r.out.splitlines())


def test_qdrant_config_without_a_key_is_an_error(run: Runner, tmp_path: Path) -> None:
    config = tmp_path / "qdrant.yaml"
    config.write_text("service:\n  host: 0.0.0.0\n  api_keys:\n    admin: abc\n")
    token = hs256({"alg": "HS256", "typ": "JWT"}, {"access": "r"}, "k" * 40)
    for command in ("inspect", "verify", "explain"):
        r = run("token", command, "--qdrant-config", str(config), token)
        assert r.code == ExitCode.USAGE and r.out == ""
        assert r.err.splitlines()[0] == (
            f"qdrantsec: error: {config} sets no service.api_key or service.alt_api_key "
            "(nor does a QDRANT__SERVICE__ variable)")
    # the same config with a QDRANT__ override has a key
    r = run("token", "inspect", "--qdrant-config", str(config), token,
            env={"QDRANT__SERVICE__API_KEY": "k" * 40})
    assert r.code == 0 and "verified with api_key" in r.out
