from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs301_api_key_over_plaintext import ApiKeyOverPlaintext

from .helpers import at, compose_target, config_target, one, run

RULE = ApiKeyOverPlaintext()


def test_key_without_tls_on_wildcard_is_high() -> None:
    f = one(RULE, config_target("service:\n  api_key: k\n  enable_tls: false\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (3, 15)


def test_loopback_is_medium_and_default_points_at_section() -> None:
    f = one(RULE, config_target("service:\n  host: 127.0.0.1\n  api_key: k\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (1, 1)


def test_compose_unpublished_is_medium() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__SERVICE__API_KEY=${K:?}\n")
    assert one(RULE, t).severity is Severity.MEDIUM


def test_passes_with_tls_or_without_key_or_unknown_flag() -> None:
    assert run(RULE, config_target("service:\n  api_key: k\n  enable_tls: true\n")) == []
    assert run(RULE, config_target("service:\n  enable_tls: false\n")) == []
    env = {"QDRANT__SERVICE__API_KEY": "k", "QDRANT__SERVICE__ENABLE_TLS": "${TLS}"}
    assert run(RULE, config_target("", env=env)) == []
