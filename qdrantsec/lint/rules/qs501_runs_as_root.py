"""QS501 runs-as-root: the Qdrant container runs as uid 0."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import as_bool, as_int, image_of, is_unprivileged_image, pod_spec
from qdrantsec.yamlloc import Node


def security_value(container: Node | None, pod: Node | None, key: str) -> Node | None:
    """A securityContext field, the container's overriding the pod's."""
    for ctx in (container, pod):
        if ctx is not None:
            node = ctx.get(key)
            if node is not None and node.value is not None:
                return node
    return None


def _is_root_user(text: str) -> bool:
    user = text.strip().split(":", 1)[0]
    return user in ("0", "root")


class RunsAsRoot(Rule):
    id = "QS501"
    name = "runs-as-root"
    severity = Severity.MEDIUM
    summary = ("The Qdrant container runs as root: compose without `user:` on an image that is not "
               "`-unprivileged`; Kubernetes without `runAsNonRoot: true` or with `runAsUser: 0`.")
    rationale = (
        "The official `qdrant/qdrant` image runs as uid 0. A bug in Qdrant or a malicious snapshot "
        "then acts as root inside the container, one kernel or runtime flaw away from the host, "
        "and can rewrite the binary, the config and the storage. The `-unprivileged` tags run as "
        "uid 1000 and own `/qdrant`."
    )
    example = "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n"
    fix = ("Use the `qdrant/qdrant:v1.19.0-unprivileged` image or `user: \"1000:1000\"` (compose); "
           "`securityContext: {runAsNonRoot: true, runAsUser: 1000}` (Kubernetes; Helm "
           "`image.useUnprivilegedImage: true`).")
    references = (
        "https://qdrant.tech/documentation/guides/installation/",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        "qdrant-security-facts 1.9",
    )
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        if target.compose_service is not None:
            yield from self._compose(target)
        elif target.workload is not None:
            yield from self._k8s(target)
        elif target.helm_values is not None:
            yield from self._helm(target)

    def _compose(self, target: Target) -> Iterator[Finding]:
        svc = target.compose_service
        assert svc is not None
        user = svc.get("user")
        image, image_node = image_of(target)
        if user is not None and user.value is not None:
            if _is_root_user(str(user.value)):
                yield self.finding(f"the container runs as root (`user: {user.value}`)",
                                   target.node_loc(user), target=target)
            return
        if is_unprivileged_image(image):
            return
        dockerfile = target.extra.get("dockerfile")
        built_user = target.extra.get("dockerfile_user")
        where = target.node_loc(image_node) if image_node is not None else target.node_loc(svc, key=True)
        if dockerfile is not None:
            if built_user is not None and not _is_root_user(str(built_user)):
                return
            how = f"`USER {built_user}`" if built_user is not None else "no `USER`"
            yield self.finding(f"the container runs as root: no `user:`, and {dockerfile} (FROM {image}) has "
                               f"{how}", where, target=target)
            return
        if image and "${" in image and "unprivileged" not in image:
            # `qdrant/qdrant:${TAG}`: the tag (maybe `-unprivileged`) is chosen at deploy time
            yield self.finding(f"the container may run as root: no `user:`, and image {image} is "
                               "-unprivileged only if the deploy-time tag says so", where,
                               severity=Severity.LOW, target=target)
            return
        yield self.finding(f"the container runs as root: no `user:` and image {image or '(none)'} is not "
                           "-unprivileged", where, target=target)

    def _k8s(self, target: Target) -> Iterator[Finding]:
        wl = target.workload
        assert wl is not None
        spec = pod_spec(wl)
        pod_ctx = spec.get("securityContext") if spec is not None else None
        ctr_ctx = target.container.get("securityContext") if target.container is not None else None
        uid = security_value(ctr_ctx, pod_ctx, "runAsUser")
        if uid is not None and as_int(uid.value) == 0:
            yield self.finding("the container runs as root (`runAsUser: 0`)", Location.of_node(wl.file, uid),
                               target=target)
            return
        non_root = security_value(ctr_ctx, pod_ctx, "runAsNonRoot")
        if non_root is not None and as_bool(non_root.value) is True:
            return
        if uid is not None and (as_int(uid.value) or 0) > 0:
            return
        image, image_node = image_of(target)
        if is_unprivileged_image(image):
            return
        node = non_root or image_node or target.container
        where = Location.of_node(wl.file, node) if node is not None else Location(wl.file)
        yield self.finding("the container may run as root: no `runAsNonRoot: true` or non-zero "
                           f"`runAsUser`, and image {image or '(none)'} is not -unprivileged", where,
                           target=target)

    def _helm(self, target: Target) -> Iterator[Finding]:
        # The chart's own defaults are non-root; only explicit overrides are reported.
        values = target.helm_values
        assert values is not None
        for section in ("containerSecurityContext", "podSecurityContext"):
            uid = values.get(section, "runAsUser")
            if uid is not None and as_int(uid.value) == 0:
                yield self.finding(f"`{section}.runAsUser` is 0: the container runs as root",
                                   target.node_loc(uid), target=target)
            non_root = values.get(section, "runAsNonRoot")
            if non_root is not None and as_bool(non_root.value) is False:
                yield self.finding(f"`{section}.runAsNonRoot` is false", target.node_loc(non_root),
                                   target=target)
