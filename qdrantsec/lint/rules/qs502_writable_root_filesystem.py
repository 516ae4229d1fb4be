"""QS502 writable-root-filesystem: the container's root filesystem is writable."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import as_bool


class WritableRootFilesystem(Rule):
    id = "QS502"
    name = "writable-root-filesystem"
    severity = Severity.LOW
    summary = ("The root filesystem is writable: compose without `read_only: true`, Kubernetes "
               "without `readOnlyRootFilesystem: true`.")
    rationale = (
        "With a writable root filesystem an attacker who gets code execution can replace the "
        "Qdrant binary, the entrypoint or the config in `/qdrant/config` and persist until the "
        "container is recreated. Qdrant only needs to write its storage, snapshots and temp "
        "directories, which can be volumes."
    )
    example = "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0-unprivileged\n"
    fix = ("Set `read_only: true` (compose) / `readOnlyRootFilesystem: true` (Kubernetes) and mount "
           "writable volumes at `/qdrant/storage`, `/qdrant/snapshots` and a tmpfs for temp files.")
    references = (
        "https://docs.docker.com/reference/compose-file/services/#read_only",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    )
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        if target.compose_service is not None:
            node = target.compose_service.get("read_only")
            if node is not None and as_bool(node.value) is True:
                return
            svc = target.compose_service
            where = target.node_loc(node) if node is not None else target.node_loc(svc, key=True)
            yield self.finding("the container's root filesystem is writable (no `read_only: true`)", where,
                               target=target)
        elif target.workload is not None and target.container is not None:
            node = target.container.get("securityContext", "readOnlyRootFilesystem")
            if node is not None and as_bool(node.value) is True:
                return
            where = Location.of_node(target.workload.file, node if node is not None else target.container)
            yield self.finding("the container's root filesystem is writable "
                               "(no `readOnlyRootFilesystem: true`)", where, target=target)
        elif target.helm_values is not None:
            # the chart defaults to a read-only root filesystem; report an explicit override
            node = target.helm_values.get("containerSecurityContext", "readOnlyRootFilesystem")
            if node is not None and as_bool(node.value) is False:
                yield self.finding("`containerSecurityContext.readOnlyRootFilesystem` is false",
                                   target.node_loc(node), target=target)
