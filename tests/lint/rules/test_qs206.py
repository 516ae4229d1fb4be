from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs206_jwt_rbac_without_key import JwtRbacWithoutKey

from .helpers import at, config_target, one, run

RULE = JwtRbacWithoutKey()


def test_jwt_without_admin_key() -> None:
    f = one(RULE, config_target("service:\n  jwt_rbac: true\n  read_only_api_key: ro\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (2, 13)


def test_env_string_true() -> None:
    f = one(RULE, config_target("", env={"QDRANT__SERVICE__JWT_RBAC": "yes"}))
    assert f.location.env_var == "QDRANT__SERVICE__JWT_RBAC"


def test_with_key_or_off_passes() -> None:
    assert run(RULE, config_target("service:\n  jwt_rbac: true\n  alt_api_key: k\n")) == []
    assert run(RULE, config_target("service:\n  jwt_rbac: false\n")) == []
