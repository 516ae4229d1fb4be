"""QS102 port-published-publicly, and the port-exposure analysis other rules reuse.

Exposure sources: compose ``ports:`` (short and long syntax), ``network_mode: host``;
Kubernetes Services of type LoadBalancer/NodePort selecting the workload (an internal load
balancer counts one step lower), Ingresses and Gateway API routes to a Service selecting it,
``hostPort``, ``hostNetwork: true``; Helm ``service.type`` and ``ingress.enabled``. Compose
``expose:`` only opens a port to other containers on the same compose network, so it is not
an exposure here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    same_namespace,
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
    labels = pod_labels(wl)
    named = _named_ports(target.container)
    yield from route_exposures(target, labels, named)
    for obj in target.k8s_objects:
        if obj.kind != "Service" or not same_namespace(obj, wl):
            continue
        type_node = obj.node.get("spec", "type")
        svc_type = str(type_node.value) if type_node is not None else "ClusterIP"
        if svc_type not in ("LoadBalancer", "NodePort") or type_node is None:
            continue
        selector = node_value(obj.node, "spec", "selector")
        if not selector or not selector_matches(selector, labels):
            continue
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
    services = {o.name: o for o in target.k8s_objects if o.kind == "Service" and same_namespace(o, wl)}
    for obj in target.k8s_objects:
        if obj.kind not in ("Ingress", "HTTPRoute", "GRPCRoute") or not same_namespace(obj, wl):
            continue
        for name, port, where in _route_backends(obj):
            service = services.get(name)
            if service is None:
                continue
            selector = node_value(service.node, "spec", "selector")
            if not selector or not selector_matches(selector, labels):
                continue
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


def exposures(target: Target) -> list[Exposure]:
    return [*compose_exposures(target), *k8s_exposures(target), *helm_exposures(target)]


def exposures_of(target: Target, port: int | None) -> list[Exposure]:
    return [e for e in exposures(target) if e.covers(port)]


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
        for exp in exposures(target):
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
            note = "" if authed or metrics_only or exp.internal else unread_env_note(target)
            if note:
                sev, tail = min(sev, Severity.HIGH), tail + note
            yield self.finding(f"Qdrant port {names} is reachable from outside ({exp.how}); {tail}",
                               exp.location, severity=sev, target=target)
