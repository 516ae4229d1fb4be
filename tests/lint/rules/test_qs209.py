from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs209_internal_auth_off import InternalAuthOff

from .helpers import at, config_target, one, run

RULE = InternalAuthOff()


def test_cluster_with_key_without_enforcement() -> None:
    f = one(RULE, config_target("service:\n  api_key: k\ncluster:\n  enabled: true\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (1, 1)
    assert f.location.note == "Qdrant default"


def test_explicit_false_points_at_value() -> None:
    text = "service:\n  api_key: k\n  enforce_internal_auth: false\ncluster:\n  enabled: true\n"
    f = one(RULE, config_target(text))
    assert at(f) == (3, 26)


def test_passes() -> None:
    text = "service:\n  api_key: k\n  enforce_internal_auth: true\ncluster:\n  enabled: true\n"
    assert run(RULE, config_target(text)) == []
    assert run(RULE, config_target("service:\n  api_key: k\n")) == []
    assert run(RULE, config_target("cluster:\n  enabled: true\n")) == []
