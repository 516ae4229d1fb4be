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


# -- every group, present and future: written over GROUPS, so a new group is covered -------

#: what only the command that uses it may import (seconds of start-up together)
HEAVY = ("httpx", "yaml", "jwt", "cryptography", "rich", "ruamel", "pydantic")


def _groups() -> list[str]:
    from qdrantsec.cli.app import GROUPS, _available

    return [name for name in GROUPS if _available(name)]


def _imports_after(code: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Run ``code`` (which calls the CLI) in a fresh interpreter; (its stdout, the heavy
    modules and qdrantsec.cli.* group modules imported by then)."""
    import os

    probe = (f"{code}\nimport sys\n"
             f"print('IMPORTED', sorted(m for m in {HEAVY!r} if m in sys.modules) + "
             "sorted(m for m in sys.modules if m.startswith('qdrantsec.cli.') and m != 'qdrantsec.cli.app'), "
             "file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    last = [ln for ln in proc.stderr.splitlines() if ln.startswith("IMPORTED ")]
    assert last, proc.stderr
    return proc.stdout, eval(last[-1][len("IMPORTED "):])  # a list literal printed above


_MAIN = ("from qdrantsec.cli.app import main\n"
         "try:\n    rc = main({args!r})\nexcept SystemExit as e:\n    rc = e.code\n")


def test_root_help_imports_no_group_and_nothing_heavy() -> None:
    out, imported = _imports_after(_MAIN.format(args=["--help"]))
    assert "Usage" in out
    for group in _groups():
        assert group in out  # listed from GROUPS without importing it
    assert imported == []


def test_every_group_help_and_its_subcommands_help_import_nothing_heavy() -> None:
    # rich renders a group's help panels; nothing else heavy before a command runs
    import typer

    for group in _groups():
        from importlib import import_module

        from qdrantsec.cli.app import GROUPS

        module, attr, _ = GROUPS[group]
        obj = getattr(import_module(module), attr)
        cmd = typer.main.get_command(obj) if isinstance(obj, typer.Typer) else obj
        subs = sorted(getattr(cmd, "commands", {}) or {})
        code = "".join(_MAIN.format(args=[group, *sub, "--help"]) for sub in [[], *([s] for s in subs)])
        out, imported = _imports_after(code)
        assert out.count("Usage") == 1 + len(subs), (group, out[:300])
        heavy = [m for m in imported if not m.startswith("qdrantsec.") and m != "rich"]
        assert heavy == [], (group, heavy)


def test_completion_of_every_group_imports_nothing_heavy() -> None:
    code = "from qdrantsec.cli.app import main\ntry:\n    main([])\nexcept SystemExit:\n    pass\n"
    env = {"_QDRANTSEC_COMPLETE": "complete_bash"}
    for group in _groups():
        # the group name from its first letters: no group module is imported
        out, imported = _imports_after(code, {**env, "COMP_WORDS": f"qdrantsec {group[:3]}",
                                               "COMP_CWORD": "1"})
        assert group in out.split(), (group, out)
        assert imported == [], (group, imported)
        # what follows the group (subcommands or options): its module, nothing heavy
        out, imported = _imports_after(code, {**env, "COMP_WORDS": f"qdrantsec {group} -",
                                               "COMP_CWORD": "2"})
        assert "--help" in out.split(), (group, out)
        assert [m for m in imported if not m.startswith("qdrantsec.")] == [], (group, imported)
