"""Kubernetes manifest sets with many workloads and Services (issue 13: a linter must be safe
on an untrusted pull request; issue 12: performance). A generated manifest of N StatefulSets
running Qdrant and N LoadBalancer Services selecting them once took minutes and gigabytes at
N=3000, because the exposure analysis scanned every object for every workload, several times.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qdrantsec.cli.app import main


def scale_manifest(n: int, *, shared_labels: bool = False, ingress: bool = False,
                   policy: bool = False) -> str:
    """N StatefulSets running Qdrant and N Services of type LoadBalancer selecting them by
    labels (each its own ``app: qdrant-<i>``, or all ``app: qdrant`` with ``shared_labels``),
    optionally an Ingress routing to each Service and a NetworkPolicy selecting each workload."""
    docs: list[str] = []
    for i in range(n):
        app = "qdrant" if shared_labels else f"qdrant-{i}"
        docs.append(f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: qdrant-{i}
spec:
  serviceName: qdrant-{i}
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          ports:
            - name: http
              containerPort: 6333
            - name: grpc
              containerPort: 6334
""")
        docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: qdrant-{i}
spec:
  type: LoadBalancer
  selector:
    app: {app}
  ports:
    - name: http
      port: 6333
      targetPort: http
""")
        if ingress:
            docs.append(f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: qdrant-{i}
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: qdrant-{i}
                port:
                  name: http
""")
        if policy:
            docs.append(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: qdrant-{i}
spec:
  podSelector:
    matchLabels:
      app: {app}
  policyTypes: [Ingress]
""")
    return "---\n".join(docs)


def lint_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]]]:
    code = main(["lint", "--format", "json", str(path)])
    return code, json.loads(capsys.readouterr().out)["findings"]


@pytest.mark.parametrize("shared", [False, True])
def test_every_load_balancer_service_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 shared: bool) -> None:
    (tmp_path / "manifest.yaml").write_text(scale_manifest(20, shared_labels=shared))
    code, findings = lint_json(tmp_path, capsys)
    assert code == 1
    qs102 = [f for f in findings if f["rule"] == "QS102"]
    # one finding per Service, at its `type: LoadBalancer` (line 6 of the Service document)
    assert sorted(str(f["message"]).split("Service ")[1].split(" ")[0] for f in qs102) == sorted(
        f"qdrant-{i}" for i in range(20))
    assert all(f["severity"] == "critical" for f in qs102)
    assert len([f for f in findings if f["rule"] == "QS505"]) == 20


def test_ingresses_and_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.yaml").write_text(scale_manifest(10, ingress=True, policy=True))
    code, findings = lint_json(tmp_path, capsys)
    assert code == 1
    routes = [f for f in findings if f["rule"] == "QS102" and "Ingress" in str(f["message"])]
    assert len(routes) == 10
    assert not [f for f in findings if f["rule"] == "QS505"]  # every workload has its policy


def _limit_memory() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    limit = 1536 * 1024 * 1024  # 1.5 GB of address space: the run needs about a tenth of it
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize(("shared", "extras"), [(False, True), (True, False)],
                         ids=["own-labels", "shared-labels"])
def test_three_thousand_workloads_and_services_lint_within_bounds(tmp_path: Path, shared: bool,
                                                                  extras: bool) -> None:
    """The CLI in a child process with its address space capped and a generous timeout: a
    regression to per-workload scans of the whole set (minutes and 4.9 GB at this size)
    fails here instead of hanging the suite. Not a benchmark: no timing is asserted."""
    import subprocess
    import sys

    (tmp_path / "manifest.yaml").write_text(
        scale_manifest(3000, shared_labels=shared, ingress=extras, policy=extras))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from qdrantsec.cli.app import main; sys.exit(main(sys.argv[1:]))",
         "lint", "--format", "json", str(tmp_path)],
        capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory, check=False,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr == ""
    findings = json.loads(proc.stdout)["findings"]
    services = {str(f["message"]).split("(Service ")[1].split(" ")[0]
                for f in findings if f["rule"] == "QS102" and "(Service " in str(f["message"])}
    assert services == {f"qdrant-{i}" for i in range(3000)}
    routed = [f for f in findings if f["rule"] == "QS102" and "(Ingress " in str(f["message"])]
    assert len(routed) == (3000 if extras else 0)
    assert len([f for f in findings if f["rule"] == "QS505"]) == (0 if extras else 3000)


# -- the indexed answers against a scan of every object, on random manifest sets ----------
def _oracle_exposures(target: Any) -> list[tuple[Any, ...]]:
    """What a workload's Services and routes expose, by scanning the whole set (the way the
    rule worked before the index): routes in manifest order, then Services."""
    from qdrantsec.lint.rules import node_value, pod_labels, same_namespace, selector_matches
    from qdrantsec.lint.rules.qs102_port_published_publicly import (
        _named_ports,
        _route_backends,
        _service_target_ports,
    )

    wl, objects = target.workload, target.k8s_objects
    labels, named = pod_labels(wl), _named_ports(target.container)
    out: list[tuple[Any, ...]] = []
    services = {o.name: o for o in objects if o.kind == "Service" and same_namespace(o, wl)}
    for obj in objects:
        if obj.kind not in ("Ingress", "HTTPRoute", "GRPCRoute") or not same_namespace(obj, wl):
            continue
        for name, port, where in _route_backends(obj):
            service = services.get(name)
            selector = node_value(service.node, "spec", "selector") if service is not None else None
            if selector and selector_matches(selector, labels):
                ports = _service_target_ports(service, port, named)
                if ports:
                    out.append(("route", obj.name, name, where.line, where.column, frozenset(ports)))
    for obj in objects:
        if obj.kind != "Service" or not same_namespace(obj, wl):
            continue
        type_node = obj.node.get("spec", "type")
        selector = node_value(obj.node, "spec", "selector")
        if (type_node is None or type_node.value not in ("LoadBalancer", "NodePort") or not selector
                or not selector_matches(selector, labels)):
            continue
        out.append(("service", obj.name, type_node.line, type_node.column))
    return out


def _oracle_policy(target: Any) -> bool:
    from qdrantsec.lint.rules import node_value, pod_labels, same_namespace, selector_matches

    wl, labels = target.workload, pod_labels(target.workload)
    for obj in target.k8s_objects:
        if obj.kind != "NetworkPolicy" or not same_namespace(obj, wl):
            continue
        types = node_value(obj.node, "spec", "policyTypes")
        if isinstance(types, list) and "Ingress" not in types:
            continue
        selector = node_value(obj.node, "spec", "podSelector")
        if selector == {} or (selector and selector_matches(selector, labels)):
            return True
    return False


def _random_set(rng: Any) -> str:
    """Workloads, Services, Ingresses and policies over few namespaces, names and labels, so
    that selectors overlap, names repeat (the later Service of a name is the one routed to),
    and selectors use matchExpressions, null values and the empty selector."""
    def labels() -> str:
        keys = rng.sample(["app", "tier", "x"], rng.randint(0, 3))
        pairs = {k: rng.choice(["a", "b", "None", "1"]) for k in keys}
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs.items()) + "}"

    def selector() -> str:
        pick = rng.random()
        if pick < 0.1:
            return "{}"
        if pick < 0.2:
            return "{app: }"
        if pick < 0.3:
            op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
            return f"{{matchExpressions: [{{key: tier, operator: {op}, values: [a]}}]}}"
        return labels()

    docs = []
    for i in range(rng.randint(1, 6)):
        ns = rng.choice(["", "namespace: other"])
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: w{i}, {ns}}}
spec:
  template:
    metadata: {{labels: {labels()}}}
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          ports: [{{name: http, containerPort: 6333}}, {{name: grpc, containerPort: 6334}}]
""")
    for _ in range(rng.randint(0, 8)):
        ns = rng.choice(["", "namespace: other"])
        kind = rng.choice(["LoadBalancer", "NodePort", "ClusterIP"])
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: s{rng.randint(0, 3)}, {ns}}}
spec:
  type: {kind}
  selector: {selector()}
  ports: [{{name: web, port: 80, targetPort: {rng.choice(["http", "grpc", "6333"])}}}]
