"""Lint output formats: text (with and without colour), json, SARIF (validated against the
official SARIF 2.1.0 schema), GitHub workflow commands, JUnit XML, and the auto pick."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qdrantsec.errors import UsageError
from qdrantsec.lint.model import FileError, Finding, LintResult, Location, Rule, Severity, Target
from qdrantsec.lint.rules.qs003_suppression_without_reason import SuppressionWithoutReason
from qdrantsec.lint.rules.qs004_expired_suppression import ExpiredSuppression
from qdrantsec.output.lint_formats import FORMATS, REPO_URL, pick_auto_format, render
from qdrantsec.output.lint_github import escape_data, escape_property

SCHEMA = Path(__file__).with_name("sarif-2.1.0.schema.json")
ESC = "\x1b["


class BindAll(Rule):
    id = "QS101"
    name = "bind-all-interfaces"
    severity = Severity.MEDIUM
    summary = "Qdrant listens on every interface."
    rationale = "Every listener is reachable from the network."
    example = "service:\n  host: 0.0.0.0\n"
    fix = "Bind to 127.0.0.1."
    references: ClassVar[tuple[str, ...]] = ("https://qdrant.tech/documentation/guides/security/",)

    def check(self, target: Target) -> Iterable[Finding]:
        return ()


class NoAuth(Rule):
    id = "QS201"
    name = "no-authentication"
    severity = Severity.CRITICAL
    summary = "No API key is set."
    rationale = "Anyone who reaches Qdrant can manage it."
    fix = "Set service.api_key."

    def check(self, target: Target) -> Iterable[Finding]:
        return ()


RULES: list[Rule] = [NoAuth(), BindAll(), SuppressionWithoutReason(), ExpiredSuppression()]


def f(rule: str, name: str, sev: Severity, file: str | None, line: int | None, col: int | None,
      message: str = "problem", **kw: Any) -> Finding:
    loc = Location(file, line, col, env_var=kw.pop("env_var", None), note=kw.pop("note", None))
    return Finding(rule, name, sev, message, loc, **kw)


@pytest.fixture
def result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LintResult:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/compose.yml").write_text("services:\n  qdrant:\n    image: qdrant/qdrant\n")
    (tmp_path / "config.yaml").write_text("service:\n  host: 0.0.0.0\n")
    findings = [
        f("QS201", "no-authentication", Severity.CRITICAL, "deploy/compose.yml", 2, 3, "no API key is set",
          fix="Set service.api_key.", target="deploy/compose.yml service qdrant", note="Qdrant default"),
        f("QS101", "bind-all-interfaces", Severity.MEDIUM, "./config.yaml", 2, 9, "binds to 0.0.0.0",
          fix="Bind to 127.0.0.1."),
        f("QS601", "cors-any-origin", Severity.LOW, "deploy/compose.yml", None, None, "CORS, any origin",
          env_var="QDRANT__SERVICE__ENABLE_CORS"),
        f("QS101", "bind-all-interfaces", Severity.HIGH, "deploy/compose.yml", 3, 5, "binds everywhere",
          suppressed=True, suppression="inline: pod network only"),
        f("QS603", "telemetry-enabled", Severity.INFO, "config.yaml", 1, 1, "telemetry on",
          suppressed=True, suppression="config: we want to help"),
        f("QS202", "empty-key", Severity.HIGH, "config.yaml", 2, 3, "empty key",
          suppressed=True, suppression="baseline"),
        f("QS208", "unknown-setting", Severity.HIGH, "my dir/a, b.yaml", 4, 1, "unknown: 'api-key'"),
        f("QS999", "from-the-future", Severity.INFO, None, None, None, "no file at all",
          note="Qdrant default"),
    ]
    return LintResult(findings=findings, files=["config.yaml", "deploy/compose.yml", "my dir/a, b.yaml"],
                      errors=[FileError("missing.yaml", "file not found: missing.yaml")])


def out(result: LintResult, fmt: str, *, color: bool = False, show_suppressed: bool = False) -> str:
    return render(result, fmt, color=color, show_suppressed=show_suppressed, rules=RULES,
                  tool_version="9.8.7")


# -- SARIF ----------------------------------------------------------------------------------
def sarif(result: LintResult) -> dict[str, Any]:
    doc = json.loads(out(result, "sarif"))
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()),
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return doc


def test_sarif_is_valid_and_describes_the_tool(result: LintResult) -> None:
    doc = sarif(result)
    assert doc["version"] == "2.1.0" and "sarif-schema-2.1.0" in doc["$schema"]
    driver = doc["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == ("qdrantsec", "9.8.7", REPO_URL)
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(ids)
    assert {"QS101", "QS201", "QS003", "QS004", "QS999"} <= set(ids)  # registry + finding-only rules
    qs101 = driver["rules"][ids.index("QS101")]
    assert qs101["name"] == "bind-all-interfaces"
    assert qs101["shortDescription"]["text"] == BindAll.summary
    assert qs101["fullDescription"]["text"] == BindAll.rationale
    assert "Bind to 127.0.0.1." in qs101["help"]["text"]
    assert "```yaml\nservice:\n  host: 0.0.0.0\n```" in qs101["help"]["markdown"]
    assert qs101["helpUri"] == f"{REPO_URL}#qs101-bind-all-interfaces"
    assert qs101["defaultConfiguration"]["level"] == "warning"
    assert qs101["properties"]["security-severity"] == "5.5"
    qs201 = driver["rules"][ids.index("QS201")]
    assert qs201["defaultConfiguration"]["level"] == "error"
    assert float(qs201["properties"]["security-severity"]) >= 9.0
    # info has no security-severity (GitHub would show 0.0 as an error)
    assert "security-severity" not in driver["rules"][ids.index("QS999")]["properties"]


def test_sarif_results(result: LintResult) -> None:
    run = sarif(result)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    # suppressed ones included (as dismissed); the one with no file is a notification
    assert len(results) == len(result.findings) - 1
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert len(r["partialFingerprints"]["qdrantsec/v1"]) == 64
    by_msg = {r["message"]["text"].split(" (")[0]: r for r in results}

    crit = by_msg["no API key is set"]
    assert crit["level"] == "error"
    assert crit["message"]["text"] == "no API key is set (Qdrant default)"
    loc = crit["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "deploy/compose.yml", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 2, "startColumn": 3}
    assert crit["properties"]["target"] == "deploy/compose.yml service qdrant"

    assert by_msg["binds to 0.0.0.0"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "config.yaml"  # "./" normalised away
    assert by_msg["binds to 0.0.0.0"]["level"] == "warning"

    env = by_msg["CORS, any origin"]
    assert env["level"] == "note"
    assert "region" not in env["locations"][0]["physicalLocation"]  # no fake line 1
    assert env["properties"]["env_var"] == "QDRANT__SERVICE__ENABLE_CORS"
    assert "QDRANT__SERVICE__ENABLE_CORS" in env["message"]["text"]

    assert by_msg["unknown: 'api-key'"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "my%20dir/a%2C%20b.yaml"
    assert "no file at all" not in by_msg
    (note,) = [n for n in run["invocations"][0]["toolExecutionNotifications"]
               if n.get("associatedRule", {}).get("id") == "QS999"]
    assert note["level"] == "note"
    assert note["message"]["text"] == "QS999 from-the-future: no file at all (Qdrant default)"
    assert rules[note["associatedRule"]["index"]]["id"] == "QS999"
    # a finding really on line 1 keeps line 1
    assert by_msg["telemetry on"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_sarif_suppressions(result: LintResult) -> None:
    results = sarif(result)["runs"][0]["results"]
    sup = {r["message"]["text"]: r.get("suppressions") for r in results}
    assert sup["binds everywhere"] == [{"kind": "inSource", "status": "accepted",
                                        "justification": "pod network only"}]
    assert sup["telemetry on"] == [{"kind": "external", "status": "accepted",
                                    "justification": "we want to help"}]
    assert sup["empty key"] == [{"kind": "external", "status": "accepted",
                                 "justification": "accepted in the baseline"}]
    assert sup["no API key is set (Qdrant default)"] is None


def test_sarif_errors_and_paths_outside_the_tree(result: LintResult, tmp_path: Path) -> None:
    outside = tmp_path.parent / "elsewhere.yaml"
    result.findings.append(f("QS101", "bind-all-interfaces", Severity.HIGH, str(outside), 7, 2, "outside"))
    run = sarif(result)["runs"][0]
    (inv,) = run["invocations"]
    assert inv["executionSuccessful"] is False
    (note,) = [n for n in inv["toolExecutionNotifications"] if "associatedRule" not in n]
    assert note["level"] == "error" and "missing.yaml" in note["message"]["text"]
    (res,) = [r for r in run["results"] if r["message"]["text"] == "outside"]
    art = res["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": outside.as_uri()}


def test_sarif_of_a_clean_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = sarif(LintResult(files=["a.yaml"]))["runs"][0]
    assert run["results"] == [] and run["invocations"][0]["executionSuccessful"] is True
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["QS003", "QS004", "QS101", "QS201"]


def test_sarif_and_github_paths_are_repository_relative(result: LintResult, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path / "deploy")
    crit = f("QS201", "no-authentication", Severity.CRITICAL, "compose.yml", 2, 3, "no key")
    only = LintResult(findings=[crit], files=["compose.yml"])
    (res,) = sarif(only)["runs"][0]["results"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/compose.yml"
    assert out(only, "github").startswith("::error file=deploy/compose.yml,line=2,col=3,")
    assert out(only, "text").startswith("compose.yml:2:3  CRITICAL")  # humans: relative to here


# -- JSON -------------------------------------------------------------------------------------
def test_json_shape_and_order(result: LintResult) -> None:
    doc = json.loads(out(result, "json"))
    assert set(doc) == {"findings", "summary", "errors"}
    keys = [(x["file"] or "", x["line"] or 0, x["column"] or 0, x["rule"]) for x in doc["findings"]]
    assert keys == sorted(keys)
    assert all(not x["suppressed"] for x in doc["findings"])  # hidden without --show-suppressed
    first = doc["findings"][0]
    assert first == {"rule": "QS999", "name": "from-the-future", "severity": "info", "file": None,
                     "line": None, "column": None, "message": "no file at all", "fix": "",
                     "suppressed": False, "note": "Qdrant default"}
    (crit,) = [x for x in doc["findings"] if x["rule"] == "QS201"]
    assert crit["file"] == "deploy/compose.yml" and (crit["line"], crit["column"]) == (2, 3)
    assert crit["target"] == "deploy/compose.yml service qdrant" and "env_var" not in crit
    (env,) = [x for x in doc["findings"] if x["rule"] == "QS601"]
    assert env["env_var"] == "QDRANT__SERVICE__ENABLE_CORS" and env["line"] is None
    assert doc["summary"] == {
        "total": 5,
        "by_severity": {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 1},
        "suppressed": 3, "files": 3, "errors": 1,
    }
    assert doc["errors"] == [{"file": "missing.yaml", "message": "file not found: missing.yaml"}]


def test_json_with_suppressed(result: LintResult) -> None:
    doc = json.loads(out(result, "json", show_suppressed=True))
    sup = {x["rule"]: x["suppression"] for x in doc["findings"] if x["suppressed"]}
    assert sup == {"QS101": "inline: pod network only", "QS603": "config: we want to help",
                   "QS202": "baseline"}
    assert all("suppression" not in x for x in doc["findings"] if not x["suppressed"])


# -- GitHub ------------------------------------------------------------------------------------
def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("dir/a, b.yaml:1") == "dir/a%2C b.yaml%3A1"
    assert escape_property("100%\n") == "100%25%0A"


def _unescape(text: str) -> str:
    for code, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, ch)
    return text


@given(st.text())
def test_github_property_escaping_round_trips(text: str) -> None:
    escaped = escape_property(text)
    assert not any(ch in escaped for ch in "\r\n:,")
    assert _unescape(escaped) == text


def test_github_annotations(result: LintResult) -> None:
    lines = out(result, "github").splitlines()
    assert (
        "::error file=deploy/compose.yml,line=2,col=3,title=QS201 no-authentication::"
        "no API key is set (Qdrant default)%0ATarget: deploy/compose.yml service qdrant"
        "%0AFix: Set service.api_key."
    ) in lines
    assert "::warning file=config.yaml,line=2,col=9,title=QS101 bind-all-interfaces::binds to 0.0.0.0" \
        "%0AFix: Bind to 127.0.0.1." in lines
    assert ("::notice file=deploy/compose.yml,title=QS601 cors-any-origin::CORS, any origin "
            "(set by QDRANT__SERVICE__ENABLE_CORS)") in lines
    assert ("::error file=my dir/a%2C b.yaml,line=4,col=1,title=QS208 unknown-setting::"
            "unknown: 'api-key'") in lines
    assert "::notice title=QS999 from-the-future::no file at all (Qdrant default)" in lines
    assert ("::error file=missing.yaml,title=qdrantsec%3A file not linted::"
            "file not found: missing.yaml") in lines
    assert not any("binds everywhere" in line for line in lines)  # suppressed: hidden
    assert lines[-1].startswith("5 problems (1 critical, 1 high, 1 medium, 1 low, 1 info)")


def test_github_shows_suppressed_as_notices_when_asked(result: LintResult) -> None:
    lines = out(result, "github", show_suppressed=True).splitlines()
    (line,) = [x for x in lines if "binds everywhere" in x]
    assert line.startswith("::notice file=deploy/compose.yml,line=3,col=5,title=QS101 bind-all-interfaces "
                           "(suppressed)::")
    assert line.endswith("%0ASuppressed: inline: pod network only")


# -- JUnit --------------------------------------------------------------------------------------
def case_of(case: ET.Element, file: str, rule: str) -> bool:
    return case.get("classname") == file and case.get("name", "").startswith(rule + " ")


def test_junit(result: LintResult) -> None:
    root = ET.fromstring(out(result, "junit"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    # every linted file x every rule (registered or seen in a finding)
    rule_ids = {"QS003", "QS004", "QS101", "QS201", "QS202", "QS208", "QS601", "QS603", "QS999"}
    assert len(cases) == 3 * len(rule_ids) + 1 + 1  # + the no-file case + the unreadable file
    assert suite.get("tests") == str(len(cases)) == root.get("tests")
    failures = [c for c in cases if c.find("failure") is not None]
    assert suite.get("failures") == str(len(failures)) == "5"
    (crit,) = [c for c in cases if case_of(c, "deploy/compose.yml", "QS201")]
    assert crit.get("name") == "QS201 no-authentication" and crit.get("file") == "deploy/compose.yml"
    failure = crit.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert "deploy/compose.yml:2:3 critical: no API key is set" in (failure.text or "")
    # the suppressed QS101 in compose.yml passes, and is not marked skipped by default
    (sup,) = [c for c in cases if case_of(c, "deploy/compose.yml", "QS101")]
    assert list(sup) == []
    assert suite.get("skipped") == "0"
    (err,) = [c for c in cases if c.find("error") is not None]
    assert err.get("classname") == "missing.yaml" and suite.get("errors") == "1"


def test_junit_marks_suppressed_as_skipped_when_asked(result: LintResult) -> None:
    suite = ET.fromstring(out(result, "junit", show_suppressed=True)).find("testsuite")
    assert suite is not None
    skipped = [c for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert sorted((c.get("classname"), c.get("name")) for c in skipped) == [
        ("config.yaml", "QS202 empty-key"),
        ("config.yaml", "QS603 telemetry-enabled"),
        ("deploy/compose.yml", "QS101 bind-all-interfaces"),
    ]
    assert suite.get("skipped") == "3"


# -- text ---------------------------------------------------------------------------------------
def test_text_without_colour(result: LintResult) -> None:
    text = out(result, "text")
    assert ESC not in text
    lines = text.splitlines()
    assert "deploy/compose.yml:2:3  CRITICAL  QS201 no-authentication  no API key is set" in lines
    assert "    fix: Set service.api_key." in lines
    assert "    Qdrant default; in deploy/compose.yml service qdrant" in lines
    assert "deploy/compose.yml  LOW       QS601 cors-any-origin  CORS, any origin" in lines
    assert "    set by QDRANT__SERVICE__ENABLE_CORS" in lines
    assert "config.yaml:2:9  MEDIUM    QS101 bind-all-interfaces  binds to 0.0.0.0" in lines
    assert "missing.yaml" not in text  # the command reports it on stderr; the summary counts it
    assert "binds everywhere" not in text
    assert lines[-1] == ("5 problems (1 critical, 1 high, 1 medium, 1 low, 1 info) in 3 files checked. "
                         "3 suppressed (--show-suppressed lists them). 1 file could not be linted.")
    # grouped by file: a blank line before each new file
    i = lines.index("config.yaml:2:9  MEDIUM    QS101 bind-all-interfaces  binds to 0.0.0.0")
    assert lines[i - 1] == ""
    first_compose = next(n for n, line in enumerate(lines) if line.startswith("deploy/compose.yml"))
    assert lines[first_compose - 1] == ""


def test_text_with_colour_and_suppressed(result: LintResult) -> None:
    text = out(result, "text", color=True, show_suppressed=True)
    assert ESC in text
    assert "[suppressed: inline: pod network only]" in text
    assert "3 suppressed (shown above)." in text


def test_text_clean_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = out(LintResult(files=["a.yaml", "b.yaml"]), "text")
    assert text == "No problems found in 2 files.\n"
    text = out(LintResult(files=["a.yaml"]), "text", color=True)
    assert ESC in text and "No problems found in 1 file." in text


# -- dispatch and auto ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders(result: LintResult, fmt: str) -> None:
    text = out(result, fmt)
    assert text.endswith("\n") and text.strip()


def test_unknown_format_is_a_usage_error(result: LintResult) -> None:
    with pytest.raises(UsageError, match="unknown lint format 'xml'"):
        out(result, "xml")


@pytest.mark.parametrize(
    ("env", "isatty", "expected"),
    [
        ({}, True, ("text", True)),
        ({}, False, ("text", False)),
        ({"NO_COLOR": "1"}, True, ("text", False)),
        ({"NO_COLOR": ""}, True, ("text", True)),  # empty means unset (no-color.org)
        ({"FORCE_COLOR": "1"}, False, ("text", True)),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, ("text", False)),
        ({"TERM": "dumb"}, True, ("text", False)),
        ({"GITHUB_ACTIONS": "true"}, True, ("github", False)),
        ({"GITHUB_ACTIONS": "true", "FORCE_COLOR": "1"}, False, ("github", False)),
        ({"GITHUB_ACTIONS": "false"}, False, ("text", False)),
    ],
)
def test_pick_auto_format(env: dict[str, str], isatty: bool, expected: tuple[str, bool]) -> None:
    assert pick_auto_format(env, isatty) == expected
