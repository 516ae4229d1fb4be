"""`qdrantsec key generate`."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from qdrantsec.cli.app import main
from qdrantsec.secrets import fingerprint


def test_key_to_stdout_fingerprint_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "generate"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert len(key) >= 43 and out.endswith("\n") and out.count("\n") == 1
    assert fingerprint(key) in err and key not in err


def test_key_to_file_is_0600_and_not_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "qdrant.key"
    assert main(["key", "generate", "--out", str(target), "--bytes", "48"]) == 0
    out, err = capsys.readouterr()
    key = target.read_text().strip()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(key) >= 64
    assert out == "" and key not in err and fingerprint(key) in err


def test_refuses_to_overwrite_then_force_keeps_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "qdrant.key"
    target.write_text("old\n")
    assert main(["key", "generate", "--out", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "old\n"
    assert main(["key", "generate", "--out", str(target), "--force"]) == 0
    assert target.read_text() != "old\n"
    assert (tmp_path / "qdrant.key.bak").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qdrant.key", "qdrant.key.bak"]


@pytest.mark.parametrize("n", ["31", "0", "-5", "5000"])
def test_bad_byte_counts(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "generate", "--bytes", n]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qdrantsec: error: ")


def test_bad_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "generate", "--out", str(tmp_path / "missing" / "k")]) == 2
    assert "does not exist" in capsys.readouterr().err


# -- --out DIR/, and what a killed run leaves behind ----------------------------------------

def test_out_with_a_trailing_slash_writes_the_default_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    assert main(["key", "generate", "--out", f"{keys}/"]) == 2
    assert capsys.readouterr().err == f"qdrantsec: error: directory does not exist: {keys}\n"
    assert not keys.exists()  # not a file named "keys"
    keys.mkdir()
    assert main(["key", "generate", "--out", f"{keys}/"]) == 0
    assert capsys.readouterr().err.startswith(f"wrote {keys}/qdrant.key (mode 0600), key sha256:")
    assert main(["key", "generate", "--out", str(keys)]) == 2  # an existing DIR: DIR/qdrant.key
    assert capsys.readouterr().err.startswith(f"qdrantsec: error: {keys}/qdrant.key already exists")
    assert [p.name for p in keys.iterdir()] == ["qdrant.key"]
    assert stat.S_IMODE((keys / "qdrant.key").stat().st_mode) == 0o600


def _killed(target: Path, step: int | None, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """``key generate --out target`` in a real process, SIGKILLed at file operation ``step``
    (the test-only hook in qdrantsec.fsutil.crash_point); None: a normal run."""
    env = {k: v for k, v in os.environ.items() if k != "QDRANTSEC_TEST_KILL_AFTER"}
    if step is not None:
        env["QDRANTSEC_TEST_KILL_AFTER"] = str(step)
    argv = [sys.executable, "-m", "qdrantsec", "key", "generate", "--out", str(target), *extra]
    return subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)


def test_temp_file_of_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "qdrant.key"
    r = _killed(target, 1)  # SIGKILL after the temp file is written and fsynced, before the rename
    assert r.returncode == -signal.SIGKILL
    [left] = list(tmp_path.iterdir())
    assert left.name.startswith(".qdrant.key.qdrantsec-") and left.name.endswith(".tmp")
    assert stat.S_IMODE(left.stat().st_mode) == 0o600 and not target.exists()
    r = _killed(target, None)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["qdrant.key"]


@pytest.mark.parametrize("step", [1, 2, 3])
def test_force_killed_at_each_step_leaves_old_or_new_key(tmp_path: Path, step: int) -> None:
    target = tmp_path / "qdrant.key"
    target.write_text("old\n")
    r = _killed(target, step, "--force")
    assert r.returncode == -signal.SIGKILL
    assert target.read_text() == "old\n" or len(target.read_text().strip()) >= 43
    r = _killed(target, None, "--force")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if n.endswith(".tmp")], names
    assert (tmp_path / "qdrant.key.bak").exists()
