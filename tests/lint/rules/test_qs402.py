from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs402_audit_trusts_forwarded_headers import AuditTrustsForwardedHeaders

from .helpers import at, config_target, one, run

RULE = AuditTrustsForwardedHeaders()


def test_trusted_headers_with_audit_on() -> None:
    f = one(RULE, config_target("audit:\n  enabled: true\n  trust_forwarded_headers: true\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (3, 28)


def test_audit_off_is_low() -> None:
    assert one(RULE, config_target("audit:\n  trust_forwarded_headers: true\n")).severity is Severity.LOW


def test_default_passes() -> None:
    assert run(RULE, config_target("audit:\n  enabled: true\n")) == []
    assert run(RULE, config_target("")) == []
