from pathlib import Path

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs604_run_mode_unset import RunModeUnset

from .helpers import at, config_target, one, run

RULE = RunModeUnset()


def test_development_yaml_beside_config(tmp_path: Path) -> None:
    (tmp_path / "development.yaml").write_text("log_level: DEBUG\n")
    f = one(RULE, config_target("\nservice:\n  host: 0.0.0.0\n", file=str(tmp_path / "config.yaml")))
    assert f.severity is Severity.LOW
    assert at(f) == (2, 1)


def test_run_mode_known_or_no_dev_file_passes(tmp_path: Path) -> None:
    file = str(tmp_path / "config.yaml")
    assert run(RULE, config_target("service:\n  host: 0.0.0.0\n", file=file)) == []
    (tmp_path / "development.yml").write_text("log_level: DEBUG\n")
    assert run(RULE, config_target("service: {}\n", file=file, extra={"run_mode": "production"})) == []
    assert run(RULE, config_target("log_level: DEBUG\n", file=str(tmp_path / "development.yml"))) == []


def test_layered_development_file_is_reported_at_it() -> None:
    t = config_target("service:\n  host: 0.0.0.0\n", file="config/config.yaml")
    dev_root = config_target("\nlog_level: DEBUG\n", file="config/development.yaml")
    t.config_files = ["config/config.yaml", "config/development.yaml"]
    t.extra["config_nodes"].update(dev_root.extra["config_nodes"])
    f = one(RULE, t)
    assert f.location.file == "config/development.yaml"
    assert at(f) == (2, 1)
