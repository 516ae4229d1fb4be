"""Golden JSON and SARIF output for the realistic fixtures in ``tests/lint/fixtures``: a
compose stack (env_file, interpolation, a mounted production.yaml), a Kubernetes
StatefulSet + Service + ConfigMap, Helm values, layered Qdrant config files and an env file.

Regenerate after an intended change with ``QDRANTSEC_UPDATE_GOLDEN=1 pytest tests/lint/test_golden.py``
and review the diff. The SARIF is also validated against the SARIF 2.1.0 JSON schema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCHEMA = HERE / "sarif-2.1.0.schema.json"
UPDATE = os.environ.get("QDRANTSEC_UPDATE_GOLDEN", "") not in ("", "0")


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    from qdrantsec.lint.engine import lint_paths
    from qdrantsec.lint.registry import all_rules
    from qdrantsec.lint.suppress import ProjectConfig
    from qdrantsec.output.lint_formats import render

    cwd = os.getcwd()
    os.chdir(HERE)  # relative paths in the output: fixtures/...
    try:
        rules = all_rules()
        result = lint_paths(["fixtures"], rules=rules, project=ProjectConfig())
        return {fmt: render(result, fmt, color=False, show_suppressed=False, rules=rules,
                            tool_version="golden")
                for fmt in ("json", "sarif")}
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize(("fmt", "name"), [("json", "fixtures.json"), ("sarif", "fixtures.sarif")])
def test_golden(rendered: dict[str, str], fmt: str, name: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(rendered[fmt], encoding="utf-8")
    assert path.exists(), f"missing {path}; run with QDRANTSEC_UPDATE_GOLDEN=1"
    assert json.loads(rendered[fmt]) == json.loads(path.read_text(encoding="utf-8"))


def test_sarif_is_valid_and_located(rendered: dict[str, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    sarif = json.loads(rendered["sarif"])
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text(encoding="utf-8")))
    (run,) = sarif["runs"]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    results = run["results"]
    assert results and {r["ruleId"] for r in results} <= rule_ids
    lines = [r["locations"][0]["physicalLocation"].get("region", {}).get("startLine") for r in results]
    # real positions, not line 1 for everything
    assert len({ln for ln in lines if ln}) > 20


def test_golden_covers_every_input_kind(rendered: dict[str, str]) -> None:
    findings = json.loads(rendered["json"])["findings"]
    files = {f["file"] for f in findings}
    assert {
        "fixtures/compose/docker-compose.yml", "fixtures/compose/qdrant.env",
        "fixtures/compose/config/production.yaml", "fixtures/k8s/qdrant.yaml",
        "fixtures/helm/values-prod.yaml", "fixtures/config/config.yaml",
        "fixtures/config/production.yaml", "fixtures/env/qdrant.env",
    } <= files
    where = {(f["rule"], f["file"], f["line"], f["column"]) for f in findings}
    # a few hand-checked anchors
    assert ("QS002", "fixtures/config/production.yaml", 6, 3) in where
    assert ("QS103", "fixtures/compose/docker-compose.yml", 19, 9) in where
    assert ("QS203", "fixtures/compose/docker-compose.yml", 21, 9) in where
    assert ("QS208", "fixtures/compose/qdrant.env", 3, 1) in where
    assert ("QS303", "fixtures/k8s/qdrant.yaml", 15, 21) in where  # inside the ConfigMap
    assert ("QS207", "fixtures/k8s/qdrant.yaml", 75, 22) in where
    assert ("QS101", "fixtures/env/qdrant.env", 2, 1) in where
    assert ("QS207", "fixtures/helm/values-prod.yaml", 12, 17) in where
