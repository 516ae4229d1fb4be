from pathlib import Path

import pytest

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
    # the key without its section's name in front (a tutorial's `storage: {path: ...}`)
    assert suggest(["storage", "path"]) == "storage.storage_path"
    assert suggest(["service", "port"]) == "service.http_port"


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


# -- a key pasted in as a name is shown by its fingerprint, in every format ----------------

KEY = "AbCdEfGh1234567890XyZabcQrStUv"  # shaped like `qdrantsec key generate` output
HEX = "0123456789abcdef0123456789abcdef"


def test_key_like_yaml_key_is_named_by_fingerprint() -> None:
    from qdrantsec.secrets import fingerprint

    [f] = run(RULE, config_target(f"service:\n  {KEY}: true\n"))
    assert f.message == (f"unknown setting `service.<key-like name {fingerprint(KEY)}>` is silently "
                         "ignored by Qdrant")
    assert at(f) == (2, 3)


def test_key_like_env_var_is_named_by_fingerprint() -> None:
    from qdrantsec.secrets import fingerprint

    [f] = run(RULE, env_target(f"QDRANT__SERVICE__{HEX.upper()}=1\nQDRANT__SERVICE__API_KEY=x\n"))
    shown_var = f"QDRANT__SERVICE__<key-like name {fingerprint(HEX.upper())}>"
    assert f.message.startswith(f"{shown_var} maps to `service.<key-like name {fingerprint(HEX)}>`")
    assert f.location.env_var == shown_var and HEX not in f.message.lower()


def test_ordinary_long_names_are_still_shown() -> None:
    [f] = run(RULE, config_target("storage:\n  optimizers:\n    max_optimisation_threads: 1\n"))
    assert "`storage.optimizers.max_optimisation_threads`" in f.message
    [g] = run(RULE, env_target("QDRANT__CLUSTER__P2P__CONNECTION_POOL_SIZE_2=1\n"))
    assert g.message.startswith("QDRANT__CLUSTER__P2P__CONNECTION_POOL_SIZE_2 maps to")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_no_key_in_any_format(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qdrantsec.cli.app import main
    from qdrantsec.secrets import fingerprint

    (tmp_path / "config.yaml").write_text(f"service:\n  api_key: x\n  {KEY}: true\n")
    (tmp_path / "qdrant.env").write_text(f"QDRANT__SERVICE__{KEY}=1\nQDRANT__SERVICE__API_KEY=x\n")
    for name, kind in (("config.yaml", "qdrant-config"), ("qdrant.env", "env")):
        code = main(["lint", str(tmp_path / name), "--kind", kind, "--format", fmt, "--exit-zero"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "QS208" in out and fingerprint(KEY) in out
        assert KEY not in out + err and KEY.lower() not in (out + err).lower()
