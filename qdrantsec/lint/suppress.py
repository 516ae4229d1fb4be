"""Suppressions: what a project has decided not to see, and the exit code that results.

``apply`` runs after the rules, in this order, on the rules' findings plus the ones this
pass raises itself (QS003, QS004):

1. findings of rules the project file disables, and findings in its ``ignore_paths``,
   are dropped;
2. severity overrides from the project file are applied;
3. an inline ``# qdrantsec: ignore[QS101,QS202] reason`` on the finding's line, or in the
   comment lines directly above it, suppresses it. A comment with no reason suppresses
   nothing and is itself reported (QS003);
4. an ``ignore`` entry of the project file whose rule and path match suppresses it; an
   entry past its ``expires`` date suppresses nothing and is reported (QS004);
5. a finding whose fingerprint is in the baseline is suppressed.

Suppressed findings are kept (``suppressed=True`` and ``suppression`` saying how) so that
``--show-suppressed`` and SARIF can show them; they never fail a run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from qdrantsec.exit_codes import ExitCode
from qdrantsec.lint.baseline import (
    finding_fingerprint,
    load_baseline,
    read_file_lines,
    write_baseline,
)
from qdrantsec.lint.model import Finding, Location, Severity
from qdrantsec.lint.project_config import (
    IgnoreEntry,
    ProjectConfig,
    find_project_file,
    load_project_config,
)

__all__ = [
    "IgnoreComment",
    "ProjectConfig",
    "apply",
    "exit_code_for",
    "find_project_file",
    "finding_fingerprint",
    "ignore_comments",
    "load_baseline",
    "load_project_config",
    "read_file_lines",
    "write_baseline",
]

#: ``# qdrantsec: ignore[`` (the ids run to the first ``]``, then the reason)
_DIRECTIVE = re.compile(r"#\s*qdrantsec\s*:\s*ignore\s*\[", re.IGNORECASE)
_REASON_LEAD = " \t:;,.-–—"
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class IgnoreComment:
    """One ``# qdrantsec: ignore[...]`` comment; ``column`` is that of its ``#`` (1-based)."""

    rules: tuple[str, ...]
    reason: str  # "" when none was given
    line: int
    column: int
    whole_line: bool  # the line holds nothing but the comment


def _comment_start(line: str) -> int | None:
    """Index of the ``#`` that starts a comment (YAML and env files alike: at the start of
    the line or after whitespace, and not inside a quoted string), or None."""
    quote: str | None = None
    prev = " "
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and not (quote == '"' and prev == "\\"):
                quote = None
        elif ch in "\"'" and (prev.isspace() or prev in ":=-[{,"):
            quote = ch
        elif ch == "#" and prev.isspace():
            return i
        prev = ch
    return None


def parse_ignore_comment(text: str, line_no: int) -> IgnoreComment | None:
    start = _comment_start(text)
    if start is None:
        return None
    m = _DIRECTIVE.search(text, start)
    # the closing bracket found once, not by a regex that rescans the rest of the line from
    # every `# qdrantsec: ignore[` without one (30,000 of them on a line took a minute)
    close = text.find("]", m.end()) if m is not None else -1
    if m is None or close < 0:
        return None
    ids = tuple(dict.fromkeys(p.strip().upper() for p in text[m.end():close].split(",") if p.strip()))
    if not ids:
        return None
    reason = text[close + 1:].strip().lstrip(_REASON_LEAD).strip()
    if not _HAS_WORD.search(reason):
        reason = ""
    return IgnoreComment(ids, reason, line_no, m.start() + 1, whole_line=not text[:start].strip())


def ignore_comments(lines: list[str]) -> list[IgnoreComment]:
    """Every ignore comment in a file's lines."""
    out: list[IgnoreComment] = []
    if "qdrantsec" not in "\n".join(lines).lower():  # the common case, in one pass
        return out
    for i, text in enumerate(lines, start=1):
        if "qdrantsec" in text.lower():
            c = parse_ignore_comment(text, i)
            if c is not None:
                out.append(c)
    return out


class _Comments:
    """Ignore comments per file, read once."""

    def __init__(self, read_lines: Callable[[str], list[str]]) -> None:
        self._read = read_lines
        self._lines: dict[str, list[str]] = {}
        self._cache: dict[str, dict[int, IgnoreComment]] = {}

    def of(self, file: str) -> dict[int, IgnoreComment]:
        if file not in self._cache:
            try:
                lines = self._read(file)
            except (OSError, ValueError):
                lines = []
            self._lines[file] = lines
            self._cache[file] = {c.line: c for c in ignore_comments(lines)}
        return self._cache[file]

    def covering(self, file: str, line: int) -> list[IgnoreComment]:
        """The comment on ``line`` and those in the block of comment-only lines directly
        above it (a blank or any other line ends the block)."""
        comments = self.of(file)
        if not comments:  # the common case: a file without ignore comments
            return []
        lines = self._lines[file]
        found = [comments[line]] if line in comments else []
        above = line - 1
        while 0 < above <= len(lines) and lines[above - 1].lstrip().startswith("#"):
            if above in comments:
                found.append(comments[above])
            above -= 1
        return found


