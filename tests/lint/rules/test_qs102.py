import pytest

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs102_port_published_publicly import PortPublishedPublicly, parse_short_port

from .helpers import at, compose_target, helm_target, k8s_target, one, run

RULE = PortPublishedPublicly()

COMPOSE = """services:
  qdrant:
    image: qdrant/qdrant:v1.19.0
    ports:
{ports}
"""


def compose(ports: str, env: str = "") -> object:
    return compose_target(COMPOSE.format(ports=ports) + env)


@pytest.mark.parametrize(
    ("text", "ip", "ports"),
    [
        ("6333:6333", None, {6333}),
        ("6333", None, {6333}),
        ("127.0.0.1:6333:6333", "127.0.0.1", {6333}),
        ("0.0.0.0:6333:6333/tcp", None, {6333}),
        ("[::1]:6333:6333", "::1", {6333}),
        ("6333-6335:6333-6335", None, {6333, 6334, 6335}),
        ("${QDRANT_HTTP_PORT:-6333}:6333", None, {6333}),
        ("${BIND:-127.0.0.1}:6333:6333", "127.0.0.1", {6333}),
    ],
)
def test_short_syntax(text: str, ip: str | None, ports: set[int]) -> None:
    spec = parse_short_port(text)
    assert spec.host_ip == ip
    assert spec.container is not None and set(spec.container) == ports


def test_a_range_is_kept_as_a_range_not_a_set() -> None:
    """2,000 `1-65535:1-65535` entries were 2,000 sets of 65,535 numbers (6 GB)."""
    spec = parse_short_port("1-65535:1-65535")
    assert isinstance(spec.container, range) and len(spec.container) == 65535 and 6333 in spec.container


def test_published_rest_without_key_is_critical_at_entry() -> None:
    found = run(RULE, compose('      - "6333:6333"\n      - "127.0.0.1:6334:6334"'))
    assert len(found) == 1
    assert found[0].severity is Severity.CRITICAL
    assert at(found[0]) == (5, 9)


def test_published_with_key_is_high() -> None:
    t = compose("      - 6334:6334", "    environment:\n      - QDRANT__SERVICE__API_KEY=${K:?x}\n")
    assert one(RULE, t).severity is Severity.HIGH


def test_long_syntax() -> None:
    f = one(RULE, compose("      - target: 6333\n        published: 8080\n"
                          "      - target: 6334\n        host_ip: 127.0.0.1\n        published: 6334"))
    assert at(f) == (5, 9)


def test_loopback_only_passes() -> None:
    assert run(RULE, compose('      - "127.0.0.1:6333:6333"\n      - "127.0.0.1:6334:6334"')) == []


def test_unrelated_port_passes() -> None:
    assert run(RULE, compose('      - "8080:80"')) == []


def test_host_network() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    network_mode: host\n")
    f = one(RULE, t)
    assert at(f) == (4, 19)


K8S = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: qdrant
spec:
  template:
    metadata:
      labels:
        app: qdrant
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          ports:
            - name: http
              containerPort: 6333
            - containerPort: 6334
              hostPort: 6334
---
apiVersion: v1
kind: Service
metadata:
  name: qdrant
spec:
  type: {type}
  selector:
    app: qdrant
  ports:
    - port: 80
      targetPort: http
"""


def test_k8s_loadbalancer_and_hostport() -> None:
    found = run(RULE, k8s_target(K8S.format(type="LoadBalancer")))
    assert sorted(at(f) for f in found) == [(18, 25), (25, 9)]
    assert {f.severity for f in found} == {Severity.CRITICAL}


def test_k8s_clusterip_only_hostport() -> None:
    found = run(RULE, k8s_target(K8S.format(type="ClusterIP")))
    assert [at(f) for f in found] == [(18, 25)]


def test_helm_service_type() -> None:
    f = one(RULE, helm_target("service:\n  type: NodePort\napiKey: true\n"))
    assert at(f) == (2, 9)
    assert f.severity is Severity.HIGH
    assert run(RULE, helm_target("service:\n  type: ClusterIP\n")) == []
