"""Human lint output: one line per finding, grouped by file, then a summary.

    deploy/compose.yml:12:7  CRITICAL  QS201 no-authentication  no API key is set ...
        fix: set service.api_key (from a secret) ...
        set by QDRANT__SERVICE__HOST; in deploy/compose.yml service qdrant

``file:line:col`` first, so terminals and editors can jump to it; a probe finding shows the
URL it requested instead, and what it saw on an ``evidence:`` line. Colour comes from Rich
styles and only when asked for; without it the text has no escape sequences at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from qdrantsec.lint.model import Finding, LintResult, Severity
from qdrantsec.output.lint_formats import finding_path, ordered, summarize

Segment = tuple[str, str | None]  # text, Rich style

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_WIDTH = max(len(s.name) for s in Severity)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def location_text(f: Finding, shown: str | None = None) -> str:
    """``shown``: the finding's display path, when the caller has it already."""
    path = shown or finding_path(f) or f.location.url or "(no file)"
    loc = f.location
    if loc.line:
        path += f":{loc.line}"
        if loc.column:
            path += f":{loc.column}"
    return path


def finding_lines(f: Finding, shown: str | None = None) -> list[list[Segment]]:
    sev_style = "dim" if f.suppressed else SEVERITY_STYLES[f.severity]
    head: list[Segment] = [
        (location_text(f, shown), "bold"),
        ("  ", None),
        (f"{f.severity.name:<{_WIDTH}}", sev_style),
        ("  ", None),
        (f.rule, "magenta"),
        (" ", None),
        (f.name, "magenta"),
        ("  ", None),
        (f.message, "dim" if f.suppressed else None),
    ]
    if f.suppressed:
        head.append((f"  [suppressed: {f.suppression or 'yes'}]", "dim italic"))
    out = [head]
    if f.evidence:
        out.append([("    evidence: ", "dim"), (f.evidence, None)])
    if f.fix:
        out.append([("    fix: ", "green"), (f.fix, None)])
    where = []
    if f.location.env_var:
        where.append(f"set by {f.location.env_var}")
    if f.location.note:
        where.append(f.location.note)
    if f.target:
        where.append(f"in {f.target}")
    if where:
        out.append([("    " + "; ".join(where), "dim")])
    return out


def summary_line(result: LintResult, show_suppressed: bool) -> str:
    s = summarize(result)
    files = _plural(s.files, s.inputs.noun)
    if s.total:
        text = f"{_plural(s.total, 'problem')} ({s.counts_text()}) in {files} checked."
    else:
        text = f"No problems found in {files}."
    if s.suppressed:
        shown = "shown above" if show_suppressed else "--show-suppressed lists them"
        text += f" {s.suppressed} suppressed ({shown})."
    if s.errors:
        text += f" {_plural(s.errors, s.inputs.noun)} {s.inputs.failed}."
    skipped = getattr(result, "skipped", None) or []
    if skipped:
        names = ", ".join(path for path, _ in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        if all("template" in why for _, why in skipped):
            why = "templates are not YAML until rendered; lint the rendered output."
        elif len({w for _, w in skipped}) == 1:  # e.g. env files without QDRANT__ variables
            why = f"{skipped[0][1]}."
        else:
            why = "-v says why for each."
        text += f" Skipped {_plural(len(skipped), 'named file')} ({names}): {why}"
    return text


def render(result: LintResult, *, color: bool, show_suppressed: bool) -> str:
    return "".join(chunks(result, color=color, show_suppressed=show_suppressed))


def with_paths(result: LintResult, show_suppressed: bool) -> Iterable[tuple[Finding, str | None]]:
    """The findings in output order, each with its display path (None: no file). A
    ``FindingStore`` has them in that order, with the paths it sorted by."""
    found = result.findings
    if getattr(found, "in_output_order", False):
        return ((f, shown) for f, shown in found.with_paths() if show_suppressed or not f.suppressed)
    return ((f, finding_path(f)) for f in ordered(found, show_suppressed))


def chunks(result: LintResult, *, color: bool, show_suppressed: bool) -> Iterator[str]:
    """``render``'s text a few hundred findings at a time."""
    batch: list[str] = []
    previous: str | None = None
    first = True
    for f, shown in with_paths(result, show_suppressed):
        # one block per file, or per probed server (its requests' URLs differ)
        path = shown or (f.target if f.location.url else "")
        if not first and path != previous:
            batch.append("\n")
        first = False
        previous = path
        batch.extend(_join(line, color) + "\n" for line in finding_lines(f, shown))
        if len(batch) >= 1024:
            yield "".join(batch)
            batch = []
    # Files that could not be linted are only counted here: the command reports each of them
    # on stderr, where diagnostics belong, and listing them twice on a terminal is noise.
    if not first:
        batch.append("\n")
    s = summarize(result)
    style = "bold red" if s.total or s.errors else "bold green"
    batch.append(_join([(summary_line(result, show_suppressed), style)], color) + "\n")
    yield "".join(batch)


def _join(segments: list[Segment], color: bool) -> str:
    from qdrantsec.output import printable  # messages quote values from the linted files

    if not color:
        return "".join(printable(text) for text, _ in segments)
    from rich.color import ColorSystem
    from rich.style import Style

    return "".join(
        Style.parse(style).render(printable(text), color_system=ColorSystem.STANDARD) if style
        else printable(text)
        for text, style in segments
    )
