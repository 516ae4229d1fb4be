from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs101_bind_all_interfaces import BindAllInterfaces

from .helpers import at, compose_target, config_target, one, run

RULE = BindAllInterfaces()


def test_wildcard_without_key_is_critical_at_the_value() -> None:
    f = one(RULE, config_target("service:\n  host: 0.0.0.0\n"))
    assert f.severity is Severity.CRITICAL
    assert at(f) == (2, 9)
    assert f.rule == "QS101"


def test_ipv6_wildcard_with_key_is_medium() -> None:
    f = one(RULE, config_target('service:\n  host: "::"\n  api_key: k\n'))
    assert f.severity is Severity.MEDIUM


def test_default_points_at_service_section() -> None:
    f = one(RULE, config_target("log_level: INFO\nservice:\n  http_port: 6333\n"))
    assert at(f) == (2, 1)
    assert f.location.note == "Qdrant default"


def test_default_with_no_file_content_is_qdrant_default_in_file() -> None:
    f = one(RULE, config_target(""))
    assert f.location.file == "config.yaml" and f.location.line is None
    assert f.location.note == "Qdrant default"


def test_container_with_key_is_low_and_points_at_service() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n"
                       "    environment:\n      QDRANT__SERVICE__API_KEY: ${KEY:?set it}\n")
    f = one(RULE, t)
    assert f.severity is Severity.LOW
    assert at(f) == (2, 3)


def test_loopback_passes() -> None:
    assert run(RULE, config_target("service:\n  host: 127.0.0.1\n")) == []


def test_env_override_location() -> None:
    t = config_target("service:\n  host: 127.0.0.1\n", env={"QDRANT__SERVICE__HOST": "0.0.0.0"})
    f = one(RULE, t)
    assert f.location.env_var == "QDRANT__SERVICE__HOST"


def test_container_without_key_high_unless_published() -> None:
    base = "services:\n  qdrant:\n    image: qdrant/qdrant\n"
    assert one(RULE, compose_target(base)).severity is Severity.HIGH
    published = compose_target(base + "    ports:\n      - 6333:6333\n")
    assert one(RULE, published).severity is Severity.CRITICAL
