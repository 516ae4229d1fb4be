"""QS503 privileged-container: privileged mode, privilege escalation or added capabilities."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import as_bool, list_items, pod_spec
from qdrantsec.yamlloc import Node


class PrivilegedContainer(Rule):
    id = "QS503"
    name = "privileged-container"
    severity = Severity.HIGH
    summary = ("The Qdrant container is privileged, allows privilege escalation, adds Linux "
               "capabilities, or shares the host's PID/IPC namespace.")
    rationale = (
        "Qdrant needs no extra privileges. A privileged container has every capability and all "
        "host devices, so code execution in Qdrant becomes root on the host; added capabilities "
        "and `allowPrivilegeEscalation` widen the same path. Severity: high for privileged mode "
        "and host namespaces, medium for escalation and added capabilities."
    )
    example = "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n    privileged: true\n"
    fix = ("Remove `privileged`, `cap_add` and host namespaces; in Kubernetes set "
           "`allowPrivilegeEscalation: false` and `capabilities: {drop: [ALL]}`.")
    references = (
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        "https://docs.docker.com/reference/compose-file/services/#privileged",
    )
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        if target.compose_service is not None:
            yield from self._compose(target, target.compose_service)
        elif target.workload is not None and target.container is not None:
            spec = pod_spec(target.workload)
            file = target.workload.file
            yield from self._context(target, target.container.get("securityContext"), file, "securityContext")
            for key in ("hostPID", "hostIPC"):
                node = spec.get(key) if spec is not None else None
                if node is not None and as_bool(node.value) is True:
                    yield self.finding(f"the pod shares the host's namespace (`{key}: true`)",
                                       Location.of_node(file, node), target=target)
        elif target.helm_values is not None:
            ctx = target.helm_values.get("containerSecurityContext")
            yield from self._context(target, ctx, target.file, "containerSecurityContext")

    def _compose(self, target: Target, svc: Node) -> Iterator[Finding]:
        node = svc.get("privileged")
        if node is not None and as_bool(node.value) is True:
            yield self.finding("the container is privileged (`privileged: true`)", target.node_loc(node),
                               target=target)
        caps = list_items(svc.get("cap_add"))
        if caps:
            names = ", ".join(str(c.value) for c in caps)
            yield self.finding(f"the container adds capabilities ({names})", target.node_loc(caps[0]),
                               severity=Severity.MEDIUM, target=target)
        for key in ("pid", "ipc"):
            ns = svc.get(key)
            if ns is not None and str(ns.value) == "host":
                yield self.finding(f"the container shares the host's namespace (`{key}: host`)",
                                   target.node_loc(ns), target=target)

    def _context(self, target: Target, ctx: Node | None, file: str, label: str) -> Iterator[Finding]:
        if ctx is None:
            return
        node = ctx.get("privileged")
        if node is not None and as_bool(node.value) is True:
            yield self.finding(f"the container is privileged (`{label}.privileged: true`)",
                               Location.of_node(file, node), target=target)
        node = ctx.get("allowPrivilegeEscalation")
        if node is not None and as_bool(node.value) is True:
            yield self.finding(f"`{label}.allowPrivilegeEscalation` is true", Location.of_node(file, node),
                               severity=Severity.MEDIUM, target=target)
        caps = list_items(ctx.get("capabilities", "add"))
        if caps:
            names = ", ".join(str(c.value) for c in caps)
            yield self.finding(f"the container adds capabilities ({names})", Location.of_node(file, caps[0]),
                               severity=Severity.MEDIUM, target=target)
