from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs205_rotation_unfinished import RotationUnfinished

from .helpers import at, config_target, one, run

RULE = RotationUnfinished()


def test_alt_key_set() -> None:
    f = one(RULE, config_target("service:\n  api_key: a\n  alt_api_key: b\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (3, 16)


def test_no_alt_passes() -> None:
    assert run(RULE, config_target("service:\n  api_key: a\n")) == []
    assert run(RULE, config_target('service:\n  api_key: a\n  alt_api_key: ""\n')) == []
