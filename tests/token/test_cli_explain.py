"""`qdrantsec token explain`: the access table, single questions, plain keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.exit_codes import ExitCode
from qdrantsec.qdrant import access as A
from tests.token.conftest import Keys, Runner
from tests.token.helpers import hs256, now

HEADER = {"alg": "HS256", "typ": "JWT"}


def minted(run: Runner, key_file: Path, *args: str) -> str:
    r = run("token", "mint", "--api-key-file", str(key_file), *args)
    assert r.code == 0, r.err
    return r.out.strip()


@pytest.fixture
def token(run: Runner, key_file: Path) -> str:
    return minted(run, key_file, "-c", "docs:r", "-c", "logs:prw", "-c", "work:rw")


@pytest.mark.parametrize(("action", "collection", "code", "text"), [
    ("upsert_points", "docs", 1, "403 Forbidden: Write access to collection docs is required"),
    ("upsert_points", "logs", 0, "allowed: upsert_points on collection logs"),
    ("create_snapshot", "logs", 1, "Only points access is allowed for collection logs"),
    ("create_snapshot", "work", 0, "allowed"),
    ("create_payload_index", "work", 0, "allowed"),
    ("update_collection_cluster", "work", 1, "Manage access for this operation is required"),
    ("get_collection", "other", 1, "Access to collection other is required"),
    ("create_collection", None, 1, "Global access is required"),
    ("list_collections", None, 0, "filtered: list_collections"),
    ("telemetry", None, 0, "filtered"),
    ("metrics", None, 1, "Global access is required"),
    ("healthz", None, 0, "allowed"),
])
def test_action_answers(run: Runner, token: str, action: str, collection: str | None,
                        code: int, text: str) -> None:
    args = ["--action", action] + (["--collection", collection] if collection else [])
    r = run("token", "explain", token, *args)
    assert r.code == code, r.out + r.err
    assert text in r.out
    assert "UNVERIFIED" in r.err


def test_action_json(run: Runner, token: str) -> None:
    r = run("token", "explain", token, "--action", "upsert_points", "-c", "docs", "-f", "json")
    doc = r.json()
    assert r.code == ExitCode.FAILED
    assert doc["decision"] == "denied" and doc["status"] == 403
    assert doc["message"] == "Forbidden: Write access to collection docs is required"


def test_request_answers(run: Runner, token: str) -> None:
    r = run("token", "explain", token, "--request", "PUT /collections/work/points")
    assert r.code == 0 and "upsert_points" in r.out
    r = run("token", "explain", token, "--request", "PUT /collections/docs/points")
    assert r.code == 1 and "Write access to collection docs" in r.out
    r = run("token", "explain", token, "--request", "GET /telemetry")
    assert r.code == 0 and r.out.startswith("filtered")
    r = run("token", "explain", token, "--request", "GET /nowhere/at/all")
    assert r.code == ExitCode.USAGE and "no Qdrant 1.19 REST endpoint" in r.err
    r = run("token", "explain", token, "--request", "PUT")
    assert r.code == ExitCode.USAGE


def test_value_exists_is_a_condition(run: Runner, key_file: Path) -> None:
    t = minted(run, key_file, "-c", "docs:r", "--value-exists", "users", "--match", "id=7")
    r = run("token", "explain", t, "--action", "scroll_points", "-c", "docs")
    assert r.code == 0 and "condition:" in r.out and "'users'" in r.out and "id=7" in r.out
    table = run("token", "explain", t)
    assert "Condition:" in table.out


def test_usage_errors(run: Runner, token: str) -> None:
    r = run("token", "explain", token, "--action", "upsert_point", "-c", "docs")
    assert r.code == ExitCode.USAGE and "upsert_points" in r.err  # suggestion
    r = run("token", "explain", token, "--action", "upsert_points")
    assert r.code == ExitCode.USAGE and "--collection" in r.err
    r = run("token", "explain", token, "--action", "metrics", "--request", "GET /metrics")
    assert r.code == ExitCode.USAGE and "not both" in r.err
    r = run("token", "explain", token, "--key-type", "admin")
    assert r.code == ExitCode.USAGE and "not both" in r.err
    r = run("token", "explain", "--key-type", "root")
    assert r.code == ExitCode.USAGE


@pytest.mark.parametrize(("key_type", "action", "code"), [
    ("admin", "create_collection", 0), ("admin", "get_audit_logs", 0),
    ("read-only", "create_collection", 1), ("read-only", "get_cluster", 0),
    ("read-only", "upsert_points", 1), ("read-only", "metrics", 0),
])
def test_key_types(run: Runner, key_type: str, action: str, code: int) -> None:
    r = run("token", "explain", "--key-type", key_type, "--action", action, "-c", "docs")
    assert r.code == code
    if code:
        assert "Global manage access is required" in r.out


def test_table_text_and_json(run: Runner, token: str) -> None:
    r = run("token", "explain", token)
    assert r.code == 0
    assert "docs: r, logs: prw, work: rw" in r.out
    for name in ("upsert_points", "create_collection", "telemetry *", "get_audit_logs +"):
        assert name in r.out
    doc = run("token", "explain", token, "--format", "json").json()
    assert doc["columns"] == ["docs", "logs", "work", "*"]
    rows = {row["action"]: row for row in doc["rows"]}
    assert rows["upsert_points"]["results"]["docs"]["decision"] == "denied"
    assert rows["upsert_points"]["results"]["logs"]["decision"] == "allowed"
    assert rows["upsert_points"]["results"]["*"]["decision"] == "denied"
    assert rows["telemetry"]["results"]["docs"]["decision"] == "filtered"
    assert {a.name for a in A.actions() if not a.staging_only} == set(rows)
    single = run("token", "explain", token, "-c", "logs", "-f", "json").json()
    assert single["columns"] == ["logs", "*"]


def test_global_token_table(run: Runner, key_file: Path) -> None:
    t = minted(run, key_file, "--access", "r")
    doc = run("token", "explain", t, "-f", "json").json()
    assert doc["columns"] == ["*"]
    rows = {row["action"]: row["results"]["*"]["decision"] for row in doc["rows"]}
    assert rows["upsert_points"] == "denied" and rows["get_cluster"] == "allowed"


def test_refused_token_may_only_call_public_endpoints(run: Runner, key_file: Path,
                                                      keys: Keys) -> None:
    expired = hs256(HEADER, {"access": "m", "exp": now() - 3600},
                    key_file.read_text().strip())
    r = run("token", "explain", expired, "--action", "get_collection", "-c", "docs")
    assert r.code == 1 and "ExpiredSignature" in r.out and "refuses this token" in r.err
    r = run("token", "explain", expired, "--action", "healthz")
    assert r.code == 0
    other = keys.new("other.key")
    good = minted(run, key_file, "--access", "m")
    r = run("token", "explain", "--api-key-file", str(other), good, "--action", "metrics")
    assert r.code == 1 and "InvalidSignature" in r.out
    r = run("token", "explain", "--api-key-file", str(key_file), good, "--action", "metrics")
    assert r.code == 0 and "UNVERIFIED" not in r.err


def test_token_without_access_is_manage(run: Runner, key_file: Path) -> None:
    t = hs256(HEADER, {"exp": now() + 60}, key_file.read_text().strip())
    r = run("token", "explain", t, "--action", "delete_collection", "-c", "x")
    assert r.code == 0


def test_list_actions(run: Runner) -> None:
    r = run("token", "explain", "--list-actions")
    assert r.code == 0
    names = [line.split()[0] for line in r.out.splitlines()]
    assert names == [a.name for a in A.actions()]
    doc = run("token", "explain", "--list-actions", "-f", "json").json()
    assert {d["name"] for d in doc} == set(names)


def test_help_says_source_wins(run: Runner) -> None:
    r = run("token", "explain", "--help")
    flat = " ".join(r.out.split())
    assert "follows the source" in flat and "telemetry" in flat and "prw" in flat
