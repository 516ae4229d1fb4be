from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs208_unknown_setting import UnknownSetting, suggest

from .helpers import at, compose_target, config_target, env_target, run

RULE = UnknownSetting()


def test_misspelled_api_key_is_high_with_suggestion() -> None:
    [f] = run(RULE, config_target("service:\n  host: 127.0.0.1\n  api-key: abc\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (3, 3)
    assert "service.api_key" in f.message


def test_camel_case_and_plural() -> None:
    assert suggest(["service", "apiKey"]) == "service.api_key"
    assert suggest(["service", "api_keys"]) == "service.api_key"
    assert suggest(["api_key"]) == "service.api_key"
    assert suggest(["service", "tls"]) is not None


def test_service_tls_section_reported_once() -> None:
    [f] = run(RULE, config_target("service:\n  tls:\n    cert: a\n    key: b\n"))
    assert at(f) == (2, 3)
    assert f.severity is Severity.HIGH


def test_non_security_unknown_is_low() -> None:
    [f] = run(RULE, config_target("debug: false\nstorage:\n  storage_path: ./s\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (1, 1)


def test_unknown_env_var() -> None:
    [f] = run(RULE, env_target("QDRANT__SERVICE__READ_ONLY_MODE=false\nQDRANT__SERVICE__API_KEY=x\n"))
    assert f.location.env_var == "QDRANT__SERVICE__READ_ONLY_MODE"
    assert at(f) == (1, 1)
    assert f.severity is Severity.HIGH


def test_compose_env_unknown() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      QDRANT__STORAGE__PREFER_MMAP: 'true'\n")
    [f] = run(RULE, t)
    assert at(f) == (5, 7)
    assert f.severity is Severity.LOW


def test_known_settings_pass() -> None:
    text = ("service:\n  api_key: a\n  enable_snapshot_url_recovery: false\nstorage:\n"
            "  optimizers:\n    indexing_threshold_kb: 1\n"
            "  collection:\n    strict_mode:\n      anything: 1\n"
            "audit:\n  enabled: true\nfeature_flags:\n  all: true\n")
    assert run(RULE, config_target(text)) == []


def test_fix_names_the_intended_key() -> None:
    [f] = run(RULE, config_target("service:\n  apiKey: abc\n"))
    assert f.fix == "Use `service.api_key`."
    [g] = run(RULE, env_target("QDRANT__SERVICE__API_KEYS=x\n"))
    assert g.fix == "Rename it to QDRANT__SERVICE__API_KEY."
