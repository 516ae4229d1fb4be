from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs204_key_reused import KeyReused

from .helpers import at, config_target, run

RULE = KeyReused()


def test_read_only_equals_api_key() -> None:
    [f] = run(RULE, config_target("service:\n  api_key: same\n  read_only_api_key: same\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (3, 22)


def test_alt_equals_api_key_is_medium() -> None:
    [f] = run(RULE, config_target("service:\n  api_key: same\n  alt_api_key: same\n"))
    assert f.severity is Severity.MEDIUM


def test_same_reference() -> None:
    env = {"QDRANT__SERVICE__API_KEY": "${K:?}", "QDRANT__SERVICE__READ_ONLY_API_KEY": "${K:?}"}
    [f] = run(RULE, config_target("", env=env))
    assert f.location.env_var == "QDRANT__SERVICE__READ_ONLY_API_KEY"


def test_distinct_passes() -> None:
    text = "service:\n  api_key: a\n  read_only_api_key: b\n  alt_api_key: c\n"
    assert run(RULE, config_target(text)) == []
