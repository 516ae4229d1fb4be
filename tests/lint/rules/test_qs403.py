from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs403_audit_short_retention import AuditShortRetention

from .helpers import at, config_target, one, run

RULE = AuditShortRetention()


def test_daily_three_files() -> None:
    f = one(RULE, config_target("audit:\n  enabled: true\n  max_log_files: 3\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (3, 18)
    assert "3 day" in f.message


def test_hourly_default_seven_files() -> None:
    f = one(RULE, config_target("audit:\n  enabled: true\n  rotation: hourly\n"))
    assert at(f) == (3, 13)
    assert "7 hour" in f.message


def test_enough_retention_passes() -> None:
    assert run(RULE, config_target("audit:\n  enabled: true\n")) == []
    hourly = "audit:\n  enabled: true\n  rotation: hourly\n  max_log_files: 200\n"
    assert run(RULE, config_target(hourly)) == []
    assert run(RULE, config_target("audit:\n  enabled: false\n  max_log_files: 1\n")) == []
