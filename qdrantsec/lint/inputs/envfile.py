"""Env files (``KEY=VALUE`` lines), parsed the way docker compose reads ``env_file:`` and
``.env``: ``#`` comments and blank lines skipped, an optional ``export``, single- or
double-quoted values, and a `` #`` comment after an unquoted value. Each variable keeps the
line and column where its name starts."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^(\s*)(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*)$")
_NAME_ONLY = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    line: int  # 1-based
    column: int  # 1-based, of the name
    quoted: bool = False


def _unquote(rest: str) -> tuple[str, bool]:
    rest = rest.strip()
    if rest[:1] == "'":
        end = rest.find("'", 1)
        return (rest[1:end] if end > 0 else rest[1:]), True
    if rest[:1] == '"':
        out, i = [], 1
        while i < len(rest):
            ch = rest[i]
            if ch == "\\" and i + 1 < len(rest):
                out.append(_ESCAPES.get(rest[i + 1], "\\" + rest[i + 1]))
                i += 2
                continue
            if ch == '"':
                break
            out.append(ch)
            i += 1
        return "".join(out), True
    # unquoted: an inline comment starts at " #"
    cut = re.search(r"\s#", rest)
    if cut:
        rest = rest[: cut.start()]
    return rest.strip(), False


def parse_env_lines(text: str) -> list[EnvVar]:
    """Every ``KEY=VALUE`` in ``text``; other lines are ignored."""
    out: list[EnvVar] = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = _LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        value, quoted = _unquote(m.group(3))
        out.append(EnvVar(m.group(2), value, number, m.start(2) + 1, quoted))
    return out


def looks_like_env(text: str) -> bool:
    """True when every non-blank, non-comment line is ``KEY=VALUE`` (or a bare ``KEY``) and
    there is at least one assignment."""
    seen = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _LINE.match(line):
            seen = True
        elif not _NAME_ONLY.match(line):
            return False
    return seen


def has_qdrant_overrides(variables: list[EnvVar]) -> bool:
    return any(v.name.upper().startswith("QDRANT__") for v in variables)
