"""`qdrantsec lint` end to end through the CLI's error boundary: exit codes, formats and
several outputs in one run, --list-rules/--explain, .qdrantsec.yaml discovery, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qdrantsec.cli.app import main

SCHEMA = Path(__file__).with_name("sarif-2.1.0.schema.json")
OPEN_CONFIG = "service:\n  host: 0.0.0.0\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root (so .qdrantsec.yaml discovery stops here) as the working dir."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_exit_codes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "docs" / "README.md", "nothing to lint\n")
    code, _, err = lint(capsys, "docs")
    assert code == 2 and "error: no Qdrant deployment found in docs" in err
    assert lint(capsys, "docs", "--allow-empty")[0] == 0
    write(repo / "deploy" / "config.yaml", OPEN_CONFIG)
    assert lint(capsys, "deploy")[0] == 1  # QS201/QS101 are critical
    assert lint(capsys, "deploy", "--exit-zero")[0] == 0
    code, _, err = lint(capsys, "deploy", "nope.yaml")
    assert code == 2 and "nope.yaml: file not found" in err
    code, _, err = lint(capsys, "--explain", "QS999")
    assert code == 2 and "QS999" in err
    assert lint(capsys, "deploy", "--fail-on", "bogus")[0] == 2
    assert lint(capsys, "deploy", "--kind", "terraform")[0] == 2


def test_fail_on_threshold(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # telemetry on and CORS on: low/medium findings only, plus audit off
    write(repo / "c.yaml", "service:\n  host: 127.0.0.1\n  api_key: ${QDRANT_API_KEY}\n"
          "  enable_tls: true\ntls:\n  cert: a.pem\n  key: b.pem\n")
    code, out, _ = lint(capsys, "c.yaml", "--format", "json", "--fail-on", "critical")
    found = json.loads(out)["findings"]
    assert found and all(f["severity"] != "critical" for f in found)
    assert code == 0
    assert lint(capsys, "c.yaml", "--fail-on", "info")[0] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "unknown format"),
    (["--format", "json", "--format", "text"], "only one --format can go to stdout"),
    (["--output", "a.out"], "cannot tell the format"),
    (["--format", "json", "--output", "a.json", "--output", "b.json"], "2 --output given for 1 --format"),
    (["--format", "json", "--output", "x.json", "--format", "sarif", "--output", "x.json"], "twice"),
])
def test_bad_format_output_pairs_are_usage_errors(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    write(repo / "c.yaml", OPEN_CONFIG)
    code, _, err = lint(capsys, "c.yaml", *args)
    assert code == 2 and message in err


def test_json_and_sarif_in_one_run(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    write(repo / "deploy" / "config.yaml", OPEN_CONFIG)
    # the Nth --output goes with the Nth --format; the format left over goes to stdout
    code, out, _ = lint(capsys, "deploy", "--format", "sarif", "--output", "out/q.sarif", "--format", "junit",
                        "--output", "q.xml", "--format", "json")
    assert code == 1
    data = json.loads(out)
    rules = {f["rule"] for f in data["findings"]}
    assert {"QS101", "QS201"} <= rules
    first = next(f for f in data["findings"] if f["rule"] == "QS101")
    assert (first["file"], first["line"], first["column"]) == ("deploy/config.yaml", 2, 9)
    keys = {"rule", "name", "severity", "file", "line", "column", "message", "fix", "suppressed"}
    assert set(first) >= keys
    sarif = json.loads((repo / "out" / "q.sarif").read_text())
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    assert sarif["version"] == "2.1.0"
    assert (repo / "q.xml").read_text().startswith("<?xml")


def test_auto_format_is_github_under_actions(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "c.yaml", OPEN_CONFIG)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = lint(capsys, "c.yaml")
    assert code == 1 and "::error file=c.yaml,line=2,col=9" in out
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, out, _ = lint(capsys, "c.yaml")
    assert "c.yaml:2:9" in out and "\x1b[" not in out  # not a TTY: no colour


def test_list_rules_and_explain(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--list-rules")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()[1:]]
    assert {"QS001", "QS002", "QS101", "QS201"} <= set(ids) and ids == sorted(ids)
    code, out, _ = lint(capsys, "--explain", "qs201")
    assert code == 0
    assert out.startswith("QS201 no-authentication")
    for heading in ("What it does", "Why it matters", "Use instead", "References"):
        assert f"\n{heading}\n" in out
    code, out, _ = lint(capsys, "--explain", "QS002")
    assert code == 0 and "Qdrant keeps the last" in out


def test_project_file_discovery(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "deploy" / "config.yaml", OPEN_CONFIG)
    write(repo / "deploy" / "vendor-copy" / "config.yaml", OPEN_CONFIG)
    write(repo / ".qdrantsec.yaml", "disable: [QS201]\nseverity: {QS101: low}\n"
          "ignore_paths: [deploy/vendor-copy/]\n")
    _, out, _ = lint(capsys, "deploy", "--format", "json")
    data = json.loads(out)
    assert all(f["rule"] != "QS201" for f in data["findings"])
    assert all("vendor-copy" not in f["file"] for f in data["findings"])
    qs101 = [f for f in data["findings"] if f["rule"] == "QS101"]
    assert [f["severity"] for f in qs101] == ["low"]
    # a typo in the project file is an input error, not a silent no-op
    write(repo / ".qdrantsec.yaml", "disable: [QS2O1]\n")
    assert lint(capsys, "deploy")[0] == 2


def test_baseline_round_trip(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "config.yaml", OPEN_CONFIG)
    code, _, err = lint(capsys, "config.yaml", "--write-baseline", "baseline.json", "--exit-zero")
    assert code == 0 and "baseline.json" in err
    code, out, _ = lint(capsys, "config.yaml", "--baseline", "baseline.json", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["findings"] == [] and data["summary"]["suppressed"] > 0
    code, out, _ = lint(capsys, "config.yaml", "--baseline", "baseline.json", "--format", "json",
                        "--show-suppressed")
    assert all(f["suppressed"] for f in json.loads(out)["findings"])
    # a new problem is not in the baseline
    write(repo / "config.yaml", OPEN_CONFIG + "  api_key: \"\"\n")
    assert lint(capsys, "config.yaml", "--baseline", "baseline.json")[0] == 1


def test_inline_suppression_needs_a_reason(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "c.yaml", "service:\n  host: 0.0.0.0  # qdrantsec: ignore[QS101]\n")
    _, out, _ = lint(capsys, "c.yaml", "--format", "json")
    rules = [f["rule"] for f in json.loads(out)["findings"]]
    assert "QS101" in rules and "QS003" in rules
    write(repo / "c.yaml", "service:\n  host: 0.0.0.0  # qdrantsec: ignore[QS101] inside a private VPC\n")
    _, out, _ = lint(capsys, "c.yaml", "--format", "json")
    assert "QS101" not in [f["rule"] for f in json.loads(out)["findings"]]


def test_verbose_lists_skipped_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "ci.yml", "on: push\n")
    write(repo / "c.yaml", OPEN_CONFIG)
    _, _, err = lint(capsys, ".", "-v", "--format", "json")
    assert "skipped ci.yml" in err and "1 Qdrant deployments linted" in err


def test_env_file_option_and_invalid_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "c.yaml", OPEN_CONFIG)
    write(repo / "prod.env", "QDRANT__SERVICE__HOST=127.0.0.1\n")
    write(repo / "broken.yaml", "service: [\n")
    code, out, _ = lint(capsys, "c.yaml", "broken.yaml", "--env-file", "prod.env", "--format", "json")
    found = json.loads(out)["findings"]
    assert not [f for f in found if f["rule"] == "QS101"]  # the env file moved the bind to loopback
    assert [(f["file"], f["line"]) for f in found if f["rule"] == "QS001"] == [("broken.yaml", 2)]
    assert code == 1  # QS001 is high


def test_help_is_fast_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    for option in ("--kind", "--env-file", "--format", "--output", "--fail-on", "--exit-zero", "--list-rules",
                   "--explain", "--baseline", "--write-baseline", "--show-suppressed", "--cert-expiry-days",
                   "--peer-uri"):
        assert option in out
