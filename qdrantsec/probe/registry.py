"""The one explicit list of probe checks (as ``qdrantsec.lint.registry`` lists the rules),
and the docs generated from them: ``qdrantsec probe --list-checks`` / ``--explain``, the
README's check table and the man page."""

from __future__ import annotations

from qdrantsec.errors import UsageError
from qdrantsec.probe.checks import anonymous, cluster, credentials, extras, tls, version
from qdrantsec.probe.model import ProbeCheck

#: Every check, in ID order.
ALL_CHECKS: tuple[type[ProbeCheck], ...] = tuple(sorted(
    (*anonymous.CHECKS, *tls.CHECKS, *credentials.CHECKS, *extras.CHECKS, *version.CHECKS,
     *cluster.CHECKS),
    key=lambda c: c.id))


def all_checks() -> list[ProbeCheck]:
    return [cls() for cls in ALL_CHECKS]


def get_check(check_id: str) -> ProbeCheck:
    """The check with this ID (``QP101``, case-insensitive) or name (``open-instance``)."""
    wanted = check_id.strip()
    for cls in ALL_CHECKS:
        if cls.id == wanted.upper() or cls.name == wanted.lower():
            return cls()
    raise UsageError(f"unknown probe check {wanted}", hint="'qdrantsec probe --list-checks' lists them all")


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def checks_markdown_table() -> str:
    """The README's probe check table (anchors are what SARIF's helpUri points at)."""
    rows = ["| ID | Name | Default severity | What it does |", "|---|---|---|---|"]
    for cls in ALL_CHECKS:
        anchor = f'<a id="{cls.id.lower()}-{cls.name.lower()}"></a>'
        rows.append(f"| {anchor}{cls.id} | `{cls.name}` | {cls.severity.label} | {_md_cell(cls.summary)} |")
    return "\n".join(rows) + "\n"


def checks_man_section() -> str:
    """A ``.SH CHECKS`` section for qdrantsec-probe(1)."""
    from qdrantsec.lint.registry import _troff

    parts = [".SH CHECKS"]
    for cls in ALL_CHECKS:
        parts += [".TP", f"\\fB{cls.id}\\fR {_troff(cls.name)} ({cls.severity.label})",
                  _troff(" ".join(cls.summary.split())), ".br",
                  _troff(f"Use instead: {' '.join(cls.fix.split())}")]
    return "\n".join(parts) + "\n"
