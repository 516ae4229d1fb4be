from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs601_cors_any_origin import CorsAnyOrigin

from .helpers import at, config_target, one, run

RULE = CorsAnyOrigin()


def test_default_without_key_is_medium() -> None:
    f = one(RULE, config_target("service:\n  host: 127.0.0.1\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (1, 1)
    assert f.location.note == "Qdrant default"


def test_explicit_with_key_is_low() -> None:
    f = one(RULE, config_target("service:\n  api_key: k\n  enable_cors: true\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (3, 16)


def test_disabled_passes() -> None:
    assert run(RULE, config_target("service:\n  enable_cors: false\n")) == []


def test_defaults_only_for_targets_that_run_qdrant() -> None:
    t = config_target("log_level: INFO\n")
    t.runs_qdrant = False
    assert run(RULE, t) == []
    t = config_target("service:\n  enable_cors: true\n")
    t.runs_qdrant = False
    assert one(RULE, t).severity is Severity.MEDIUM
