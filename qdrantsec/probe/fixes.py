"""The table of security fixes in Qdrant releases (package data, with a source for each),
and version comparison."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from qdrantsec.lint.model import Severity

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class SecurityFix:
    id: str
    title: str
    fixed_in: str
    severity: Severity
    applies: str
    source: str


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``1.19.0`` (also ``v1.19.0``, ``1.19.0-rc1``) as a tuple; None when not a version."""
    m = _VERSION.match(text.strip()) if isinstance(text, str) else None
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


@lru_cache(maxsize=1)
def security_fixes() -> tuple[SecurityFix, ...]:
    table = resources.files("qdrantsec").joinpath("data").joinpath("qdrant_security_fixes.json")
    data = json.loads(table.read_text("utf-8"))
    return tuple(SecurityFix(f["id"], f["title"], f["fixed_in"], Severity.parse(f["severity"]), f["applies"],
                             f["source"]) for f in data["fixes"])


def missing_fixes(version: str) -> list[SecurityFix]:
    """The fixes a server running ``version`` lacks (empty for an unparsable version)."""
    have = parse_version(version)
    if have is None:
        return []
    return [f for f in security_fixes() if have < (parse_version(f.fixed_in) or (0, 0, 0))]


def latest_fix_version() -> str:
    return max((f.fixed_in for f in security_fixes()), key=lambda v: parse_version(v) or (0, 0, 0))
