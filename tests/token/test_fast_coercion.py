"""The start-up fast path in qdrantsec.cli.app (no pydantic for text, flags and choices)
must give exactly what Typer's own coercion gives, and defer everything else to it."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import pytest
import typer

from qdrantsec.cli import app as app_mod


class Color(str, Enum):
    red = "red"
    dark_blue = "dark-blue"


def build() -> tuple[typer.Typer, dict[str, Any]]:
    seen: dict[str, Any] = {}
    app = typer.Typer()

    @app.command()
    def cmd(
        name: Annotated[str | None, typer.Option("--name")] = None,
        old: Annotated[Optional[str], typer.Option("--old")] = None,  # noqa: UP045
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
        color: Annotated[Color, typer.Option("--color", case_sensitive=False)] = Color.red,
        flag: Annotated[bool, typer.Option("--flag")] = False,
        count: Annotated[int, typer.Option("--count", min=1, max=5)] = 1,
        path: Annotated[Path | None, typer.Option("--path")] = None,
        arg: Annotated[str, typer.Argument()] = "x",
    ) -> None:
        seen.update(name=name, old=old, tags=tags, color=color, flag=flag, count=count,
                    path=path, arg=arg)

    @app.command()
    def other() -> None:  # pragma: no cover - makes `cmd` a subcommand
        pass

    return app, seen


def invoke(args: list[str]) -> dict[str, Any]:
    app, seen = build()
    typer.main.get_command(app).main(args=args, standalone_mode=False)
    return seen


@pytest.fixture(autouse=True)
def _fast() -> None:
    app_mod._install_fast_coercion()
    app_mod._install_fast_coercion()  # idempotent


def test_values_match_typer_semantics() -> None:
    got = invoke(["cmd", "--name", "n", "--old", "o", "--tag", "a", "--tag", "b",
                  "--color", "DARK-BLUE", "--flag", "--count", "3", "--path", "p", "A"])
    assert got == {"name": "n", "old": "o", "tags": ["a", "b"], "color": Color.dark_blue,
                   "flag": True, "count": 3, "path": Path("p"), "arg": "A"}
    assert type(got["color"]) is Color and type(got["tags"]) is list


def test_defaults() -> None:
    got = invoke(["cmd"])
    assert got == {"name": None, "old": None, "tags": None, "color": Color.red, "flag": False,
                   "count": 1, "path": None, "arg": "x"}


@pytest.mark.parametrize("args", [["cmd", "--color", "green"], ["cmd", "--count", "9"],
                                  ["cmd", "--count", "x"]])
def test_errors_still_come_from_typer(args: list[str]) -> None:
    with pytest.raises(typer.TyperException):
        invoke(args)


def test_simple_leaf() -> None:
    assert app_mod._simple_leaf(str) == (str, False)
    assert app_mod._simple_leaf(str | None) == (str, False)
    assert app_mod._simple_leaf(list[str] | None) == (str, True)
    assert app_mod._simple_leaf(Color) == (Color, False)
    for other in (int, float, Path, list[int], str | int, dict):
        assert app_mod._simple_leaf(other) is None


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
