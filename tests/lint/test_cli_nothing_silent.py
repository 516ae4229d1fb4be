"""`qdrantsec lint` never passes on input it did not understand (issue 8): a config with
Qdrant's sections but made-up keys is linted with Qdrant's defaults, a named file of no
known kind is an input error, and a run that finds no Qdrant deployment fails unless
``--allow-empty``. Through the CLI, with exit codes and stderr pinned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qdrantsec.cli.app import main

TUTORIAL = Path(__file__).parent / "fixtures" / "tutorial" / "qdrant.yaml"
OPEN_CONFIG = "service:\n  host: 0.0.0.0\n"
Cap = pytest.CaptureFixture[str]
UNKNOWN = "not recognised as a Qdrant config, compose file, Kubernetes manifest, Helm values or env file"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()  # .qdrantsec.yaml discovery stops here
    monkeypatch.chdir(tmp_path)
    for var in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def lint(capsys: Cap, *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. Qdrant's sections with keys Qdrant does not have ------------------------------------

def test_tutorial_config_with_named_api_keys_is_linted_with_qdrants_defaults(
    repo: Path, capsys: Cap
) -> None:
    shutil.copy(TUTORIAL, repo / "qdrant.yaml")
    code, out, err = lint(capsys, "qdrant.yaml", "--format", "json")
    assert code == 1 and err == ""
    found = json.loads(out)["findings"]
    by_rule = {(f["rule"], f["line"]) for f in found}
    # no key at all (Qdrant ignores `api_keys`), reachable on every interface
    assert ("QS201", 5) in by_rule and ("QS101", 6) in by_rule
    unknown = {f["line"]: f["message"] for f in found if f["rule"] == "QS208"}
    assert "did you mean `service.api_key`?" in unknown[8]
    assert "did you mean `service.http_port`?" in unknown[7]
    assert "did you mean `storage.storage_path`?" in unknown[13]
    assert set(unknown) == {7, 8, 13, 15}  # service.port, service.api_keys, storage.path, log
    assert [f["severity"] for f in found if f["rule"] == "QS208" and f["line"] == 8] == ["high"]


def test_tutorial_config_found_in_a_directory_too(repo: Path, capsys: Cap) -> None:
    shutil.copy(TUTORIAL, repo / "deploy.yml")
    code, out, err = lint(capsys, ".", "-v", "--format", "json")
    assert code == 1 and "skipped deploy.yml" not in err and "1 Qdrant deployments linted" in err
    assert {f["rule"] for f in json.loads(out)["findings"]} >= {"QS201", "QS101", "QS208"}


def test_a_chart_service_section_is_not_a_qdrant_config(repo: Path, capsys: Cap) -> None:
    write(repo / "values-override.yaml", "service:\n  type: LoadBalancer\n  port: 6333\n")
    write(repo / "config.yaml", "service:\n  host: 127.0.0.1\n  api_key: ${QDRANT_API_KEY}\n")
    code, out, err = lint(capsys, ".", "-v", "--format", "json", "--fail-on", "critical")
    assert code == 0
    assert "skipped values-override.yaml: not a Qdrant config" in err
    assert {f["file"] for f in json.loads(out)["findings"]} == {"config.yaml"}


# -- 2. a named file of no known kind -----------------------------------------------------

def test_named_file_of_no_known_kind_is_an_input_error(repo: Path, capsys: Cap) -> None:
    write(repo / "qdrant.yml", "service:\n  listen: 0.0.0.0\n")  # one section, nothing Qdrant's in it
    code, out, err = lint(capsys, "qdrant.yml")
    assert code == 2
    assert err.splitlines()[0] == (
        f"qdrantsec: error: qdrant.yml: {UNKNOWN}; to lint it as one, give --kind qdrant-config "
        "(or --ignore-unknown to skip such files)")
    assert out.endswith("1 file could not be linted.\n")
    # what the error suggests works: linted with Qdrant's defaults
    code, out, err = lint(capsys, "qdrant.yml", "--kind", "qdrant-config", "--format", "json")
    assert code == 1 and err == ""
    assert {"QS201", "QS101", "QS208"} <= {f["rule"] for f in json.loads(out)["findings"]}


def test_named_file_without_a_guess_lists_every_kind(repo: Path, capsys: Cap) -> None:
    write(repo / ".github" / "workflows" / "ci.yml", "on: push\njobs: {}\n")
    code, _, err = lint(capsys, ".github/workflows/ci.yml")
    assert code == 2
    assert (f"qdrantsec: error: .github/workflows/ci.yml: {UNKNOWN}; to lint it as one, give --kind KIND "
            "(qdrant-config, compose, k8s, helm-values, env) (or --ignore-unknown to skip such files)") in err
    # the same file is only skipped (and listed with -v) when found by walking a directory
    write(repo / "config.yaml", OPEN_CONFIG)
    code, _, err = lint(capsys, ".", "-v", "--exit-zero")
    assert code == 0 and "skipped .github/workflows/ci.yml: not a Qdrant config" in err


def test_errors_reach_every_format(repo: Path, capsys: Cap) -> None:
    write(repo / "ci.yml", "on: push\n")
    code, out, _ = lint(capsys, "ci.yml", "--format", "sarif")
    invocation = json.loads(out)["runs"][0]["invocations"][0]
    assert code == 2 and invocation["executionSuccessful"] is False


def test_sarif_of_a_refused_run_says_the_execution_failed(repo: Path, capsys: Cap) -> None:
    # SARIF's executionSuccessful is about the run, not its results: a run that found no
    # Qdrant deployment exits 2, and its report must not claim success
    write(repo / "deploy" / "ci.yml", "on: push\n")
    code, out, err = lint(capsys, "deploy", "--format", "sarif")
    assert code == 2 and err.startswith("qdrantsec: error: no Qdrant deployment found in deploy")
    (invocation,) = json.loads(out)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"].startswith("no Qdrant deployment found")
    # the same run accepted with --allow-empty succeeded; so did one with findings
    code, out, _ = lint(capsys, "deploy", "--format", "sarif", "--allow-empty")
    assert code == 0
    assert json.loads(out)["runs"][0]["invocations"] == [{"executionSuccessful": True}]
    write(repo / "deploy" / "config.yaml", OPEN_CONFIG)
    code, out, _ = lint(capsys, "deploy", "--format", "sarif")
    run = json.loads(out)["runs"][0]
    assert code == 1 and run["results"] and run["invocations"] == [{"executionSuccessful": True}]


def test_ignore_unknown_skips_named_files_as_a_walk_does(repo: Path, capsys: Cap) -> None:
    """The pre-commit hook passes every changed YAML file by name."""
    write(repo / "ci.yml", "on: push\n")
    write(repo / "config.yaml", OPEN_CONFIG)
    code, _, err = lint(capsys, "ci.yml", "config.yaml", "--ignore-unknown", "--exit-zero")
    assert code == 0 and err == ""
    code, _, err = lint(capsys, "ci.yml", "--ignore-unknown")
    assert code == 2 and "error: no Qdrant deployment found in ci.yml" in err
    code, _, err = lint(capsys, "ci.yml", "--ignore-unknown", "--allow-empty")
    assert (code, err) == (0, "")
    hook = (Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "entry: qdrantsec lint --ignore-unknown --allow-empty" in hook


def test_named_env_file_without_overrides_is_listed_as_skipped(
    repo: Path, capsys: Cap
) -> None:
    write(repo / "client.env", "QDRANT_API_KEY=abc\nQDRANT_URL=http://q:6333\n")
    write(repo / "config.yaml", OPEN_CONFIG)
    code, out, err = lint(capsys, "client.env", "config.yaml", "--exit-zero")
    assert code == 0 and err == ""
    assert out.rstrip().endswith("Skipped 1 named file (client.env): an env file without QDRANT__ "
                                 "variables (Qdrant reads nothing from it).")


# -- 3. nothing to lint at all --------------------------------------------------------------

def test_a_run_with_no_qdrant_deployment_fails(repo: Path, capsys: Cap) -> None:
    write(repo / "docs" / "README.md", "no deployment here\n")
    write(repo / "docs" / "mkdocs.yml", "site_name: docs\n")
    code, out, err = lint(capsys, "docs", "--format", "json")
    assert code == 2
    assert json.loads(out)["findings"] == []  # the report is still written
    assert err == (
        "qdrantsec: error: no Qdrant deployment found in docs: no Qdrant config, env file with "
        "QDRANT__ variables, compose file, Kubernetes manifest or Helm values there\n"
        "qdrantsec: hint: -v lists the files skipped and why; --kind KIND lints a file as KIND; "
        "--allow-empty accepts a run with nothing to lint\n")
    code, out, err = lint(capsys, "docs", "--allow-empty")
    assert (code, err) == (0, "") and out == "No problems found in 0 files.\n"


def test_a_compose_file_without_qdrant_is_no_deployment(repo: Path, capsys: Cap) -> None:
    write(repo / "compose.yaml", "services:\n  web:\n    image: nginx:1.27\n")
    code, _, err = lint(capsys, "compose.yaml")
    assert code == 2
    assert err.startswith("qdrantsec: error: no Qdrant deployment found in compose.yaml: 1 file linted, "
                          "with no Qdrant config")
    assert lint(capsys, "compose.yaml", "--allow-empty")[0] == 0


def test_an_empty_directory_and_the_default_path(repo: Path, capsys: Cap) -> None:
    (repo / "empty").mkdir()
    code, _, err = lint(capsys, "empty")
    assert code == 2 and "no Qdrant deployment found in empty:" in err
    code, _, err = lint(capsys)  # the current directory
    assert code == 2 and "no Qdrant deployment found in .:" in err


def test_allow_empty_keeps_findings_and_input_errors(repo: Path, capsys: Cap) -> None:
    write(repo / "broken.yaml", "services: [\n")  # QS001, and no deployment
    code, out, _ = lint(capsys, "broken.yaml", "--allow-empty", "--format", "json")
    assert code == 1 and [f["rule"] for f in json.loads(out)["findings"]] == ["QS001"]
    code, _, err = lint(capsys, "missing.yaml", "--allow-empty")
    assert code == 2 and "missing.yaml: file not found" in err


def test_help_documents_the_new_options(capsys: Cap) -> None:
    assert main(["lint", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--allow-empty" in out and "--ignore-unknown" in out
    assert "no Qdrant deployment found" in out


# -- 5. the same class of problem elsewhere in lint -----------------------------------------

def test_env_file_that_changes_nothing_is_an_input_error(repo: Path, capsys: Cap) -> None:
    write(repo / "config.yaml", OPEN_CONFIG)
    write(repo / "client.env", "QDRANT_API_KEY=abc\n")  # the client's variable, not an override
    code, _, err = lint(capsys, "config.yaml", "--env-file", "client.env")
    assert code == 2
    assert ("qdrantsec: error: client.env: --env-file: no QDRANT__ variable (nor RUN_MODE) in it, so "
            "it changes nothing; Qdrant reads QDRANT__SECTION__KEY=value, e.g. QDRANT__SERVICE__API_KEY\n"
            ) in err
    write(repo / "mode.env", "RUN_MODE=production\n")
    assert lint(capsys, "config.yaml", "--env-file", "mode.env", "--exit-zero")[0] == 0


def test_a_baseline_that_matches_nothing_says_so(repo: Path, capsys: Cap) -> None:
    write(repo / "old" / "config.yaml", OPEN_CONFIG)
    assert lint(capsys, "old", "--write-baseline", "baseline.json", "--exit-zero")[0] == 0
    code, _, err = lint(capsys, "old", "--baseline", "baseline.json")
    assert (code, err) == (0, "")  # everything recorded: suppressed
    (repo / "old").rename(repo / "deploy")  # the baseline now names paths that are gone
    code, _, err = lint(capsys, "deploy", "--baseline", "baseline.json")
    assert code == 1
    assert err == ("qdrantsec: warning: the baseline baseline.json matched none of this run's findings, "
                   "so it suppressed nothing: it was written for other paths (or from another directory), "
                   "or everything in it is fixed; write it again with --write-baseline\n")


def test_env_file_that_applies_to_nothing_warns(repo: Path, capsys: Cap) -> None:
    write(repo / "compose.yaml", "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n")
    write(repo / "prod.env", "QDRANT__SERVICE__HOST=127.0.0.1\n")
    code, _, err = lint(capsys, "compose.yaml", "--env-file", "prod.env", "--exit-zero")
    assert code == 0
    assert err == ("qdrantsec: warning: --env-file prod.env applied to nothing: it sets QDRANT__ variables "
                   "for Qdrant config files, and none was linted (compose services, Kubernetes workloads "
                   "and Helm releases take their environment from their own files)\n")
    write(repo / "config.yaml", OPEN_CONFIG)  # now it has a config to apply to
    code, _, err = lint(capsys, "compose.yaml", "config.yaml", "--env-file", "prod.env", "--exit-zero")
    assert (code, err) == (0, "")
