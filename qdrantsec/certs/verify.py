"""Would Qdrant's TLS stack accept this certificate? Chain, validity, EKU, SAN match.

The rules follow webpki (what rustls, and so Qdrant, uses): the Common Name is ignored;
a host matches a SAN of its own type only; an end-entity certificate must not be a CA; an
EKU extension, when present (on the leaf or an intermediate), must contain the purpose.
Trust anchors are additionally checked for expiry, as OpenSSL-based clients would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.certs.expiry import whole_days
from qdrantsec.certs.names import SanName, matches, parse_name, parse_reference
from qdrantsec.certs.profiles import PROFILES
from qdrantsec.errors import InputError

MAX_DEPTH = 8
_WEAK_HASHES = ("md5", "sha1")


@dataclass
class HostMatch:
    host: str
    ok: bool


@dataclass
class VerifyResult:
    cert: str
    ca: str
    purpose: str
    chain: list[str]
    hosts: list[HostMatch]
    not_after: str
    days_left: int
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"cert": self.cert, "ca": self.ca, "valid": self.valid, "purpose": self.purpose,
                "chain": self.chain, "hosts": [{"host": h.host, "ok": h.ok} for h in self.hosts],
                "not_after": self.not_after, "days_left": self.days_left, "problems": self.problems}


def _cn(cert: Any) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _validity(cert: Any, what: str, now: dt.datetime) -> list[str]:
    if cert.not_valid_before_utc > now:
        return [f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"]
    if cert.not_valid_after_utc <= now:
        return [f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"]
    return []


def _eku(cert: Any, needed: tuple[str, ...], what: str, purpose: str) -> list[str]:
    from qdrantsec.certs.inspect import eku_of

    have = eku_of(cert)
    if have is None:
        return []
    missing = [n for n in needed if n not in have]
    if missing:
        return [f"{what} has extended key usage {', '.join(have) or '(empty)'}; purpose {purpose} "
                f"needs {' and '.join(needed)}"]
    return []


def _leaf_problems(leaf: Any, purpose: str, now: dt.datetime) -> list[str]:
    from qdrantsec.certs import keys
    from qdrantsec.certs.inspect import basic_constraints, key_usage_of

    problems = _validity(leaf, "the certificate", now)
    if basic_constraints(leaf)[0]:
        problems.append("the certificate is a CA certificate; webpki refuses a CA as a server or client "
                        "certificate")
    problem = keys.unsupported_by_qdrant(leaf.public_key())
    if problem:
        problems.append(f"the certificate's key: {problem}")
    ku = key_usage_of(leaf)
    if ku and "digitalSignature" not in ku:
        problems.append("key usage lacks digitalSignature, which a TLS handshake needs")
    problems += _eku(leaf, PROFILES[purpose].eku, "the certificate", purpose)
    return problems


def _signature_problem(cert: Any, what: str) -> list[str]:
    algo = cert.signature_hash_algorithm
    if algo is not None and algo.name in _WEAK_HASHES:
        return [f"{what} is signed with {algo.name.upper()}, which rustls rejects"]
    return []


def _find_issuer(cert: Any, pool: list[Any]) -> Any | None:
    from qdrantsec.certs.inspect import issued_by

    return next((c for c in pool if issued_by(cert, c)), None)


def _chain(leaf: Any, extra: list[Any], anchors: list[Any], purpose: str,
           now: dt.datetime) -> tuple[list[str], list[str]]:
    """Walk leaf -> intermediates -> anchor; return (subjects along the path, problems)."""
    from qdrantsec.certs.inspect import basic_constraints, key_usage_of

    path, problems = [_cn(leaf)], []
    current, below = leaf, 0
    for _ in range(MAX_DEPTH):
        anchor = _find_issuer(current, anchors)
        if anchor is not None:
            path.append(_cn(anchor) + " (trust anchor)")
            problems += _validity(anchor, f"the CA {_cn(anchor)}", now)
            return path, problems
        issuer = _find_issuer(current, [c for c in extra if c is not current])
        if issuer is None:
            problems.append(f"not issued by a CA in the CA file (issuer {current.issuer.rfc4514_string()})")
            return path, problems
        what = f"intermediate {_cn(issuer)}"
        path.append(_cn(issuer))
        problems += _validity(issuer, what, now) + _signature_problem(issuer, what)
        is_ca, pathlen = basic_constraints(issuer)
        if not is_ca:
            problems.append(f"{what} is not a CA (basicConstraints CA:TRUE missing)")
        if pathlen is not None and below > pathlen:
            problems.append(f"{what} allows {pathlen} intermediates below it, found {below}")
        ku = key_usage_of(issuer)
        if ku and "keyCertSign" not in ku:
            problems.append(f"{what} may not sign certificates (keyCertSign missing)")
        problems += _eku(issuer, PROFILES[purpose].eku, what, purpose)
        current, below = issuer, below + 1
    problems.append(f"chain longer than {MAX_DEPTH} certificates")
    return path, problems


def verify(cert_path: str, ca_path: str, *, hosts: list[str] | None = None, purpose: str = "server",
           now: dt.datetime | None = None) -> VerifyResult:
    """Check ``cert_path`` (leaf first, optional intermediates) against the CA file."""
    from qdrantsec.certs.inspect import sans_of
    from qdrantsec.certs.pem import load_certificates, read_bytes

    if purpose not in PROFILES:
        raise InputError(f"unknown purpose {purpose!r}; use server, client or peer")
    refs = [(h, parse_reference(h)) for h in hosts or []]
    leaf, *extra = load_certificates(read_bytes(cert_path, "certificate"), cert_path)
    anchors = load_certificates(read_bytes(ca_path, "CA file"), ca_path)
    now = now or dt.datetime.now(dt.timezone.utc)

    problems = _leaf_problems(leaf, purpose, now) + _signature_problem(leaf, "the certificate")
    chain, chain_problems = _chain(leaf, extra, anchors, purpose, now)
    problems += chain_problems
    sans: list[SanName] = []
    for s in sans_of(leaf):
        kind, _, value = s.partition(":")
        if kind in ("DNS", "IP"):
            try:
                sans.append(parse_name(value) if kind == "IP" else SanName("dns", value.lower()))
            except InputError:
                continue
    host_results = []
    for raw, ref in refs:
        ok = matches(sans, ref)
        host_results.append(HostMatch(raw, ok))
        if not ok:
            shown = ", ".join(str(s) for s in sans) or "none"
            problems.append(f"host {raw} matches no subjectAltName (SANs: {shown}; the CN is ignored)")
    left = leaf.not_valid_after_utc - now
    return VerifyResult(cert_path, ca_path, purpose, chain, host_results,
                        leaf.not_valid_after_utc.isoformat(), whole_days(left), problems)
