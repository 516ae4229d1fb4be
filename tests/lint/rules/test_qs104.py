from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs104_metrics_port_unauthenticated import MetricsPortUnauthenticated

from .helpers import at, compose_target, config_target, one, run

RULE = MetricsPortUnauthenticated()


def test_metrics_port_set() -> None:
    f = one(RULE, config_target("service:\n  api_key: x\n  metrics_port: 9090\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (3, 17)


def test_metrics_port_published_is_high() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    ports:\n      - 9090:9090\n"
                       "    environment:\n      QDRANT__SERVICE__METRICS_PORT: '9090'\n")
    f = one(RULE, t)
    assert f.severity is Severity.HIGH
    assert f.location.env_var == "QDRANT__SERVICE__METRICS_PORT"
    assert at(f) == (7, 7)


def test_absent_passes() -> None:
    assert run(RULE, config_target("service:\n  http_port: 6333\n")) == []