def _qs003(file: str, c: IgnoreComment) -> Finding:
    from qdrantsec.lint.rules.qs003_suppression_without_reason import SuppressionWithoutReason

    ids = ",".join(c.rules)
    return SuppressionWithoutReason().finding(
        f"inline suppression of {ids} has no reason, so it suppresses nothing",
        Location(file, c.line, c.column),
        fix=f"give the reason after the rule IDs (`# qdrantsec: ignore[{ids}] <why it is acceptable>`), "
        "or remove the comment and fix the finding",
    )


def _qs004(project: ProjectConfig, entry: IgnoreEntry) -> Finding:
    from qdrantsec.lint.rules.qs004_expired_suppression import ExpiredSuppression

    assert entry.expires is not None
    return ExpiredSuppression().finding(
        f"ignore entry for {entry.rule} on {entry.path.pattern!r} expired on "
        f"{entry.expires.isoformat()} and no longer suppresses (reason was: {entry.reason})",
        Location(project.file, entry.line, entry.column),
    )


def apply(
    findings: list[Finding],
    project: ProjectConfig,
    baseline: set[str] | None,
    read_lines: Callable[[str], list[str]],
    today: dt.date | None = None,
    *,
    files: Iterable[str] = (),
) -> list[Finding]:
    """The findings after the project file, inline comments and the baseline (see the
    module docstring for the order). Input findings are not modified. ``files`` are further
    linted files whose reasonless ignore comments should be reported even when they carry
    no finding (the files of ``findings`` are always looked at)."""
    sup = Suppressor(project, baseline, read_lines, today)
    extra: list[Finding] = []
    seen_files = dict.fromkeys([*(f.location.file for f in findings if f.location.file), *files])
    for file in seen_files:
        assert file is not None
        extra.extend(sup.reasonless(file))
    extra.extend(sup.expired())
    out: list[Finding] = []
    for finding in [*findings, *extra]:
        f = sup.one(finding)
        if f is not None:
            out.append(f)
    return out


class Suppressor:
    """``apply`` one finding at a time, for a run that hands findings over per deployment:
    ``one`` gives the finding as ``apply`` would (or None when it is dropped),
    ``reasonless`` the QS003 findings of a file, ``expired`` the QS004 ones of the project
    file; ``forget`` drops the lines read for files that are done."""

    def __init__(self, project: ProjectConfig, baseline: set[str] | None,
                 read_lines: Callable[[str], list[str]], today: dt.date | None = None) -> None:
        self.project = project
        self.baseline = baseline
        self.read_lines = read_lines
        self.today = today or dt.date.today()
        self.comments = _Comments(read_lines)
        self.active = [e for e in project.ignores if not e.expired(self.today)]

    def reasonless(self, file: str) -> list[Finding]:
        return [_qs003(file, c) for c in self.comments.of(file).values() if not c.reason]

    def expired(self) -> list[Finding]:
        return [_qs004(self.project, e) for e in self.project.ignores if e.expired(self.today)]

    def one(self, finding: Finding, *, own: bool = False) -> Finding | None:
        """``own``: the finding is the caller's to change (fresh from a rule), so it is
        updated in place instead of copied."""
        project = self.project
        if not project.rule_enabled(finding.rule):
            return None
        loc = finding.location
        if loc.file and project.path_ignored(loc.file):
            return None
        severity = project.severity_for(finding.rule, finding.severity)
        if own:
            f = finding
            f.severity = severity
        else:
            f = dataclasses.replace(finding, severity=severity)
        if not f.suppressed:
            how = _inline(f, self.comments) or _configured(f, self.active)
            if how is None and self.baseline and finding_fingerprint(f, self.read_lines) in self.baseline:
                how = "baseline"
            if how is not None:
                f.suppressed, f.suppression = True, how
        return f

    def forget(self) -> None:
        self.comments = _Comments(self.read_lines)


def _inline(f: Finding, comments: _Comments) -> str | None:
    loc = f.location
    if not loc.file or not loc.line:
        return None
    for c in comments.covering(loc.file, loc.line):
        if f.rule in c.rules and c.reason:
            return f"inline: {c.reason}"
    return None


def _configured(f: Finding, entries: list[IgnoreEntry]) -> str | None:
    for e in entries:
        if e.matches(f.rule, f.location.file):
            return f"config: {e.reason}"
    return None


def exit_code_for(findings: Iterable[Finding], fail_on: Severity, exit_zero: bool) -> int:
    """1 when an unsuppressed finding is at or above ``fail_on`` (and not ``exit_zero``),
    else 0. Usage and input errors (2) are raised as errors, not decided here."""
    if exit_zero:
        return int(ExitCode.OK)
    failing = any(not f.suppressed and f.severity >= fail_on for f in findings)
    return int(ExitCode.FAILED if failing else ExitCode.OK)
