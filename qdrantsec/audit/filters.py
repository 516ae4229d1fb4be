"""Which audit entries a query keeps: exact values (OR within a field, AND across fields),
negations, regular expressions, a time window, and the internal-traffic classification.

Besides ``matches`` (the truth, on a parsed entry) a filter offers ``needles``: byte strings
that every matching line must contain. The file reader tests them on the raw line before
it parses any JSON. The needle of a value is its JSON string encoding with quotes
(``"denied"``), UTF-8, unescaped. A JSON text can only spell a string differently by using
a backslash escape (``\\u0064enied``, ``\\/``, ``\\"``), so a line that contains a backslash
is always parsed: the prefilter can never drop a line that would match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import UsageError

#: Qdrant's AuditEvent members in the order it writes them (facts 5.2)
FIELDS = ("timestamp", "method", "api", "auth_type", "subject", "remote", "collection",
          "tracing_id", "result", "error")
#: the members a filter may name (the ones POST /audit/logs filters on)
FILTER_FIELDS = FIELDS[1:]
AUTH_TYPES = ("ApiKey", "Jwt", "None", "Internal")
RESULTS = ("ok", "denied")

_EXPR = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)\s*(!=|=|~)(.*)", re.S)
#: gRPC paths of Qdrant's internal (peer-to-peer) services, e.g. /qdrant.PointsInternal/Upsert
_INTERNAL_API = re.compile(r"/qdrant\.[A-Za-z]*Internal/")


def is_internal(entry: Mapping[str, Any]) -> bool:
    """Whether an entry records a peer's traffic to another peer rather than a client's.

    Qdrant 1.19 never writes ``auth_type: "Internal"`` (its internal auth context skips
    the audit write) and its internal collection check, ``internal_collection_access``,
    runs under that context; both are recognised anyway, for other versions. What does
    reach the log (facts 5.4):

    - gRPC paths of the internal services (``/qdrant.PointsInternal/...``,
      ``/qdrant.CollectionsInternal/...``), written as ``api`` when the auth middleware of
      the p2p port checks keys (``enforce_internal_auth``);
    - replica operations applied on a receiving peer: an operation ``method`` with
      ``auth_type "None"``, and neither ``remote`` nor ``api`` (no client connection, no
      middleware). A client's gRPC request to a server with no key configured has the same
      shape and is counted as internal too: the log cannot tell them apart.
    """
    auth = entry.get("auth_type")
    if auth == "Internal" or entry.get("method") == "internal_collection_access":
        return True
    api = entry.get("api")
    if isinstance(api, str) and _INTERNAL_API.match(api):
        return True
    return (auth == "None" and "method" in entry and "remote" not in entry
            and "api" not in entry)


def needle(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@dataclass
class Filter:
    """AND of: per field, one of the ``equals`` values; none of ``not_equals``; every regex
    of ``regexes`` (searched); ``no_internal``. An absent field equals nothing, so it fails
    ``=`` and ``~`` and passes ``!=``."""

    equals: dict[str, list[str]] = field(default_factory=dict)
    not_equals: dict[str, list[str]] = field(default_factory=dict)
    regexes: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    no_internal: bool = False

    def add(self, name: str, op: str, value: str) -> None:
        if name not in FILTER_FIELDS:
            raise UsageError(f"unknown audit field {name!r}",
                             hint=f"known fields: {', '.join(FILTER_FIELDS)}")
        known = {"auth_type": AUTH_TYPES, "result": RESULTS}.get(name)
        if known is not None and op != "~" and value not in known:
            raise UsageError(f"Qdrant never writes {name} {value!r}",
                             hint=f"{name} is one of {', '.join(known)} (case-sensitive)")
        if op == "=":
            values = self.equals.setdefault(name, [])
            if value not in values:
                values.append(value)
        elif op == "!=":
            self.not_equals.setdefault(name, []).append(value)
        else:
            try:
                self.regexes.append((name, re.compile(value)))
            except re.error as exc:
                raise UsageError(f"bad regular expression in {name}~{value}: {exc}") from None

    def add_expression(self, text: str) -> None:
        m = _EXPR.fullmatch(text)
        if not m:
            raise UsageError(f"bad --filter {text!r}",
                             hint="write FIELD=VALUE, FIELD!=VALUE or FIELD~REGEX, e.g. result=denied")
        name, op, value = m.group(1), m.group(2), m.group(3)
        self.add(name.replace("-", "_"), op, value)

    @property
    def empty(self) -> bool:
        return not (self.equals or self.not_equals or self.regexes or self.no_internal)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        get = entry.get
        for name, values in self.equals.items():
            if get(name) not in values:
                return False
        for name, values in self.not_equals.items():
            if get(name) in values:
                return False
        for name, rx in self.regexes:
            value = get(name)
            if not isinstance(value, str) or rx.search(value) is None:
                return False
        return not (self.no_internal and is_internal(entry))

    def needles(self) -> list[tuple[bytes, ...]]:
        """AND of groups, each an OR of byte strings a matching line must contain."""
        return [tuple(needle(v) for v in values) for values in self.equals.values()]

    def pushdown(self) -> dict[str, str]:
        """The exact single-value conditions ``POST /audit/logs`` can apply itself."""
        return {name: values[0] for name, values in self.equals.items() if len(values) == 1}

    def needs_local(self) -> bool:
        """Whether entries from the API still have to be filtered here."""
        return (any(len(v) > 1 for v in self.equals.values()) or bool(self.not_equals)
                or bool(self.regexes) or self.no_internal)


def build_filter(expressions: Iterable[str], shortcuts: Mapping[str, Iterable[str]],
                 *, no_internal: bool = False) -> Filter:
    """A Filter from ``--filter`` expressions and the shortcut options (``--result denied``
    is ``--filter result=denied``)."""
    filt = Filter(no_internal=no_internal)
    for name, values in shortcuts.items():
        for value in values:
            filt.add(name, "=", value)
    for expr in expressions:
        filt.add_expression(expr)
    return filt


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in epoch ns; None is open."""

    start: int | None = None
    end: int | None = None

    def contains(self, ts: int) -> bool:
        return (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)

    def overlaps(self, lo: int | None, hi: int | None) -> bool:
        """Whether ``[lo, hi)`` (None open) can hold an entry of the window."""
        if self.end is not None and lo is not None and lo >= self.end:
            return False
        return not (self.start is not None and hi is not None and hi <= self.start)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start >= self.end
