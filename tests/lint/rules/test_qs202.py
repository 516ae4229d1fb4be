from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs202_empty_key import EmptyKey

from .helpers import at, compose_target, config_target, env_target, run

RULE = EmptyKey()


def test_empty_only_key_is_high() -> None:
    [f] = run(RULE, config_target('service:\n  api_key: ""\n'))
    assert f.severity is Severity.HIGH
    assert at(f) == (2, 12)


def test_empty_read_only_next_to_admin_is_medium() -> None:
    [f] = run(RULE, config_target('service:\n  api_key: abc\n  read_only_api_key: ""\n'))
    assert f.severity is Severity.MEDIUM
    assert "read_only_api_key" in f.message


def test_env_file_empty_value() -> None:
    [f] = run(RULE, env_target("# comment\nQDRANT__SERVICE__API_KEY=\n"))
    assert f.location.env_var == "QDRANT__SERVICE__API_KEY"
    assert at(f) == (2, 1)


def test_compose_reference_without_default_is_medium() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY}\n")
    [f] = run(RULE, t)
    assert f.severity is Severity.MEDIUM
    assert "${QDRANT_API_KEY}" in f.message and "unset" in f.message
    assert at(f) == (5, 9)


def test_required_reference_and_literal_pass() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY:?missing}\n")
    assert run(RULE, t) == []
    assert run(RULE, config_target("service:\n  api_key: k\n")) == []
