"""The shipped examples: the README's main job lints them, so their results are pinned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qdrantsec.cli.app import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def lint_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["lint", str(path), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_insecure_example_fails_with_real_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = lint_json(EXAMPLES / "insecure-compose", capsys)
    assert code == 1
    found = {(f["rule"], Path(f["file"]).name, f["line"]) for f in report["findings"]}
    assert ("QS103", "docker-compose.yml", 10) in found  # p2p port published
    assert ("QS208", "production.yaml", 6) in found  # `api-key` typo, silently ignored
    assert ("QS203", "docker-compose.yml", 13) in found  # `changeme` read-only key
    assert ("QS202", "docker-compose.yml", 12) in found  # ${QDRANT_API_KEY:-} may be empty
    assert ("QS303", "production.yaml", 11) in found  # cluster without p2p TLS
    assert all(f["line"] for f in report["findings"] if f["file"])


def test_hardened_example_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = lint_json(EXAMPLES / "hardened", capsys, "--fail-on", "info")
    assert code == 0
    assert [f for f in report["findings"] if not f["suppressed"]] == []
