"""Kubernetes manifest sets with many workloads and Services (issue 13: a linter must be safe
on an untrusted pull request; issue 12: performance). A generated manifest of N StatefulSets
running Qdrant and N LoadBalancer Services selecting them once took minutes and gigabytes at
N=3000, because the exposure analysis scanned every object for every workload, several times.
"""

from __future__ import annotations

import json
from pathlib import Path

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
