"""QS102 port-published-publicly, and the port-exposure analysis other rules reuse.

Exposure sources: compose ``ports:`` (short and long syntax), ``network_mode: host``;
Kubernetes Services of type LoadBalancer/NodePort selecting the workload (an internal load
balancer counts one step lower), Ingresses and Gateway API routes to a Service selecting it,
``hostPort``, ``hostNetwork: true``; Helm ``service.type`` and ``ingress.enabled``. Compose
``expose:`` only opens a port to other containers on the same compose network, so it is not
an exposure here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from qdrantsec.lint.model import Finding, K8sObject, Location, Rule, Severity, Target
from qdrantsec.lint.rules import (
    as_int,
    has_auth,
    is_wildcard_host,
    list_items,
    node_value,
    pod_labels,
    pod_spec,
    qdrant_ports,
    ref_default,
    ref_parts,
    selector_matches,
    unread_env_note,
)
from qdrantsec.yamlloc import Node

LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}


@dataclass(frozen=True)
class Exposure:
    """A container port reachable from outside the host / cluster.

    ``ports`` is None when every port is reachable (host networking)."""

    ports: frozenset[int] | range | None
    location: Location
    how: str
    #: an internal load balancer: reachable from the private network (VPC), not the internet
    internal: bool = False

    def covers(self, port: int | None) -> bool:
        return port is not None and (self.ports is None or port in self.ports)


# -- compose ----------------------------------------------------------------------------
def _split_colons(text: str) -> list[str]:
    """Split on ``:`` outside ``${...}`` and ``[...]``."""
    parts, depth, cur = [], 0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("${", i):
            depth += 1
            cur += "${"
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch in "]}" and depth:
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def _resolve(text: str) -> str | None:
    """A port or address that may be a ``${VAR:-default}``: the default, else None."""
    text = text.strip()
    if ref_parts(text) is not None:
        return ref_default(text)
    return text


def _port_range(text: str) -> range | None:
    """The ports of ``6333`` or ``6333-6335`` as a range: a membership test, never a set
    of 65,535 numbers per ``ports:`` entry (2,000 entries of ``1-65535:1-65535`` in a
    52 KB compose file took 6 GB)."""
    resolved = _resolve(text)
    if resolved is None:
        return None
    lo, _, hi = resolved.partition("-")
    start, end = as_int(lo), as_int(hi) if hi else as_int(lo)
    if start is None or end is None or end < start or end - start > 65535:
        return None
    return range(start, end + 1)


@dataclass(frozen=True)
class PortSpec:
    host_ip: str | None  # None = all interfaces
    container: range | None  # None = unknown


def parse_short_port(text: str) -> PortSpec:
    """``[HOST_IP:][HOST[-RANGE]:]CONTAINER[-RANGE][/PROTO]``. A bare container port is
    published on an ephemeral host port on all interfaces."""
    text = str(text).strip()
    body = text.rsplit("/", 1)[0] if "/" in text.split(":")[-1] else text
    parts = _split_colons(body)
    host_ip: str | None = None
    if len(parts) >= 3:
        host_ip = ":".join(parts[:-2]).strip().strip("[]") or None
        container = parts[-1]
    else:
        container = parts[-1]
    if host_ip is not None:
        resolved = _resolve(host_ip)
        host_ip = None if resolved is None or is_wildcard_host(resolved) else resolved
    return PortSpec(host_ip, _port_range(container))


def compose_exposures(target: Target) -> Iterator[Exposure]:
    svc = target.compose_service
    if svc is None:
        return
    mode = svc.get("network_mode")
    if mode is not None and str(mode.value).strip() == "host":
        yield Exposure(None, target.node_loc(mode), "network_mode: host")
    for item in list_items(svc.get("ports")):
        if isinstance(item.value, dict):
            host_ip = node_value(item, "host_ip")
            ip = _resolve(str(host_ip)) if host_ip is not None else None
            if ip is not None and is_wildcard_host(ip):
                ip = None
            tgt = node_value(item, "target")
            ports = _port_range(str(tgt)) if tgt is not None else None
            spec = PortSpec(ip, ports)
        else:
            spec = parse_short_port(str(item.value))
        if spec.container is None or (spec.host_ip is not None):
            continue
        yield Exposure(spec.container, target.node_loc(item), f"published by `ports: {item.plain()}`")


# -- Kubernetes -------------------------------------------------------------------------
def _named_ports(container: Node | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in list_items(container.get("ports") if container else None):
        name, number = node_value(p, "name"), as_int(node_value(p, "containerPort"))
        if isinstance(name, str) and number is not None:
            out[name] = number
    return out


#: annotations that make a LoadBalancer Service internal (GKE, AWS, Azure, OCI, Alibaba)
_INTERNAL_LB = {
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": ("intranet",),
}


_INTERNAL_HOW = ", an internal load balancer reachable from the private network"


def internal_load_balancer(annotations_node: Node | None) -> bool:
    """True when a LoadBalancer's annotations make it internal (not internet-facing)."""
    annotations = annotations_node.plain() if annotations_node is not None else None
    if not isinstance(annotations, dict):
        return False
    return any(str(annotations.get(k, "")).strip().lower() in v for k, v in _INTERNAL_LB.items())


