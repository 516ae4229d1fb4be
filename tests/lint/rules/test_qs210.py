from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs210_invalid_setting_value import InvalidSettingValue

from .helpers import at, config_target, env_target, one, run

RULE = InvalidSettingValue()


def test_bad_env_bool() -> None:
    f = one(RULE, env_target("QDRANT__SERVICE__ENABLE_TLS=enabled\n"))
    assert f.severity is Severity.MEDIUM
    assert f.location.env_var == "QDRANT__SERVICE__ENABLE_TLS"
    assert at(f) == (1, 1)


def test_bad_yaml_values() -> None:
    text = "service:\n  http_port: web\n  enable_tls: maybe\naudit:\n  rotation: Daily\n"
    found = run(RULE, config_target(text))
    assert sorted(at(f) for f in found) == [(2, 14), (3, 15), (5, 13)]


def test_valid_values_pass() -> None:
    text = "service:\n  http_port: 6333\n  enable_tls: yes\naudit:\n  rotation: hourly\n"
    assert run(RULE, config_target(text)) == []
    assert run(RULE, config_target("", env={"QDRANT__SERVICE__ENABLE_TLS": "${TLS:-on}"})) == []


def test_a_key_pasted_into_a_flag_is_not_printed() -> None:
    key = "Zq8vN2kLx4Rt7WmP9sYb3HcJ"  # a key in the wrong variable
    t = config_target("service:\n  enable_tls: " + key + "\n",
                      env={"QDRANT__SERVICE__JWT_RBAC": key + "x"})
    found = run(RULE, t)
    assert found, "QS210 must still fire"
    for f in found:
        assert key not in f.message
        assert "key-like value (sha256:" in f.message
