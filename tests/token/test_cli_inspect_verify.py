"""`qdrantsec token inspect` and `token verify`, including tokens made by other tools."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from qdrantsec.exit_codes import ExitCode
from qdrantsec.secrets import fingerprint
from tests.token.conftest import Keys, Runner
from tests.token.helpers import b64, hs256, now, pyjwt_encode

HEADER = {"alg": "HS256", "typ": "JWT"}


def key_of(path: Path) -> str:
    return path.read_text().rstrip("\n")


def minted(run: Runner, key_file: Path, *args: str) -> str:
    r = run("token", "mint", "--api-key-file", str(key_file), *args)
    assert r.code == 0, r.err
    return r.out.strip()


# -- inspect ----------------------------------------------------------------------------------

def test_inspect_unverified(run: Runner, key_file: Path) -> None:
    token = minted(run, key_file, "-c", "docs:r", "-e", "7d", "--subject", "alice")
    r = run("token", "inspect", token)
    assert r.code == 0
    assert "UNVERIFIED" in r.out
    assert '"collection": "docs"' in r.out
    assert re.search(r"expires in (7 days|6 days 23 hours)\)", r.out)
    assert "alice (written to the audit log)" in r.out


def test_inspect_verified_by_which_key(run: Runner, key_file: Path, alt_key_file: Path) -> None:
    token = minted(run, alt_key_file, "--access", "r")
    r = run("token", "inspect", "--api-key-file", str(key_file), "--alt-api-key-file",
            str(alt_key_file), token)
    assert r.code == 0
    assert f"verified with alt_api_key {fingerprint(key_of(alt_key_file))}" in r.out
    doc = run("token", "inspect", "--format", "json", "--api-key-file", str(key_file),
              "--alt-api-key-file", str(alt_key_file), token).json()
    assert doc["signature"] == "verified" and doc["accepted"] is True
    assert doc["verified_with"] == {"role": "alt_api_key",
                                    "fingerprint": fingerprint(key_of(alt_key_file))}


def test_inspect_wrong_key(run: Runner, key_file: Path, keys: Keys) -> None:
    token = minted(run, key_file, "--access", "r")
    other = keys.new("other.key")
    doc = run("token", "inspect", "-f", "json", "--api-key-file", str(other), token).json()
    assert doc["signature"] == "invalid" and doc["accepted"] is False
    assert [x["code"] for x in doc["rejections"]] == ["bad_signature"]
    assert doc["rejections"][0]["qdrant_answer"] == "403 InvalidSignature"


def test_inspect_lists_every_reason(run: Runner, keys: Keys) -> None:
    key = "k" * 40
    keys.values.append(key)
    claims = {"exp": now() - 7200, "sub": "bob", "access": [
        {"collection": "a", "access": "r", "payload": {"u": 1}},
        {"collection": "a", "access": "write"}],
        "value_exists": {"collection": "u", "matches": [{"key": "k", "value": 0.5}]}}
    token = hs256(HEADER, claims, key)
    doc = run("token", "inspect", "--format", "json", token).json()
    got = {x["code"] for x in doc["rejections"]}
    assert got == {"unknown_access_mode", "deprecated_payload", "duplicate_collection",
                   "malformed_value_exists", "expired"}
    assert doc["expired"] is True and doc["expires_relative"] == "expired 2 hours ago"
    assert any("subject" in w for w in doc["warnings"])
    text = run("token", "inspect", token)
    assert "Rejections" in text.out and "refuses it" in text.out


def test_inspect_warnings(run: Runner, keys: Keys) -> None:
    key = "k" * 40
    keys.values.append(key)
    token = pyjwt_encode({"role": "admin"}, key)  # no exp, no access
    doc = run("token", "inspect", "-f", "json", token).json()
    joined = " ".join(doc["warnings"])
    assert "never expires" in joined and "full manage" in joined and "role" in joined
    assert doc["rejections"] == [] and doc["accepted"] is None  # unverified
    long = pyjwt_encode({"access": "r", "exp": now() + 200 * 86400}, key)
    assert "more than 90 days" in " ".join(run("token", "inspect", "-f", "json",
                                               long).json()["warnings"])


@pytest.mark.parametrize(("make", "code"), [
    (lambda k: pyjwt_encode({"access": "r"}, k, algorithm="HS384"), "not_hs256"),
    (lambda k: b64({"alg": "none"}) + "." + b64({"access": "m"}) + ".", "alg_none"),
    (lambda k: (lambda t: t.split(".")[0] + "==." + ".".join(t.split(".")[1:]))(
        pyjwt_encode({"access": "r"}, k)), "padded"),
    (lambda k: hs256(HEADER, {"access": "r", "exp": 1.9e9}, k), "exp_not_integer"),
])
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_inspect_other_tools_tokens(run: Runner, keys: Keys, make: Any, code: str) -> None:
    key = "q" * 48
    keys.values.append(key)
    doc = run("token", "inspect", "-f", "json", make(key)).json()
    assert code in [x["code"] for x in doc["rejections"]]


def test_inspect_from_stdin_and_bearer(run: Runner, key_file: Path) -> None:
    token = minted(run, key_file, "--access", "r")
    r = run("token", "inspect", "-f", "json", "-", stdin=f"Bearer {token}\n")
    assert r.code == 0 and r.json()["claims"]["access"] == "r"
    r = run("token", "inspect", "-f", "json", stdin=token)  # no argument, stdin not a TTY
    assert r.code == 0


def test_inspect_no_token_on_tty(run: Runner) -> None:
    r = run("token", "inspect", tty=True)
    assert r.code == ExitCode.USAGE and "no token given" in r.err


@pytest.mark.parametrize("bad", ["not-a-token", "a.b", "....", "ünï.cödé.x"])
def test_inspect_malformed(run: Runner, bad: str) -> None:
    r = run("token", "inspect", bad)
    assert r.code == ExitCode.USAGE and "not a JWT" in r.err and r.out == ""


def test_inspect_empty_stdin(run: Runner) -> None:
    r = run("token", "inspect", "-", stdin="  \n")
    assert r.code == ExitCode.USAGE and "empty" in r.err


def test_inspect_stdin_conflict(run: Runner) -> None:
    r = run("token", "inspect", "--api-key-stdin", "-", stdin="x\ny\n")
    assert r.code == ExitCode.USAGE and "--api-key-stdin" in r.err
    r = run("token", "inspect", "--api-key-stdin", stdin="x\ny\n")
    assert r.code == ExitCode.USAGE and "standard input" in r.err


# -- verify -----------------------------------------------------------------------------------

def test_verify_ok_is_quiet(run: Runner, key_file: Path) -> None:
    token = minted(run, key_file, "-c", "docs:r")
    r = run("token", "verify", "--api-key-file", str(key_file), token)
    assert (r.code, r.out, r.err) == (0, "", "")
    r = run("token", "verify", "-v", "--api-key-file", str(key_file), token)
    assert r.code == 0 and r.out.startswith("accepted: signed with api_key")


def test_verify_bad_signature(run: Runner, key_file: Path, keys: Keys) -> None:
    token = minted(run, key_file, "--access", "r")
    other = keys.new("other.key")
    r = run("token", "verify", "--api-key-file", str(other), token)
    assert (r.code, r.out) == (ExitCode.TOKEN_BAD_SIGNATURE, "")
    r = run("token", "verify", "--verbose", "--api-key-file", str(other), token)
    assert "403 InvalidSignature" in r.out


def test_verify_expired(run: Runner, key_file: Path) -> None:
    key = key_of(key_file)
    assert run("token", "verify", "--api-key-file", str(key_file),
               hs256(HEADER, {"access": "r", "exp": now() - 120}, key)).code == ExitCode.TOKEN_EXPIRED
    assert run("token", "verify", "--api-key-file", str(key_file),
               hs256(HEADER, {"access": "r", "exp": now() - 5}, key)).code == 0


@pytest.mark.parametrize(("claims", "code"), [
    ({"access": "rw"}, ExitCode.TOKEN_CLAIMS_REJECTED),
    ({"access": "r", "exp": "tomorrow"}, ExitCode.TOKEN_CLAIMS_REJECTED),
    ({"access": [{"collection": "a", "access": "r"}] * 2}, ExitCode.TOKEN_CLAIMS_REJECTED),
    ({"access": [{"collection": "a", "access": "r", "payload": {}}]},
     ExitCode.TOKEN_CLAIMS_REJECTED),
    ({"value_exists": {"collection": "u", "matches": [{"key": "k", "value": 1.5}]}},
     ExitCode.TOKEN_CLAIMS_REJECTED),
    ({"access": "r", "role": "ignored"}, ExitCode.OK),
])
def test_verify_claims(run: Runner, key_file: Path, claims: dict[str, Any], code: int) -> None:
    token = hs256(HEADER, claims, key_of(key_file))
    assert run("token", "verify", "--api-key-file", str(key_file), token).code == code


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_verify_other_tools(run: Runner, key_file: Path) -> None:
    key = key_of(key_file)
    pyjwt = pyjwt_encode({"access": "r", "exp": now() + 60}, key)
    assert run("token", "verify", "--api-key-file", str(key_file), pyjwt).code == 0
    hs384 = pyjwt_encode({"access": "r"}, key, algorithm="HS384")
    assert run("token", "verify", "--api-key-file", str(key_file), hs384).code == \
        ExitCode.TOKEN_MALFORMED
    none = b64({"alg": "none", "typ": "JWT"}) + "." + b64({"access": "m"}) + "."
    assert run("token", "verify", "--api-key-file", str(key_file), none).code == \
        ExitCode.TOKEN_MALFORMED
    h, p, s = pyjwt.split(".")
    padded = f"{h}.{p}.{s}="
    assert run("token", "verify", "--api-key-file", str(key_file), padded).code == \
        ExitCode.TOKEN_MALFORMED
    assert run("token", "verify", "--api-key-file", str(key_file), "garbage").code == \
        ExitCode.TOKEN_MALFORMED


def test_verify_rotation(run: Runner, key_file: Path, alt_key_file: Path) -> None:
    new_token = minted(run, alt_key_file, "--access", "r")
    both = ("--api-key-file", str(key_file), "--alt-api-key-file", str(alt_key_file))
    assert run("token", "verify", *both, new_token).code == 0
    assert run("token", "verify", "--api-key-file", str(key_file), new_token).code == \
        ExitCode.TOKEN_BAD_SIGNATURE
    # only the alt key given (api_key unset on the server)
    assert run("token", "verify", "--alt-api-key-file", str(alt_key_file), new_token).code == 0
    # expired and signed with alt_api_key: Qdrant reports api_key's InvalidSignature
    expired = hs256(HEADER, {"access": "r", "exp": now() - 999}, key_of(alt_key_file))
    r = run("token", "verify", "-v", *both, expired)
    assert r.code == ExitCode.TOKEN_BAD_SIGNATURE and "signed with alt_api_key" in r.out
    doc = run("token", "verify", "--format", "json", *both, expired).json()
    assert doc["reason"]["code"] == "bad_signature" and doc["root_cause"]["code"] == "expired"


def test_verify_key_errors(run: Runner, key_file: Path, keys: Keys, tmp_path: Path) -> None:
    token = minted(run, key_file, "--access", "r")
    r = run("token", "verify", token)
    assert r.code == ExitCode.USAGE and "no signing key" in r.err
    r = run("token", "verify", "--api-key-file", str(tmp_path / "none"), token)
    assert r.code == ExitCode.USAGE and "not found" in r.err
    r = run("token", "verify", "--api-key-file", str(keys.new("e", "")), token)
    assert r.code == ExitCode.USAGE and "empty" in r.err
    r = run("token", "verify", "--api-key-stdin", "-", stdin=token)
    assert r.code == ExitCode.USAGE and "standard input" in r.err


def test_verify_key_from_stdin_token_from_argument(run: Runner, key_file: Path) -> None:
    token = minted(run, key_file, "--access", "r")
    r = run("token", "verify", "--api-key-stdin", token, stdin=key_of(key_file) + "\n")
    assert r.code == 0


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_verify_weak_key_warns_only_when_verbose(run: Runner, keys: Keys) -> None:
    weak = keys.new("weak", "tiny-key")
    token = hs256(HEADER, {"access": "r"}, "tiny-key")
    r = run("token", "verify", "--api-key-file", str(weak), token)
    assert (r.code, r.err) == (0, "")
    r = run("token", "verify", "-v", "--api-key-file", str(weak), token)
    assert "32 bytes" in r.err