def k8s_exposures(target: Target) -> Iterator[Exposure]:
    yield from _host_exposures(target)
    yield from service_exposures(target)[1]


def _host_exposures(target: Target) -> Iterator[Exposure]:
    """``hostNetwork`` and ``hostPort`` of the workload itself."""
    wl = target.workload
    if wl is None:
        return
    spec = pod_spec(wl)
    host_net = spec.get("hostNetwork") if spec is not None else None
    if host_net is not None and host_net.value is True:
        yield Exposure(None, Location.of_node(wl.file, host_net), "hostNetwork: true")
    if target.container is not None:
        for p in list_items(target.container.get("ports")):
            hp = p.get("hostPort")
            cp = as_int(node_value(p, "containerPort"))
            if hp is not None and cp is not None:
                yield Exposure(frozenset({cp}), Location.of_node(wl.file, hp), f"hostPort {hp.value}")


def service_exposures(target: Target) -> tuple[object, tuple[Exposure, ...]]:
    """The Ingresses/routes, then the LoadBalancer/NodePort Services, that expose the
    workload, and a key that is equal for workloads of one manifest set that get the same
    answer (same namespace, pod labels and named ports). Found through the set's index and
    computed once per key: a set of thousands of workloads and Services is linear work."""
    wl = target.workload
    if wl is None:
        return None, ()
    labels = pod_labels(wl)
    named = _named_ports(target.container)
    index = manifest_index(target.k8s_objects)
    key = (wl.namespace or "default", _frozen(labels), tuple(sorted(named.items())))
    found = index.exposures.get(key)
    if found is None:
        found = (*route_exposures(target, labels, named), *_service_exposures(index, wl, labels, named))
        index.exposures[key] = found
    return key, found


def _service_exposures(index: ManifestIndex, wl: K8sObject, labels: dict[str, Any],
                       named: dict[str, int]) -> Iterator[Exposure]:
    for _, obj, svc_type, type_node, _ in index.matching(index.exposing, wl, labels):
        ports: set[int] = set()
        for p in list_items(obj.node.get("spec", "ports")):
            tp = node_value(p, "targetPort")
            if tp is None:
                tp = node_value(p, "port")
            number = named.get(tp) if isinstance(tp, str) and as_int(tp) is None else as_int(tp)
            if number is not None:
                ports.add(number)
        annotations = obj.node.get("metadata", "annotations")
        internal = svc_type == "LoadBalancer" and internal_load_balancer(annotations)
        how = f"Service {obj.name} of type {svc_type}{_INTERNAL_HOW if internal else ''}"
        ranges = node_value(obj.node, "spec", "loadBalancerSourceRanges")
        if (svc_type == "LoadBalancer" and not internal and isinstance(ranges, list) and ranges
                and not any(str(r).strip() in ("0.0.0.0/0", "::/0") for r in ranges)):
            # only the listed networks reach it: one step below an open load balancer
            internal = True
            how += f", limited to loadBalancerSourceRanges {', '.join(str(r) for r in ranges[:3])}"
        yield Exposure(frozenset(ports), Location.of_node(obj.file, type_node), how, internal=internal)


