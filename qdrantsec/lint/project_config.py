"""The project file, ``.qdrantsec.yaml``: which rules run, at what severity, on which paths,
and which findings a team has decided to accept (with a reason, maybe until a date).

It is found by walking up from each linted path to the repository root (the directory that
holds ``.git``) or the filesystem root; the nearest file wins. The schema is strict: an
unknown key or a bad value is an error that names the file, line and column, because a typo
in a security tool's config must never silently widen what is ignored::

    disable: [QS603]
    severity: {QS601: low}
    ignore_paths: [vendor/, "examples/**/*.yaml"]
    ignore:
      - rule: QS201
        path: dev/docker-compose.yml
        reason: local-only stack, bound to 127.0.0.1
        expires: 2026-06-30
    fail_on: high
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import InputError, UsageError
from qdrantsec.lint.model import Severity
from qdrantsec.lint.paths import GlobError, PathGlob, display_path

CONFIG_NAMES = (".qdrantsec.yaml", ".qdrantsec.yml")
RULE_ID = re.compile(r"QS\d{3}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TOP_KEYS = ("disable", "severity", "ignore_paths", "ignore", "fail_on")
_ENTRY_KEYS = ("rule", "path", "reason", "expires")


@dataclass(frozen=True)
class IgnoreEntry:
    """One ``ignore:`` entry; ``line``/``column`` point at it in the project file."""

    rule: str
    path: PathGlob
    reason: str
    expires: dt.date | None
    line: int
    column: int

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, rule: str, file: str | None) -> bool:
        return rule == self.rule and file is not None and self.path.matches(file)


@dataclass(frozen=True)
class ProjectConfig:
    """The settings of one project file, or the empty defaults when there is none."""

    file: str | None = None  # as displayed: relative to the current directory when below it
    disabled: frozenset[str] = frozenset()
    severities: dict[str, Severity] = field(default_factory=dict)
    ignore_paths: tuple[PathGlob, ...] = ()
    ignores: tuple[IgnoreEntry, ...] = ()
    fail_on: Severity | None = None

    def rule_enabled(self, rule_id: str) -> bool:
        return rule_id not in self.disabled

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        return self.severities.get(rule_id, default)

    def path_ignored(self, file: str) -> bool:
        return any(glob.matches(file) for glob in self.ignore_paths)


def find_project_file(path: str) -> str | None:
    """The nearest project file above ``path`` (a file or a directory), stopping at the
    repository root (a directory holding ``.git``) or the filesystem root."""
    current = os.path.abspath(path)
    if not os.path.isdir(current):
        current = os.path.dirname(current)
    while True:
        found = [os.path.join(current, n) for n in CONFIG_NAMES if os.path.isfile(os.path.join(current, n))]
        if len(found) > 1:
            raise InputError(
                f"both {display_path(found[0])} and {display_path(found[1])} exist",
                hint="keep one project file per directory",
            )
        if found:
            return found[0]
        if os.path.exists(os.path.join(current, ".git")):
            return None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def load_project_config(
    paths: Iterable[str], *, known_rules: Collection[str] | None = None
) -> ProjectConfig:
    """Find and parse the project file for ``paths`` (default ``.``).

    All paths must share one project file (or have none): a run that mixes projects with
    different files would apply one project's ignores to another's files. ``known_rules``,
    when given, makes a rule ID that no rule has an error (a typo would ignore nothing).
    """
    found: dict[str, list[str]] = {}
    for path in list(paths) or ["."]:
        file = find_project_file(path)
        if file is not None:
            found.setdefault(file, []).append(path)
    if not found:
        return ProjectConfig()
    if len(found) > 1:
        files = ", ".join(display_path(f) for f in found)
        raise UsageError(
            f"the paths belong to different project files ({files})",
            hint="lint each project in its own run",
        )
    (file,) = found
    return parse_project_config(_read(file), file=file, known_rules=known_rules)


def _read(file: str) -> str:
    from qdrantsec.fsutil import MAX_PROJECT_FILE_BYTES, read_text

    return read_text(file, what="project file", limit=MAX_PROJECT_FILE_BYTES)


def parse_project_config(
    text: str, *, file: str, known_rules: Collection[str] | None = None
) -> ProjectConfig:
    """Parse and validate the text of a project file found at ``file``."""
    from qdrantsec.yamlloc import load_located

    shown = display_path(file)
    try:
        docs = load_located(text, name=shown)
    except ValueError as exc:  # PyYAML builds dates eagerly: "2026-02-30" fails outside its errors
        raise InputError(f"{shown}: invalid value: {exc} (dates are YYYY-MM-DD)") from None
    docs = [d for d in docs if d.root is not None]
    if not docs:
        return ProjectConfig(file=shown)
    if len(docs) > 1:
        raise InputError(f"{shown}: expected one YAML document, found {len(docs)}")
    doc = docs[0]
    check = _Checker(shown, known_rules)
    if doc.duplicates:
        dup = doc.duplicates[0]
        check.fail(dup.line, dup.column, f"duplicate key {dup.key!r} (first at line {dup.first_line})")
    root = doc.root
    assert root is not None
    if not isinstance(root.value, dict):
        check.fail_node(root, f"expected a mapping with keys {', '.join(_TOP_KEYS)}")
    for key, node in root.value.items():
        if key not in _TOP_KEYS:
            check.fail(node.key_line or node.line, node.key_column or node.column,
                       f"unknown key {key!r} (allowed: {', '.join(_TOP_KEYS)})")
    base_dir = os.path.dirname(os.path.abspath(file))
    get = root.value.get
    fail_on_node = get("fail_on")
    return ProjectConfig(
        file=shown,
        disabled=frozenset(check.rule_id(n) for n in check.items(get("disable"), "disable")),
        severities=check.severities(get("severity")),
        ignore_paths=tuple(check.glob(n, base_dir) for n in check.items(get("ignore_paths"), "ignore_paths")),
        ignores=tuple(check.entry(n, base_dir) for n in check.items(get("ignore"), "ignore")),
        fail_on=None if fail_on_node is None or fail_on_node.value is None else check.severity(fail_on_node),
    )


class _Checker:
    """Validation helpers that fail with ``file:line:col: what``."""

    def __init__(self, file: str, known_rules: Collection[str] | None) -> None:
        self.file = file
        self.known_rules = known_rules

    def fail(self, line: int, column: int, message: str) -> Any:
        raise InputError(f"{self.file}:{line}:{column}: {message}",
                         hint="see the project file section of the README for the schema")

    def fail_node(self, node: Any, message: str) -> Any:
        return self.fail(node.line, node.column, message)

    def items(self, node: Any, key: str) -> list[Any]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.fail_node(node, f"{key} must be a list")
        return list(node.value)

    def text(self, node: Any, what: str) -> str:
        if not isinstance(node.value, str) or not node.value.strip():
            self.fail_node(node, f"{what} must be a non-empty string")
        return str(node.value).strip()

    def rule_id(self, node: Any, *, line: int | None = None, column: int | None = None) -> str:
        value = node.value
        rid = value.strip().upper() if isinstance(value, str) else ""
        where = (line or node.line, column or node.column)
        if not RULE_ID.match(rid):
            self.fail(*where, f"{value!r} is not a rule ID (like QS101)")
        if self.known_rules is not None and rid not in self.known_rules:
            self.fail(*where, f"unknown rule {rid}")
        return rid

    def severity(self, node: Any) -> Severity:
        names = [s.label for s in Severity]
        value = node.value
        if not isinstance(value, str) or value.strip().lower() not in names:
            self.fail_node(node, f"{value!r} is not a severity (use one of: {', '.join(names)})")
        return Severity[value.strip().upper()]

    def severities(self, node: Any) -> dict[str, Severity]:
        if node is None or node.value is None:
            return {}
        if not isinstance(node.value, dict):
            self.fail_node(node, "severity must be a mapping of rule ID to severity, like {QS601: low}")
        out: dict[str, Severity] = {}
        for key, value in node.value.items():
            rid = self.rule_id(_KeyNode(key), line=value.key_line, column=value.key_column)
            out[rid] = self.severity(value)
        return out

    def glob(self, node: Any, base_dir: str) -> PathGlob:
        pattern = self.text(node, "a path pattern")
        try:
            return PathGlob.compile(pattern, base_dir)
        except GlobError as exc:
            return self.fail_node(node, f"bad path pattern {pattern!r}: {exc}")  # type: ignore[no-any-return]

    def entry(self, node: Any, base_dir: str) -> IgnoreEntry:
        if not isinstance(node.value, dict):
            self.fail_node(node, "each ignore entry must be a mapping with rule, path, reason [, expires]")
        fields = node.value
        for key, value in fields.items():
            if key not in _ENTRY_KEYS:
                self.fail(value.key_line or value.line, value.key_column or value.column,
                          f"unknown key {key!r} in ignore entry (allowed: {', '.join(_ENTRY_KEYS)})")
        for required in ("rule", "path", "reason"):
            if required not in fields:
                self.fail_node(node, f"ignore entry needs {required!r}"
                               + (" (why is this finding acceptable?)" if required == "reason" else ""))
        return IgnoreEntry(
            rule=self.rule_id(fields["rule"]),
            path=self.glob(fields["path"], base_dir),
            reason=self.text(fields["reason"], "reason"),
            expires=self.date(fields["expires"]) if "expires" in fields else None,
            line=node.line,
            column=node.column,
        )

    def date(self, node: Any) -> dt.date:
        value = node.value
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        return self.fail_node(node, f"expires must be a date YYYY-MM-DD, not {value!r}")  # type: ignore[no-any-return]


@dataclass
class _KeyNode:
    value: Any
    line: int = 0
    column: int = 0
