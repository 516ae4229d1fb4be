"""Suppressions: the project file (discovery and schema), inline comments, ignore entries
with expiry, the baseline step of ``apply``, and the exit-code decision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qdrantsec.errors import InputError, UsageError
from qdrantsec.exit_codes import ExitCode
from qdrantsec.lint.baseline import finding_fingerprint, read_file_lines
from qdrantsec.lint.model import Finding, Location, Severity
from qdrantsec.lint.paths import PathGlob
from qdrantsec.lint.project_config import ProjectConfig
from qdrantsec.lint.suppress import (
    apply,
    exit_code_for,
    ignore_comments,
    load_project_config,
)

TODAY = dt.date(2026, 6, 1)


def finding(rule: str = "QS101", file: str = "c.yaml", line: int | None = 2, column: int | None = 3,
            severity: Severity = Severity.HIGH, message: str = "problem", **kw: object) -> Finding:
    return Finding(rule, f"name-{rule.lower()}", severity, message,
                   Location(file, line, column, env_var=kw.pop("env_var", None)),  # type: ignore[arg-type]
                   **kw)  # type: ignore[arg-type]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def project(text: str, repo: Path) -> ProjectConfig:
    write(repo / ".qdrantsec.yaml", text)
    return load_project_config(["."])


# -- discovery --------------------------------------------------------------------------
def test_no_project_file_gives_defaults(repo: Path) -> None:
    cfg = load_project_config(["."])
    assert cfg.file is None
    assert cfg.rule_enabled("QS101")
    assert cfg.severity_for("QS101", Severity.HIGH) is Severity.HIGH
    assert cfg.fail_on is None
    assert not cfg.path_ignored("a.yaml")


def test_nearest_project_file_wins(repo: Path) -> None:
    write(repo / ".qdrantsec.yaml", "disable: [QS101]\n")
    write(repo / "deploy/.qdrantsec.yml", "disable: [QS202]\n")
    write(repo / "deploy/prod/compose.yml", "services: {}\n")
    cfg = load_project_config(["deploy/prod/compose.yml"])
    assert cfg.file == "deploy/.qdrantsec.yml"
    assert not cfg.rule_enabled("QS202") and cfg.rule_enabled("QS101")
    assert load_project_config(["deploy/prod"]).file == "deploy/.qdrantsec.yml"
    assert load_project_config(["."]).file == ".qdrantsec.yaml"


def test_walk_stops_at_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".qdrantsec.yaml", "disable: [QS101]\n")
    inner = tmp_path / "checkout"
    (inner / ".git").mkdir(parents=True)
    write(inner / "a.yaml", "x: 1\n")
    monkeypatch.chdir(inner)
    assert load_project_config(["a.yaml"]).file is None
    # without a .git the walk goes on up and finds the outer file
    (inner / ".git").rmdir()
    found = load_project_config(["a.yaml"]).file
    assert found is not None and found.endswith(".qdrantsec.yaml")


def test_both_spellings_in_one_directory_is_an_error(repo: Path) -> None:
    write(repo / ".qdrantsec.yaml", "{}\n")
    write(repo / ".qdrantsec.yml", "{}\n")
    with pytest.raises(InputError, match="both"):
        load_project_config(["."])


def test_paths_with_different_project_files_are_refused(repo: Path) -> None:
    write(repo / "a/.qdrantsec.yaml", "{}\n")
    write(repo / "b/.qdrantsec.yaml", "{}\n")
    with pytest.raises(UsageError, match="different project files"):
        load_project_config(["a", "b"])
    # a path without a file of its own shares the one found
    write(repo / "c/x.yaml", "x: 1\n")
    assert load_project_config(["a", "c/x.yaml"]).file == "a/.qdrantsec.yaml"


def test_missing_path_still_walks_from_its_directory(repo: Path) -> None:
    write(repo / ".qdrantsec.yaml", "fail_on: low\n")
    assert load_project_config(["nothing/here.yaml"]).fail_on is Severity.LOW


# -- schema ------------------------------------------------------------------------------
FULL = """\
disable: [QS603, qs104]
severity: {QS601: low, QS101: critical}
ignore_paths: [vendor/, "examples/**/*.yaml", "*.env"]
ignore:
  - rule: QS201
    path: dev/docker-compose.yml
    reason: local-only stack
    expires: 2026-06-30
  - rule: QS202
    path: "**/values-*.yaml"
    reason: keys come from the chart's secret
