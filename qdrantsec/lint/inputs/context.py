"""What target builders share during one lint run: the file cache, the findings about files
themselves (QS001 invalid-file, QS002 duplicate-key), verbose notes, and which files were
consumed by a compose service or a Kubernetes workload (so they are not also linted alone,
out of the context they run in)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from qdrantsec.lint.inputs.source import Problem, SourceFile, Sources
from qdrantsec.lint.model import Finding, Location, Rule, Severity
from qdrantsec.lint.rules.qs001_invalid_file import InvalidFile
from qdrantsec.lint.rules.qs002_duplicate_key import DuplicateKey
from qdrantsec.yamlloc import Duplicate, Node

_INVALID = InvalidFile()
_DUPLICATE = DuplicateKey()

DUPLICATE_NOTE = {
    "qdrant-config": "Qdrant keeps the last",
    "helm-values": "Helm keeps the last, and so does Qdrant for its `config:`",
    "compose": "docker compose refuses such a file; other tools keep the last",
    "k8s": "kubectl keeps the last (or refuses the file, depending on the version)",
    "env": "the last one wins",
}


def invalid_file(file: str, problem: Problem, *, target: str = "") -> Finding:
    # a template given as a deployment file is the wrong input, not a broken deployment
    severity = Severity.LOW if problem.template else _INVALID.severity
    return Finding(
        rule=_INVALID.id, name=_INVALID.name, severity=severity,
        message=problem.message if "not linted" in problem.message
        else f"{problem.message}; the file was not linted",
        location=Location(file, problem.line, problem.column), target=target,
        fix=("Lint the rendered manifests instead (`helm template ...`), and keep templates out of "
             "the linted paths (`ignore_paths` in `.qdrantsec.yaml`)." if problem.template else _INVALID.fix),
    )


def duplicate_key(file: str, dup: Duplicate, kind: str, *, line_offset: int = 0,
                  col_offset: int = 0) -> Finding:
    note = DUPLICATE_NOTE.get(kind, "the last one wins")
    return Finding(
        rule=_DUPLICATE.id, name=_DUPLICATE.name, severity=_DUPLICATE.severity,
        message=f"duplicate key '{dup.key}' (first at line {dup.first_line + line_offset}); {note}",
        location=Location(file, dup.line + line_offset, dup.column + col_offset),
        fix=_DUPLICATE.fix,
    )


@dataclass
class BuildContext:
    sources: Sources
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # normalised paths consumed by a service
    reported: set[str] = field(default_factory=set)
    rules: dict[str, Rule] = field(default_factory=dict)

    def use(self, path: str) -> None:
        self.used.add(os.path.normpath(path))

    def is_used(self, path: str) -> bool:
        return os.path.normpath(path) in self.used

    def note(self, message: str) -> None:
        self.notes.append(message)

    def report_file(self, src: SourceFile, kind: str | None, *, explicit: bool = True) -> bool:
        """Record QS001/QS002 for ``src`` once; True when the file is usable."""
        key = os.path.normpath(src.path)
        first = key not in self.reported
        self.reported.add(key)
        if src.problem is not None:
            if first and explicit:
                self.findings.append(invalid_file(src.path, src.problem))
            return False
        if src.text is None:
            return True
        if kind == "env":
            if first:
                seen: dict[str, int] = {}
                for var in src.env():
                    if var.name in seen:
                        self.findings.append(duplicate_key(src.path, Duplicate(
                            var.name, var.line, var.column, seen[var.name]), "env"))
                    seen.setdefault(var.name, var.line)
            return True
        problem = src.yaml_problem
        if problem is not None:
            if first and explicit:
                self.findings.append(invalid_file(src.path, problem))
            return False
        if first and kind is not None:
            for doc in src.docs():
                for dup in doc.duplicates:
                    self.findings.append(duplicate_key(src.path, dup, kind))
            if kind in ("qdrant-config", "helm-values") and len(src.docs()) > 1:
                second = src.docs()[1].root
                line = second.line if second is not None else None
                self.findings.append(invalid_file(src.path, Problem(
                    "several YAML documents in one file: Qdrant's config loader expects one "
                    "document; only the first was linted", line, 1)))
        return True


def first_mapping(src: SourceFile) -> Node | None:
    """The first YAML document's root when it is a mapping."""
    for doc in src.docs():
        if doc.root is not None:
            return doc.root if isinstance(doc.root.value, dict) else None
    return None


def shift_node(node: Node, line_offset: int, col_offset: int, *, flat: tuple[int, int] | None = None) -> Node:
    """A copy of ``node`` with positions moved by the offsets (YAML embedded in a block
    scalar), or all set to ``flat`` (embedded in a quoted string: only the string's own
    position is known)."""
    def pos(line: int | None, col: int | None) -> tuple[int | None, int | None]:
        if flat is not None:
            return flat
        if line is None:
            return None, None
        return line + line_offset, (col or 0) + col_offset

    value = node.value
    if isinstance(value, dict):
        value = {k: shift_node(v, line_offset, col_offset, flat=flat) for k, v in value.items()}
    elif isinstance(value, list):
        value = [shift_node(v, line_offset, col_offset, flat=flat) for v in value]
    line, col = pos(node.line, node.column)
    kl, kc = pos(node.key_line, node.key_column)
    # ``raw`` (the text of a plain scalar) stays: Qdrant types the embedded config from it
    return Node(value, line or 1, col or 1, kl, kc, node.tag, None, node.raw)


def shift_in_place(node: Node, line_offset: int, col_offset: int, *,
                   flat: tuple[int, int] | None = None) -> Node:
    """``shift_node`` for a tree nobody else holds (one just parsed from an embedded
    config): the same positions, set on the nodes themselves instead of on a copy of every
    node. As in the copy, ``file`` is cleared and ``raw`` kept. Returns ``node``."""
    stack = [node]
    pop, push = stack.pop, stack.extend
    while stack:
        n = pop()
        value = n.value
        if isinstance(value, dict):
            push(value.values())
        elif isinstance(value, list):
            push(value)
        if flat is not None:
            n.line, n.column = flat
            n.key_line, n.key_column = flat
        else:
            n.line += line_offset
            n.column = ((n.column or 0) + col_offset) or 1
            if n.key_line is not None:
                n.key_line += line_offset
                n.key_column = (n.key_column or 0) + col_offset
            else:
                n.key_column = None
        n.file = None
    return node


__all__ = ["BuildContext", "Severity", "duplicate_key", "first_mapping", "invalid_file", "shift_in_place",
           "shift_node"]
