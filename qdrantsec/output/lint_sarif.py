"""SARIF 2.1.0 lint output, for GitHub code scanning and other SARIF viewers.

Every rule handed in is described in ``tool.driver.rules`` (help text and markdown from
the rule docs, ``helpUri`` into the README, a default level and GitHub's
``security-severity``). Results carry a relative URI against ``%SRCROOT%`` and a region
only when the line is known: a made-up line 1 would put the alert on the wrong line.
Suppressed findings are kept with a ``suppressions`` entry, so viewers show them as
dismissed. ``partialFingerprints`` carries the baseline fingerprint, which survives lines
shifting. A probe finding points at the URL it requested (an absolute ``artifactLocation``
URI, no region). A finding with neither file nor URL becomes a tool notification: GitHub
refuses an upload in which any result lacks a location.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qdrantsec.lint.baseline import LineReader, finding_fingerprint, recent_reader
from qdrantsec.lint.model import Finding, LintResult, RuleSpec, Severity
from qdrantsec.lint.paths import stable_path
from qdrantsec.output import json_members, to_json
from qdrantsec.output.lint_formats import (
    REPO_URL,
    RuleInfo,
    input_path,
    ordered,
    rule_help_uri,
    rule_index,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "qdrantsec/v1"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub maps >= 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. Info gets
#: none: GitHub shows a 0.0 as an error.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


def _help_text(r: RuleInfo) -> str:
    parts = [r.summary]
    if r.rationale:
        parts.append(f"Why it matters: {r.rationale}")
    if r.example:
        parts.append(f"Example:\n{r.example.rstrip()}")
    if r.fix:
        parts.append(f"Use instead: {r.fix}")
    if r.references:
        parts.append("References:\n" + "\n".join(f"- {ref}" for ref in r.references))
    return "\n\n".join(parts)


def _help_markdown(r: RuleInfo) -> str:
    parts = [f"**{r.id} {r.name}**: {r.summary}"]
    if r.rationale:
        parts.append(f"### Why it matters\n\n{r.rationale}")
    if r.example:
        parts.append(f"### Example\n\n```yaml\n{r.example.rstrip()}\n```")
    if r.fix:
        parts.append(f"### Use instead\n\n{r.fix}")
    if r.references:
        parts.append("### References\n\n" + "\n".join(f"- {ref}" for ref in r.references))
    return "\n\n".join(parts)


def rule_descriptor(r: RuleInfo) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": ["security", "qdrant"], "precision": "high"}
    if r.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[r.severity]
    return {
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.rationale or r.summary},
        "help": {"text": _help_text(r), "markdown": _help_markdown(r)},
        "helpUri": rule_help_uri(r.id, r.name),
        "defaultConfiguration": {"level": LEVELS[r.severity]},
        "properties": props,
    }


def artifact_location(file: str, stable: str | None = None) -> dict[str, Any]:
    """``stable``: ``stable_path(file)`` when the caller has it already."""
    # relative to the repository root: what code scanning matches against the checkout
    shown = stable if stable is not None else stable_path(file)
    if os.path.isabs(shown):  # outside the current directory: an absolute file URI
        return {"uri": Path(shown).as_uri()}
    return {"uri": quote(shown, safe="/-._~"), "uriBaseId": SRCROOT}


def _location(f: Finding, stable: str | None = None) -> list[dict[str, Any]]:
    loc = f.location
    if not loc.file:
        # a probe finding: the request's URL is the artifact (absolute, so no uriBaseId)
        return [{"physicalLocation": {"artifactLocation": {"uri": loc.url}}}] if loc.url else []
    physical: dict[str, Any] = {"artifactLocation": artifact_location(loc.file, stable)}
    if loc.line:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column:
            region["startColumn"] = loc.column
        physical["region"] = region
    return [{"physicalLocation": physical}]


def _suppression(f: Finding) -> dict[str, Any]:
    how = f.suppression or ""
    kind = "inSource" if how.startswith("inline") else "external"
    if how == "baseline":
        why = "accepted in the baseline"
    else:
        why = how.split(":", 1)[1].strip() if ":" in how else how or "suppressed"
    return {"kind": kind, "status": "accepted", "justification": why}


def _message_text(f: Finding) -> str:
    if f.location.env_var:
        return f"{f.message} (set by {f.location.env_var})"
    if f.location.note:
        return f"{f.message} ({f.location.note})"
    return f.message


def sarif_result(f: Finding, index: int, reader: LineReader, *, stable: str | None = None) -> dict[str, Any]:
    """``stable``: ``stable_path`` of the finding's file, when the caller has it already."""
    text = _message_text(f)
    props: dict[str, Any] = {"severity": f.severity.label}
    if f.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[f.severity]
    for key, value in (("env_var", f.location.env_var), ("note", f.location.note),
                       ("target", f.target), ("fix", f.fix), ("evidence", f.evidence)):
        if value:
            props[key] = value
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": _location(f, stable),
        "partialFingerprints": {FINGERPRINT_KEY: finding_fingerprint(f, reader, stable=stable)},
        "properties": props,
    }
    if f.suppressed:
        out["suppressions"] = [_suppression(f)]
    return out


