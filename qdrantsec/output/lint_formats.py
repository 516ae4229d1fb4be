"""Lint output: one ``render`` in front of a small module per format.

Every format sees the findings in the same stable order (file, line, column, rule), with
POSIX paths relative to the current directory for people (text, json, junit) and to the
repository root for GitHub (sarif, github). Suppressed findings are counted in every summary; they are
listed by text, json, github and junit only with ``show_suppressed``, and always by SARIF,
whose ``suppressions`` property exists so that viewers (GitHub code scanning among them)
can show them as dismissed rather than lose them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from qdrantsec.errors import UsageError
from qdrantsec.lint.model import FILES, Finding, Inputs, LintResult, RuleSpec, Severity
from qdrantsec.lint.paths import display_path

FORMATS = ("text", "json", "sarif", "github", "junit")
REPO_URL = "https://github.com/qdrantsec/qdrantsec"
#: The README section with one heading per rule ("QS101 bind-all-interfaces").
RULES_DOC_URL = f"{REPO_URL}#rules"
#: Highest first: the order of summaries.
SEVERITIES = tuple(sorted(Severity, reverse=True))


def rule_help_uri(rule_id: str, name: str) -> str:
    """The README anchor GitHub generates for the heading ``QS101 bind-all-interfaces``."""
    return f"{REPO_URL}#{rule_id.lower()}-{name.lower()}"


def finding_path(f: Finding) -> str | None:
    return display_path(f.location.file) if f.location.file else None


def finding_where(f: Finding) -> str | None:
    """The finding's file (relative, POSIX) or, for a probe finding, its URL."""
    return finding_path(f) or f.location.url


def input_path(result: LintResult, path: str) -> str:
    """An input as outputs show it: a file relative to the cwd, a URL as given."""
    return path if result.inputs.urls else display_path(path)


def sort_key(f: Finding) -> tuple[str, int, int, str, str]:
    loc = f.location
    return (finding_where(f) or "", loc.line or 0, loc.column or 0, f.rule, f.message)


def ordered(findings: Iterable[Finding], show_suppressed: bool = True) -> list[Finding]:
    return sorted((f for f in findings if show_suppressed or not f.suppressed), key=sort_key)


@dataclass(frozen=True)
class Summary:
    total: int  # unsuppressed findings
    by_severity: dict[str, int]  # unsuppressed, every severity, highest first
    suppressed: int
    files: int  # inputs looked at: files (lint) or URLs (probe)
    errors: int  # inputs that could not be checked
    inputs: Inputs = FILES

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_severity": dict(self.by_severity),
                "suppressed": self.suppressed, self.inputs.key: self.files, "errors": self.errors}

    def counts_text(self) -> str:
        """``1 critical, 2 high`` (only the severities that occur)."""
        return ", ".join(f"{n} {label}" for label, n in self.by_severity.items() if n)


def summarize(result: LintResult) -> Summary:
    by = {s.label: 0 for s in SEVERITIES}
    suppressed = 0
    tally = getattr(result.findings, "tally", None)  # a FindingStore counts without unpacking
    if tally is not None:
        counts, suppressed = tally()
        for sev, n in sorted(counts.items(), reverse=True):
            by[Severity(sev).label] += n
    else:
        for f in result.findings:
            if f.suppressed:
                suppressed += 1
            else:
                by[f.severity.label] += 1
    return Summary(sum(by.values()), by, suppressed, len(result.files), len(result.errors), result.inputs)


@dataclass(frozen=True)
class RuleInfo:
    id: str
    name: str
    severity: Severity
    summary: str
    rationale: str
    example: str
    fix: str
    references: tuple[str, ...]


def rule_index(rules: Iterable[RuleSpec], findings: Iterable[Finding]) -> dict[str, RuleInfo]:
    """Rule docs by ID, sorted by ID; a rule that only appears in findings (not in the
    registry handed in) gets a minimal entry so that no result is left without a rule."""
    out: dict[str, RuleInfo] = {}
    for r in rules:
        out[r.id] = RuleInfo(
            r.id, r.name, r.severity, r.summary, r.rationale, getattr(r, "example", "") or "",
            r.fix, tuple(getattr(r, "references", ()) or ()),
        )
    for f in findings:
        if f.rule not in out:
            out[f.rule] = RuleInfo(f.rule, f.name, f.severity, f.name.replace("-", " "), "", "", f.fix, ())
    return dict(sorted(out.items()))


def pick_auto_format(env: Mapping[str, str], isatty: bool) -> tuple[str, bool]:
    """``--format auto``: GitHub annotations under GitHub Actions, else text; colour on a
    TTY, never with ``NO_COLOR`` set (https://no-color.org), always with ``FORCE_COLOR``
    set (NO_COLOR wins when both are), and not on a ``dumb`` terminal."""
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        return "github", False
    if env.get("NO_COLOR", ""):
        return "text", False
    if env.get("FORCE_COLOR", ""):
        return "text", True
    return "text", isatty and env.get("TERM", "") != "dumb"


def render(
    result: LintResult,
    fmt: str,
    *,
    color: bool,
    show_suppressed: bool,
    rules: list[RuleSpec],
    tool_version: str,
    refused: str | None = None,
) -> str:
    """The whole output of one format, ending with a newline. ``refused``: why the command
    refuses a run that found no error (SARIF reports the execution as failed)."""
    if fmt == "text":
        from qdrantsec.output import lint_text

        return lint_text.render(result, color=color, show_suppressed=show_suppressed)
    if fmt == "json":
        from qdrantsec.output import lint_json

        return lint_json.render(result, show_suppressed=show_suppressed)
    if fmt == "sarif":
        from qdrantsec.output import lint_sarif

        return lint_sarif.render(result, rules=rules, tool_version=tool_version, refused=refused)
    if fmt == "github":
        from qdrantsec.output import lint_github

        return lint_github.render(result, show_suppressed=show_suppressed)
    if fmt == "junit":
        from qdrantsec.output import lint_junit

        return lint_junit.render(result, rules=rules, show_suppressed=show_suppressed)
    raise UsageError(f"unknown lint format {fmt!r} (use one of: {', '.join(FORMATS)})")


def render_chunks(
    result: LintResult,
    fmt: str,
    *,
    color: bool,
    show_suppressed: bool,
    rules: list[RuleSpec],
    tool_version: str,
    refused: str | None = None,
) -> Iterator[str]:
    """``render``'s text in pieces to write one after the other: JSON, SARIF, text and
    GitHub a few hundred findings at a time (a large run's report is never held whole),
    JUnit in one piece."""
    if fmt == "json":
        from qdrantsec.output import lint_json

        yield from lint_json.chunks(result, show_suppressed=show_suppressed)
        return
    if fmt == "sarif":
        from qdrantsec.output import lint_sarif

        yield from lint_sarif.chunks(result, rules=rules, tool_version=tool_version, refused=refused)
        return
    if fmt == "text":
        from qdrantsec.output import lint_text

        yield from lint_text.chunks(result, color=color, show_suppressed=show_suppressed)
        return
    if fmt == "github":
        from qdrantsec.output import lint_github

        yield from lint_github.chunks(result, show_suppressed=show_suppressed)
        return
    yield render(result, fmt, color=color, show_suppressed=show_suppressed, rules=rules,
                 tool_version=tool_version, refused=refused)
