"""The lint run a directory at a time (what the CLI does: ``lint_paths(stream=True)``)
gives the same reports as the run that keeps every file to the end (``_lint_whole``), also
when findings are spilled to disk in several sorted runs, when one config file is layered
into several targets (de-duplication), with inline suppressions, and when a directory uses
a file of one linted before it (the run then starts again whole)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qdrantsec.lint import engine, store
from qdrantsec.lint.registry import all_rules
from qdrantsec.lint.store import FindingStore
from qdrantsec.output.lint_formats import render
from tests.lint.filehelpers import write

FIXTURES = Path(__file__).parent / "fixtures"

CONFIG = """
service:
  host: 0.0.0.0
  api_key: changeme  # qdrantsec: ignore[QS203] a test key
  enable_tls: false
cluster:
  enabled: true
"""

COMPOSE = """
services:
  qdrant:
    image: qdrant/qdrant:latest
    ports: ["6333:6333"]
    volumes:
      - ./config.yaml:/qdrant/config/production.yaml
  replica:
    image: qdrant/qdrant:latest
    volumes:
      - ./config.yaml:/qdrant/config/production.yaml
"""


def _reports(result: object, rules: list) -> dict[str, str]:
    return {fmt: render(result, fmt, color=False, show_suppressed=True, rules=rules,  # type: ignore[arg-type]
                        tool_version="t") for fmt in ("json", "sarif", "text")}


def _both(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, list]:
    monkeypatch.chdir(root)
    rules = all_rules()
    whole = engine._lint_whole(["."], None, [], rules, None, 30, (), None, None)
    streamed = engine.lint_paths(["."], rules=rules, stream=True)
    return whole, streamed, rules


def _tree(base: Path, apps: int) -> None:
    for i in range(apps):
        write(base, f"app{i:02}/config.yaml", CONFIG)
        write(base, f"app{i:02}/docker-compose.yml", COMPOSE)
        write(base, f"app{i:02}/qdrant.env", "QDRANT__SERVICE__API_KEY=\nQDRANT__SERVICE__API_KEY=x\n")
        write(base, f"solo{i:02}/config.yaml", CONFIG.replace("0.0.0.0", f"10.0.0.{i}"))


def test_streaming_run_reports_what_the_whole_run_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 12)
    monkeypatch.setattr(store, "RUN_SIZE", 16)  # many sorted runs on disk to merge
    whole, streamed, rules = _both(tmp_path, monkeypatch)
    assert isinstance(streamed.findings, FindingStore)  # type: ignore[attr-defined]
    assert len(streamed.findings._runs) > 3  # type: ignore[attr-defined]  # it did spill
    assert _reports(whole, rules) == _reports(streamed, rules)
    # the config layered into both services is reported once per place, as before
    assert len(list(streamed.findings)) == len(whole.findings)  # type: ignore[attr-defined]
    assert any(f.suppressed and f.rule == "QS203" for f in streamed.findings)  # type: ignore[attr-defined]
    # what is left of the targets: their kind and file (a directory's at a time)
    assert sorted((t.kind, t.file) for t in streamed.targets) == sorted(  # type: ignore[attr-defined]
        (t.kind, t.file) for t in whole.targets)  # type: ignore[attr-defined]
    assert streamed.files == whole.files and streamed.notes == whole.notes  # type: ignore[attr-defined]


def test_fixtures_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    whole, streamed, rules = _both(FIXTURES.parent, monkeypatch)
    assert _reports(whole, rules) == _reports(streamed, rules)


def test_a_directory_that_uses_an_earlier_one_makes_the_run_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a/ is linted before b/, and b's compose file mounts ../a/config.yaml: linted alone
    # with a/ it would be a target of its own, so the run starts again whole
    write(tmp_path, "a/config.yaml", CONFIG)
    write(tmp_path, "b/docker-compose.yml", COMPOSE.replace("./config.yaml", "../a/config.yaml"))
    whole, streamed, rules = _both(tmp_path, monkeypatch)
    assert isinstance(streamed.findings, list)  # type: ignore[attr-defined]  # the whole run's result
    assert _reports(whole, rules) == _reports(streamed, rules)
    assert [t.kind for t in streamed.targets] == ["compose", "compose"]  # type: ignore[attr-defined]
    assert "a/config.yaml is linted as part of the service that uses it" in streamed.notes  # type: ignore[attr-defined]


def test_a_directory_named_twice_makes_the_run_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "a/config.yaml", CONFIG)
    write(tmp_path, "a/other.yaml", CONFIG)
    write(tmp_path, "b/config.yaml", CONFIG)
    monkeypatch.chdir(tmp_path)
    rules = all_rules()
    paths = ["a/config.yaml", "b", "a/other.yaml"]
    whole = engine._lint_whole(paths, None, [], rules, None, 30, (), None, None)
    streamed = engine.lint_paths(paths, rules=rules, stream=True)
    assert isinstance(streamed.findings, list)
    assert _reports(whole, rules) == _reports(streamed, rules)


def test_the_cli_json_report_is_the_whole_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrantsec.cli.app import main

    _tree(tmp_path, 3)
    whole, _, rules = _both(tmp_path, monkeypatch)
    out = tmp_path.parent / f"{tmp_path.name}-report.json"
    assert main(["lint", ".", "--format", "json", "--output", str(out), "--exit-zero"]) == 0
    assert out.read_text() == render(whole, "json", color=False, show_suppressed=False,  # type: ignore[arg-type]
                                     rules=rules, tool_version="t")
    os.unlink(out)


def _jobs(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, list]:
    monkeypatch.chdir(root)
    monkeypatch.setattr(engine._Fork, "MIN_FILES", 1)  # fork even for a small tree
    monkeypatch.setattr(engine._Fork, "core_free", staticmethod(lambda: True))  # and on a busy machine
    rules = all_rules()
    whole = engine._lint_whole(["."], None, [], rules, None, 30, (), None, None)
    forked = engine.lint_paths(["."], rules=rules, stream=True, jobs=2)
    return whole, forked, rules


def test_two_processes_report_what_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 12)
    merged: list[bool] = []
    merge = engine._Fork.merge
    monkeypatch.setattr(engine._Fork, "merge", lambda self, *a: merged.append(merge(self, *a)) or merged[-1])
    whole, forked, rules = _jobs(tmp_path, monkeypatch)
    assert merged == [True]  # the second half came from the child
    assert _reports(whole, rules) == _reports(forked, rules)
    assert forked.files == whole.files and forked.notes == whole.notes  # type: ignore[attr-defined]
    assert len(forked.targets) == len(whole.targets)  # type: ignore[attr-defined]


def test_first_half_using_a_file_of_the_second_is_linted_in_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the parent's compose file mounts zz/config.yaml, which the child would lint alone
    _tree(tmp_path, 6)
    write(tmp_path, "a0/docker-compose.yml", COMPOSE.replace("./config.yaml", "../zz/config.yaml"))
    write(tmp_path, "zz/config.yaml", CONFIG)
    whole, forked, rules = _jobs(tmp_path, monkeypatch)
    assert _reports(whole, rules) == _reports(forked, rules)
    assert "zz/config.yaml is linted as part of the service that uses it" in forked.notes  # type: ignore[attr-defined]


def test_second_half_using_a_file_of_the_first_makes_the_run_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 6)
    write(tmp_path, "zz/docker-compose.yml", COMPOSE.replace("./config.yaml", "../app00/config.yaml"))
    whole, forked, rules = _jobs(tmp_path, monkeypatch)
    assert isinstance(forked.findings, list)  # type: ignore[attr-defined]  # the whole run's
    assert _reports(whole, rules) == _reports(forked, rules)


def test_a_child_that_cannot_find_its_half_leaves_it_to_the_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the tree changed between the plan's walk and the child's: the child fails, and the
    # parent lints the second half itself (nothing lost, nothing twice)
    _tree(tmp_path, 12)
    merged: list[bool] = []
    merge = engine._Fork.merge
    monkeypatch.setattr(engine._Fork, "merge", lambda self, *a: merged.append(merge(self, *a)) or merged[-1])
    monkeypatch.setattr(engine, "_skip_to", lambda events, cut: None)
    whole, forked, rules = _jobs(tmp_path, monkeypatch)
    assert merged == [False]
    assert _reports(whole, rules) == _reports(forked, rules)
    assert forked.files == whole.files and forked.notes == whole.notes  # type: ignore[attr-defined]


def test_a_directory_named_twice_is_found_by_the_two_process_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 6)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine._Fork, "MIN_FILES", 1)
    monkeypatch.setattr(engine._Fork, "core_free", staticmethod(lambda: True))
    rules = all_rules()
    args = ["app00/config.yaml", "solo00", "app00/docker-compose.yml"]
    whole = engine._lint_whole(args, None, [], rules, None, 30, (), None, None)
    forked = engine.lint_paths(args, rules=rules, stream=True, jobs=2)
    assert isinstance(forked.findings, list)  # type: ignore[attr-defined]  # the whole run's
    assert _reports(whole, rules) == _reports(forked, rules)


def _sarif_both_ways(result: object, rules: list, **kw: object) -> tuple[list[str], str]:
    from qdrantsec.output import lint_sarif, to_json

    pieces = list(lint_sarif.chunks(result, rules=rules, tool_version="t", **kw))  # type: ignore[arg-type]
    whole = to_json(lint_sarif.document(result, rules=rules, tool_version="t", **kw)) + "\n"  # type: ignore[arg-type]
    return pieces, whole


def test_sarif_is_written_in_pieces_with_the_encoders_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 40)
    monkeypatch.setattr(store, "RUN_SIZE", 64)
    whole, streamed, rules = _both(tmp_path, monkeypatch)
    for result in (whole, streamed):
        pieces, text = _sarif_both_ways(result, rules)
        assert len(pieces) > 3 and "".join(pieces) == text  # a few hundred results a piece


def test_sarif_pieces_with_notifications_and_no_results() -> None:
    from qdrantsec.lint.model import FileError, Finding, LintResult, Location, Severity

    rules = all_rules()
    odd = Finding("QS999", "made-up", Severity.HIGH, 'a "quoted"\nmessage é',
                  Location(None, note="Qdrant default"), fix="fix it", target="t")
    filed = Finding("QS101", "bind-all-interfaces", Severity.MEDIUM, "m",
                    Location("a b/c.yaml", 3, 4, "QDRANT__X"), suppressed=True, suppression="inline: why")
    cases = [LintResult(), LintResult(findings=[odd]),
             LintResult(findings=[filed, odd], errors=[FileError("x", "bad")])]
    for result in cases:
        for refused in (None, "nothing to lint"):
            pieces, text = _sarif_both_ways(result, rules, refused=refused)
            assert "".join(pieces) == text
    # the finding with no file is a notification, not a result
    assert '"results": []' in "".join(_sarif_both_ways(cases[1], rules)[0])


def test_jobs_1_never_forks_and_gives_the_same_report(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrantsec.cli.app import main

    _tree(tmp_path, 3)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine._Fork, "MIN_FILES", 1)  # a second process would be used...
    monkeypatch.setattr(engine._Fork, "core_free", staticmethod(lambda: True))
    reports = []
    for jobs in ("2", "1"):
        out = tmp_path.parent / f"{tmp_path.name}-report-{jobs}.json"
        if jobs == "1":   # ...but --jobs 1 must not fork at all
            def no_fork() -> int:
                raise AssertionError("forked with --jobs 1")
            monkeypatch.setattr(os, "fork", no_fork)
        assert main(["lint", ".", "--format", "json", "--output", str(out), "--exit-zero",
                     "--jobs", jobs]) == 0
        reports.append(out.read_text())
        os.unlink(out)
    assert reports[0] == reports[1]
    assert main(["lint", ".", "--jobs", "3"]) == 2            # only 1 or 2
