"""Completions, man pages and the README's generated tables must match the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_fresh() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_completion_scripts_and_man_pages_exist() -> None:
    for name in ("qdrantsec.bash", "qdrantsec.zsh", "qdrantsec.fish"):
        text = (ROOT / "completions" / name).read_text()
        assert "_QDRANTSEC_COMPLETE" in text
    page = (ROOT / "man" / "qdrantsec.1").read_text()
    assert page.startswith(".TH QDRANTSEC 1")
    assert ".SH EXIT STATUS" in page


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' "
        "&& ruff check . && pytest -q"
    )
    assert command in readme
    assert command in ci
