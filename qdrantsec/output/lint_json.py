"""Machine-readable lint output::

    {"findings": [{"rule", "name", "severity", "file", "line", "column", "message", "fix",
                   "suppressed", + "env_var", "note", "target", "suppression", "url",
                   "evidence" when set}],
     "summary": {"total", "by_severity", "suppressed", "files" (probe: "urls"), "errors"},
     "errors": [{"file", "message"}],  (probe: "file" is the URL that could not be reached)
     "skipped": [{"file", "reason"}]}  (only when a named file was skipped: a template)

``file`` is relative and POSIX (null only for a Qdrant default with no file); ``line`` and
``column`` are null when unknown, never a made-up 1. Ordered by file, line, column, rule.
A probe finding has no file: ``url`` is the request it made, ``evidence`` what it saw.
"""

from __future__ import annotations

from typing import Any

from qdrantsec.lint.model import Finding, LintResult
from qdrantsec.output import to_json
from qdrantsec.output.lint_formats import finding_path, input_path, ordered, summarize


def finding_dict(f: Finding) -> dict[str, Any]:
    loc = f.location
    out: dict[str, Any] = {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.label,
        "file": finding_path(f),
        "line": loc.line or None,
        "column": (loc.column or None) if loc.line else None,
        "message": f.message,
        "fix": f.fix,
        "suppressed": f.suppressed,
    }
    optional = {"env_var": loc.env_var, "note": loc.note, "target": f.target,
                "suppression": f.suppression if f.suppressed else None,
                "url": loc.url, "evidence": f.evidence}
    out.update({k: v for k, v in optional.items() if v})
    return out


def document(result: LintResult, *, show_suppressed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "findings": [finding_dict(f) for f in ordered(result.findings, show_suppressed)],
        "summary": summarize(result).as_dict(),
        "errors": [{"file": input_path(result, e.file), "message": e.message}
                   for e in sorted(result.errors, key=lambda e: input_path(result, e.file))],
    }
    skipped = getattr(result, "skipped", None)
    if skipped:
        out["skipped"] = [{"file": input_path(result, path), "reason": why} for path, why in skipped]
    return out


def render(result: LintResult, *, show_suppressed: bool) -> str:
    return to_json(document(result, show_suppressed=show_suppressed)) + "\n"
