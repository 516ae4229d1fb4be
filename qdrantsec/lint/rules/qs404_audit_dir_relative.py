"""QS404 audit-dir-relative: ``audit.dir`` is relative to Qdrant's working directory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import fix_location
from qdrantsec.lint.rules.qs401_audit_disabled import audit_enabled
from qdrantsec.qdrant.config import AUDIT_DEFAULTS


class AuditDirRelative(Rule):
    id = "QS404"
    name = "audit-dir-relative"
    severity = Severity.LOW
    summary = "`audit.dir` is a relative path (the default `./storage/audit`) outside a container."
    rationale = (
        "The audit directory is resolved against the process's working directory, not against "
        "`storage.storage_path`. A service started from another directory (a systemd unit, a "
        "shell in $HOME) writes the audit trail somewhere else, or panics at startup when it "
        "cannot create it. Containers run from `/qdrant`, so this is only reported for plain "
        "config and env files."
    )
    example = "audit:\n  enabled: true\n  dir: ./storage/audit\n"
    fix = "Use an absolute path, e.g. `audit.dir: /var/lib/qdrant/audit`."
    references = ("qdrant-security-facts 1.7, 9",)
    kinds = ("qdrant-config", "env")

    def check(self, target: Target) -> Iterable[Finding]:
        if not audit_enabled(target):
            return
        value = target.config.get("audit.dir", AUDIT_DEFAULTS["dir"])
        if not isinstance(value, str) or isinstance(value, ValueRef):
            return
        if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute():
            return
        yield self.finding(f"`audit.dir` {value!r} is relative to the working directory Qdrant is started in",
                           fix_location(target, "audit.dir"), target=target)
