from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs602_snapshot_url_recovery import SnapshotUrlRecovery

from .helpers import at, config_target, one, run

RULE = SnapshotUrlRecovery()


def test_default() -> None:
    f = one(RULE, config_target("storage:\n  storage_path: ./s\nservice:\n  api_key: k\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (3, 1)


def test_env_true() -> None:
    f = one(RULE, config_target("", env={"QDRANT__SERVICE__ENABLE_SNAPSHOT_URL_RECOVERY": "true"}))
    assert f.location.env_var == "QDRANT__SERVICE__ENABLE_SNAPSHOT_URL_RECOVERY"


def test_disabled_passes() -> None:
    assert run(RULE, config_target("service:\n  enable_snapshot_url_recovery: false\n")) == []