fail_on: medium
"""


def test_full_project_file(repo: Path) -> None:
    cfg = project(FULL, repo)
    assert cfg.file == ".qdrantsec.yaml"
    assert cfg.disabled == {"QS603", "QS104"}
    assert cfg.severity_for("QS601", Severity.MEDIUM) is Severity.LOW
    assert cfg.severity_for("QS101", Severity.MEDIUM) is Severity.CRITICAL
    assert cfg.severity_for("QS999", Severity.INFO) is Severity.INFO
    assert cfg.fail_on is Severity.MEDIUM
    first, second = cfg.ignores
    assert (first.rule, first.reason, first.expires) == ("QS201", "local-only stack", dt.date(2026, 6, 30))
    assert (first.line, first.column) == (5, 5)
    assert second.expires is None and second.matches("QS202", "charts/x/values-prod.yaml")
    assert not second.matches("QS201", "charts/x/values-prod.yaml")


def test_empty_and_null_sections(repo: Path) -> None:
    assert project("", repo).ignores == ()
    cfg = project("disable:\nignore:\nignore_paths:\nseverity:\nfail_on:\n", repo)
    assert cfg.disabled == frozenset() and cfg.fail_on is None


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("disabel: [QS101]\n", ":1:1:", "unknown key 'disabel'"),
        ("disable: QS101\n", ":1:10:", "disable must be a list"),
        ("disable: [QS1O1]\n", ":1:11:", "not a rule ID"),
        ("severity: {QS601: urgent}\n", ":1:19:", "not a severity"),
        ("severity: {Q601: low}\n", ":1:12:", "not a rule ID"),
        ("severity: [QS601]\n", ":1:11:", "must be a mapping"),
        ("fail_on: sometimes\n", ":1:10:", "not a severity"),
        ("ignore_paths: ['!keep.yaml']\n", ":1:16:", "negated"),
        ("ignore_paths: ['a/**b']\n", ":1:16:", "whole path segment"),
        ("ignore:\n  - rule: QS201\n    path: a.yaml\n", ":2:5:", "needs 'reason'"),
        ("ignore:\n  - rule: QS201\n    path: a.yaml\n    reason: '  '\n", ":4:13:", "reason must be"),
        ("ignore:\n  - rule: QS201\n    reason: r\n", ":2:5:", "needs 'path'"),
        ("ignore:\n  - path: a\n    reason: r\n", ":2:5:", "needs 'rule'"),
        ("ignore:\n  - rule: QS201\n    path: a\n    reason: r\n    until: 2026-01-01\n", ":5:5:",
         "unknown key 'until' in ignore entry"),
        ("ignore:\n  - rule: QS201\n    path: a\n    reason: r\n    expires: next week\n", ":5:14:",
         "expires must be a date"),
        ("ignore:\n  - rule: QS201\n    path: a\n    reason: r\n    expires: 2026-01-01 10:00:00\n",
         ":5:14:", "expires must be a date"),
        ("ignore:\n  - QS201\n", ":2:5:", "must be a mapping"),
        ("disable: [QS101]\ndisable: [QS102]\n", ":2:1:", "duplicate key 'disable'"),
        ("- QS101\n", ":1:1:", "expected a mapping"),
    ],
)
def test_bad_project_files_name_file_line_and_column(repo: Path, text: str, where: str, what: str) -> None:
    with pytest.raises(InputError) as err:
        project(text, repo)
    assert err.value.message.startswith(".qdrantsec.yaml" + where), err.value.message
    assert what in err.value.message


def test_invalid_yaml_and_impossible_dates_are_input_errors(repo: Path) -> None:
    with pytest.raises(InputError, match=r"\.qdrantsec\.yaml:2:1: invalid YAML"):
        project("disable: [QS101\n", repo)
    with pytest.raises(InputError, match="expires must be a date YYYY-MM-DD"):
        project("ignore:\n  - rule: QS201\n    path: a\n    reason: r\n    expires: 2026-02-30\n", repo)
    with pytest.raises(InputError, match="one YAML document"):
        project("disable: []\n---\nfail_on: low\n", repo)


def test_quoted_date_is_accepted(repo: Path) -> None:
    cfg = project("ignore:\n  - {rule: QS201, path: a, reason: r, expires: '2026-01-31'}\n", repo)
    assert cfg.ignores[0].expires == dt.date(2026, 1, 31)


def test_known_rules_catch_typos(repo: Path) -> None:
    write(repo / ".qdrantsec.yaml", "disable: [QS999]\n")
    with pytest.raises(InputError, match=r":1:11: unknown rule QS999"):
        load_project_config(["."], known_rules={"QS101"})
    write(repo / ".qdrantsec.yaml", "severity: {QS998: low}\n")
    with pytest.raises(InputError, match=r":1:12: unknown rule QS998"):
        load_project_config(["."], known_rules={"QS101"})


# -- globs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("vendor/", "vendor/x.yaml", True),
        ("vendor/", "a/vendor/b/x.yaml", True),
        ("vendor/", "vendor", False),  # directories only; "vendor" here is a file
        ("*.env", "deploy/prod/.secrets.env", True),
        ("*.env", "env.yaml", False),
        ("/top.yaml", "top.yaml", True),
        ("/top.yaml", "sub/top.yaml", False),
        ("examples/**/*.yaml", "examples/a.yaml", True),
        ("examples/**/*.yaml", "examples/a/b/c.yaml", True),
        ("examples/**/*.yaml", "other/examples/a.yaml", False),
        ("**/secrets/*", "x/y/secrets/k.yaml", True),
        ("**", "anything/at/all.yml", True),
        ("charts", "charts/qdrant/values.yaml", True),
        ("dev/*.yml", "dev/sub/a.yml", False),
        ("values-?.yaml", "values-a.yaml", True),
        ("values-[!ab].yaml", "values-a.yaml", False),
        ("values-[!ab].yaml", "values-c.yaml", True),
        ("a.yaml", "a.yaml.bak", False),
    ],
)
def test_glob_semantics(tmp_path: Path, pattern: str, path: str, expected: bool) -> None:
    glob = PathGlob.compile(pattern, str(tmp_path))
    assert glob.matches(str(tmp_path / path)) is expected


def test_directory_patterns_match_the_directory_itself(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "notes").write_text("x")
    assert PathGlob.compile("vendor/", str(tmp_path)).matches(str(tmp_path / "vendor"))
    assert not PathGlob.compile("notes/", str(tmp_path)).matches(str(tmp_path / "notes"))
    assert PathGlob.compile("notes", str(tmp_path)).matches(str(tmp_path / "notes"))


def test_globs_are_relative_to_the_project_file(repo: Path) -> None:
    write(repo / "deploy/.qdrantsec.yaml", "ignore_paths: [legacy/]\n")
    cfg = load_project_config(["deploy"])
    assert cfg.path_ignored("deploy/legacy/compose.yml")
    assert cfg.path_ignored(str(repo / "deploy/legacy/compose.yml"))
    assert not cfg.path_ignored("legacy/compose.yml")  # outside the project file's directory


# -- apply: project file --------------------------------------------------------------------
def no_lines(path: str) -> list[str]:
    return []


def test_disabled_rules_and_ignored_paths_are_dropped(repo: Path) -> None:
    cfg = project("disable: [QS603]\nignore_paths: [vendor/]\n", repo)
    fs = [finding("QS603"), finding("QS101", file="vendor/c.yaml"), finding("QS101")]
    out = apply(fs, cfg, None, no_lines, TODAY)
    assert [(f.rule, f.location.file) for f in out] == [("QS101", "c.yaml")]


def test_severity_overrides_and_inputs_untouched(repo: Path) -> None:
    cfg = project("severity: {QS601: low}\n", repo)
    original = finding("QS601", severity=Severity.MEDIUM)
    (out,) = apply([original], cfg, None, no_lines, TODAY)
    assert out.severity is Severity.LOW
    assert original.severity is Severity.MEDIUM and not original.suppressed


def test_config_ignore_suppresses_matching_rule_and_path(repo: Path) -> None:
    cfg = project("ignore:\n  - {rule: QS201, path: 'dev/*.yml', reason: local only}\n", repo)
    hit = finding("QS201", file="dev/compose.yml")
    other_rule = finding("QS202", file="dev/compose.yml")
    other_path = finding("QS201", file="prod/compose.yml")
    no_file = finding("QS201", file=None, line=None)  # type: ignore[arg-type]
    out = apply([hit, other_rule, other_path, no_file], cfg, None, no_lines, TODAY)
    assert [(f.suppressed, f.suppression) for f in out] == [
        (True, "config: local only"), (False, None), (False, None), (False, None)]


def test_expired_ignore_stops_suppressing_and_is_reported(repo: Path) -> None:
    cfg = project(
        "# accepted risks\n"
        "ignore:\n"
        "  - rule: QS201\n"
        "    path: dev/compose.yml\n"
        "    reason: until the dev stack gets a key\n"
        "    expires: 2026-05-31\n"
        "  - rule: QS101\n"
        "    path: dev/compose.yml\n"
        "    reason: still fine\n"
        "    expires: 2026-06-01\n",  # expires today: still active
        repo,
    )
    fs = [finding("QS201", file="dev/compose.yml"), finding("QS101", file="dev/compose.yml")]
    out = apply(fs, cfg, None, no_lines, TODAY)
    by_rule = {f.rule: f for f in out}
    assert not by_rule["QS201"].suppressed
    assert by_rule["QS101"].suppression == "config: still fine"
    expired = by_rule["QS004"]
    assert expired.name == "expired-suppression" and expired.severity is Severity.LOW
    where = (expired.location.file, expired.location.line, expired.location.column)
    assert where == (".qdrantsec.yaml", 3, 5)
    assert "2026-05-31" in expired.message and "QS201" in expired.message
    assert expired.fix
    # a day later both have expired
    later = apply(fs, cfg, None, no_lines, TODAY + dt.timedelta(days=1))
    assert sum(f.rule == "QS004" for f in later) == 2
    assert not any(f.suppressed for f in later)


def test_qs004_can_be_disabled_like_any_rule(repo: Path) -> None:
    cfg = project("disable: [QS004]\nignore:\n  - {rule: QS201, path: a, reason: r, expires: 2020-01-01}\n",
                  repo)
    assert [f.rule for f in apply([], cfg, None, no_lines, TODAY)] == []


# -- apply: inline comments ----------------------------------------------------------------
COMPOSE = """\
services:
  qdrant:
    image: qdrant/qdrant  # qdrantsec: ignore[QS504] pinned by digest in prod overlay
    # qdrantsec: ignore[QS101, qs201]: dev only, bound to the docker network
    environment:
      QDRANT__SERVICE__HOST: 0.0.0.0  # qdrantsec: ignore[QS202]
    # qdrantsec: ignore[QS501] runs rootless podman
    # plain comment in between
    user: root
    command: "echo # qdrantsec: ignore[QS603] not a comment"
