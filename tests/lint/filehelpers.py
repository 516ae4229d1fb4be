"""Helpers shared by the lint tests that write small deployment trees into tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

from qdrantsec.lint.model import Finding, Target


def write(base: Path, name: str, text: str) -> str:
    """Write dedented ``text`` to ``base/name`` (parents created); return the path."""
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def where(t: Target, path: str) -> tuple[str | None, int | None, int | None, str | None]:
    """(file name, line, column, env var) of the source of setting ``path``."""
    s = t.config.setting(path)
    assert s is not None, path
    src = s.source
    return (Path(src.file).name if src.file else None, src.line, src.column, src.env_var)


def unsuppressed(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule and not f.suppressed]
