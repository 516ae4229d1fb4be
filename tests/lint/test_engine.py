"""Engine robustness: every bad file is a finding (or, for an unreadable path named on the
command line, an error) and never a traceback; the other files are still linted."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from qdrantsec.lint.engine import dedupe, lint_paths
from qdrantsec.lint.inputs.source import MAX_BYTES
from qdrantsec.lint.model import Finding, LintResult, Location, Rule, Severity, Target


class HostRule(Rule):
    """A throwaway rule: reports where service.host comes from, so tests see which targets
    were built and that locations survive."""

    id = "QS900"
    name = "test-host"
    severity = Severity.HIGH
    summary = rationale = fix = "test"

    def check(self, target: Target) -> Iterable[Finding]:
        yield self.finding(f"host {target.config.get('service.host')}", target.loc("service.host"),
                           target=target)


class BrokenRule(Rule):
    id = "QS901"
    name = "broken"
    severity = Severity.LOW
    summary = rationale = fix = "test"

    def check(self, target: Target) -> Iterable[Finding]:
        raise KeyError("boom")


GOOD = "service:\n  host: 10.1.2.3\n"


def run(tmp_path: Path, files: dict[str, bytes | str], **kw: object) -> LintResult:
    for name, data in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            p.write_text(data, encoding="utf-8", newline="")
        else:
            p.write_bytes(data)
    kw.setdefault("rules", [HostRule()])
    return lint_paths([str(tmp_path)], **kw)  # type: ignore[arg-type]


def by_rule(res: LintResult, rule: str) -> list[tuple[str, int | None, int | None, str]]:
    return [(Path(f.location.file or "").name, f.location.line, f.location.column, f.message)
            for f in res.findings if f.rule == rule]


def test_invalid_yaml_is_qs001_at_the_error_and_others_still_linted(tmp_path: Path) -> None:
    res = run(tmp_path, {"bad.yaml": "service:\n  api_key: \"unclosed\n  host: x\n", "good.yaml": GOOD})
    (bad,) = by_rule(res, "QS001")
    assert bad[0] == "bad.yaml" and bad[1] == 4 and "invalid YAML" in bad[3]
    assert by_rule(res, "QS900") == [("good.yaml", 2, 9, "host 10.1.2.3")]
    f = next(f for f in res.findings if f.rule == "QS001")
    assert f.severity is Severity.HIGH and f.name == "invalid-file"


def test_tab_indentation_reports_line_and_column(tmp_path: Path) -> None:
    res = run(tmp_path, {"c.yaml": "service:\n\thost: 0.0.0.0\n"})
    (bad,) = by_rule(res, "QS001")
    assert bad[1:3] == (2, 1)


def test_binary_undecodable_and_huge_files(tmp_path: Path) -> None:
    res = run(tmp_path, {
        "bin.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00",
        "latin1.yml": "service:\n  host: caf\xe9\n".encode("latin-1"),
        "huge.yaml": b"a: b\n" * (MAX_BYTES // 5 + 1),
        "blob": b"\x00\x01\x02",  # no extension, binary: not ours, skipped silently
        "good.yaml": GOOD,
    })
    got = {name: (line, col, msg) for name, line, col, msg in by_rule(res, "QS001")}
    assert set(got) == {"bin.yaml", "latin1.yml", "huge.yaml"}
    assert "binary" in got["bin.yaml"][2]
    assert got["latin1.yml"][:2] == (2, 12) and "UTF-8" in got["latin1.yml"][2]
    assert "too large" in got["huge.yaml"][2]
    assert len(by_rule(res, "QS900")) == 1
    assert any("blob" in n for n in res.notes)


def test_empty_files_are_skipped_unless_a_kind_is_forced(tmp_path: Path) -> None:
    res = run(tmp_path, {"empty.yaml": "", "blank.yml": "\n  \n"})
    assert res.findings == [] and res.targets == []
    assert sum("empty file" in n for n in res.notes) == 2
    forced = lint_paths([str(tmp_path / "empty.yaml")], rules=[HostRule()], kind="qdrant-config")
    assert [(f.location.note, f.message) for f in forced.findings] == [("Qdrant default", "host 0.0.0.0")]


def test_duplicate_keys_are_qs002_at_the_duplicate_and_the_last_wins(tmp_path: Path) -> None:
    res = run(tmp_path, {"c.yaml": "service:\n  host: 127.0.0.1\n  enable_tls: true\n  host: 0.0.0.0\n"})
    assert by_rule(res, "QS002") == [
        ("c.yaml", 4, 3, "duplicate key 'host' (first at line 2); Qdrant keeps the last")]
    assert by_rule(res, "QS900") == [("c.yaml", 4, 9, "host 0.0.0.0")]
    assert next(f for f in res.findings if f.rule == "QS002").severity is Severity.MEDIUM


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 12):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("service:\n  host: *l")
    start = time.monotonic()
    res = run(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n", "good.yaml": GOOD})
    assert time.monotonic() - start < 5
    (bomb,) = by_rule(res, "QS001")
    assert bomb[0] == "bomb.yaml" and "alias bomb" in bomb[3] and bomb[1] is not None
    assert len(by_rule(res, "QS900")) == 1


def test_anchors_and_merges_resolve(tmp_path: Path) -> None:
    text = "x-base: &base\n  host: 10.9.9.9\nservice:\n  <<: *base\n  http_port: 6333\n"
    res = run(tmp_path, {"c.yaml": text}, kind="qdrant-config")
    assert by_rule(res, "QS900") == [("c.yaml", 2, 9, "host 10.9.9.9")]


def test_crlf_and_bom_keep_positions(tmp_path: Path) -> None:
    res = run(tmp_path, {
        "crlf.yaml": "service:\r\n  api_key: k\r\n  host: 10.0.0.1\r\n",
        "bom.yaml": "\ufeffservice:\n  host: 10.0.0.2\n",
        "bom.env": "\ufeffQDRANT__SERVICE__HOST=10.0.0.3\r\n",
    })
    assert sorted(by_rule(res, "QS900")) == [
        ("bom.env", 1, 1, "host 10.0.0.3"), ("bom.yaml", 2, 9, "host 10.0.0.2"),
        ("crlf.yaml", 3, 9, "host 10.0.0.1")]


def test_multi_document_qdrant_config_uses_the_first_and_says_so(tmp_path: Path) -> None:
    res = run(tmp_path, {"c.yaml": "service:\n  host: 10.0.0.1\n---\nservice:\n  host: 0.0.0.0\n"})
    (multi,) = by_rule(res, "QS001")
    assert multi[1] == 4 and "several YAML documents" in multi[3]
    assert by_rule(res, "QS900") == [("c.yaml", 2, 9, "host 10.0.0.1")]


def test_multi_document_manifests_are_all_read(tmp_path: Path) -> None:
    res = run(tmp_path, {"m.yaml": (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers:\n"
        "    - name: q\n      image: qdrant/qdrant:v1.19.0\n"
        "      env: [{name: QDRANT__SERVICE__HOST, value: 10.0.0.9}]\n")})
    (target,) = res.targets
    assert [o.kind for o in target.k8s_objects] == ["Namespace", "Pod"]
    assert by_rule(res, "QS900") == [("m.yaml", 13, 50, "host 10.0.0.9")]


def test_templates_and_unrelated_invalid_yaml(tmp_path: Path) -> None:
    res = run(tmp_path, {
        "chart/templates/deploy.yaml": "{{- if .Values.x }}\nkind: {{ .Values.kind }}\n  - broken: [\n",
        "noext": "key: [unclosed\n",
    })
    assert res.findings == []
    # named explicitly (as pre-commit does): a template is still skipped, broken YAML is not
    explicit = lint_paths([str(tmp_path / "chart/templates/deploy.yaml")], rules=[HostRule()])
    assert explicit.findings == [] and "(a template)" in explicit.notes[0]
    explicit = lint_paths([str(tmp_path / "noext")], rules=[HostRule()])
    assert [(f.rule, f.location.line) for f in explicit.findings] == [("QS001", 2)]


def test_unreadable_explicit_path_is_an_error_others_still_linted(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    res = lint_paths([str(tmp_path / "missing.yaml"), str(tmp_path / "good.yaml")], rules=[HostRule()])
    assert [(Path(e.file).name, e.message) for e in res.errors] == [("missing.yaml", "file not found")]
    assert len(by_rule(res, "QS900")) == 1


def test_missing_env_file_option_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    res = lint_paths([str(tmp_path)], rules=[HostRule()], env_files=[str(tmp_path / "nope.env")])
    assert len(res.errors) == 1 and "--env-file" in res.errors[0].message


def test_a_crashing_rule_is_reported_and_the_others_run(tmp_path: Path) -> None:
    res = run(tmp_path, {"good.yaml": GOOD}, rules=[BrokenRule(), HostRule()])
    assert len(by_rule(res, "QS900")) == 1
    (err,) = res.errors
    assert "internal error in rule QS901" in err.message and "KeyError" in err.message


def test_findings_from_a_shared_layer_are_reported_once(tmp_path: Path) -> None:
    res = run(tmp_path, {"config.yaml": "service:\n  host: 10.0.0.1\n", "a.yaml": "log_level: INFO\n",
                         "b.yaml": "log_level: DEBUG\n"})
    assert len(res.targets) == 2
    assert by_rule(res, "QS900") == [("config.yaml", 2, 9, "host 10.0.0.1")]
    f = Finding("QS1", "n", Severity.LOW, "m", Location("f", 1, 1))
    assert len(dedupe([f, Finding("QS1", "n", Severity.LOW, "m", Location("f", 1, 1))])) == 1


def test_findings_are_sorted_and_inline_suppressions_apply(tmp_path: Path) -> None:
    res = run(tmp_path, {
        "b.yaml": "service:\n  # qdrantsec: ignore[QS900] private address only\n  host: 10.0.0.1\n",
        "a.yaml": GOOD,
    })
    assert [(Path(f.location.file or "").name, f.suppressed) for f in res.findings] == [
        ("a.yaml", False), ("b.yaml", True)]


@pytest.mark.parametrize("kind", ["compose", "k8s", "helm-values", "env", "qdrant-config"])
def test_forced_kind_on_garbage_never_raises(tmp_path: Path, kind: str) -> None:
    res = run(tmp_path, {"x.yaml": "- 1\n- [2, {a: b}]\n", "y.yaml": "services: 3\n", "z.env": "not env\n"},
              kind=kind)
    assert res.errors == []


def test_a_file_given_with_its_directory_is_linted_once(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    res = lint_paths([str(tmp_path), str(tmp_path / "good.yaml")], rules=[HostRule()])
    assert len(res.files) == 1 and len(res.targets) == 1


def test_duplicate_variables_in_env_files(tmp_path: Path) -> None:
    res = run(tmp_path, {"q.env": "QDRANT__SERVICE__HOST=10.0.0.1\nX=1\nQDRANT__SERVICE__HOST=10.0.0.2\n"})
    assert by_rule(res, "QS002") == [
        ("q.env", 3, 1, "duplicate key 'QDRANT__SERVICE__HOST' (first at line 1); the last one wins")]
    assert by_rule(res, "QS900") == [("q.env", 3, 1, "host 10.0.0.2")]


FRAGMENTS = [
    "service:\n", "  host: 0.0.0.0\n", "  api_key: ", '""', "${KEY:-x}", "&a ", "*a", "<<: *a\n",
    "services:\n  q:\n    image: qdrant/qdrant\n", "    ports: [\"6333:6333\"]\n", "    environment:\n",
    "      - QDRANT__SERVICE__API_KEY=\n", "apiVersion: v1\nkind: Pod\n", "spec:\n  containers:\n",
    "    - image: qdrant/qdrant\n      env: [{name: QDRANT__X, value: 1}]\n",
    "config:\n  cluster: {enabled: true}\n",
    "apiKey: true\n", "QDRANT__SERVICE__HOST=::\n", "---\n", "\t", "\r\n", "\ufeff", "[", "{", "}", ":", "- ",
    "tls: null\n", "cluster:\n  p2p: 3\n", "audit: [1]\n", "\x00", "é", "  ", "\n", "'", '"',
]


@pytest.mark.parametrize("name", ["c.yaml", "docker-compose.yml", "q.env", "values.yaml", "noext"])
def test_fuzzed_files_never_crash_the_engine_or_the_rules(tmp_path: Path, name: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from qdrantsec.lint.registry import all_rules

    rules = all_rules()
    path = tmp_path / name

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
    def check(parts: list[str]) -> None:
        path.write_bytes("".join(parts).encode("utf-8"))
        res = lint_paths([str(path)], rules=rules)
        # the only error a readable named file may give: it is none of the kinds
        assert all(e.message.startswith("not recognised as a Qdrant config") for e in res.errors), res.errors

    check()


KEYS = ["service", "host", "api_key", "read_only_api_key", "enable_tls", "services", "image", "ports",
        "environment", "env_file", "volumes", "user", "apiVersion", "kind", "spec", "template", "containers",
        "env", "name", "value", "valueFrom", "config", "apiKey", "cluster", "enabled", "p2p", "tls", "cert",
        "audit", "metadata", "data", "securityContext", "type", "selector", "command", "qdrant"]


@pytest.mark.parametrize("seed_doc", [
    {}, {"services": {"q": {"image": "qdrant/qdrant"}}}, {"apiVersion": "v1", "kind": "Pod"},
    {"image": {"repository": "qdrant/qdrant"}}, {"service": {"api_key": "k"}},
])
def test_fuzzed_structures_never_crash_the_engine_or_the_rules(
    tmp_path: Path, seed_doc: dict[str, object]
) -> None:
    import yaml
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from qdrantsec.lint.registry import all_rules

    rules = all_rules()
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from(
        ["", "0.0.0.0", "qdrant/qdrant:latest", "6333:6333", "QDRANT__SERVICE__API_KEY=x", "${X}", "true",
         "/qdrant/config/production.yaml", "Deployment", "apps/v1", "./x:/qdrant/config/config.yaml"]))
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
        max_leaves=25)
    path = tmp_path / "x.yaml"

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
    def check(doc: dict[str, object]) -> None:
        path.write_text(yaml.safe_dump({**seed_doc, **doc}))
        for kind in (None, "qdrant-config", "compose", "k8s", "helm-values"):
            res = lint_paths([str(path)], rules=rules, kind=kind)
            # undetected, the named file is an input error saying so; never another error
            assert all(kind is None and e.message.startswith("not recognised as a Qdrant config")
                       for e in res.errors), res.errors

    check()