"""


@pytest.fixture
def compose(repo: Path) -> str:
    write(repo / "compose.yml", COMPOSE)
    return "compose.yml"


def test_inline_on_the_same_line(compose: str) -> None:
    out = apply([finding("QS504", compose, 3, 12)], ProjectConfig(), None, read_file_lines, TODAY)[0]
    assert out.suppressed and out.suppression == "inline: pinned by digest in prod overlay"


def test_inline_on_the_line_above_with_several_ids(compose: str) -> None:
    fs = [finding("QS101", compose, 5, 5), finding("QS201", compose, 5, 5), finding("QS207", compose, 5, 5)]
    out = {f.rule: f for f in apply(fs, ProjectConfig(), None, read_file_lines, TODAY)}
    assert out["QS101"].suppression == "inline: dev only, bound to the docker network"
    assert out["QS201"].suppressed  # IDs are case-insensitive
    assert not out["QS207"].suppressed  # not listed


def test_trailing_comment_does_not_cover_the_next_line(compose: str) -> None:
    out = apply([finding("QS504", compose, 4, 5)], ProjectConfig(), None, read_file_lines, TODAY)
    assert not out[0].suppressed


def test_comment_block_above_is_contiguous(compose: str) -> None:
    # line 9 "user: root": comment at 7, plain comment at 8 -> the block above holds both
    out = apply([finding("QS501", compose, 9, 5)], ProjectConfig(), None, read_file_lines, TODAY)
    assert out[0].suppression == "inline: runs rootless podman"
    # two lines further down the block is broken by the command line
    out = apply([finding("QS501", compose, 11, 5)], ProjectConfig(), None, read_file_lines, TODAY)
    assert not out[0].suppressed


def test_hash_inside_quotes_is_not_a_comment(compose: str) -> None:
    out = apply([finding("QS603", compose, 10, 14)], ProjectConfig(), None, read_file_lines, TODAY)
    assert not out[0].suppressed


def test_reasonless_inline_does_not_suppress_and_reports_qs003(compose: str) -> None:
    out = apply([finding("QS202", compose, 6, 30)], ProjectConfig(), None, read_file_lines, TODAY)
    by_rule = {f.rule: f for f in out}
    assert not by_rule["QS202"].suppressed
    qs003 = by_rule["QS003"]
    assert qs003.name == "suppression-without-reason" and qs003.severity is Severity.LOW
    assert (qs003.location.file, qs003.location.line, qs003.location.column) == (compose, 6, 39)
    assert "QS202" in qs003.message and "QS202" in qs003.fix
    assert len(out) == 2


def test_qs003_once_per_comment_and_for_files_without_findings(repo: Path) -> None:
    write(repo / "a.env", "QDRANT__SERVICE__API_KEY=  # qdrantsec: ignore[QS202] --\n")
    write(repo / "b.yaml", "x: 1  # qdrantsec: ignore[QS101]\n")
    fs = [finding("QS202", "a.env", 1, 1), finding("QS207", "a.env", 1, 1)]
    out = apply(fs, ProjectConfig(), None, read_file_lines, TODAY, files=["a.env", "b.yaml"])
    qs003 = sorted((f.location.file, f.location.line) for f in out if f.rule == "QS003")
    assert qs003 == [("a.env", 1), ("b.yaml", 1)]  # "--" is not a reason


def test_inline_applies_to_env_files(repo: Path) -> None:
    write(repo / "qdrant.env", "# qdrantsec: ignore[QS208] read by our sidecar, not Qdrant\nQDRANT__FOO=1\n")
    out = apply([finding("QS208", "qdrant.env", 2, 1, env_var="QDRANT__FOO")], ProjectConfig(), None,
                read_file_lines, TODAY)
    assert out[0].suppression == "inline: read by our sidecar, not Qdrant"


def test_unreadable_files_are_no_crash(repo: Path) -> None:
    def broken(path: str) -> list[str]:
        raise OSError("gone")

    out = apply([finding("QS101", "gone.yaml", 1, 1)], ProjectConfig(), None, broken, TODAY)
    assert not out[0].suppressed


def test_ignore_comment_parsing() -> None:
    lines = [
        "a: 1 # qdrantsec: ignore[QS101,QS102] — fine here",
        "# QDRANTSEC: IGNORE[qs201]: ok",
        "b: '#' # qdrantsec: ignore[] nothing",
        "c: x#qdrantsec: ignore[QS101] glued, not a comment",
    ]
    found = ignore_comments(lines)
    assert [(c.rules, c.reason, c.line, c.column, c.whole_line) for c in found] == [
        (("QS101", "QS102"), "fine here", 1, 6, False),
        (("QS201",), "ok", 2, 1, True),
    ]


# -- apply: baseline and precedence --------------------------------------------------------
def test_baseline_suppresses_known_findings(compose: str) -> None:
    known = finding("QS501", compose, 2, 3)
    new = finding("QS502", compose, 2, 3)
    base = {finding_fingerprint(known, read_file_lines)}
    out = {f.rule: f for f in apply([known, new], ProjectConfig(), base, read_file_lines, TODAY)}
    assert out["QS501"].suppression == "baseline"
    assert not out["QS502"].suppressed


def test_inline_wins_over_config_and_baseline(repo: Path, compose: str) -> None:
    cfg = project("ignore:\n  - {rule: QS504, path: compose.yml, reason: config reason}\n", repo)
    f = finding("QS504", compose, 3, 12)
    out = apply([f], cfg, {finding_fingerprint(f, read_file_lines)}, read_file_lines, TODAY)
    assert [x.suppression for x in out if x.rule == "QS504"] == ["inline: pinned by digest in prod overlay"]


def test_already_suppressed_findings_stay_so() -> None:
    f = finding(suppressed=True, suppression="inline: earlier")
    assert apply([f], ProjectConfig(), None, no_lines, TODAY)[0].suppression == "inline: earlier"


# -- exit codes ---------------------------------------------------------------------------
def test_exit_code_numbers_are_pinned() -> None:
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE) == (0, 1, 2)


@pytest.mark.parametrize(
    ("severities", "fail_on", "expected"),
    [
        ([], Severity.INFO, 0),
        ([Severity.MEDIUM], Severity.HIGH, 0),
        ([Severity.HIGH], Severity.HIGH, 1),
        ([Severity.CRITICAL], Severity.HIGH, 1),
        ([Severity.LOW, Severity.INFO], Severity.LOW, 1),
        ([Severity.INFO], Severity.INFO, 1),
        ([Severity.HIGH], Severity.CRITICAL, 0),
    ],
)
def test_exit_code_threshold(severities: list[Severity], fail_on: Severity, expected: int) -> None:
    fs = [finding(severity=s) for s in severities]
    assert exit_code_for(fs, fail_on, exit_zero=False) == expected


def test_suppressed_findings_never_fail_and_exit_zero_wins() -> None:
    quiet = [finding(severity=Severity.CRITICAL, suppressed=True, suppression="baseline")]
    assert exit_code_for(quiet, Severity.INFO, exit_zero=False) == ExitCode.OK
    loud = [finding(severity=Severity.CRITICAL)]
    assert exit_code_for(loud, Severity.INFO, exit_zero=True) == ExitCode.OK
    assert exit_code_for(loud, Severity.INFO, exit_zero=False) == ExitCode.FAILED
