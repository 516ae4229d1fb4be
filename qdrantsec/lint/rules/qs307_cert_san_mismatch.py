"""QS307 cert-san-mismatch: the certificate's SANs do not cover the host or the peer URIs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import is_wildcard_host, node_value
from qdrantsec.lint.rules.qs305_tls_file_problem import load, settings_in_use, tls_file

_URI_FLAG = re.compile(r"--(?:uri|bootstrap)(?:=|\s+)['\"]?(https?://[^\s'\"]+)")


def command_uris(target: Target) -> list[str]:
    """Peer URIs from ``--uri`` / ``--bootstrap`` on the compose command or container args."""
    parts: list[Any] = []
    for node, keys in ((target.compose_service, ("command", "entrypoint")),
                       (target.container, ("command", "args"))):
        if node is not None:
            parts += [node_value(node, key) for key in keys]
    text = " ".join(" ".join(map(str, p)) if isinstance(p, list) else str(p) for p in parts if p is not None)
    return _URI_FLAG.findall(text)


def cert_sans(cert: Any) -> list[Any] | None:
    """The certificate's SANs as ``certs.names.SanName``; None when it has no SAN extension."""
    from cryptography import x509

    from qdrantsec.certs.names import SanName

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    out = [SanName("dns", n.lower()) for n in ext.get_values_for_type(x509.DNSName)]
    out += [SanName("ip", str(ip)) for ip in ext.get_values_for_type(x509.IPAddress)]
    return out


class CertSanMismatch(Rule):
    id = "QS307"
    name = "cert-san-mismatch"
    severity = Severity.HIGH
    summary = ("The certificate in `tls.cert` has no subjectAltName for `service.host` (when that is a "
               "name or a specific IP) or for the peer URIs given.")
    rationale = (
        "rustls/webpki check the host a client connects to against the certificate's "
        "subjectAltNames only (the Common Name is ignored). Peers connect to each other's p2p and "
        "REST ports by the host of their peer URI, so a missing SAN breaks p2p TLS and shard "
        "transfers; clients using `service.host` fail too. Peer URIs come from `--peer-uri` and "
        "from `--uri`/`--bootstrap` in a compose command or container args. Severity: high for "
        "peer URIs and a "
        "certificate with no SANs, medium for `service.host`."
    )
    example = "service:\n  host: 10.0.0.5\n  enable_tls: true\n# cert.pem has only DNS:localhost\n"
    fix = ("Reissue the certificate with a SAN for every DNS name and IP that peers and clients use "
           "(`qdrantsec certs issue --san ...`).")
    references = (
        "https://qdrant.tech/documentation/guides/security/#tls",
        "qdrant-security-facts 6.5",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        from qdrantsec.certs.names import matches, parse_reference
        from qdrantsec.errors import InputError

        if "tls.cert" not in settings_in_use(target):
            return
        file = tls_file(target, "tls.cert")
        loaded = load(file) if file is not None else None
        if loaded is None or not loaded.certs:
            return
        sans = cert_sans(loaded.certs[0])
        where = target.loc("tls.cert")
        if sans is None:
            yield self.finding("the certificate in `tls.cert` has no subjectAltName extension; TLS clients "
                               "ignore the Common Name and will reject it", where, target=target)
            return
        wanted: list[tuple[str, str, Severity]] = []
        host = target.config.get("service.host")
        if isinstance(host, str) and not isinstance(host, ValueRef) and host and not is_wildcard_host(host):
            wanted.append((host.strip("[]"), "`service.host`", Severity.MEDIUM))
        uris = list(target.extra.get("peer_uris", getattr(target.options, "peer_uris", ())) or ())
        uris += [u for u in command_uris(target) if u not in uris]
        for uri in uris:
            try:
                name = urlsplit(str(uri)).hostname
            except ValueError:  # `--uri https://[::1` in a linted command: no host to check
                continue
            if name:
                wanted.append((name, f"peer URI {uri}", self.severity))
        listed = ", ".join(str(s) for s in sans) or "none"
        for name, why, sev in wanted:
            try:
                ref = parse_reference(name)
            except InputError:
                continue
            if not matches(sans, ref):
                yield self.finding(f"the certificate in `tls.cert` does not cover {name} ({why}); its SANs: "
                                   f"{listed}", where, severity=sev, target=target)
