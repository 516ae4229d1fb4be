"""The linter's vocabulary: severities, locations, findings, rules and lint targets.

A *target* is one thing that runs Qdrant (a Qdrant config file set, a compose service, a
Kubernetes workload, a Helm release's values) together with the effective Qdrant config
it runs with. Rules look at targets and yield findings; the engine builds targets from
files, applies suppressions and hands findings to the formatters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, ClassVar

from qdrantsec.qdrant.config import EffectiveConfig, Setting, Source
from qdrantsec.yamlloc import Node


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            from qdrantsec.errors import UsageError

            raise UsageError(f"unknown severity {text!r} (use one of: {names})") from None


@dataclass(frozen=True)
class Location:
    """Where a finding points. ``file`` is None only for "Qdrant default" (nothing set it);
    ``env_var`` names the variable when an environment override set the value. A finding
    about a running server (``qdrantsec probe``) has no file: ``url`` is the request it
    made (``https://qdrant.example:6333/collections``)."""

    file: str | None
    line: int | None = None
    column: int | None = None
    env_var: str | None = None
    note: str | None = None  # e.g. "Qdrant default" or "compose service qdrant"
    url: str | None = None

    @classmethod
    def of_url(cls, url: str, note: str | None = None) -> Location:
        return cls(None, url=url, note=note)

    @classmethod
    def of_node(cls, file: str, node: Node, *, key: bool = False) -> Location:
        file = getattr(node, "file", None) or file  # a node merged in from another file
        if key and node.key_line is not None:
            return cls(file, node.key_line, node.key_column)
        return cls(file, node.line, node.column)

    @classmethod
    def of_source(cls, source: Source, fallback_file: str | None = None) -> Location:
        if source.kind == "default":
            return cls(fallback_file, None, None, note="Qdrant default")
        return cls(source.file or fallback_file, source.line, source.column,
                   env_var=source.env_var)

    @classmethod
    def of_setting(cls, setting: Setting | None, fallback_file: str | None = None) -> Location:
        if setting is None:
            return cls(fallback_file, None, None, note="Qdrant default")
        return cls.of_source(setting.source, fallback_file)

    def describe(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            parts.append(where)
        elif self.url:
            parts.append(self.url)
        if self.env_var:
            parts.append(f"via {self.env_var}")
        if self.note:
            parts.append(f"({self.note})")
        return " ".join(parts) or "(unknown)"


@dataclass
class Finding:
    rule: str  # "QS101"
    name: str  # "bind-all-interfaces"
    severity: Severity
    message: str
    location: Location
    fix: str = ""
    target: str = ""  # what was linted, e.g. "docker-compose.yml service qdrant"
    suppressed: bool = False
    suppression: str | None = None  # why/how it was suppressed
    #: what was observed, for findings about a running server: the request made and the
    #: answer seen ("GET /collections without credentials: 200")
    evidence: str = ""

    def key(self) -> tuple[str, str, int, str]:
        """Identity for baselines: stable across unrelated line shifts is not promised."""
        return (self.rule, self.location.file or "", self.location.line or 0, self.message)


@dataclass
class K8sObject:
    """One Kubernetes object from a manifest file."""

    file: str
    node: Node
    kind: str
    name: str
    namespace: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        return self.node.plain()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LintOptions:
    """Run-wide settings some rules need (QS306 expiry window, QS307 peer URIs, the clock)."""

    cert_expiry_days: int = 30
    peer_uris: tuple[str, ...] = ()
    now: datetime | None = None  # None = the real clock


@dataclass
class PublishedPort:
    """A container port reachable from outside the container runtime: a compose ``ports:``
    entry or a Kubernetes ``hostPort``. ``host_ip`` None means all interfaces."""

    container_port: int
    host_port: str | None  # "6333", a range "7000-7001", or None (ephemeral)
    host_ip: str | None
    protocol: str
    location: Location

    @property
    def public(self) -> bool:
        """True when bound on every host interface (no host IP, 0.0.0.0 or ::)."""
        return self.host_ip in (None, "", "0.0.0.0", "::", "[::]")


@dataclass
class Target:
    """One thing that runs (or configures) Qdrant, ready for the rules."""

    kind: str  # "qdrant-config" | "compose" | "k8s" | "helm-values" | "env"
    file: str  # the main file (compose file, manifest, values file, config file)
    label: str  # human name: "docker-compose.yml service qdrant"
    config: EffectiveConfig
    #: True when some Qdrant settings were actually seen for this target (a config file,
    #: QDRANT__ env vars, Helm `config:`). Config rules about *defaults* still apply when
    #: False, but only for targets that run Qdrant.
    config_files: list[str] = field(default_factory=list)
    runs_qdrant: bool = True
    # platform views (None when not applicable)
    compose_service: Node | None = None
    compose_service_name: str | None = None
    workload: K8sObject | None = None
    container: Node | None = None  # the qdrant container of the workload
    k8s_objects: list[K8sObject] = field(default_factory=list)  # the whole manifest set
    helm_values: Node | None = None
    #: literal secrets seen in files meant to be committed: (setting path, Location)
    extra: dict[str, Any] = field(default_factory=dict)
    #: published ports (compose ``ports:``, Kubernetes ``hostPort``), parsed, with positions
    ports: list[PublishedPort] = field(default_factory=list)
    #: bind mounts as (container path, local path) for compose/k8s targets; with
    #: ``workdir`` (the container's working directory, ``/qdrant`` in the official image)
    #: they map a path in the Qdrant config to a local file (``host_path``)
    mounts: list[tuple[str, str]] = field(default_factory=list)
    workdir: str | None = None
    options: LintOptions = field(default_factory=LintOptions)

    def host_path(self, path: str) -> str | None:
        """The local file a path in Qdrant's config refers to, resolved as Qdrant resolves
        it (relative to its working directory), or None when it is not visible here (a
        container path with no local bind mount)."""
        import posixpath
        from pathlib import Path

        if self.workdir is None:
            # a config file run from its directory (or, for Qdrant's config/ layout,
            # from the directory above it)
            base = Path(self.config_files[0] if self.config_files else self.file).resolve().parent
            if base.name == "config":
                base = base.parent
            return str(base / path)
        full = posixpath.normpath(posixpath.join(self.workdir, path))
        best: tuple[str, str] | None = None
        for container, local in self.mounts:
            c = container.rstrip("/") or "/"
            if (full == c or full.startswith(c + "/")) and (best is None or len(c) > len(best[0])):
                best = (c, local)
        if best is None:
            return None
        rest = full[len(best[0]):].lstrip("/")
        return str(Path(best[1]) / rest) if rest else best[1]

    def loc(self, path: str) -> Location:
        """Location of a config setting, or "Qdrant default" in the target's file."""
        return Location.of_setting(self.config.setting(path), self.file)

    def node_loc(self, node: Node, *, key: bool = False, file: str | None = None) -> Location:
        return Location.of_node(file or self.file, node, key=key)


class RuleSpec:
    """What every check declares, a lint rule or a probe check: ID, name, default severity
    and its docs. The docs attributes feed ``--explain``, the README tables, the man pages
    and SARIF's rule descriptors, under fixed headings: what it does (summary), why it
    matters (rationale), example, use instead (fix), references.
    """

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]  # one line: what it checks
    rationale: ClassVar[str]  # why it matters
    example: ClassVar[str] = ""  # a failing snippet
    fix: ClassVar[str]  # use instead
    references: ClassVar[tuple[str, ...]] = ()


class Rule(RuleSpec):
    """Base of every lint rule. A subclass sets the class attributes and implements ``check``."""

    #: the target kinds the rule looks at; empty = all
    kinds: ClassVar[tuple[str, ...]] = ()

    def check(self, target: Target) -> Iterable[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(
        self, message: str, location: Location, *, severity: Severity | None = None,
        target: Target | None = None, fix: str | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id, name=self.name, severity=severity if severity is not None else self.severity,
            message=message, location=location, fix=fix if fix is not None else self.fix,
            target=target.label if target is not None else "",
        )

    def applies_to(self, target: Target) -> bool:
        return not self.kinds or target.kind in self.kinds


def iter_findings(rules: Iterable[Rule], targets: Iterable[Target]) -> Iterator[Finding]:
    for target in targets:
        for rule in rules:
            if rule.applies_to(target):
                yield from rule.check(target)


class ValueRef(str):
    """A setting whose real value is not in the linted files: a compose ``${VAR}``, a
    Kubernetes ``secretKeyRef``, a Helm-generated key. The string is a readable
    placeholder (``${QDRANT_API_KEY}``); rules treat it as "set, not a literal, strength
    unknown", and as possibly empty when ``may_be_empty``."""

    #: "compose-var" | "compose-secret" | "k8s-secret" | "k8s-configmap" | "k8s-field" | "helm-generated"
    ref_kind: str
    may_be_empty: bool
    #: for a compose ``${VAR:-default}``: the default used when VAR is unset (a
    #: placeholder default such as ``changeme`` is still worth a finding)
    default: str | None

    def __new__(
        cls, text: str, ref_kind: str, may_be_empty: bool = False, default: str | None = None
    ) -> ValueRef:
        obj = super().__new__(cls, text)
        obj.ref_kind = ref_kind
        obj.may_be_empty = may_be_empty
        obj.default = default
        return obj


@dataclass
class FileError:
    """An input that could not be checked at all: for lint an unreadable path given on the
    command line (problems inside a readable file, invalid YAML, duplicate keys, are
    findings); for probe a URL that could not be reached (``file`` holds the URL)."""

    file: str
    message: str


@dataclass(frozen=True)
class Inputs:
    """What a run's inputs are, as summaries name them: lint reads files, probe reaches
    URLs. One result model and one set of formatters serve both."""

    noun: str  # "file" | "URL"
    key: str  # the JSON summary member counting them
    failed: str  # what happened to one in ``errors``
    error_title: str  # GitHub annotation title of such an error
    urls: bool = False  # shown as given (a URL), not as a path relative to the cwd


FILES = Inputs("file", "files", "could not be linted", "qdrantsec: file not linted")
URLS = Inputs("URL", "urls", "could not be reached", "qdrantsec: URL not reached", urls=True)


@dataclass
class LintResult:
    inputs: ClassVar[Inputs] = FILES
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file looked at (probe: every URL)
    targets: list[Target] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    #: what ``-v`` shows: files skipped and why, mounts Qdrant does not read, ...
    notes: list[str] = field(default_factory=list)
    #: files named on the command line that were skipped anyway (templates), with why: the
    #: summary mentions them, so naming a file never ends in a silent "0 files"
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def json_extra(self) -> dict[str, Any]:
        """Members a kind of run adds to the JSON document (lint: none)."""
        return {}
