"""GitHub Actions workflow commands: one annotation per finding, shown on the pull
request's diff, plus a plain summary line for the log.

    ::error file=deploy/compose.yml,line=12,col=7,title=QS201 no-authentication::no API key ...

A finding without a file (a probe finding about a running server) becomes a workflow-level
annotation, ``::error title=QP101 ...::``, with its URL and evidence in the message.

critical and high findings are errors, medium warnings, low and info notices. Values are
escaped as the runner expects: ``%``, CR and LF everywhere, and ``:`` and ``,`` as well
inside properties (``file=``, ``title=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from qdrantsec.lint.model import Finding, LintResult, Severity
from qdrantsec.lint.paths import stable_path
from qdrantsec.output.lint_formats import input_path, ordered
from qdrantsec.output.lint_text import summary_line

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: object) -> str:
    given = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items() if v not in (None, ""))
    return f"::{level}{' ' + given if given else ''}::{escape_data(message)}"


def annotation(f: Finding, stable: str | None = None) -> str:
    """``stable``: ``stable_path`` of the finding's file, when the caller has it already."""
    loc = f.location
    title = f"{f.rule} {f.name}"
    body = f.message
    if f.location.env_var:
        body += f" (set by {f.location.env_var})"
    elif f.location.note:
        body += f" ({f.location.note})"
    if f.target:
        body += f"\nTarget: {f.target}"
    if loc.url:
        body += f"\nURL: {loc.url}"
    if f.evidence:
        body += f"\nEvidence: {f.evidence}"
    if f.fix:
        body += f"\nFix: {f.fix}"
    level = LEVELS[f.severity]
    if f.suppressed:
        level, title = "notice", f"{title} (suppressed)"
        body += f"\nSuppressed: {f.suppression or 'yes'}"
    # file= is relative to the repository root (the workspace), wherever qdrantsec runs
    return command(
        level, body, file=(stable or stable_path(loc.file)) if loc.file else None, line=loc.line or None,
        col=(loc.column or None) if loc.line else None, title=title,
    )


def render(result: LintResult, *, show_suppressed: bool) -> str:
    return "".join(chunks(result, show_suppressed=show_suppressed))


def chunks(result: LintResult, *, show_suppressed: bool) -> Iterator[str]:
    """``render``'s text a few hundred annotations at a time."""
    found = result.findings
    if getattr(found, "in_output_order", False):  # a FindingStore: already in order
        findings: Iterable[Finding] = (f for f in found if show_suppressed or not f.suppressed)
    else:
        findings = ordered(found, show_suppressed)
    batch: list[str] = []
    last: tuple[str | None, str | None] = (None, None)
    for f in findings:
        file = f.location.file
        if file and file != last[0]:
            last = (file, stable_path(file))  # (a walk up to the repository root, once a file)
        batch.append(annotation(f, last[1] if file else None) + "\n")
        if len(batch) >= 512:
            yield "".join(batch)
            batch = []
    inputs = result.inputs
    batch += [command("error", f"{e.file}: {e.message}" if inputs.urls else e.message,
                      file=None if inputs.urls else stable_path(e.file), title=inputs.error_title) + "\n"
              for e in sorted(result.errors, key=lambda e: input_path(result, e.file))]
    batch.append(summary_line(result, show_suppressed) + "\n")
    yield "".join(batch)
