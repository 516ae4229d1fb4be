from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs401_audit_disabled import AuditDisabled

from .helpers import at, compose_target, config_target, one, run

RULE = AuditDisabled()


def test_no_audit_section() -> None:
    f = one(RULE, config_target("service:\n  api_key: k\n"))
    assert f.severity is Severity.MEDIUM
    assert "no `audit` section" in f.message
    assert at(f) == (1, 1)


def test_audit_disabled_points_at_value() -> None:
    f = one(RULE, config_target("audit:\n  enabled: false\n"))
    assert at(f) == (2, 12)


def test_audit_section_without_enabled_points_at_section() -> None:
    f = one(RULE, config_target("log_level: INFO\naudit:\n  dir: /var/audit\n"))
    assert at(f) == (2, 1)


def test_compose_default_points_at_service() -> None:
    f = one(RULE, compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n"))
    assert at(f) == (2, 3)


def test_enabled_passes() -> None:
    assert run(RULE, config_target("audit:\n  enabled: true\n")) == []
    assert run(RULE, config_target("", env={"QDRANT__AUDIT__ENABLED": "1"})) == []
