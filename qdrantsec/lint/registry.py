"""The one explicit list of lint rules, and the docs generated from them.

Every rule module is imported here by name (no discovery magic), so a rule that is not in
``ALL_RULES`` does not run; a test checks that every module of ``qdrantsec.lint.rules`` is
registered. The same rule attributes feed ``qdrantsec lint --explain``, ``--list-rules``,
the README's rule table and the man page, under the fixed headings What it does / Why it
matters / Example / Use instead / References.
"""

from __future__ import annotations

import difflib

from qdrantsec.errors import UsageError
from qdrantsec.lint.model import Rule
from qdrantsec.lint.rules.qs001_invalid_file import InvalidFile
from qdrantsec.lint.rules.qs002_duplicate_key import DuplicateKey
from qdrantsec.lint.rules.qs003_suppression_without_reason import SuppressionWithoutReason
from qdrantsec.lint.rules.qs004_expired_suppression import ExpiredSuppression
from qdrantsec.lint.rules.qs101_bind_all_interfaces import BindAllInterfaces
from qdrantsec.lint.rules.qs102_port_published_publicly import PortPublishedPublicly
from qdrantsec.lint.rules.qs103_p2p_port_exposed import P2pPortExposed
from qdrantsec.lint.rules.qs104_metrics_port_unauthenticated import MetricsPortUnauthenticated
from qdrantsec.lint.rules.qs105_host_not_ip_literal import HostNotIpLiteral
from qdrantsec.lint.rules.qs201_no_authentication import NoAuthentication
from qdrantsec.lint.rules.qs202_empty_key import EmptyKey
from qdrantsec.lint.rules.qs203_weak_key import WeakKey
from qdrantsec.lint.rules.qs204_key_reused import KeyReused
from qdrantsec.lint.rules.qs205_rotation_unfinished import RotationUnfinished
from qdrantsec.lint.rules.qs206_jwt_rbac_without_key import JwtRbacWithoutKey
from qdrantsec.lint.rules.qs207_plaintext_secret import PlaintextSecret
from qdrantsec.lint.rules.qs208_unknown_setting import UnknownSetting
from qdrantsec.lint.rules.qs209_internal_auth_off import InternalAuthOff
from qdrantsec.lint.rules.qs210_invalid_setting_value import InvalidSettingValue
from qdrantsec.lint.rules.qs211_unexpanded_variable import UnexpandedVariable
from qdrantsec.lint.rules.qs301_api_key_over_plaintext import ApiKeyOverPlaintext
from qdrantsec.lint.rules.qs302_tls_incomplete import TlsIncomplete
from qdrantsec.lint.rules.qs303_p2p_tls_disabled import P2pTlsDisabled
from qdrantsec.lint.rules.qs304_ca_cert_missing import CaCertMissing
from qdrantsec.lint.rules.qs305_tls_file_problem import TlsFileProblem
from qdrantsec.lint.rules.qs306_cert_expiry import CertExpiry
from qdrantsec.lint.rules.qs307_cert_san_mismatch import CertSanMismatch
from qdrantsec.lint.rules.qs308_cert_reload_disabled import CertReloadDisabled
from qdrantsec.lint.rules.qs309_mtls_not_on_grpc import MtlsNotOnGrpc
from qdrantsec.lint.rules.qs401_audit_disabled import AuditDisabled
from qdrantsec.lint.rules.qs402_audit_trusts_forwarded_headers import AuditTrustsForwardedHeaders
from qdrantsec.lint.rules.qs403_audit_short_retention import AuditShortRetention
from qdrantsec.lint.rules.qs404_audit_dir_relative import AuditDirRelative
from qdrantsec.lint.rules.qs501_runs_as_root import RunsAsRoot
from qdrantsec.lint.rules.qs502_writable_root_filesystem import WritableRootFilesystem
from qdrantsec.lint.rules.qs503_privileged_container import PrivilegedContainer
from qdrantsec.lint.rules.qs504_unpinned_image import UnpinnedImage
from qdrantsec.lint.rules.qs505_no_network_policy import NoNetworkPolicy
from qdrantsec.lint.rules.qs601_cors_any_origin import CorsAnyOrigin
from qdrantsec.lint.rules.qs602_snapshot_url_recovery import SnapshotUrlRecovery
from qdrantsec.lint.rules.qs603_telemetry_enabled import TelemetryEnabled
from qdrantsec.lint.rules.qs604_run_mode_unset import RunModeUnset