def _frozen(value: Any) -> Any:
    """A hashable stand-in for plain YAML data (a memo key part)."""
    if isinstance(value, dict):
        return ("d", tuple((repr(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("l", tuple(_frozen(v) for v in value))
    return (type(value).__name__, repr(value))


class _SelectorIndex:
    """Objects with a label selector, found by one ``key: value`` pair of their selector
    (the rarest in the set) so a workload only looks at objects that may select it; those
    with no usable pair (only ``matchExpressions``, empty, a null value) are always looked
    at. Entries are ``(position, ...)`` tuples and come back in manifest order."""

    def __init__(self) -> None:
        self.by_pair: dict[tuple[Any, str], list[tuple[Any, ...]]] = {}
        self.always: list[tuple[Any, ...]] = []
        self._pending: list[tuple[tuple[Any, ...], list[tuple[Any, str]]]] = []

    def add(self, entry: tuple[Any, ...], selector: Any) -> None:
        pairs: list[tuple[Any, str]] = []
        if isinstance(selector, dict):
            match = selector.get("matchLabels", selector) if "matchLabels" in selector else selector
            if isinstance(match, dict):
                # a selector value `None` also matches a missing label (str(None) == "None")
                pairs = [(k, str(v)) for k, v in match.items()
                         if k not in ("matchLabels", "matchExpressions") and str(v) != "None"]
        self._pending.append((entry, pairs))

    def freeze(self) -> None:
        counts: dict[tuple[Any, str], int] = {}
        for _, pairs in self._pending:
            for pair in pairs:
                counts[pair] = counts.get(pair, 0) + 1
        for entry, pairs in self._pending:
            if pairs:
                self.by_pair.setdefault(min(pairs, key=lambda p: counts[p]), []).append(entry)
            else:
                self.always.append(entry)
        self._pending = []

    def candidates(self, labels: dict[str, Any]) -> list[tuple[Any, ...]]:
        found = {e[0]: e for e in self.always}
        for k, v in labels.items():
            found.update((e[0], e) for e in self.by_pair.get((k, str(v)), ()))
        return [found[pos] for pos in sorted(found)]


class ManifestIndex:
    """One manifest set (a target's ``k8s_objects``) indexed once by namespace and selector
    labels for the exposure and NetworkPolicy rules, with their per-workload answers."""

    def __init__(self, objects: list[K8sObject]) -> None:
        self.objects = objects
        #: namespace -> LoadBalancer/NodePort Services with a selector: (pos, obj, type, type node)
        self.exposing: dict[str, _SelectorIndex] = {}
        #: namespace -> every Service with a selector, the last of each name: (pos, obj, name)
        self.selecting: dict[str, _SelectorIndex] = {}
        #: (namespace, Service name) -> the Ingress/route backends naming it: (pos, obj, port, node)
        self.backends: dict[tuple[str, str], list[tuple[tuple[int, int], K8sObject, Any, Node]]] = {}
        #: namespace -> NetworkPolicies with ingress rules: (pos, podSelector)
        self.policies: dict[str, _SelectorIndex] = {}
        #: per-workload answers, keyed by what they depend on
        self.exposures: dict[object, tuple[Exposure, ...]] = {}
        self.covers: dict[tuple[object, int | None], tuple[Exposure, ...]] = {}
        self.network_policy: dict[object, bool] = {}
        #: findings standing for a shared answer, already reported: the target that did
        self.reported: dict[tuple[Any, ...], Target] = {}
        services: dict[tuple[str, str], tuple[int, K8sObject]] = {}
        for pos, obj in enumerate(objects):
            ns = obj.namespace or "default"
            if obj.kind == "Service":
                services[(ns, obj.name)] = (pos, obj)  # a later Service of the same name wins
                type_node = obj.node.get("spec", "type")
                svc_type = str(type_node.value) if type_node is not None else "ClusterIP"
                selector = node_value(obj.node, "spec", "selector")
                if svc_type in ("LoadBalancer", "NodePort") and type_node is not None and selector:
                    self.exposing.setdefault(ns, _SelectorIndex()).add(
                        (pos, obj, svc_type, type_node, selector), selector)
            elif obj.kind in ("Ingress", "HTTPRoute", "GRPCRoute"):
                for i, (name, port, where) in enumerate(_route_backends(obj)):
                    self.backends.setdefault((ns, name), []).append(((pos, i), obj, port, where))
            elif obj.kind == "NetworkPolicy":
                types = node_value(obj.node, "spec", "policyTypes")
                if isinstance(types, list) and "Ingress" not in types:
                    continue
                selector = node_value(obj.node, "spec", "podSelector")
                self.policies.setdefault(ns, _SelectorIndex()).add((pos, selector), selector)
        for (ns, name), (pos, obj) in services.items():
            selector = node_value(obj.node, "spec", "selector")
            if selector and (ns, name) in self.backends:
                self.selecting.setdefault(ns, _SelectorIndex()).add((pos, obj, name, selector), selector)
        for group in (*self.exposing.values(), *self.selecting.values(), *self.policies.values()):
            group.freeze()

    def matching(self, groups: dict[str, _SelectorIndex], wl: K8sObject,
                 labels: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The entries (selector last) of the workload's namespace whose selector matches
        its pod labels, in manifest order."""
        group = groups.get(wl.namespace or "default")
        if group is None:
            return []
        return [entry for entry in group.candidates(labels) if selector_matches(entry[-1], labels)]

    def covering(self, key: object, shared: tuple[Exposure, ...], port: int | None) -> tuple[Exposure, ...]:
        """The shared exposures of ``key`` that cover ``port``, computed once per key and port."""
        memo_key = (key, port)
        found = self.covers.get(memo_key)
        if found is None:
            found = tuple(e for e in shared if e.covers(port))
            self.covers[memo_key] = found
        return found

    def selected_by_policy(self, wl: K8sObject, labels: dict[str, Any]) -> bool:
        """True when a NetworkPolicy with ingress rules in the workload's namespace selects
        its pods (``podSelector: {}`` selects every pod)."""
        key = (wl.namespace or "default", _frozen(labels))
        found = self.network_policy.get(key)
        if found is None:
            group = self.policies.get(key[0])
            found = group is not None and any(
                selector == {} or (selector and selector_matches(selector, labels))
                for _, selector in group.candidates(labels))
            self.network_policy[key] = found
        return found

    def first_to_report(self, what: tuple[Any, ...], target: Target) -> bool:
        """True unless another target of this set already reported the findings ``what``
        stands for. Those findings (same rule, place and message) would be dropped by the
        engine's de-duplication anyway, which keeps the first; skipping them keeps a set of
        N workloads all selected by N Services from making N x N findings."""
        owner = self.reported.get(what)
        return owner is None or owner is target

    def reported_by(self, what: tuple[Any, ...], target: Target) -> None:
        """Record, once its check has finished, the target that reported ``what``."""
        self.reported.setdefault(what, target)


_INDEXES: dict[int, ManifestIndex] = {}


def manifest_index(objects: list[K8sObject]) -> ManifestIndex:
    """The index of a manifest set, built on first use. The few most recent sets are kept
    (their targets are checked one after the other); keyed by the list's identity, which
    the index holds, so the id cannot be reused while cached."""
    index = _INDEXES.get(id(objects))
    if index is None or index.objects is not objects:
        index = ManifestIndex(objects)
        while len(_INDEXES) >= 4:
            del _INDEXES[next(iter(_INDEXES))]
        _INDEXES[id(objects)] = index
    return index


def _service_target_ports(service: K8sObject, port: Any, named: dict[str, int]) -> set[int]:
    """The container ports behind ``port`` (a number or a port name) of a Service; every
    target port when ``port`` is None."""
    out: set[int] = set()
    for p in list_items(service.node.get("spec", "ports")):
        number, name = as_int(node_value(p, "port")), node_value(p, "name")
        if port is not None and port != number and port != name and as_int(port) != number:
            continue
        tp = node_value(p, "targetPort")
        if tp is None:
            tp = number
        resolved = named.get(tp) if isinstance(tp, str) and as_int(tp) is None else as_int(tp)
        if resolved is not None:
            out.add(resolved)
    return out


def _route_backends(obj: K8sObject) -> Iterator[tuple[str, Any, Node]]:
    """(Service name, port or None, node to point at) for each backend of an Ingress
    (``networking.k8s.io/v1`` and ``v1beta1``) or a Gateway API HTTPRoute/GRPCRoute."""
    spec = obj.node.get("spec")
    if spec is None:
        return
    if obj.kind == "Ingress":
        backends = [spec.get("defaultBackend"), spec.get("backend")]
        for rule in list_items(spec.get("rules")):
            backends.extend(path.get("backend") for path in list_items(rule.get("http", "paths")))
        for backend in backends:
            if backend is None:
                continue
            service = backend.get("service")
            if service is not None:  # v1
                name = node_value(service, "name")
                port = node_value(service, "port", "number")
                if port is None:
                    port = node_value(service, "port", "name")
                where = service
            else:  # v1beta1
                name, port = node_value(backend, "serviceName"), node_value(backend, "servicePort")
                where = backend
            if isinstance(name, str):
                yield name, port, where
    else:
        for rule in list_items(spec.get("rules")):
            for ref in list_items(rule.get("backendRefs")):
                kind = node_value(ref, "kind")
                name = node_value(ref, "name")
                if isinstance(name, str) and kind in (None, "Service"):
                    yield name, node_value(ref, "port"), ref


def route_exposures(target: Target, labels: dict[str, Any], named: dict[str, int]) -> Iterator[Exposure]:
    """An Ingress or HTTPRoute that sends outside traffic to a Service selecting the workload."""
    wl = target.workload
    if wl is None:
        return
    index = manifest_index(target.k8s_objects)
    ns = wl.namespace or "default"
    found = []
    for _, service, name, _ in index.matching(index.selecting, wl, labels):
        found.extend((at, obj, name, service, port, where)
                     for at, obj, port, where in index.backends[(ns, name)])
    found.sort(key=lambda f: f[0])
    for _, obj, name, service, port, where in found:
        ports = _service_target_ports(service, port, named)
        if ports:
            yield Exposure(frozenset(ports), Location.of_node(obj.file, where),
                           f"{obj.kind} {obj.name} routes to Service {name}")


def helm_exposures(target: Target) -> Iterator[Exposure]:
    values = target.helm_values
    if values is None:
        return
    enabled = values.get("ingress", "enabled")
    if enabled is not None and enabled.value is True:
        ports = {as_int(node_value(p, "servicePort")) or 6333
                 for h in list_items(values.get("ingress", "hosts")) for p in list_items(h.get("paths"))}
        yield Exposure(frozenset(ports or {6333}), target.node_loc(enabled), "Helm `ingress.enabled: true`")
    type_node = values.get("service", "type")
    if type_node is None or str(type_node.value) not in ("LoadBalancer", "NodePort"):
        return
    ports: set[int] = set()
    port_nodes = list_items(values.get("service", "ports"))
    for p in port_nodes:
        number = as_int(node_value(p, "targetPort")) or as_int(node_value(p, "port"))
        if number is not None:
            ports.add(number)
    if not port_nodes:  # the chart's defaults: http, grpc, p2p
        ports = {6333, 6334, 6335}
    annotations = values.get("service", "annotations")
    internal = str(type_node.value) == "LoadBalancer" and internal_load_balancer(annotations)
    yield Exposure(frozenset(ports), target.node_loc(type_node),
                   f"Helm service.type {type_node.value}{_INTERNAL_HOW if internal else ''}",
                   internal=internal)


@dataclass(frozen=True)
class _Parts:
    """A target's exposures: its own (compose, hostNetwork/hostPort), those through the
    manifest set's Services and routes (``key`` names them in the set's index), Helm's."""

    own: tuple[Exposure, ...]
    key: object
    shared: tuple[Exposure, ...]
    helm: tuple[Exposure, ...]


def _parts(target: Target) -> _Parts:
    """Computed once per target: QS101-QS104 and QS201 all ask."""
    parts = target.extra.get("_exposures")
    if not isinstance(parts, _Parts):
        key, shared = service_exposures(target)
        parts = _Parts((*compose_exposures(target), *_host_exposures(target)), key, shared,
                       tuple(helm_exposures(target)))
        target.extra["_exposures"] = parts
    return parts


def exposures(target: Target) -> list[Exposure]:
    parts = _parts(target)
    return [*parts.own, *parts.shared, *parts.helm]


def exposures_of(target: Target, port: int | None) -> list[Exposure]:
    parts = _parts(target)
    shared = (manifest_index(target.k8s_objects).covering(parts.key, parts.shared, port)
              if parts.shared else ())
    return [*(e for e in parts.own if e.covers(port)), *shared, *(e for e in parts.helm if e.covers(port))]


def own_exposures_of(target: Target, port: int | None) -> list[Exposure]:
    """``exposures_of`` without the manifest set's Services and routes."""
    parts = _parts(target)
    return [*(e for e in parts.own if e.covers(port)), *(e for e in parts.helm if e.covers(port))]


def reported_once(what: tuple[Any, ...], target: Target) -> tuple[bool, Callable[[], None]]:
    """Whether ``target`` reports the findings ``what`` stands for on its shared exposures
    (see ``ManifestIndex.first_to_report``), and what to call once its check has finished."""
    parts = _parts(target)
    if not parts.shared:
        return True, lambda: None
    index = manifest_index(target.k8s_objects)
    key = (what, parts.key)
    return index.first_to_report(key, target), lambda: index.reported_by(key, target)


def api_published(target: Target) -> bool:
    """True when the REST or gRPC port is reachable from outside the host/cluster."""
    ports = qdrant_ports(target)
    return any(exposures_of(target, p) for p in (ports.http, ports.grpc))


class PortPublishedPublicly(Rule):
    id = "QS102"
    name = "port-published-publicly"
    severity = Severity.HIGH
    summary = ("Compose publishes Qdrant's REST/gRPC/metrics port on all host interfaces, or a "
               "Kubernetes LoadBalancer/NodePort Service, Ingress or HTTPRoute, hostPort or host "
               "network exposes it.")
    rationale = (
        "A port published without a host IP (`6333:6333`, or just `6333`) is reachable on every "
        "interface of the host, usually the internet for a VM, and Docker's iptables rules bypass "
        "host firewalls such as ufw. A LoadBalancer or NodePort Service, or an Ingress or HTTPRoute "
        "to the Qdrant Service, does the same in Kubernetes. "
        "Without an API key anyone who reaches the port has full manage access; with one, the key "
        "is the only line of defence and travels in plain text unless TLS is on. An internal load "
        "balancer (cloud annotations) reaches the private network only and is reported one level lower."
    )
    example = 'services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n    ports:\n      - "6333:6333"\n'
    fix = ("Publish on loopback (`127.0.0.1:6333:6333`) and put a TLS-terminating, authenticating "
           "proxy in front, or keep the port internal (ClusterIP Service, no `ports:`); always set an "
           "API key.")
    references = (
        "https://qdrant.tech/documentation/guides/security/",
        "https://docs.docker.com/reference/compose-file/services/#ports",
        "qdrant-security-facts 1.9, 8",
    )
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        ports = qdrant_ports(target)
        labels = ports.public()
        authed = has_auth(target)
        note = unread_env_note(target)
        parts = _parts(target)
        report, done = reported_once((self.id, tuple(labels.items()), ports.metrics, authed, note), target)
        for exp in (*parts.own, *(parts.shared if report else ()), *parts.helm):
            hit = sorted(p for p in labels if exp.covers(p))
            if not hit:
                continue
            names = ", ".join(f"{p} ({labels[p]})" for p in hit)
            metrics_only = hit == [ports.metrics]
            if exp.internal:
                # the VPC, not the internet: one step less than a public exposure
                sev = Severity.HIGH if not authed else Severity.MEDIUM
                tail = ("and no API key is set: anything on that network has full access" if not authed
                        else "the API key is then the only protection")
            elif metrics_only:
                sev, tail = Severity.HIGH, "the metrics listener has no authentication at all"
            elif not authed:
                sev, tail = Severity.CRITICAL, "and no API key is set: anyone reaching it has full access"
            else:
                sev, tail = self.severity, "the API key is then the only protection"
            if note and not (authed or metrics_only or exp.internal):
                sev, tail = min(sev, Severity.HIGH), tail + note
            yield self.finding(f"Qdrant port {names} is reachable from outside ({exp.how}); {tail}",
                               exp.location, severity=sev, target=target)
        done()
