"""`qdrantsec token mint` through the real error boundary; every token checked with PyJWT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qdrantsec.exit_codes import ExitCode
from tests.token.conftest import Keys, Runner
from tests.token.helpers import now, pyjwt_decode


def mint(run: Runner, key_file: Path, *args: str, **kw: object) -> tuple[str, dict[str, object]]:
    r = run("token", "mint", "--api-key-file", str(key_file), *args, **kw)
    assert r.code == 0, r.err
    token = r.out
    assert token.endswith("\n") and token.count("\n") == 1
    token = token.strip()
    return token, pyjwt_decode(token, key_file.read_text().rstrip("\n"))


def test_collection_token(run: Runner, key_file: Path) -> None:
    t0 = now()
    token, claims = mint(run, key_file, "--collection", "docs:r", "-c", "logs:prw",
                         "--collection", "a:b:rw")
    assert claims["access"] == [{"collection": "docs", "access": "r"},
                                {"collection": "logs", "access": "prw"},
                                {"collection": "a:b", "access": "rw"}]
    assert isinstance(claims["exp"], int)
    assert t0 + 86400 <= claims["exp"] <= now() + 86400  # default 24 h
    assert "=" not in token
    import base64

    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}


def test_global_read_and_manage(run: Runner, key_file: Path) -> None:
    _, claims = mint(run, key_file, "--access", "r")
    assert claims["access"] == "r"
    r = run("token", "mint", "--api-key-file", str(key_file), "--access", "m")
    assert r.code == 0 and "full manage" in r.err
    assert pyjwt_decode(r.out.strip(), key_file.read_text().strip())["access"] == "m"


def test_expiry_options(run: Runner, key_file: Path) -> None:
    t0 = now()
    _, c = mint(run, key_file, "--access", "r", "--expires-in", "2w")
    assert t0 + 14 * 86400 <= c["exp"] <= now() + 14 * 86400
    _, c = mint(run, key_file, "--access", "r", "--expires-at", "2099-01-01T00:00:00+01:00")
    assert c["exp"] == 4070905200
    r = run("token", "mint", "--api-key-file", str(key_file), "--access", "r", "--no-expiry")
    assert r.code == 0 and "never expires" in r.err
    assert "exp" not in pyjwt_decode(r.out.strip(), key_file.read_text().strip())
    r = run("token", "mint", "--api-key-file", str(key_file), "--access", "r",
            "--expires-in", "400d")
    assert r.code == 0 and "more than 90 days" in r.err


def test_value_exists_and_identity(run: Runner, key_file: Path) -> None:
    _, c = mint(run, key_file, "-c", "docs:r", "--value-exists", "users", "--match", "id=42",
                "--match", "active=true", "--match", "name=andrey", "--match", 'code="7"',
                "--subject", "alice@example.com", "--sub", "inference-token")
    assert c["value_exists"] == {"collection": "users", "matches": [
        {"key": "id", "value": 42}, {"key": "active", "value": True},
        {"key": "name", "value": "andrey"}, {"key": "code", "value": "7"}]}
    assert c["subject"] == "alice@example.com" and c["sub"] == "inference-token"


def test_sub_without_subject_warns(run: Runner, key_file: Path) -> None:
    r = run("token", "mint", "--api-key-file", str(key_file), "--access", "r", "--sub", "bob")
    assert r.code == 0 and "audit log" in r.err


def test_json_format(run: Runner, key_file: Path) -> None:
    r = run("token", "mint", "--api-key-file", str(key_file), "-c", "docs:rw", "-e", "1h",
            "--format", "json")
    assert r.code == 0
    doc = r.json()
    assert set(doc) == {"token", "header", "claims", "expires_at", "signing_key"}
    key = key_file.read_text().strip()
    assert pyjwt_decode(doc["token"], key) == doc["claims"]
    assert doc["expires_at"].endswith("Z")
    from qdrantsec.secrets import fingerprint

    assert doc["signing_key"] == {"role": "api_key", "fingerprint": fingerprint(key)}


@pytest.mark.parametrize(("args", "needle"), [
    ((), "no access given"),
    (("--access", "rw"), "unknown global access mode"),
    (("--access", "r", "-c", "docs:r"), "not both"),
    (("-c", "docs"), "has no mode"),
    (("-c", "docs:w"), "unknown mode"),
    (("-c", ":r"), "empty collection name"),
    (("-c", "docs:r", "-c", "docs:rw"), "given twice"),
    (("--access", "r", "--expires-in", "7"), "bad duration"),
    (("--access", "r", "--expires-in", "soon"), "bad duration"),
    (("--access", "r", "--expires-at", "2000-01-01T00:00:00Z"), "in the past"),
    (("--access", "r", "--expires-at", "2099-01-01T00:00:00"), "no time zone"),
    (("--access", "r", "--expires-in", "1h", "--no-expiry"), "only one"),
    (("--access", "r", "--value-exists", "users"), "at least one"),
    (("--access", "r", "--match", "a=1"), "collection to look in"),
    (("--access", "r", "--value-exists", "u", "--match", "score=0.5"), "float"),
    (("--access", "r", "--value-exists", "u", "--match", "noequals"), "KEY=VALUE"),
    (("--access", "r", "--subject", ""), "subject is empty"),
])
def test_usage_errors(run: Runner, key_file: Path, args: tuple[str, ...], needle: str) -> None:
    r = run("token", "mint", "--api-key-file", str(key_file), *args)
    assert r.code == ExitCode.USAGE
    assert r.out == ""
    assert r.err.startswith("qdrantsec: error: ") and needle in r.err


def test_bad_format_value(run: Runner, key_file: Path) -> None:
    r = run("token", "mint", "--api-key-file", str(key_file), "--access", "r", "--format", "xml")
    assert r.code == ExitCode.USAGE and "qdrantsec: error:" in r.err


# -- keys -------------------------------------------------------------------------------------

def test_missing_key(run: Runner) -> None:
    r = run("token", "mint", "--access", "r")
    assert r.code == ExitCode.USAGE and "no signing key" in r.err and r.out == ""


def test_unreadable_key_file(run: Runner, tmp_path: Path, keys: Keys) -> None:
    r = run("token", "mint", "--access", "r", "--api-key-file", str(tmp_path / "nope"))
    assert r.code == ExitCode.USAGE and "key file not found" in r.err
    locked = keys.new("locked.key")
    locked.chmod(0)
    try:
        import os

        if os.geteuid() != 0:
            r = run("token", "mint", "--access", "r", "--api-key-file", str(locked))
            assert r.code == ExitCode.USAGE and "permission denied" in r.err
    finally:
        locked.chmod(0o600)
    r = run("token", "mint", "--access", "r", "--api-key-file", str(tmp_path))
    assert r.code == ExitCode.USAGE and "directory" in r.err


def test_empty_key(run: Runner, keys: Keys) -> None:
    empty = keys.new("empty.key", "")
    r = run("token", "mint", "--access", "r", "--api-key-file", str(empty))
    assert r.code == ExitCode.USAGE and "empty" in r.err and r.out == ""


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_short_key_warns(run: Runner, keys: Keys) -> None:
    short = keys.new("short.key", "short-key-123")
    r = run("token", "mint", "--access", "r", "--api-key-file", str(short))
    assert r.code == 0 and "13 bytes" in r.err and "32 bytes" in r.err
    assert pyjwt_decode(r.out.strip(), "short-key-123")["access"] == "r"


def test_key_from_env_stdin_and_literal(run: Runner, keys: Keys) -> None:
    value = "env-key-" + "x" * 40
    keys.values.append(value)
    r = run("token", "mint", "--access", "r", "--api-key-env", "MY_KEY", env={"MY_KEY": value})
    assert r.code == 0 and pyjwt_decode(r.out.strip(), value)
    r = run("token", "mint", "--access", "r", env={"QDRANT_API_KEY": value})
    assert r.code == 0 and pyjwt_decode(r.out.strip(), value)
    r = run("token", "mint", "--access", "r", "--api-key-stdin", stdin=value + "\n")
    assert r.code == 0 and pyjwt_decode(r.out.strip(), value)
    r = run("token", "mint", "--access", "r", "--api-key-env", "UNSET_VAR")
    assert r.code == ExitCode.USAGE and "UNSET_VAR" in r.err
    # a literal key works but warns; the run() helper would fail if it were echoed
    r = run("token", "mint", "--access", "r", "--api-key", value)
    assert r.code == 0 and "process list" not in r.out and "ps" in r.err


def test_key_from_qdrant_config(run: Runner, keys: Keys, tmp_path: Path) -> None:
    value = "cfg-key-" + "y" * 40
    keys.values.append(value)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  api_key: {value}\n  jwt_rbac: true\n")
    r = run("token", "mint", "--access", "r", "--qdrant-config", str(cfg))
    assert r.code == 0 and pyjwt_decode(r.out.strip(), value)["access"] == "r"


# -- batches ----------------------------------------------------------------------------------

def test_batch_yaml(run: Runner, key_file: Path, tmp_path: Path) -> None:
    batch = tmp_path / "tenants.yaml"
    batch.write_text("""
