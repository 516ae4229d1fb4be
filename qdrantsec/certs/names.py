"""Subject alternative names: parse, validate and match them the way webpki (rustls) does.

Qdrant's TLS stack (rustls + webpki) ignores the Common Name: a host matches only a SAN of
its own type, a DNS name against dNSName entries, an IP literal against iPAddress entries.
Wildcards are accepted only as a whole leftmost label (``*.example.com``) followed by at
least two labels, and match exactly one label.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from qdrantsec.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class SanName(NamedTuple):
    """One subjectAltName entry: ``kind`` is ``"dns"`` or ``"ip"``; ``value`` normalised.

    Immutable, hashable and ordered by (kind, value). (A NamedTuple, not a frozen dataclass,
    whose generated methods go through ``exec`` at every start of ``certs generate``.)"""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{'DNS' if self.kind == 'dns' else 'IP'}:{self.value}"

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(self.value)


def dns_problem(name: str, *, allow_wildcard: bool) -> str | None:
    """Why ``name`` is not a DNS name webpki accepts (None when it is fine)."""
    if not name:
        return "empty name"
    if len(name) > 253:
        return "longer than 253 characters"
    if not name.isascii():
        return "not ASCII (use the punycode xn-- form)"
    labels = name.split(".")
    if labels[0] == "*":
        if not allow_wildcard:
            return "wildcards are not allowed here"
        if len(labels) < 3:
            return "a wildcard needs at least two labels after it (*.example.com)"
        labels = labels[1:]
    for label in labels:
        if not label:
            return "empty label (two dots in a row, or a leading or trailing dot)"
        if "*" in label:
            return "a wildcard must be the whole leftmost label (*.example.com)"
        if len(label) > 63:
            return f"label {label!r} is longer than 63 characters"
        bad = sorted(set(label.lower()) - _LABEL_CHARS)
        if bad:
            return f"character {bad[0]!r} is not allowed in a DNS name"
        if label.startswith("-") or label.endswith("-"):
            return f"label {label!r} starts or ends with a hyphen"
    if labels[-1].isdigit():
        return "the last label is all digits (not an IP address either)"
    return None


def parse_name(raw: str, *, allow_wildcard: bool = True, what: str = "host") -> SanName:
    """Turn a user's host string into a SAN: IP literals (``[::1]`` too) become IP SANs."""
    text = raw.strip()
    if text != raw or any(c.isspace() for c in text):
        raise InputError(f"{what} {raw!r} contains whitespace")
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        addr = None
    if addr is not None:
        if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
            raise InputError(f"{what} {raw!r}: IPv6 zone identifiers cannot appear in a certificate")
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return SanName("ip", str(addr))
    if "%" in candidate:
        raise InputError(f"{what} {raw!r}: IPv6 zone identifiers cannot appear in a certificate")
    if "://" in text or "/" in text:
        raise InputError(f"{what} {raw!r} looks like a URL; give only the host name or IP")
    if text.count(":") == 1 and text.rsplit(":", 1)[1].isdigit():
        raise InputError(f"{what} {raw!r} includes a port; give only the host name or IP")
    name = text.lower()
    problem = dns_problem(name, allow_wildcard=allow_wildcard)
    if problem:
        raise InputError(f"{what} {raw!r} is not a valid DNS name or IP address: {problem}")
    return SanName("dns", name)


def parse_names(raws: list[str], *, what: str = "host") -> list[SanName]:
    """Parse and de-duplicate, keeping the order given (the first name becomes the CN)."""
    seen: dict[SanName, None] = {}
    for raw in raws:
        seen.setdefault(parse_name(raw, what=what), None)
    return list(seen)


def parse_reference(raw: str) -> SanName:
    """A host a client connects to (no wildcards; a trailing dot is allowed, as in webpki)."""
    text = raw[:-1] if raw.endswith(".") and not raw.endswith("..") else raw
    return parse_name(text, allow_wildcard=False, what="host")


def dns_matches(presented: str, reference: str) -> bool:
    """webpki's presented-vs-reference DNS match (case-insensitive, one-label wildcard)."""
    p = presented.lower()
    r = reference.lower().rstrip(".") if reference.endswith(".") else reference.lower()
    if p.endswith(".") or dns_problem(p, allow_wildcard=True):
        return False
    if p.startswith("*."):
        head, _, rest = r.partition(".")
        return bool(head) and rest == p[2:]
    return p == r


def matches(sans: list[SanName], reference: SanName) -> bool:
    """True when ``reference`` (a host a client uses) is covered by one of ``sans``."""
    if reference.kind == "ip":
        want = reference.ip
        return any(s.kind == "ip" and s.ip == want for s in sans)
    return any(s.kind == "dns" and dns_matches(s.value, reference.value) for s in sans)