def _scan(result: LintResult) -> tuple[Iterable[Finding], list[Finding], list[Finding] | None]:
    """What the report says before its results: the findings that define the rules (the
    first of each rule is enough) and those with no file nor URL (notifications), in
    output order; and the findings sorted (None for a ``FindingStore``, already in order
    and read again for the results, so that they are never all held at once)."""
    scan = getattr(result.findings, "firsts_and_unlocated", None)
    if scan is not None:
        firsts, unlocated = scan()
        return firsts.values(), unlocated, None
    findings = ordered(result.findings)
    return result.findings, [f for f in findings if not (f.location.file or f.location.url)], findings


def _head(result: LintResult, infos: dict[str, RuleInfo], unlocated: list[Finding], refused: str | None,
          tool_version: str) -> dict[str, Any]:
    """The document without its results (``"results": []``)."""
    index = {rid: i for i, rid in enumerate(infos)}
    urls = result.inputs.urls
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{input_path(result, e.file)}: {e.message}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": e.file} if urls else artifact_location(e.file)}}],
        }
        for e in sorted(result.errors, key=lambda e: input_path(result, e.file))
    ]
    # GitHub code scanning rejects a whole upload when one result has no file location, so
    # a finding that points at no file at all (rare: a Qdrant default with no file behind
    # it) is reported as a notification tied to its rule instead of a result.
    notifications += [
        {
            "level": LEVELS[f.severity],
            "message": {"text": f"{f.rule} {f.name}: {_message_text(f)}"},
            "associatedRule": {"id": f.rule, "index": index[f.rule]},
        }
        for f in unlocated
    ]
    if refused:
        notifications.append({"level": "error", "message": {"text": refused}})
    # SARIF 2.1.0 3.20.14: whether the tool's execution succeeded, not whether it found
    # results; a run that read nothing it could lint and exits 2 did not succeed
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors and not refused}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "qdrantsec",
                        "version": tool_version,
                        "informationUri": REPO_URL,
                        "rules": [rule_descriptor(r) for r in infos.values()],
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": [],
            }
        ],
    }


def _results(result: LintResult, findings: list[Finding] | None,
             index: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Each located finding's result, in output order."""
    reader = recent_reader()  # findings come file by file
    last: tuple[str | None, str | None] = (None, None)
    for f in result.findings if findings is None else findings:
        file = f.location.file
        if not (file or f.location.url):
            continue
        if file and file != last[0]:
            last = (file, stable_path(file))  # (a walk up to the repository root)
        yield sarif_result(f, index[f.rule], reader, stable=last[1] if file else None)


def document(result: LintResult, *, rules: list[RuleSpec], tool_version: str,
             refused: str | None = None) -> dict[str, Any]:
    """``refused``: why the command refuses the run although it found no error (lint with
    nothing to lint exits 2): an error notification, and the execution is not successful."""
    defining, unlocated, findings = _scan(result)
    infos = rule_index(rules, defining)
    doc = _head(result, infos, unlocated, refused, tool_version)
    index = {rid: i for i, rid in enumerate(infos)}
    doc["runs"][0]["results"] = list(_results(result, findings, index))
    return doc


def render(result: LintResult, *, rules: list[RuleSpec], tool_version: str,
           refused: str | None = None) -> str:
    return "".join(chunks(result, rules=rules, tool_version=tool_version, refused=refused))


#: results sit four levels deep: {"runs": [{"results": [ ... ]}]}
_RESULT_INDENT = " " * 8


def chunks(result: LintResult, *, rules: list[RuleSpec], tool_version: str,
           refused: str | None = None) -> Iterator[str]:
    """``render``'s text a few hundred results at a time (the same bytes as
    ``to_json(document(...))``): a large run's report is never held whole."""
    defining, unlocated, findings = _scan(result)
    infos = rule_index(rules, defining)
    text = to_json(_head(result, infos, unlocated, refused, tool_version))
    marker = '"results": []'  # the last member of the last run: only closing brackets after it
    at = text.rindex(marker)
    yield text[:at] + '"results": ['
    index = {rid: i for i, rid in enumerate(infos)}
    yield from json_members((_RESULT_INDENT + pretty(res, _RESULT_INDENT)
                             for res in _results(result, findings, index)), _RESULT_INDENT[2:])
    yield text[at + len(marker):] + "\n"


def pretty(obj: Any, indent: str = "") -> str:
    """``obj`` as ``to_json`` writes it, each line after the first at ``indent``."""
    return to_json(obj).replace("\n", "\n" + indent)
