"""What a credential may do: the access table for a token or a plain key, and answers to
single questions ("may it upsert_points on docs?", "may it PUT /collections/docs/points?").

Built on :mod:`qdrantsec.qdrant.access`. A token Qdrant refuses outright (malformed,
expired, bad signature when keys were given, rejected claims) may do nothing except the
public endpoints, which never look at credentials. ``value_exists`` is shown as a condition
Qdrant checks on every request; it cannot be evaluated offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qdrantsec.qdrant.access import (
    DOCS_DIFFERENCES,
    Access,
    Action,
    Decision,
    RequestMatch,
    decide,
    table,
)
from qdrantsec.token.claims import EXPIRED, INVALID, SIGNATURE, Problem
from qdrantsec.token.inspect import Report

_REFUSAL = {
    SIGNATURE: (403, "InvalidSignature"),
    EXPIRED: (403, "ExpiredSignature"),
    INVALID: (401, "claim validation error"),
}


@dataclass(frozen=True)
class Subject:
    """The credential being explained."""

    label: str
    access: Access
    #: why Qdrant refuses the token outright, if it does
    refused: Problem | None = None
    #: the value_exists claim (a condition on every request), if any
    value_exists: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def condition(self) -> str | None:
        ve = self.value_exists
        if not ve:
            return None
        pairs = ", ".join(f"{m.get('key')}={m.get('value')!r}" for m in ve.get("matches", []))
        return (f"on every request Qdrant first checks that collection {ve.get('collection')!r} "
                f"has a point with {pairs or 'any payload'}; if not: 401 (403 if the collection "
                "is missing) 'Invalid JWT, stateful validation failed'")

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "access": self.access.describe(),
                "refused": self.refused.as_dict() if self.refused else None,
                "value_exists": self.value_exists, "condition": self.condition(),
                "notes": list(self.notes)}


def subject_for_key_type(key_type: str) -> Subject:
    access = Access.for_key_type(key_type)
    label = "admin key (api_key / alt_api_key)" if access.global_mode == "m" else \
        "read-only key (read_only_api_key)"
    return Subject(label, access)


def subject_for_report(report: Report) -> Subject:
    """The access a token grants, or why Qdrant refuses it."""
    notes = []
    if report.signature == "unverified":
        notes.append("UNVERIFIED: no key given, the signature was not checked")
    refused = None
    if report.verdict is not None and report.verdict.reported is not None:
        refused = report.verdict.reported
    elif report.problems:
        refused = report.problems[0]
    claims = report.claims if isinstance(report.claims, dict) else {}
    access = Access.manage()
    if refused is None:
        access = Access.from_claim(claims.get("access"), present="access" in claims)
        if "access" not in claims:
            notes.append("no access claim: Qdrant grants full manage")
    else:
        access = Access(None, ())
    ve = claims.get("value_exists") if isinstance(claims.get("value_exists"), dict) else None
    return Subject("token", access, refused, ve, tuple(notes))


@dataclass(frozen=True)
class Answer:
    action: Action
    collection: str | None
    decision: Decision
    #: a condition that still applies when allowed (value_exists)
    condition: str | None = None
    request: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action.name}
        if self.request:
            out["request"] = self.request
        out["collection"] = self.collection
        out["requirement"] = self.action.requirement.describe()
        out.update(self.decision.as_dict())
        out["condition"] = self.condition
        if self.action.docs_differs:
            out["docs_differs"] = self.action.docs_differs
        if self.action.note:
            out["note"] = self.action.note
        return out


def refusal_decision(problem: Problem) -> Decision:
    status, text = _REFUSAL.get(problem.kind, (401, "Invalid API key or JWT"))
    return Decision("denied", f"{problem.body or text} ({problem.message})", status, rbac=False)


def _decide(subject: Subject, action: Action, collection: str | None,
            what: Action | RequestMatch) -> Decision:
    if action.requirement.scope == "public":
        return decide(Access.manage(), what, collection)
    if subject.refused is not None:
        return refusal_decision(subject.refused)
    return decide(subject.access, what, collection)


def answer(subject: Subject, what: Action | RequestMatch, collection: str | None = None
           ) -> Answer:
    """One question: may ``subject`` do ``what`` (on ``collection``)?"""
    if isinstance(what, RequestMatch):
        action = what.action
        col = collection if collection is not None else what.collection
        request = f"{what.method} {what.path}"
    else:
        action, col, request = what, collection, None
    decision = _decide(subject, action, col, what)
    cond = subject.condition() if decision.allowed and action.requirement.scope != "public" else None
    return Answer(action, col if action.collection_scoped else None, decision, cond, request)


def access_table(subject: Subject, collections: list[str] | None = None, *,
                 include_staging: bool = False) -> tuple[list[str], list[tuple[Action, dict[str, Decision]]]]:
    """Columns (collection names, ``"*"`` = any other) and one row per action."""
    rows = table(subject.access, collections)
    if subject.refused is not None:
        refused = refusal_decision(subject.refused)
        rows = [(a, {c: (d if a.requirement.scope == "public" else refused) for c, d in cells.items()})
                for a, cells in rows]
    if not include_staging:
        rows = [(a, cells) for a, cells in rows if not a.staging_only]
    columns = list(rows[0][1]) if rows else ["*"]
    return columns, rows


def table_as_dict(subject: Subject, columns: list[str],
                  rows: list[tuple[Action, dict[str, Decision]]]) -> dict[str, Any]:
    return {
        "subject": subject.as_dict(),
        "columns": columns,
        "rows": [{"action": a.name, "docs_row": a.docs_row, "routes": [str(r) for r in a.routes],
                  "requirement": a.requirement.label,
                  "results": {c: d.as_dict() for c, d in cells.items()},
                  "docs_differs": a.docs_differs} for a, cells in rows],
        "docs_differences": list(DOCS_DIFFERENCES),
    }