""")
    for i in range(rng.randint(0, 4)):
        ns = rng.choice(["", "namespace: other"])
        docs.append(f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: i{i}, {ns}}}
spec:
  rules:
    - http:
        paths:
          - backend: {{service: {{name: s{rng.randint(0, 3)}, port: {{name: web}}}}}}
          - backend: {{service: {{name: s{rng.randint(0, 3)}, port: {{number: 80}}}}}}
""")
    for i in range(rng.randint(0, 3)):
        ns = rng.choice(["", "namespace: other"])
        types = rng.choice(["[Ingress]", "[Egress]", "[Ingress, Egress]"])
        docs.append(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: p{i}, {ns}}}
spec:
  podSelector: {selector()}
  policyTypes: {types}
""")
    return "---\n".join(docs)


def test_indexed_exposures_and_policies_match_a_scan_of_every_object(tmp_path: Path) -> None:
    import random

    from qdrantsec.lint import engine
    from qdrantsec.lint.rules.qs102_port_published_publicly import manifest_index, service_exposures

    rng = random.Random(1312)
    checked = exposed = selected = 0
    for n in range(150):
        d = tmp_path / f"set{n}"
        d.mkdir()
        (d / "manifest.yaml").write_text(_random_set(rng))
        result = engine.lint_paths([str(d)], rules=[])
        for target in result.targets:
            assert target.workload is not None
            got = []
            for e in service_exposures(target)[1]:
                if e.how.startswith("Service "):
                    got.append(("service", e.how.split()[1], e.location.line, e.location.column))
                else:
                    words = e.how.split()  # "Ingress i0 routes to Service s2"
                    got.append(("route", words[1], words[5], e.location.line, e.location.column, e.ports))
            want = _oracle_exposures(target)
            assert got == want, (d / "manifest.yaml").read_text()
            policy = manifest_index(target.k8s_objects).selected_by_policy(target.workload,
                                                                           _labels(target))
            assert policy == _oracle_policy(target), (d / "manifest.yaml").read_text()
            checked += 1
            exposed += bool(want)
            selected += policy
    # the random sets exercise both answers often
    assert checked > 300 and 50 < exposed < checked and 20 < selected < checked


def _labels(target: Any) -> dict[str, Any]:
    from qdrantsec.lint.rules import pod_labels

    return pod_labels(target.workload)


def test_a_service_shared_by_workloads_is_reported_once_per_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three workloads selected by one Service: the finding at the Service is made once for
    the workloads that would get the same message (the first one's), and again for the one
    with an API key, whose message differs."""
    text = scale_manifest(3, shared_labels=True).replace("""          image: qdrant/qdrant:v1.19.0
""", """          image: qdrant/qdrant:v1.19.0
          env: [{name: QDRANT__SERVICE__API_KEY, valueFrom: {secretKeyRef: {name: k, key: k}}}]
""", 1)  # the first StatefulSet (qdrant-0) has a key
    (tmp_path / "manifest.yaml").write_text(text)
    code, findings = lint_json(tmp_path, capsys)
    assert code == 1
    at_service0 = sorted((str(f["severity"]), str(f["target"]).rsplit("/", 1)[1]) for f in findings
                         if f["rule"] == "QS102" and "(Service qdrant-0 " in str(f["message"]))
    assert at_service0 == [("critical", "qdrant-1"), ("high", "qdrant-0")]
    assert len([f for f in findings if f["rule"] == "QS102"]) == 6  # 3 Services x 2 messages
