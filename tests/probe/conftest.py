"""Helpers for the probe tests: run the CLI in-process, hash a peer's storage, write keys."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def rules(self) -> list[str]:
        return sorted(f["rule"] for f in self.json()["findings"])


@pytest.fixture
def probe(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``probe(*args)``: ``qdrantsec probe --rate 500 *args`` in-process (no inherited keys)."""
    from qdrantsec.cli.app import main

    for name in ("QDRANT_API_KEY", "QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__ALT_API_KEY",
                 "GITHUB_ACTIONS", "QDRANT_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(["probe", "--rate", "500", "--timeout", "5", *args])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def tree_hash(root: Path) -> str:
    """sha256 over every file's relative path, size and content below ``root``."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def write_key(tmp: Path, name: str, value: str) -> str:
    path = tmp / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def request_id(err: str) -> str:
    line = next(line for line in err.splitlines() if "x-request-id:" in line)
    return line.rsplit("x-request-id: ", 1)[1].strip()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """CA, server and client certificates (tests/peer/conftest.py's TlsMaterial)."""
    from tests.peer.conftest import TlsMaterial

    return TlsMaterial(tmp_path_factory.mktemp("probe-tls"))
