"""Fixtures for the token tests: keys on disk, and a runner that goes through the real error
boundary (``qdrantsec.cli.app.main``) and checks that no key ever appears in the output."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qdrantsec.cli.app import main

KEY_ENV = ("QDRANT_API_KEY", "QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__ALT_API_KEY",
           "QDRANT__SERVICE__READ_ONLY_API_KEY", "QDRANTSEC_DEBUG", "COLUMNS")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class _Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Keys:
    """Signing keys used in a test; every value is checked against every output."""

    dir: Path
    values: list[str] = field(default_factory=list)

    def new(self, name: str, value: str | None = None, *, newline: bool = True) -> Path:
        value = value if value is not None else "k-" + secrets.token_urlsafe(32)
        if value:
            self.values.append(value)
        path = self.dir / name
        path.write_text(value + ("\n" if newline else ""))
        path.chmod(0o600)
        return path

    def value(self, path: Path) -> str:
        return path.read_text().rstrip("\n")


def assert_no_secret(keys: Keys, *texts: str) -> None:
    for value in keys.values:
        for text in texts:
            assert value not in text, "a key value leaked into the output"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


@pytest.fixture
def key_file(keys: Keys) -> Path:
    return keys.new("qdrant.key")


@pytest.fixture
def alt_key_file(keys: Keys) -> Path:
    return keys.new("alt.key")


Runner = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, keys: Keys
        ) -> Iterator[Runner]:
    """run("token", "mint", ..., stdin="...", tty=False, env={...}) -> Result."""

    def _run(*argv: str, stdin: str = "", tty: bool = False,
             env: dict[str, str] | None = None) -> Result:
        capsys.readouterr()
        monkeypatch.setattr("sys.stdin", _Stdin(stdin, tty))
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        code = main(list(argv))
        out, err = capsys.readouterr()
        for k in env or {}:
            monkeypatch.delenv(k, raising=False)
        assert "Traceback" not in err
        assert_no_secret(keys, out, err)
        return Result(code, out, err)

    yield _run


__all__ = ["Keys", "Result", "Runner", "assert_no_secret"]
