"""Kubernetes manifests: one target per workload (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob, Pod) whose container runs a Qdrant image.

The container's ``env:`` entries become ``QDRANT__`` overrides (a literal ``value`` with its
position; ``secretKeyRef`` as a ``ValueRef`` of kind ``k8s-secret``; ``configMapKeyRef``
resolved from a ConfigMap in the file set, else a ``ValueRef``), ``envFrom`` ConfigMaps are
expanded, and ConfigMaps or Secrets mounted where Qdrant reads its config are layered as
config files, with positions inside the manifest: a ``|`` block's line ``k`` is the data
key's line plus ``1 + k``.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from dataclasses import dataclass

from qdrantsec.lint.inputs.compose import is_qdrant_image
from qdrantsec.lint.inputs.context import BuildContext, duplicate_key, invalid_file, shift_node
from qdrantsec.lint.inputs.ports import host_network_ports
from qdrantsec.lint.inputs.qdrant_config import (
    IMAGE_RUN_MODE,
    IMAGE_WORKDIR,
    EnvSetting,
    apply_env,
    config_path_arg,
    container_config_files,
    layer_rank_of_container_path,
)
from qdrantsec.lint.inputs.source import Problem, SourceFile
from qdrantsec.lint.model import K8sObject, LintOptions, Location, PublishedPort, Target, ValueRef
from qdrantsec.qdrant.config import Source, build_effective
from qdrantsec.yamlloc import Node, YamlSyntaxError, load_located

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
                       "ReplicationController"})


def objects_of(src: SourceFile) -> list[K8sObject]:
    """Every object in a manifest file (``kind: List`` items expanded)."""
    out: list[K8sObject] = []

    def add(node: Node) -> None:
        if not isinstance(node.value, dict):
            return
        kind, api = node.get("kind"), node.get("apiVersion")
        if kind is None or api is None or not isinstance(kind.value, str):
            return
        if kind.value.endswith("List") and isinstance(getattr(node.get("items"), "value", None), list):
            for item in node.get("items").value:  # type: ignore[union-attr]
                add(item)
            return
        meta = node.get("metadata")
        name = meta.get("name") if meta is not None else None
        ns = meta.get("namespace") if meta is not None else None
        out.append(K8sObject(src.path, node, kind.value, str(name.value) if name is not None else "",
                             str(ns.value) if ns is not None and ns.value is not None else None))

    for doc in src.docs():
        if doc.root is not None:
            add(doc.root)
    return out


def pod_spec(obj: K8sObject) -> Node | None:
    if obj.kind == "Pod":
        return obj.node.get("spec")
    if obj.kind == "CronJob":
        return obj.node.get("spec", "jobTemplate", "spec", "template", "spec")
    return obj.node.get("spec", "template", "spec")


def _items(node: Node | None) -> list[Node]:
    return node.value if node is not None and isinstance(node.value, list) else []


def _text(node: Node | None) -> str | None:
    if node is None or node.value is None:
        return None
    if isinstance(node.value, bool):
        return "true" if node.value else "false"
    return str(node.value)


def _key_pos(node: Node) -> Node:
    """A stand-in node positioned at the key that holds ``node`` (``secretKeyRef:``)."""
    if node.key_line is None:
        return node
    return Node(node.value, node.key_line, node.key_column or 1)


@dataclass
class _Data:
    """One key of a ConfigMap/Secret with the position of its value."""

    obj: K8sObject
    key: str
    node: Node
    text: str
    literal_block: bool  # positions inside the text map 1:1 onto the manifest


class Manifests:
    def __init__(self, ctx: BuildContext, files: list[SourceFile], options: LintOptions) -> None:
        self.ctx = ctx
        self.options = options
        self.objects: list[K8sObject] = [o for f in files for o in objects_of(f)]
        self.lines = {f.path: f.lines() for f in files}

    def _find(self, kind: str, name: str | None, namespace: str | None) -> K8sObject | None:
        for o in self.objects:
            if o.kind == kind and o.name == name and (o.namespace or "default") == (namespace or "default"):
                return o
        return None

    def _data(self, obj: K8sObject, key: str) -> _Data | None:
        for section, encoded in (("stringData", False), ("data", obj.kind == "Secret")):
            node = obj.node.get(section, key)
            if node is None or node.value is None:
                continue
            if encoded:
                try:
                    text = base64.b64decode(str(node.value), validate=False).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    return None
                return _Data(obj, key, node, text, False)
            line = self.lines.get(obj.file, [])
            at = line[node.line - 1][node.column - 1:node.column] if 0 < node.line <= len(line) else ""
            return _Data(obj, key, node, str(node.value), at == "|")
        return None

    def _keys(self, obj: K8sObject) -> list[str]:
        keys: list[str] = []
        for section in ("data", "stringData"):
            node = obj.node.get(section)
            if node is not None and isinstance(node.value, dict):
                keys.extend(k for k in node.value if k not in keys)
        return keys

    def targets(self) -> list[Target]:
        out = []
        for obj in self.objects:
            if obj.kind not in WORKLOADS:
                continue
            spec = pod_spec(obj)
            if spec is None:
                continue
            for container in _items(spec.get("containers")):
                image = _text(container.get("image"))
                if image and is_qdrant_image(image):
                    out.append(self.workload_target(obj, spec, container, image))
                    break
        return out

    # -- one workload --------------------------------------------------------------------
    def workload_target(self, obj: K8sObject, spec: Node, container: Node, image: str) -> Target:
        env = self.environment(obj, container)
        mode_var = env.get("RUN_MODE")
        run_mode = IMAGE_RUN_MODE
        if mode_var is not None and mode_var.value and not isinstance(mode_var.value, ValueRef):
            run_mode = mode_var.value
        workdir = _text(container.get("workingDir")) or IMAGE_WORKDIR
        config_path = None
        for part in ("command", "args"):
            node = container.get(part)
            if node is not None:
                config_path = config_path or config_path_arg(node.plain())
        files = self.mounted_files(obj, spec, container)
        layers = self.config_layers(files, run_mode, config_path, workdir)
        cfg = build_effective(layers)
        apply_env(cfg, env.values())
        target = Target(
            kind="k8s", file=obj.file, label=f"{obj.file} {obj.kind}/{obj.name}", config=cfg,
            config_files=[f for f, _ in layers], runs_qdrant=True, workload=obj, container=container,
            k8s_objects=self.objects, workdir=workdir, options=self.options,
            extra={"config_nodes": dict(layers), "image": image,
                   "env_from": self.env_from_refs(container)},
        )
        for port in _items(container.get("ports")):
            hp, cp = port.get("hostPort"), port.get("containerPort")
            if hp is None or cp is None or not isinstance(cp.value, int):
                continue
            ip = _text(port.get("hostIP"))
            proto = (_text(port.get("protocol")) or "TCP").lower()
            target.ports.append(PublishedPort(cp.value, _text(hp), ip, proto, Location.of_node(obj.file, hp)))
        host_net = spec.get("hostNetwork")
        if host_net is not None and host_net.value is True:
            target.ports.extend(host_network_ports(cfg, Location.of_node(obj.file, host_net)))
        return target

    def _plain_secret(self, name: str | None, namespace: str | None) -> K8sObject | None:
        """A Secret of the manifest set whose values are readable here: not SOPS-encrypted
        (``sops:`` metadata, ``ENC[...]`` values). Its literal values are then what the pod
        gets, and they sit in a committed file (base64 is no encryption)."""
        found = self._find("Secret", name, namespace)
        if found is None or found.node.get("sops") is not None:
            return None
        for section in ("data", "stringData"):
            node = found.node.get(section)
            if node is not None and isinstance(node.value, dict) and any(
                    str(v.value).startswith("ENC[") for v in node.value.values()):
                return None
        return found

    def environment(self, obj: K8sObject, container: Node) -> dict[str, EnvSetting]:
        env: dict[str, EnvSetting] = {}
        for ref in _items(container.get("envFrom")):
            cm = ref.get("configMapRef")
            sec = ref.get("secretRef")
            if cm is not None:
                found = self._find("ConfigMap", _text(cm.get("name")), obj.namespace)
            elif sec is not None:
                found = self._plain_secret(_text(sec.get("name")), obj.namespace)
            else:
                continue
            if found is None:
                continue
            prefix = _text(ref.get("prefix")) or ""
            for key in self._keys(found):
                data = self._data(found, key)
                if data is not None:
                    env[prefix + key] = EnvSetting(prefix + key, data.text, Source(
                        "env", file=found.file, line=data.node.key_line or data.node.line,
                        column=data.node.key_column or data.node.column, env_var=prefix + key))
        for entry in _items(container.get("env")):
            name = _text(entry.get("name"))
            if not name:
                continue
            name = name.strip()
            value_node = entry.get("value")
            vf = entry.get("valueFrom")
            value: str
            where = entry
            file = obj.file
            if value_node is not None:
                value = _text(value_node) or ""
                where = value_node
            elif vf is not None and vf.get("secretKeyRef") is not None:
                ref = vf.get("secretKeyRef")
                sec_name, key = _text(ref.get("name")), _text(ref.get("key"))  # type: ignore[union-attr]
                secret = self._plain_secret(sec_name, obj.namespace)
                data = self._data(secret, key) if secret is not None and key else None
                if data is not None:  # a Secret with literal values in the same manifests
                    value, where, file = data.text, data.node, secret.file  # type: ignore[union-attr]
                else:
                    value = ValueRef(f"secretKeyRef {sec_name}/{key}", "k8s-secret")
                    where = _key_pos(ref)  # type: ignore[arg-type]
            elif vf is not None and vf.get("configMapKeyRef") is not None:
                ref = vf.get("configMapKeyRef")
                cm_name, key = _text(ref.get("name")), _text(ref.get("key"))  # type: ignore[union-attr]
                found = self._find("ConfigMap", cm_name, obj.namespace)
                data = self._data(found, key) if found is not None and key else None
                if data is not None:
                    value, where, file = data.text, data.node, found.file  # type: ignore[union-attr]
                else:
                    value = ValueRef(f"configMapKeyRef {cm_name}/{key}", "k8s-configmap")
                    where = _key_pos(ref)  # type: ignore[arg-type]
            elif vf is not None:
                value = ValueRef(f"valueFrom {name}", "k8s-field")
                where = _key_pos(vf)
            else:
                value = ""
            env[name] = EnvSetting(name, value, Source("env", file=file, line=where.line,
                                                       column=where.column, env_var=name))
        return env

    def env_from_refs(self, container: Node) -> list[tuple[str, str]]:
        """(kind, name) of ``envFrom`` sources whose variables cannot be seen here."""
        out = []
        for ref in _items(container.get("envFrom")):
            for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                node = ref.get(key)
                if node is not None:
                    name = _text(node.get("name")) or ""
                    visible = (self._plain_secret(name, None) if kind == "Secret"
                               else self._find("ConfigMap", name, None))
                    if visible is None:
                        out.append((kind, name))
        return out

    def mounted_files(self, obj: K8sObject, spec: Node, container: Node) -> dict[str, _Data]:
        """Container path -> ConfigMap/Secret data mounted there."""
        volumes = {(_text(v.get("name")) or ""): v for v in _items(spec.get("volumes"))}
        out: dict[str, _Data] = {}
        for mount in _items(container.get("volumeMounts")):
            vol = volumes.get(_text(mount.get("name")) or "")
            mount_path = _text(mount.get("mountPath"))
            if vol is None or not mount_path:
                continue
            source, kind, name_key = vol.get("configMap"), "ConfigMap", "name"
            if source is None:
                source, kind, name_key = vol.get("secret"), "Secret", "secretName"
            if source is None:
                continue
            found = self._find(kind, _text(source.get(name_key)), obj.namespace)
            if found is None:
                continue
            sub_path = _text(mount.get("subPath"))
            items = {(_text(i.get("key")) or ""): (_text(i.get("path")) or "")
                     for i in _items(source.get("items"))}
            if sub_path:
                key = next((k for k, p in items.items() if p == sub_path), sub_path)
                data = self._data(found, key)
                if data is not None:
                    out[mount_path] = data
                continue
            for key in items or self._keys(found):
                data = self._data(found, key)
                if data is not None:
                    out[posixpath.join(mount_path, items.get(key) or key)] = data
        return out

    def config_layers(
        self, files: dict[str, _Data], run_mode: str, config_path: str | None, workdir: str,
    ) -> list[tuple[str, Node | None]]:
        chosen: dict[int, _Data] = {}
        for cpath in container_config_files(run_mode, config_path, workdir):
            rank = layer_rank_of_container_path(cpath, run_mode, workdir)
            if cpath in files and rank not in chosen:
                chosen[rank] = files[cpath]
        return [(d.obj.file, self.parse_embedded(d)) for _, d in sorted(chosen.items())]

    def parse_embedded(self, data: _Data) -> Node | None:
        """The YAML inside a ConfigMap/Secret value, with positions in the manifest."""
        file = data.obj.file
        if data.literal_block:
            lines = self.lines.get(file, [])
            first = data.node.line  # 0-based index of the first content line
            body = next((ln for ln in lines[first:] if ln.strip()), "")
            indent = len(body) - len(body.lstrip(" "))
            line_off, col_off, flat = data.node.line, indent, None
        else:
            line_off, col_off, flat = 0, 0, (data.node.line, data.node.column)
        try:
            docs = load_located(data.text, name=f"{file} ({data.obj.kind} {data.obj.name} {data.key})")
        except YamlSyntaxError as exc:
            line = (exc.line + line_off) if exc.line and flat is None else data.node.line
            col = (exc.column + col_off) if exc.column and flat is None else data.node.column
            self.ctx.findings.append(invalid_file(file, Problem(
                f"invalid YAML in {data.obj.kind} {data.obj.name} key {data.key}: {exc.problem}", line, col)))
            return None
        if not docs or docs[0].root is None or not isinstance(docs[0].root.value, dict):
            return None
        for dup in docs[0].duplicates:
            self.ctx.findings.append(duplicate_key(file, dup, "qdrant-config", line_offset=line_off,
                                                   col_offset=col_off) if flat is None else
                                     duplicate_key(file, dup, "qdrant-config"))
        return shift_node(docs[0].root, line_off, col_off, flat=flat)


def k8s_targets(ctx: BuildContext, files: list[SourceFile], options: LintOptions) -> list[Target]:
    return Manifests(ctx, files, options).targets()
