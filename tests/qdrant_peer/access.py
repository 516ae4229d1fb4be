"""Access rules of facts 4.1 and the forbidden messages of 2.5.

``Checker`` performs one access check, writes one audit entry for it (facts 5.4) and raises
``Forbidden`` on denial.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .auth import Access, Identity

# Meta operations never carry a `collection` audit field (facts 5.4/5.7).
META_OPERATIONS = {
    "create_collection", "update_collection", "delete_collection", "change_aliases",
    "resharding", "transfer_shard", "set_shard_replica_state", "create_shard_key",
    "drop_shard_key", "create_payload_index", "drop_payload_index", "create_named_vector",
    "delete_named_vector", "nop",
}


class Forbidden(Exception):
    """403 with ``Forbidden: <message>``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def text(self) -> str:
        return f"Forbidden: {self.message}"


@dataclass(frozen=True)
class Req:
    """A requirement: any of write/manage/extras on top of read."""

    write: bool = False
    manage: bool = False
    extras: bool = False


READ = Req()
READ_X = Req(extras=True)
WRITE = Req(write=True)
WRITE_X = Req(write=True, extras=True)
MANAGE = Req(write=True, manage=True, extras=True)


def global_error(access: Access, req: Req) -> str | None:
    """Message for a global-only check, or None when allowed."""
    if not access.is_global:
        return "Global access is required"
    if access.global_mode == "r" and (req.write or req.manage):
        return "Global manage access is required"
    return None


def collection_error(access: Access, name: str, req: Req) -> str | None:
    """Message for a collection-scoped check, or None when allowed."""
    if access.is_global:
        if access.global_mode == "r" and (req.write or req.manage):
            return "Global manage access is required"
        return None
    grant = access.grant_for(name)
    if grant is None:
        return f"Access to collection {name} is required"
    # Qdrant checks extras, then write, then manage (rbac/mod.rs CollectionAccessView)
    if req.extras and grant.mode == "prw":
        return f"Only points access is allowed for collection {name}"
    if req.write and grant.mode == "r":
        return f"Write access to collection {name} is required"
    if req.manage:
        return "Manage access for this operation is required"
    return None


def can_see(access: Access, name: str) -> bool:
    """Filtered lists: a collection token sees only the names it lists (any mode)."""
    return access.is_global or access.grant_for(name) is not None


AuditWriter = Callable[..., None]


class Checker:
    """Per-request access checker bound to an identity and an audit context."""

    def __init__(
        self,
        identity: Identity,
        audit_write: Callable[[dict[str, Any]], None] | None,
        audit_base: dict[str, Any],
    ) -> None:
        self.identity = identity
        self.access = identity.access
        self._audit_write = audit_write
        self._base = audit_base

    def _log(self, method: str, collection: str | None, error: str | None) -> None:
        if self._audit_write is None:
            return
        entry = dict(self._base)
        entry.update(
            method=method,
            auth_type=self.identity.auth_type,
            subject=self.identity.subject,
            collection=None if method in META_OPERATIONS else collection,
            result="denied" if error else "ok",
            error=f"Forbidden: {error}" if error else None,
        )
        self._audit_write(entry)

    def check_global(self, req: Req, method: str) -> None:
        err = global_error(self.access, req)
        self._log(method, None, err)
        if err:
            raise Forbidden(err)

    def check_collection(
        self, name: str, req: Req, method: str, lookups: list[str] | None = None
    ) -> None:
        err = collection_error(self.access, name, req)
        if err is None:
            for other in lookups or []:
                err = collection_error(self.access, other, READ)
                if err:
                    break
        self._log(method, name, err)
        if err:
            raise Forbidden(err)

    def log_direct(self, method: str) -> None:
        """Direct access grabs (list_collections, list_aliases, issues): always ok."""
        self._log(method, None, None)
