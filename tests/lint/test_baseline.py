"""Baselines: fingerprints that survive unrelated edits, the file format, and errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qdrantsec import __version__
from qdrantsec.errors import InputError
from qdrantsec.lint.baseline import (
    baseline_fingerprints,
    finding_fingerprint,
    load_baseline,
    normalize_message,
    read_file_lines,
    write_baseline,
)
from qdrantsec.lint.model import Finding, Location, Severity
from qdrantsec.lint.project_config import ProjectConfig
from qdrantsec.lint.suppress import apply

CONFIG = "service:\n  host: 0.0.0.0\n  api_key: ''\n"


def finding(rule: str = "QS101", file: str = "config.yaml", line: int | None = 2,
            message: str = "Qdrant binds to all interfaces (0.0.0.0)", **kw: object) -> Finding:
    return Finding(rule, "bind-all-interfaces", Severity.HIGH, message, Location(file, line, 9), **kw)  # type: ignore[arg-type]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def test_fingerprint_ignores_line_shifts(here: Path) -> None:
    before = finding_fingerprint(finding(line=2))
    (here / "config.yaml").write_text("# a new header comment\n\nlog_level: INFO\n" + CONFIG)
    after = finding_fingerprint(finding(line=5))
    assert before == after
    assert len(before) == 64 and int(before, 16) >= 0


def test_fingerprint_changes_with_the_offending_line(here: Path) -> None:
    before = finding_fingerprint(finding())
    (here / "config.yaml").write_text(CONFIG.replace("0.0.0.0", "::"))
    assert finding_fingerprint(finding()) != before


def test_fingerprint_parts(here: Path) -> None:
    base = finding_fingerprint(finding())
    assert finding_fingerprint(finding(rule="QS102")) != base
    assert finding_fingerprint(finding(message="something else")) != base
    assert finding_fingerprint(finding(file="other.yaml")) != base
    env = finding()
    env.location = Location("config.yaml", 2, 9, env_var="QDRANT__SERVICE__HOST")
    assert finding_fingerprint(env) != base
    # not part of it: the column, the severity, the fix, the target, the suppression
    other = finding(fix="x", target="t", suppressed=True, suppression="baseline")
    other.severity = Severity.LOW
    other.location = Location("config.yaml", 2, 1)
    assert finding_fingerprint(other) == base


def test_fingerprint_paths_are_normalised(here: Path) -> None:
    base = finding_fingerprint(finding(file="config.yaml"))
    assert finding_fingerprint(finding(file="./config.yaml")) == base
    assert finding_fingerprint(finding(file=str(here / "config.yaml"))) == base


def test_fingerprint_paths_are_relative_to_the_repository(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (here / ".git").mkdir()
    (here / "deploy").mkdir()
    (here / "deploy/config.yaml").write_text(CONFIG)
    from_root = finding_fingerprint(finding(file="deploy/config.yaml"))
    monkeypatch.chdir(here / "deploy")
    assert finding_fingerprint(finding(file="config.yaml")) == from_root
    assert finding_fingerprint(finding(file="../deploy/config.yaml")) == from_root


def test_messages_are_normalised() -> None:
    assert normalize_message("duplicate key  'api_key'\n(first at line 3)") == \
        "duplicate key 'api_key' (first at line N)"
    assert normalize_message("mounted from config.yaml:12:3") == "mounted from config.yaml"


def test_fingerprint_without_a_readable_line(here: Path) -> None:
    gone = finding(file="missing.yaml")
    assert finding_fingerprint(gone) == finding_fingerprint(finding(file="missing.yaml", line=40))
    no_line = finding(line=None)
    assert len(finding_fingerprint(no_line)) == 64


def test_custom_reader_is_used(here: Path) -> None:
    calls: list[str] = []

    def reader(path: str) -> list[str]:
        calls.append(path)
        return ["x", "  host: 0.0.0.0  "]

    assert finding_fingerprint(finding(), reader) == finding_fingerprint(finding())
    assert calls == ["config.yaml"]


_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ONE_LINE = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=_LINE_BREAKS), max_size=30
)


@settings(max_examples=50, deadline=None)
@given(st.lists(_ONE_LINE, max_size=20))
def test_inserting_lines_above_never_changes_the_fingerprint(inserted: list[str]) -> None:
    lines = CONFIG.splitlines()
    shifted = inserted + lines
    f1 = finding(line=2)
    f2 = finding(line=2 + len(inserted))
    assert finding_fingerprint(f1, lambda _: lines) == finding_fingerprint(f2, lambda _: shifted)


# -- the file ----------------------------------------------------------------------------
def test_write_and_load_round_trip(here: Path) -> None:
    fs = [finding(), finding(rule="QS202", line=3, message="api_key is empty"), finding()]
    count = write_baseline("baseline.json", fs)
    data = json.loads((here / "baseline.json").read_text())
    assert count == 2
    assert data["version"] == 1
    assert data["generated_by"] == f"qdrantsec {__version__}"
    assert data["fingerprints"] == sorted(data["fingerprints"]) and len(data["fingerprints"]) == 2
    assert load_baseline("baseline.json") == set(data["fingerprints"])


def test_write_overwrites(here: Path) -> None:
    write_baseline("baseline.json", [finding()])
    write_baseline("baseline.json", [])
    assert load_baseline("baseline.json") == set()


def test_baseline_leaves_out_inline_and_config_suppressions(here: Path) -> None:
    fs = [
        finding(rule="QS101"),
        finding(rule="QS102", suppressed=True, suppression="inline: reason"),
        finding(rule="QS103", suppressed=True, suppression="config: reason"),
        finding(rule="QS104", suppressed=True, suppression="baseline"),
    ]
    prints = baseline_fingerprints(fs)
    assert prints == sorted([finding_fingerprint(fs[0]), finding_fingerprint(fs[3])])


def test_adopting_a_baseline_end_to_end(here: Path) -> None:
    old = [finding(), finding(rule="QS202", line=3, message="api_key is empty")]
    write_baseline("qdrantsec-baseline.json", old)
    base = load_baseline("qdrantsec-baseline.json")
    # lines shift and a new problem appears
    (here / "config.yaml").write_text("# header\n" + CONFIG + "  enable_cors: true\n")
    now = [finding(line=3), finding(rule="QS202", line=4, message="api_key is empty"),
           finding(rule="QS601", line=5, message="CORS allows any origin")]
    out = apply(now, ProjectConfig(), base, read_file_lines, dt.date(2026, 1, 1))
    assert [(f.rule, f.suppression) for f in out] == [("QS101", "baseline"), ("QS202", "baseline"),
                                                      ("QS601", None)]


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("{not json", "not JSON"),
        ("[]", "not a qdrantsec baseline"),
        ('{"version": 2, "fingerprints": []}', "version 2"),
        ('{"fingerprints": []}', "version None"),
        ('{"version": 1, "fingerprints": "abc"}', "must be a list"),
        ('{"version": 1, "fingerprints": ["xyz"]}', "#1 is not a sha256"),
        ('{"version": 1, "fingerprints": [' + '"' + "A" * 64 + '"]}', "#1 is not a sha256"),
    ],
)
def test_bad_baselines(here: Path, content: str, what: str) -> None:
    (here / "b.json").write_text(content)
    with pytest.raises(InputError, match=what) as err:
        load_baseline("b.json")
    assert err.value.hint and "--write-baseline" in err.value.hint


def test_missing_baseline(here: Path) -> None:
    with pytest.raises(InputError, match="baseline file not found"):
        load_baseline("nope.json")
    with pytest.raises(InputError, match="does not exist"):
        write_baseline("no/such/dir/b.json", [finding()])


def test_read_file_lines_tolerates_bad_input(here: Path) -> None:
    (here / "bin").write_bytes(b"\xff\xfe\x00bad\r\nline2")
    assert read_file_lines("bin")[1] == "line2"
    assert read_file_lines("absent") == []
    (here / "bom.yaml").write_bytes("\ufeffa: 1\r\nb: 2\r\n".encode())
    assert read_file_lines("bom.yaml") == ["a: 1", "b: 2"]
