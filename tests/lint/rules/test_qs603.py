from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs603_telemetry_enabled import TelemetryEnabled

from .helpers import at, compose_target, config_target, one, run

RULE = TelemetryEnabled()


def test_explicit_false() -> None:
    f = one(RULE, config_target("log_level: INFO\ntelemetry_disabled: false\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (2, 21)


def test_default_in_compose_points_at_service() -> None:
    assert at(one(RULE, compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n"))) == (2, 3)


def test_disabled_passes() -> None:
    assert run(RULE, config_target("telemetry_disabled: true\n")) == []
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n"
                       "    command: ./qdrant --disable-telemetry\n")
    assert run(RULE, t) == []
