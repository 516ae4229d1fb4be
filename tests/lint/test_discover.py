"""File discovery and kind detection by content."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from qdrantsec.lint.discover import detect_kind, discover, name_kind_hint
from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.inputs.source import read_source


def kind_of(tmp_path: Path, name: str, text: str) -> str | None:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return detect_kind(read_source(str(path)), hint=name_kind_hint(name))


@pytest.mark.parametrize(("name", "text", "kind"), [
    ("anything.yaml", "service:\n  host: 0.0.0.0\n  api_key: x\n", "qdrant-config"),
    ("settings.yml", "telemetry_disabled: true\n", "qdrant-config"),
    ("cfg.yaml", "storage:\n  storage_path: /data\nservice:\n  http_port: 6333\n", "qdrant-config"),
    ("stack.yaml", "services:\n  q:\n    image: qdrant/qdrant\n", "compose"),
    ("x.yml", "services:\n  app:\n    build: .\n", "compose"),
    ("all.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: q}\n", "k8s"),
    ("multi.yaml", "foo: 1\n---\napiVersion: apps/v1\nkind: Deployment\n", "k8s"),
    ("values.yaml", "image:\n  repository: docker.io/qdrant/qdrant\n", "helm-values"),
    ("my-values.yaml", "replicaCount: 3\napiKey: true\n", "helm-values"),
    ("override.yaml", "config:\n  service:\n    enable_tls: true\n", "helm-values"),
    ("v.yaml", "persistence:\n  size: 1Gi\nconfig:\n  cluster:\n    enabled: true\n", "helm-values"),
    ("qdrant.env", "QDRANT__SERVICE__API_KEY=abc\n", "env"),
    (".env.production", "# c\nexport QDRANT__LOG_LEVEL=INFO\nOTHER='x'\n", "env"),
    ("envfile", "QDRANT__SERVICE__HOST=0.0.0.0\n", "env"),
    # not ours
    ("compose.env", "QDRANT_API_KEY=abc\nQDRANT_URL=http://q:6333\n", None),
    ("workflow.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n", None),
    ("app.yaml", "service:\n  name: billing\n  replicas: 3\nlogging: {}\n", None),
    ("list.yaml", "- a\n- b\n", None),
    ("scalar.yaml", "just text\n", None),
    ("svc.yaml", "services:\n  - not a mapping\n", None),
])
def test_kind_by_content(tmp_path: Path, name: str, text: str, kind: str | None) -> None:
    assert kind_of(tmp_path, name, text) == kind


@pytest.mark.parametrize(("text", "kind"), [
    # Qdrant's own sections with keys it does not have: Qdrant ignores them and runs with its
    # defaults, so these are the configs that most need linting
    ("service:\n  api_keys:\n    admin: x\n", "qdrant-config"),
    ("service:\n  apiKey: x\n", "qdrant-config"),
    ("service:\n  read-only-api-key: x\n", "qdrant-config"),
    ("service:\n  bind: 0.0.0.0\nstorage:\n  data_dir: /data\n", "qdrant-config"),
    ("service:\n  host: 0.0.0.0\n  api_keys: {admin: x}\nstorage:\n  path: ./d\nlog:\n  level: info\n",
     "qdrant-config"),
    ("inference:\n  adress: http://x\ngpu:\n  indexng: true\n", "qdrant-config"),
    ("feature_flags:\n  all: true\n", "qdrant-config"),
    ("debugger:\n  pyroscope: {url: http://p}\n", "qdrant-config"),
    # the same names, holding another tool's settings
    ("service:\n  type: LoadBalancer\n  port: 6333\n", None),  # a chart's Kubernetes Service
    ("service:\n  type: ClusterIP\nstorage:\n  size: 10Gi\n", None),
    ("service:\n  loadBalancerIP: 10.0.0.1\ncluster:\n  x: 1\n", None),
    ("service: billing\nprovider:\n  name: aws\nfunctions: {}\n", None),  # serverless.yml
    ("service:\n  bind: 0.0.0.0\n", None),  # one section, nothing of Qdrant's in it
    ("cluster:\n  name: prod\n", None),
    ("tls:\n  enabled: true\n  secretName: x\n", None),
    ("service:\n  api_keys: {admin: x}\nimage: nginx\nreplicas: 2\nports: [80]\n", None),
    ("debug: true\n", None),
])
def test_qdrant_sections_with_unknown_keys(tmp_path: Path, text: str, kind: str | None) -> None:
    assert kind_of(tmp_path, "conf.yaml", text) == kind




def test_kind_does_not_depend_on_the_name(tmp_path: Path) -> None:
    assert kind_of(tmp_path, "docker-compose.yml", "service:\n  enable_tls: false\n") == "qdrant-config"
    assert kind_of(tmp_path, "config.yaml", "services:\n  q:\n    image: qdrant/qdrant\n") == "compose"


@pytest.mark.parametrize(("name", "hint"), [
    ("a.yaml", "yaml"), ("b.YML", "yaml"), ("docker-compose.override", "yaml"), ("compose.prod", "yaml"),
    (".env", "env"), (".env.local", "env"), ("qdrant.env", "env"), ("x.env.example", "env"), ("env", "env"),
    ("Dockerfile", None), ("README.md", "skip"), ("main.py", "skip"), ("data.json", "skip"),
    ("values.yaml.gotmpl", "yaml"), ("helmfile.gotmpl", "yaml"),
])
def test_name_hints(name: str, hint: str | None) -> None:
    assert name_kind_hint(name) == hint


def test_walk_skips_vendored_and_vcs_dirs_and_non_candidates(tmp_path: Path) -> None:
    for rel in ["a.yaml", "sub/b.yml", ".git/c.yaml", "node_modules/d.yaml", ".venv/e.yaml", "vendor/f.yaml",
                "sub/README.md", "sub/.env", "sub/Dockerfile", "x.egg-info/g.yaml"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("k: v\n")
    found = [(Path(c.path).relative_to(tmp_path).as_posix(), c.explicit, c.by_name)
             for c in discover([str(tmp_path)])]
    assert found == [("a.yaml", False, True), ("sub/.env", False, True), ("sub/Dockerfile", False, False),
                     ("sub/b.yml", False, True)]
    explicit = list(discover([str(tmp_path / "sub" / "README.md")]))
    assert [(c.explicit, c.by_name) for c in explicit] == [(True, False)]


def test_walk_honours_ignored_paths(tmp_path: Path) -> None:
    (tmp_path / "keep.yaml").write_text("k: v\n")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "drop.yaml").write_text("k: v\n")
    skipped: list[tuple[str, str]] = []
    found = [Path(c.path).name for c in discover(
        [str(tmp_path)], ignored=lambda p: "/skip/" in p, on_skip=lambda p, why: skipped.append((p, why)))]
    assert found == ["keep.yaml"]
    assert skipped and skipped[0][0].endswith("drop.yaml")


def test_forced_kind_and_skipped_files_listed(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text("service:\n  name: billing\n")
    (tmp_path / "other.yml").write_text("on: push\n")
    res = lint_paths([str(tmp_path)], rules=[])
    assert res.targets == []
    assert sorted(n.split(": ")[0] for n in res.notes) == sorted(
        f"skipped {tmp_path / n}" for n in ("odd.yaml", "other.yml"))
    forced = lint_paths([str(tmp_path / "odd.yaml")], rules=[], kind="qdrant-config")
    assert [t.kind for t in forced.targets] == ["qdrant-config"]


def test_unknown_forced_kind_is_a_usage_error(tmp_path: Path) -> None:
    from qdrantsec.errors import UsageError

    with pytest.raises(UsageError, match="unknown kind"):
        lint_paths([str(tmp_path)], rules=[], kind="terraform")


def test_gotmpl_files_are_found_and_skipped_as_templates(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml.gotmpl"
    # valid YAML that looks like Qdrant chart values: still a template, not linted
    values.write_text("image:\n  repository: qdrant/qdrant\napiKey: ''\n", encoding="utf-8")
    (tmp_path / "env.gotmpl").write_text("apiKey: {{ .Values.key }}\n", encoding="utf-8")
    result = lint_paths([str(tmp_path)])
    assert result.targets == [] and result.findings == [] and not result.errors
    skipped = [n for n in result.notes if "a template (Helm/Jinja actions)" in n]
    assert len(skipped) == 2
    named = lint_paths([str(values)])
    assert named.targets == [] and [p for p, _ in named.skipped] == [str(values)]
    assert "Go template" in named.skipped[0][1]


def test_a_directory_that_cannot_be_listed_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A silent skip would let a CI run pass having linted nothing (root reads everything,
    so the permission error is simulated)."""
    import os

    from qdrantsec.cli.app import main

    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "config.yaml").write_text("service:\n  host: 127.0.0.1\n  api_key: x\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path) == str(locked):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    code = main(["lint", str(tmp_path), "--fail-on", "critical"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{locked}" in err and "cannot list directory: permission denied" in err