defaults:
  expires_in: 30d
tokens:
  - name: tenant-a
    collections: ["tenant_a:rw", {collection: shared, access: r}]
    subject: tenant-a
  - name: reader
    access: r
    expires_at: 2099-01-01T00:00:00Z
  - name: revocable
    collections: [users:r]
    value_exists: {collection: users, matches: {user_id: 42, active: true}}
""")
    r = run("token", "mint", "--api-key-file", str(key_file), "--from-file", str(batch))
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.splitlines()]
    assert [x["name"] for x in lines] == ["tenant-a", "reader", "revocable"]
    assert all(set(x) == {"name", "token", "expires_at"} for x in lines)
    key = key_file.read_text().strip()
    a, reader, rev = (pyjwt_decode(x["token"], key) for x in lines)
    assert a["access"] == [{"collection": "tenant_a", "access": "rw"},
                           {"collection": "shared", "access": "r"}]
    assert a["exp"] - a["iat"] == 30 * 86400 and a["subject"] == "tenant-a"
    assert reader["exp"] == 4070908800 and lines[1]["expires_at"] == "2099-01-01T00:00:00Z"
    assert rev["value_exists"]["matches"] == [{"key": "user_id", "value": 42},
                                             {"key": "active", "value": True}]


def test_batch_json_and_json_format(run: Runner, key_file: Path, tmp_path: Path) -> None:
    batch = tmp_path / "t.json"
    batch.write_text(json.dumps([{"name": "x", "access": "r", "expires_in": "1h"},
                                 {"name": "y", "collections": ["c:prw"]}]))
    r = run("token", "mint", "--api-key-file", str(key_file), "--from-file", str(batch),
            "--format", "json")
    assert r.code == 0
    docs = [json.loads(x) for x in r.out.splitlines()]
    assert [d["name"] for d in docs] == ["x", "y"]
    assert all("claims" in d and "signing_key" in d for d in docs)


@pytest.mark.parametrize(("content", "needle"), [
    ("[]", "non-empty list"),
    ("- {access: r}", "has no name"),
    ("- {name: a, access: r}\n- {name: a, access: r}", "defined twice"),
    ("- {name: a, acess: r}", "unknown field"),
    ("- {name: a}", "no access given"),
    ("- {name: a, access: r, expires_in: 90}", "not a duration"),
    ("- {name: a, access: r, expires_at: 2099-01-01T00:00:00}", "no time zone"),
    ("- {name: a, collections: [d:r], value_exists: {collection: u, matches: {s: 0.5}}}",
     "float"),
    ("- {name: a, collections: [d:r, d:rw]}", "given twice"),
    ("- {name: a, access: r, subject: no}", "subject must be text"),
    ("{tokens: [{name: a, access: r}], extra: 1}", "unknown top-level"),
    ("- [unclosed", "not valid YAML"),
    ("", "is empty"),
])
def test_batch_errors(run: Runner, key_file: Path, tmp_path: Path, content: str,
                      needle: str) -> None:
    batch = tmp_path / "b.yaml"
    batch.write_text(content)
    r = run("token", "mint", "--api-key-file", str(key_file), "--from-file", str(batch))
    assert r.code == ExitCode.USAGE and needle in r.err and r.out == ""


def test_batch_refuses_per_token_options(run: Runner, key_file: Path, tmp_path: Path) -> None:
    batch = tmp_path / "b.yaml"
    batch.write_text("- {name: a, access: r}\n")
    r = run("token", "mint", "--api-key-file", str(key_file), "--from-file", str(batch),
            "--access", "r")
    assert r.code == ExitCode.USAGE and "--from-file cannot be combined" in r.err
    r = run("token", "mint", "--api-key-file", str(tmp_path / "missing"), "--from-file",
            str(tmp_path / "missing.yaml"))
    assert r.code == ExitCode.USAGE and "batch file not found" in r.err


def test_batch_from_stdin_conflicts_with_key_stdin(run: Runner) -> None:
    r = run("token", "mint", "--api-key-stdin", "--from-file", "-", stdin="k\n")
    assert r.code == ExitCode.USAGE and "standard input" in r.err


def test_batch_from_stdin(run: Runner, key_file: Path) -> None:
    r = run("token", "mint", "--api-key-file", str(key_file), "--from-file", "-",
            stdin="- {name: a, access: r}\n")
    assert r.code == 0 and json.loads(r.out)["name"] == "a"


def test_help_has_examples(run: Runner) -> None:
    for cmd in ((), ("mint",), ("inspect",), ("verify",), ("explain",)):
        r = run("token", *cmd, "--help")
        assert r.code == 0 and "Example" in r.out


def test_mint_never_signs_with_the_alt_key_from_the_environment(run: Runner, keys: Keys) -> None:
    alt = "alt-env-key-" + "z" * 40
    keys.values.append(alt)
    r = run("token", "mint", "--access", "r", env={"QDRANT__SERVICE__ALT_API_KEY": alt})
    assert r.code == ExitCode.USAGE and "no signing key" in r.err
