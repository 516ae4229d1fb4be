"""rotate-key's command line: refusals before anything is touched (exit codes and stderr
pinned), preflight against real peers, --remint, status output."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from qdrantsec.cli.app import main
from qdrantsec.rotation import journal as J
from qdrantsec.rotation.plan import PlannedPeer, build_plan
from qdrantsec.secrets import fingerprint
from tests.rotation.rotlib import FAST, NEW, OLD, Cluster, keys_absent, qdrantsec


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_text(OLD + "\n")
    new.write_text(NEW + "\n")
    return old, new


PEERS = ["--peers", "http://127.0.0.1:9", "--config-path", "/nonexistent/c.yaml",
         "--restart-cmd", "true"]


@pytest.mark.parametrize("args, message", [
    ([], "give either --inventory FILE or --peers URL[,URL...]"),
    ([*PEERS], "give the new key with --new-key-file FILE or --generate-new-key FILE"),
    ([*PEERS, "--new-key-file", "n", "--generate-new-key", "g"], "--new-key-file FILE or --generate"),
    ([*PEERS, "--new-key-file", "n", "--switch-cmd", "true", "--pause"], "cannot be combined"),
    ([*PEERS, "--new-key-file", "n", "--remint", "specs.yaml"], "--remint and --remint-out go together"),
    ([*PEERS, "--new-key-file", "n"], "no terminal to confirm the switch phase on"),
])
def test_refusals(args: list[str], message: str, capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    code, out, err = _cli(["rotate-key", *args], capsys)
    assert code == 2
    assert err.startswith("qdrantsec: error: ") and message in err
    assert out == ""


def test_unreachable_peer_is_a_network_error(keys: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"service:\n  api_key: {OLD}\n")
    code, _, err = _cli(["rotate-key", "--peers", "http://127.0.0.1:9", "--config-path", str(cfg),
                         "--restart-cmd", "true", "--api-key-file", str(keys[0]),
                         "--new-key-file", str(keys[1]), "--yes",
                         "--journal", str(tmp_path / "j.json")], capsys)
    assert code == 3
    assert "qdrantsec: error: peer-0 is not reachable: cannot connect to http://127.0.0.1:9" in err
    assert not (tmp_path / "j.json").exists()
    keys_absent(err)


def test_status_without_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["rotate-key", "status", "--journal", str(tmp_path / "none.json")], capsys)
    assert code == 2 and "no journal at" in err


def _journal(tmp_path: Path) -> Path:
    plan = build_plan(internal_auth=False, internal_auth_source="test",
                      peers=[PlannedPeer("peer-0", "http://127.0.0.1:9", "file")],
                      old_fingerprint=fingerprint(OLD), new_fingerprint=fingerprint(NEW))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"service:\n  api_key: {OLD}\n")
    J.Journal.create(tmp_path / "j.json", run_id="r1", plan=plan.as_dict(),
                     inventory={"urls": ["http://127.0.0.1:9"], "driver": "file",
                                "paths": [str(cfg)], "restart": "true",
                                "peers": [{"name": "peer-0", "url": "http://127.0.0.1:9"}]},
                     old_fp=fingerprint(OLD), new_fp=fingerprint(NEW), options={})
    return tmp_path / "j.json"


def test_resume_checks_the_keys_against_the_journal(tmp_path: Path, keys: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    journal = _journal(tmp_path)
    other = tmp_path / "other.key"
    other.write_text("x" * 40 + "\n")
    code, _, err = _cli(["rotate-key", "resume", "--journal", str(journal), "--api-key-file",
                         str(other), "--new-key-file", str(keys[1]), "--yes"], capsys)
    assert code == 2 and "is not the one this rotation started with" in err
    code, _, err = _cli(["rotate-key", "resume", "--journal", str(journal), "--api-key-file",
                         str(keys[0]), "--new-key-file", str(other), "--yes"], capsys)
    assert code == 2 and "is not the one this rotation uses" in err
    code, _, err = _cli(["rotate-key", "resume", "--journal", str(journal), "--api-key-file",
                         str(keys[0]), "--yes"], capsys)
    assert code == 2 and "give the new key with --new-key-file" in err
    keys_absent(err)


def test_status_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = _journal(tmp_path)
    code, out, _ = _cli(["rotate-key", "status", "--journal", str(journal)], capsys)
    assert code == 0
    assert "run r1: running (phase preflight), 3-step sequence" in out
    assert f"keys: old {fingerprint(OLD)}, new {fingerprint(NEW)}" in out
    assert "stage (api_key=OLD, alt_api_key=NEW): peer-0 pending" in out
    code, out, _ = _cli(["rotate-key", "status", "--journal", str(journal), "-f", "json"], capsys)
    assert json.loads(out)["state"] == "running"


# -- against real peers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("cli") / "c", 3, replication_factor=1)
    c.inventory()
    try:
        yield c
    finally:
        c.stop_all()


def _run(c: Cluster, *extra: str) -> tuple[int, str, str]:
    res = qdrantsec(["rotate-key", "--inventory", str(c.root / "inventory.yaml"), *FAST, *extra])
    return res.returncode, res.stdout, res.stderr


def test_preflight_refusals(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    wrong = tmp_path / "wrong.key"
    wrong.write_text("w" * 40 + "\n")
    short = tmp_path / "short.key"
    short.write_text("short\n")
    new = ["--new-key-file", str(c.root / "new.key")]
    code, _, err = _run(c, "--api-key-file", str(wrong), *new, "--yes", "--dry-run")
    assert code == 20 and "the api_key in its config" in err       # the config disagrees
    code, _, err = _run(c, "--api-key-file", str(c.root / "old.key"), "--new-key-file", str(short),
                        "--dry-run")
    assert code == 2 and "is 5 bytes; it must be at least 32" in err
    code, _, err = _run(c, "--api-key-file", str(c.root / "old.key"), *new, "--dry-run")
    assert code == 20
    assert "replication_factor below 2: docs" in err and "--allow-downtime" in err
    # a real run refused by preflight: exit 20 too, but no journal to resume from, and the
    # exit-code table (README, man page, --help) says so instead of "run 'rotate-key resume'"
    journal = tmp_path / "j.json"
    code, _, err = _run(c, "--api-key-file", str(c.root / "old.key"), *new, "--yes",
                        "--journal", str(journal))
    assert code == 20 and err.startswith("qdrantsec: error: ") and "replication_factor below 2" in err
    assert not journal.exists()
    from qdrantsec.exit_codes import DESCRIPTIONS, ExitCode

    assert "a preflight refusal (nothing touched, no journal written)" in DESCRIPTIONS[ExitCode.HALTED]
    code, out, err = _run(c, "--api-key-file", str(c.root / "old.key"), *new, "--dry-run",
                          "--allow-downtime", "-f", "json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["sequence"] == "3-step" and plan["keys"]["new"] == fingerprint(NEW)
    assert any("replication_factor below 2" in w for w in plan["warnings"])
    keys_absent(out, err)


def test_generate_new_key_refuses_an_existing_file(cluster: Cluster, tmp_path: Path) -> None:
    existing = tmp_path / "exists.key"
    existing.write_text("keep me\n")
    code, _, err = _run(cluster, "--api-key-file", str(cluster.root / "old.key"),
                        "--generate-new-key", str(existing), "--yes",
                        "--journal", str(tmp_path / "j.json"))
    assert code == 2 and "already exists" in err
    assert existing.read_text() == "keep me\n"
    assert not (tmp_path / "j.json.lock").exists()     # refused before anything else


def test_pause_with_remint_and_generated_key_then_abort(cluster: Cluster, tmp_path: Path) -> None:
    import jwt

    c = cluster
    specs = tmp_path / "specs.yaml"
    specs.write_text("- name: reader\n  access: r\n  expires_in: 1d\n"
                     "- name: docs-rw\n  collections: [{collection: docs, access: rw}]\n")
    gen, tokens, journal = tmp_path / "gen.key", tmp_path / "tokens.jsonl", tmp_path / "j.json"
    code, out, err = _run(c, "--api-key-file", str(c.root / "old.key"), "--generate-new-key", str(gen),
                          "--allow-downtime", "--pause", "--remint", str(specs), "--remint-out",
                          str(tokens), "--journal", str(journal))
    assert code == 21, err
    # resume has no --generate-new-key: the printed command names the file the key is in now
    assert f"'qdrantsec rotate-key resume --journal {journal} --new-key-file {gen}'" in out
    assert stat.S_IMODE(os.stat(gen).st_mode) == 0o600 and stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    new = gen.read_text().strip()
    assert len(new) >= 32 and new not in out + err
    minted = [json.loads(line) for line in tokens.read_text().splitlines()]
    assert [m["name"] for m in minted] == ["reader", "docs-rw"]
    for m in minted:
        jwt.decode(m["token"], new, algorithms=["HS256"])
        assert m["token"] not in out + err
    # the generated key works everywhere now, and abort takes it away again
    assert all(c.accepts(n, new) and c.accepts(n, OLD) for n in c.nodes)
    res = qdrantsec(["rotate-key", "abort", "--journal", str(journal), "--api-key-file",
                     str(c.root / "old.key"), "--new-key-file", str(gen)])
    assert res.returncode == 2 and "confirm with --yes" in res.stderr
    res = qdrantsec(["rotate-key", "abort", "--journal", str(journal), "--api-key-file",
                     str(c.root / "old.key"), "--new-key-file", str(gen), "--yes"])
    assert res.returncode == 0, res.stderr
    assert all(c.accepts(n, OLD) and not c.accepts(n, new) for n in c.nodes)
    keys_absent(journal.read_text(), out, err, res.stdout, res.stderr)
    assert new not in journal.read_text()


def test_single_node_needs_allow_downtime_then_rotates(tmp_path: Path) -> None:
    c = Cluster(tmp_path / "single", 1, cluster_mode=False)
    try:
        c.inventory()
        args = ["--api-key-file", str(c.root / "old.key"), "--new-key-file", str(c.root / "new.key"),
                "--journal", str(tmp_path / "j.json"), "--yes"]
        code, _, err = _run(c, *args)
        assert code == 20 and "runs without cluster mode: each restart is downtime" in err
        code, _, err = _run(c, *args, "--allow-downtime", "--internal-auth", "off")
        assert code == 0, err
        assert "single node: every restart makes it unavailable" in err
        assert c.accepts(c.nodes[0], NEW) and not c.accepts(c.nodes[0], OLD)
    finally:
        c.stop_all()


def _option_helps(group: str) -> list[tuple[str, str]]:
    """Every option help text of a command group, as written in the code."""
    import typer

    from qdrantsec.cli.app import app

    cmd = typer.main.get_command(app).get_command(None, group)  # type: ignore[attr-defined]
    cmds = [cmd, *getattr(cmd, "commands", {}).values()]
    return [(f"{c.name} {p.opts[0]}", p.help) for c in cmds for p in c.params
            if getattr(p, "help", None)]


def test_help_texts_survive_rich_markup(capsys: pytest.CaptureFixture[str]) -> None:
    # "[default: 120]" in a help string is a Rich markup tag: --help printed "healthy again ."
    from rich.text import Text

    helps = _option_helps("rotate-key")
    assert len(helps) > 20
    for name, text in helps:
        assert Text.from_markup(text).plain == text, name
    code, out, err = _cli(["rotate-key", "--help"], capsys)
    assert code == 0 and err == ""
    flat = " ".join(out.replace("│", " ").split())
    assert "healthy again (default: 120)." in flat and "a peer is back, at most (default: 2;" in flat


def test_ctrl_c_says_where_it_stopped_and_what_to_do(cluster: Cluster, tmp_path: Path) -> None:
    # Typer turns KeyboardInterrupt into a silent exit 130; the run must still say what to do.
    c = cluster
    first = c.nodes[0].name
    inventory = c.inventory(tmp_path / "inventory.yaml",
                            **{first: {"restart": "sh -c 'kill -INT $PPID; sleep 30'"}})
    journal = tmp_path / "j.json"
    keys = ["--api-key-file", str(c.root / "old.key"), "--new-key-file", str(c.root / "new.key")]
    res = qdrantsec(["rotate-key", "--inventory", str(inventory), *FAST, *keys, "--allow-downtime",
                     "--yes", "--journal", str(journal)])
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr
    last = res.stderr.splitlines()[-2:]
    assert last[0].endswith("stage: interrupted (Ctrl-C); the journal says where"), res.stderr
    assert last[1].endswith(f"stage: what to do: run 'qdrantsec rotate-key resume --journal {journal} "
                            f"--new-key-file {c.root / 'new.key'}' with the current key given as "
                            "before to continue (the step in flight is redone), or 'qdrantsec "
                            f"rotate-key abort --journal {journal}' to roll back")
    data = json.loads(journal.read_text())
    assert data["state"] == "halted" and data["halt"]["message"] == "interrupted (Ctrl-C)"
    keys_absent(res.stdout, res.stderr, journal.read_text())
    c.inventory(inventory)  # the real restart command again: abort takes the staged key away
    res = qdrantsec(["rotate-key", "abort", "--journal", str(journal), *keys, "--yes"])
    assert res.returncode == 0, res.stderr
    assert all(c.accepts(n, OLD) and not c.accepts(n, NEW) for n in c.nodes)
