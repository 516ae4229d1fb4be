"""Machine-readable lint output::

    {"findings": [{"rule", "name", "severity", "file", "line", "column", "message", "fix",
                   "suppressed", + "env_var", "note", "target", "suppression", "url",
                   "evidence" when set}],
     "summary": {"total", "by_severity", "suppressed", "files" (probe: "urls"), "errors"},
     "errors": [{"file", "message"}],  (probe: "file" is the URL that could not be reached)
     "skipped": [{"file", "reason"}]}  (only when a named file was skipped: a template)
    (probe adds "probe": {"request_id", "requests", "versions"}: the run's x-request-id, the
    number of requests made, the version each reached URL reports)

``file`` is relative and POSIX (null only for a Qdrant default with no file); ``line`` and
``column`` are null when unknown, never a made-up 1. Ordered by file, line, column, rule.
A probe finding has no file: ``url`` is the request it made, ``evidence`` what it saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from qdrantsec.lint.model import Finding, LintResult
from qdrantsec.output import json_members, to_json
from qdrantsec.output.lint_formats import finding_path, input_path, ordered, summarize


def finding_dict(f: Finding, *, file: str | None = None) -> dict[str, Any]:
    """``file``: the finding's display path when the caller has it already."""
    loc = f.location
    out: dict[str, Any] = {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.label,
        "file": file if file is not None else finding_path(f),
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


def document(result: LintResult, *, show_suppressed: bool, findings: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if findings:
        out["findings"] = [finding_dict(f) for f in ordered(result.findings, show_suppressed)]
    out.update({
        "summary": summarize(result).as_dict(),
        "errors": [{"file": input_path(result, e.file), "message": e.message}
                   for e in sorted(result.errors, key=lambda e: input_path(result, e.file))],
    })
    skipped = getattr(result, "skipped", None)
    if skipped:
        out["skipped"] = [{"file": input_path(result, path), "reason": why} for path, why in skipped]
    out.update(result.json_extra())
    return out


def render(result: LintResult, *, show_suppressed: bool) -> str:
    return "".join(chunks(result, show_suppressed=show_suppressed))


def chunks(result: LintResult, *, show_suppressed: bool) -> Iterator[str]:
    """``render``'s text a finding at a time (the same bytes as ``to_json(document(...))``),
    so that a run with a hundred thousand findings is written without holding them all:
    a ``FindingStore`` is already in output order and is not sorted again."""
    found = result.findings
    items: Iterable[tuple[Finding, str | None]]
    if getattr(found, "in_output_order", False):  # with the display paths it sorted by
        items = ((f, shown) for f, shown in found.with_paths() if show_suppressed or not f.suppressed)
    else:
        items = ((f, None) for f in ordered(found, show_suppressed))
    yield '{\n  "findings": ['
    yield from json_members((_indented(finding_dict(f, file=shown)) for f, shown in items), "  ")
    rest = document(result, show_suppressed=show_suppressed, findings=False)
    yield ",\n" + to_json(rest)[2:] + "\n"


def _indented(d: dict[str, Any]) -> str:
    """``d`` as ``to_json`` writes it two levels deep. A finding is a flat dict (strings,
    numbers, booleans, nulls), which the C encoder writes with the same line breaks when
    they are its item separator; ``to_json``'s indenting encoder is pure Python."""
    if not d or not _FLAT_TYPES.issuperset(map(type, d.values())):
        return "\n".join("    " + ln for ln in to_json(d).split("\n"))
    return "    {\n      " + _flat(d)[1:-1] + "\n    }"


_FLAT_TYPES = frozenset({str, int, bool, float, type(None)})
#: ``to_json``'s options, and as item separator the line break and indent of a value two
#: levels deep. JSON text never holds a raw line break (strings escape it), so it cannot be
#: confused with anything inside a value
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",\n      ", ": "), default=str)
if json.encoder.c_make_encoder is not None:  # the C encoder, made once (encode() makes one per call)
    _C_ENCODER = json.encoder.c_make_encoder(
        None, str, json.encoder.encode_basestring, None, ": ", ",\n      ", False, False, True)

    def _flat(d: dict[str, Any]) -> str:
        return "".join(_C_ENCODER(d, 0))
else:  # pragma: no cover - CPython always has it
    _flat = _ENCODER.encode
