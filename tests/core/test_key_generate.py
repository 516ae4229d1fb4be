"""`qdrantsec key generate`."""

from __future__ import annotations

import stat
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
