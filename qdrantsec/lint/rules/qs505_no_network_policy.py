"""QS505 no-network-policy: no NetworkPolicy selects the Qdrant pods."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import pod_labels
from qdrantsec.lint.rules.qs102_port_published_publicly import manifest_index


class NoNetworkPolicy(Rule):
    id = "QS505"
    name = "no-network-policy"
    severity = Severity.MEDIUM
    summary = ("A Kubernetes manifest set runs Qdrant with no NetworkPolicy (with ingress rules) "
               "selecting its pods.")
    rationale = (
        "Without a NetworkPolicy every pod in the cluster can reach Qdrant's REST, gRPC and the "
        "unauthenticated p2p port. A policy that admits only the application pods (and, for p2p, "
        "the other Qdrant pods) limits what a compromised neighbour can do. Only policies in the "
        "same manifest set are seen; ignore this finding if policies are managed elsewhere."
    )
    example = "kind: StatefulSet\nmetadata:\n  name: qdrant\n# ... and no NetworkPolicy for app: qdrant\n"
    fix = ("Add a NetworkPolicy with `podSelector` matching the Qdrant pods, allowing 6333/6334 from "
           "the clients' pods and 6335 only from the Qdrant pods.")
    references = (
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "qdrant-security-facts 2.6, 8",
    )
    kinds = ("k8s",)

    def check(self, target: Target) -> Iterable[Finding]:
        wl = target.workload
        if wl is None:
            return
        # the manifest set's policies, indexed once by namespace and selector labels
        if manifest_index(target.k8s_objects).selected_by_policy(wl, pod_labels(wl)):
            return
        name_node = wl.node.get("metadata", "name") or wl.node
        yield self.finding(f"no NetworkPolicy selects the pods of {wl.kind} {wl.name}",
                           Location.of_node(wl.file, name_node), target=target)
