"""JUnit XML lint output, for CI systems that show test reports (GitLab, Jenkins, Azure).

One ``testsuite``; a ``testcase`` per rule and linted file (``classname`` the file, ``name``
the rule), failing when the file has unsuppressed findings of that rule; files that were not
linted but carry a finding (the project file, for QS004) get cases only for those rules. With
``show_suppressed``, a case whose findings are all suppressed is marked ``skipped``. A file
that could not be linted is a case with an ``error``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from qdrantsec.lint.model import Finding, LintResult, RuleSpec
from qdrantsec.lint.paths import display_path
from qdrantsec.output.lint_formats import finding_path, ordered, rule_index
from qdrantsec.output.lint_text import location_text

NO_FILE = "(no file)"


def _finding_text(f: Finding) -> str:
    text = f"{location_text(f)} {f.severity.label}: {f.message}"
    if f.location.env_var:
        text += f" (set by {f.location.env_var})"
    if f.fix:
        text += f"\n  fix: {f.fix}"
    if f.suppressed:
        text += f"\n  suppressed: {f.suppression or 'yes'}"
    return text


def document(result: LintResult, *, rules: list[RuleSpec], show_suppressed: bool) -> ET.Element:
    infos = rule_index(rules, result.findings)
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in ordered(result.findings):
        by_case[(finding_path(f) or NO_FILE, f.rule)].append(f)
    files = sorted({display_path(p) for p in result.files} | {file for file, _ in by_case})
    errors = sorted(result.errors, key=lambda e: display_path(e.file))

    suite = ET.Element("testsuite", name="qdrantsec lint")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    linted = {display_path(p) for p in result.files}
    for file in files:
        for rid, info in infos.items():
            if file not in linted and (file, rid) not in by_case:
                continue  # e.g. the project file: only the rules that reported something there
            case = ET.SubElement(suite, "testcase", classname=file, name=f"{rid} {info.name}", time="0")
            if file != NO_FILE:
                case.set("file", file)
            counts["tests"] += 1
            found = by_case.get((file, rid), [])
            failing = [f for f in found if not f.suppressed]
            if failing:
                counts["failures"] += 1
                worst = max(f.severity for f in failing)
                fail = ET.SubElement(case, "failure", type=worst.label,
                                     message=f"{len(failing)} finding(s): {failing[0].message}")
                shown = found if show_suppressed else failing
                fail.text = "\n".join(_finding_text(f) for f in shown)
            elif found and show_suppressed:
                counts["skipped"] += 1
                skip = ET.SubElement(case, "skipped", message="suppressed")
                skip.text = "\n".join(_finding_text(f) for f in found)
    for err in errors:
        path = display_path(err.file)
        case = ET.SubElement(suite, "testcase", classname=path, name="qdrantsec: file not linted",
                             file=path, time="0")
        ET.SubElement(case, "error", type="input-error", message=err.message).text = err.message
        counts["tests"] += 1
        counts["errors"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", "0")
    root = ET.Element("testsuites", name="qdrantsec", **{k: suite.get(k, "") for k in counts})
    root.append(suite)
    return root


def render(result: LintResult, *, rules: list[RuleSpec], show_suppressed: bool) -> str:
    root = document(result, rules=rules, show_suppressed=show_suppressed)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
