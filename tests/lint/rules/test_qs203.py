import pytest

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs203_weak_key import WeakKey, weakness

from .helpers import at, compose_target, config_target, run

RULE = WeakKey()
STRONG = "kR3v9ZpQ2xW7mN4bT8yL1cF6hJ0dS5aG"


@pytest.mark.parametrize(
    ("key", "sev"),
    [
        ("my-secret", Severity.HIGH),
        ("your_secret_api_key_here", Severity.HIGH),
        ("changeme", Severity.HIGH),
        ("__REQUIRED__", Severity.HIGH),
        ("sfsfsfsfsfsf", Severity.HIGH),
        ("kR3v9ZpQ2xW7mN4bT8", Severity.MEDIUM),
        ("abcdef" * 6, Severity.MEDIUM),
        ("ab" * 20, Severity.HIGH),
    ],
)
def test_weak(key: str, sev: Severity) -> None:
    verdict = weakness(key)
    assert verdict is not None and verdict[0] is sev


def test_strong_is_fine() -> None:
    assert weakness(STRONG) is None


def test_finding_location() -> None:
    [f] = run(RULE, config_target("service:\n  api_key: my-secret\n"))
    assert at(f) == (2, 12)
    assert "placeholder" in f.message


def test_reference_with_placeholder_default() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY:-your-qdrant-api-key}\n")
    [f] = run(RULE, t)
    assert f.severity is Severity.HIGH
    assert "QDRANT_API_KEY" in f.message


def test_strong_and_references_pass() -> None:
    assert run(RULE, config_target(f"service:\n  api_key: {STRONG}\n")) == []
    assert run(RULE, config_target("", env={"QDRANT__SERVICE__API_KEY": "${K:?}"})) == []


def test_repeated_pattern_is_high_even_when_long_enough() -> None:
    verdict = weakness("sfsfsfsfsfsfsfsfsf")
    assert verdict is not None and verdict[0] is Severity.HIGH