#: Every rule, in ID order.
ALL_RULES: tuple[type[Rule], ...] = (
    # files and suppressions (raised by the engine and the suppression pass)
    InvalidFile,
    DuplicateKey,
    SuppressionWithoutReason,
    ExpiredSuppression,
    # network exposure
    BindAllInterfaces,
    PortPublishedPublicly,
    P2pPortExposed,
    MetricsPortUnauthenticated,
    HostNotIpLiteral,
    # authentication and settings
    NoAuthentication,
    EmptyKey,
    WeakKey,
    KeyReused,
    RotationUnfinished,
    JwtRbacWithoutKey,
    PlaintextSecret,
    UnknownSetting,
    InternalAuthOff,
    InvalidSettingValue,
    UnexpandedVariable,
    # TLS
    ApiKeyOverPlaintext,
    TlsIncomplete,
    P2pTlsDisabled,
    CaCertMissing,
    TlsFileProblem,
    CertExpiry,
    CertSanMismatch,
    CertReloadDisabled,
    MtlsNotOnGrpc,
    # audit
    AuditDisabled,
    AuditTrustsForwardedHeaders,
    AuditShortRetention,
    AuditDirRelative,
    # container and Kubernetes hardening
    RunsAsRoot,
    WritableRootFilesystem,
    PrivilegedContainer,
    UnpinnedImage,
    NoNetworkPolicy,
    # risky defaults
    CorsAnyOrigin,
    SnapshotUrlRecovery,
    TelemetryEnabled,
    RunModeUnset,
)

HEADINGS: tuple[str, ...] = ("What it does", "Why it matters", "Example", "Use instead", "References")


def all_rules() -> list[Rule]:
    """A fresh instance of every rule, in ID order."""
    return [cls() for cls in ALL_RULES]


def get_rule(rule_id: str) -> Rule:
    """The rule with this ID (``QS201``, case-insensitive) or name (``no-authentication``)."""
    wanted = rule_id.strip()
    for cls in ALL_RULES:
        if cls.id == wanted.upper() or cls.name == wanted.lower():
            return cls()
    ids = [cls.id for cls in ALL_RULES]
    close = difflib.get_close_matches(wanted.upper(), ids, n=3, cutoff=0.6)
    by_name = {cls.name: cls.id for cls in ALL_RULES}
    for name in difflib.get_close_matches(wanted.lower(), list(by_name), n=1, cutoff=0.7):
        if by_name[name] not in close:
            close.append(by_name[name])
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UsageError(f"unknown rule ID {wanted}",
                     hint=f"{hint}'qdrantsec lint --list-rules' lists them all")


def _indent(text: str, prefix: str = "  ") -> list[str]:
    return [f"{prefix}{line}" if line else "" for line in text.rstrip("\n").splitlines()]


def explain(rule: Rule) -> str:
    """Plain-text documentation of a rule for ``qdrantsec lint --explain``."""
    lines = [f"{rule.id} {rule.name} (default severity: {rule.severity.label})", ""]
    sections = (
        (HEADINGS[0], rule.summary),
        (HEADINGS[1], rule.rationale),
        (HEADINGS[2], rule.example),
        (HEADINGS[3], rule.fix),
        (HEADINGS[4], "\n".join(f"- {ref}" for ref in rule.references)),
    )
    for heading, body in sections:
        if not body:
            continue
        lines.append(heading)
        lines.extend(_indent(body))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rules_markdown_table() -> str:
    """The README's rule table."""
    rows = ["| ID | Name | Default severity | What it does |", "|---|---|---|---|"]
    for cls in ALL_RULES:
        # the anchor is what SARIF's helpUri points at (output.lint_formats.rule_help_uri)
        anchor = f'<a id="{cls.id.lower()}-{cls.name.lower()}"></a>'
        rows.append(
            f"| {anchor}{cls.id} | `{cls.name}` | {cls.severity.label} | {_md_cell(cls.summary)} |"
        )
    return "\n".join(rows) + "\n"


def _troff(text: str) -> str:
    """Escape for man(7): backslashes, hyphens, and control characters at line starts."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in out.splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def rules_man_section() -> str:
    """A ``.SH RULES`` section for the man page (troff)."""
    parts = [".SH RULES"]
    for cls in ALL_RULES:
        parts.append(".TP")
        parts.append(f"\\fB{cls.id}\\fR {_troff(cls.name)} ({cls.severity.label})")
        parts.append(_troff(" ".join(cls.summary.split())))
        fix = " ".join(cls.fix.split())
        parts.append(".br")
        parts.append(_troff(f"Use instead: {fix}"))
    return "\n".join(parts) + "\n"
