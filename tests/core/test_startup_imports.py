"""Start-up stays lean: a command imports only what it needs (speed is part of the product).

typer is pinned below 0.29, whose option coercion imports pydantic on every run (~50 ms)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_token_mint_does_not_import_pydantic_or_jwt(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("fast-path-key-" + "f" * 40 + "\n")
    code = ("import sys; from qdrantsec.cli.app import main; "
            f"rc = main(['token', 'mint', '--api-key-file', {str(key)!r}, '-c', 'docs:r']); "
            "heavy = [m for m in ('pydantic', 'jwt', 'yaml', 'rich', 'httpx', 'cryptography') "
            "if m in sys.modules]; print(rc, heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.stderr.strip().splitlines()[-1] == "0 []", proc.stderr


def test_completion_answers_token_without_importing_groups() -> None:
    import os

    code = ("import sys; from qdrantsec.cli.app import main\n"
            "try:\n    main([])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('qdrantsec.cli.')), "
            "'pydantic' in sys.modules, file=sys.stderr)")
    env = {**os.environ, "_QDRANTSEC_COMPLETE": "complete_bash", "COMP_WORDS": "qdrantsec tok",
           "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.stdout.split() == ["token"], proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "['qdrantsec.cli.app'] False", proc.stderr
