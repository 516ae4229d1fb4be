"""Kustomize: a ``kustomization.yaml`` (``.yml``, ``Kustomization``) and what it builds.

The manifests a kustomization lists under ``resources:`` (and the deprecated ``bases:``),
with ``../base`` directories followed to their own kustomization, form one manifest set:
a Service, NetworkPolicy or Secret from the base counts for the overlay's workload.

``configMapGenerator:`` / ``secretGenerator:`` entries become ConfigMaps/Secrets of that
set whose values stay in the LOCAL files they come from: ``files: [config.yaml]`` (key
``config.yaml``), ``files: [production.yaml=cfg/prod.yaml]``, ``literals: [KEY=VALUE]``
(positioned at the list item in the kustomization) and ``envs: [qdrant.env]`` (at the
variable's line in the env file). A generated file mounted where Qdrant reads its config
is layered from the local file itself, so findings point at its real lines. Generators of
an overlay with ``behavior: merge`` / ``replace`` update the base's generator of that name.

Kustomize appends a content hash to a generated name (``qdrant-config-5f7h9k2m8t``) and
rewrites the references to it, so a workload refers to a generated object by the
generator's ``name``: that is what is matched (and a hashed name is accepted too).
``namePrefix`` / ``nameSuffix`` are ignored for the same reason (kustomize rewrites the
references along with the names), as is ``namespace:`` for generated objects. Patches are
not applied: patch files are noted and not linted as manifests of their own; remote
resources (URLs, ``github.com/...``) are noted and skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from qdrantsec.lint.inputs.context import BuildContext, first_mapping
from qdrantsec.lint.inputs.source import SourceFile
from qdrantsec.yamlloc import Node

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")


def is_kustomization_name(path: str) -> bool:
    return os.path.basename(path) in KUSTOMIZATION_NAMES


def kustomization_in(directory: str) -> str | None:
    for name in KUSTOMIZATION_NAMES:
        full = os.path.join(directory, name)
        if os.path.isfile(full):
            return full
    return None


def _remote(ref: str) -> bool:
    return "://" in ref or ref.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/")) \
        or "?ref=" in ref


@dataclass
class GeneratedKey:
    """One key of a generated ConfigMap/Secret, with where its value is written."""

    key: str
    text: str
    file: str  # the local file holding the value (the kustomization for literals)
    line: int
    column: int
    source: SourceFile | None = None  # for ``files:`` entries: the file that is the value


@dataclass
class Generated:
    kind: str  # "ConfigMap" | "Secret"
    name: str
    kustomization: str
    node: Node  # the generator entry
    keys: dict[str, GeneratedKey] = field(default_factory=dict)

    def matches(self, name: str | None) -> bool:
        if not name:
            return False
        return name == self.name or (name.startswith(self.name) and _HASH_SUFFIX.fullmatch(
            name[len(self.name):]) is not None)


@dataclass
class KustomizeSet:
    root: str  # the kustomization file
    files: list[SourceFile] = field(default_factory=list)
    generated: list[Generated] = field(default_factory=list)


def _strings(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if isinstance(node.value, list):
        return [n for n in node.value if isinstance(n.value, str) and n.value.strip()]
    if isinstance(node.value, str) and node.value.strip():
        return [node]
    return []


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


class Kustomizer:
    """Builds manifest sets from kustomizations; every file is read through the run's cache."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self._parsed: dict[str, Node | None] = {}

    def root_of(self, path: str) -> Node | None:
        key = os.path.normpath(path)
        if key not in self._parsed:
            src = self.ctx.sources.get(path)
            self.ctx.use(src.path)
            self._parsed[key] = first_mapping(src) if self.ctx.report_file(src, "k8s") else None
        return self._parsed[key]

    def referenced_dirs(self, path: str) -> list[str]:
        """Local directories listed as resources (bases) by the kustomization at ``path``."""
        root = self.root_of(path)
        here = os.path.dirname(path)
        out = []
        for section in ("resources", "bases", "components"):
            for item in _strings(root.get(section) if root is not None else None):
                if _remote(item.value):
                    continue
                full = os.path.normpath(os.path.join(here, item.value))
                if os.path.isdir(full):
                    out.append(full)
        return out

    def build(self, path: str) -> KustomizeSet:
        out = KustomizeSet(path)
        generators: dict[tuple[str, str], Generated] = {}
        seen_files: set[str] = set()
        self._collect(path, out, generators, seen_files, {os.path.normpath(path)})
        out.generated = list(generators.values())
        return out

    def _collect(self, path: str, out: KustomizeSet, generators: dict[tuple[str, str], Generated],
                 seen_files: set[str], stack: set[str]) -> None:
        root = self.root_of(path)
        if root is None or not isinstance(root.value, dict):
            return
        here = os.path.dirname(path)
        # resources first: a base's generators exist before the overlay merges into them
        for section in ("resources", "bases", "components"):
            for item in _strings(root.get(section)):
                ref = item.value.strip()
                if _remote(ref):
                    self.ctx.note(f"{path}:{item.line}: remote resource {ref} is not fetched; "
                                  "only local resources were linted")
                    continue
                full = os.path.normpath(os.path.join(here, ref))
                if os.path.isdir(full):
                    sub = kustomization_in(full)
                    if sub is None:
                        self.ctx.note(f"{path}:{item.line}: {ref} is a directory without a kustomization")
                    elif os.path.normpath(sub) not in stack:
                        self._collect(sub, out, generators, seen_files, stack | {os.path.normpath(sub)})
                    continue
                src = self.ctx.sources.get(full)
                self.ctx.use(src.path)
                if src.problem is not None:
                    self.ctx.note(f"{path}:{item.line}: resource {ref}: {src.problem.message}")
                    continue
                if full not in seen_files and self.ctx.report_file(src, "k8s"):
                    seen_files.add(full)
                    out.files.append(src)
        for section in ("patchesStrategicMerge", "patches", "patchesJson6902"):
            node = root.get(section)
            for item in node.value if node is not None and isinstance(node.value, list) else []:
                ref = item.get("path") if isinstance(item.value, dict) else item
                if ref is None or not isinstance(ref.value, str) or "\n" in ref.value:
                    continue
                self.ctx.use(os.path.join(here, ref.value))
                self.ctx.note(f"{path}:{ref.line}: patch {ref.value} is not applied; the resources "
                              "were linted as written")
        for section, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
            node = root.get(section)
            for entry in node.value if node is not None and isinstance(node.value, list) else []:
                gen = self._generator(path, here, entry, kind)
                if gen is None:
                    continue
                behavior = str(getattr(entry.get("behavior"), "value", None) or "create")
                prev = generators.get((kind, gen.name))
                if behavior == "merge" and prev is not None:
                    prev.keys.update(gen.keys)
                else:
                    generators[(kind, gen.name)] = gen

    def _generator(self, path: str, here: str, entry: Node, kind: str) -> Generated | None:
        name = entry.get("name")
        if name is None or not isinstance(name.value, str):
            return None
        gen = Generated(kind, name.value, path, entry)
        for item in _strings(entry.get("files")):
            key, eq, rel = item.value.partition("=")
            if not eq:
                key, rel = os.path.basename(item.value.strip()), item.value
            full = os.path.normpath(os.path.join(here, rel.strip()))
            src = self.ctx.sources.get(full)
            if src.problem is not None or src.text is None:
                why = src.problem.message if src.problem is not None else "unreadable"
                self.ctx.note(f"{path}:{item.line}: {kind} {gen.name} file {rel.strip()}: {why}")
                continue
            gen.keys[key.strip()] = GeneratedKey(key.strip(), src.text, src.path, 1, 1, src)
        for item in _strings(entry.get("literals")):
            key, eq, value = item.value.partition("=")
            if eq and key.strip():
                key = key.strip()
                gen.keys[key] = GeneratedKey(key, _unquote(value), path, item.line, item.column)
        for item in _strings(entry.get("envs")) + _strings(entry.get("env")):
            full = os.path.normpath(os.path.join(here, item.value.strip()))
            src = self.ctx.sources.get(full, env=True)
            self.ctx.use(src.path)
            if src.problem is not None or src.text is None:
                why = src.problem.message if src.problem is not None else "unreadable"
                self.ctx.note(f"{path}:{item.line}: {kind} {gen.name} env file {item.value}: {why}")
                continue
            self.ctx.report_file(src, "env")
            for var in src.env():
                gen.keys[var.name] = GeneratedKey(var.name, var.value, src.path, var.line, var.column)
        return gen


def kustomize_sets(ctx: BuildContext, paths: list[str]) -> list[KustomizeSet]:
    """One manifest set per root kustomization among ``paths`` (one that no other of them
    lists as a resource directory)."""
    k = Kustomizer(ctx)
    referenced: set[str] = set()
    for path in paths:
        referenced.update(k.referenced_dirs(path))
    return [k.build(p) for p in paths if os.path.normpath(os.path.dirname(p)) not in referenced]
