from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs404_audit_dir_relative import AuditDirRelative

from .helpers import at, compose_target, config_target, one, run

RULE = AuditDirRelative()


def test_default_dir_points_at_audit_section() -> None:
    f = one(RULE, config_target("audit:\n  enabled: true\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (1, 1)
    assert "./storage/audit" in f.message


def test_explicit_relative_dir() -> None:
    assert at(one(RULE, config_target("audit:\n  enabled: true\n  dir: audit\n"))) == (3, 8)


def test_absolute_or_container_passes() -> None:
    assert run(RULE, config_target("audit:\n  enabled: true\n  dir: /var/lib/qdrant/audit\n")) == []
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__AUDIT__ENABLED=true\n")
    assert run(RULE, t) == []
