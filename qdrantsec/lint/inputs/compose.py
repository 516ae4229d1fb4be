"""Compose files: one target per service that runs a Qdrant image.

The service's environment (``env_file:`` then ``environment:``, map or list form) becomes
``QDRANT__`` overrides with the position of each variable; ``${VAR}`` interpolation uses
the ``.env`` file beside the compose file, as docker compose does, and unknown variables
stay ``ValueRef``s. Local files bind-mounted where Qdrant reads its config
(``/qdrant/config/config.yaml``, ``/qdrant/config/production.yaml`` since the official image
sets ``RUN_MODE=production``, ``/qdrant/config/local.yaml``, or the ``--config-path`` file
of ``command:``) are layered under the environment, in Qdrant's order. So are compose
``configs:`` and ``secrets:`` mounted there: a ``file:`` source like a bind mount, an inline
``content:`` block parsed in place (positions point into the compose file, ``${VAR}`` is
interpolated as compose does).

Services from other files belong to the project as compose builds it: ``extends: {file:
other.yml, service: name}`` takes the base from that file, and top-level ``include:``
(``- path.yml`` or ``- path: ...``, nested includes too) adds the included files' services
and top-level ``configs:``/``secrets:``. Their nodes keep their own file, so findings on an
inherited value point into the file that set it, and relative paths (volumes, ``env_file``,
config ``file:``) resolve from that file's directory. ``${VAR}`` in every file is
interpolated with this file's ``.env`` (an included file's own ``.env`` is not read).
"""

from __future__ import annotations

import os

from qdrantsec.fsutil import MAX_DOCKERFILE_BYTES, read_limited
from qdrantsec.lint.inputs.context import BuildContext, duplicate_key, first_mapping, invalid_file, shift_node
from qdrantsec.lint.inputs.interpolate import Interpolator
from qdrantsec.lint.inputs.ports import compose_ports, host_network_ports
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
from qdrantsec.lint.model import LintOptions, Location, Target, ValueRef
from qdrantsec.qdrant.config import EffectiveConfig, Source, build_effective
from qdrantsec.yamlloc import Node, YamlSyntaxError, load_located

#: words in an image name that make it a tool around Qdrant, not Qdrant itself
#: (`mcp-server-qdrant`, `qdrant-loader`, `qdrant-exporter`, `apecloud/qdrant-tools`)
_TOOL_WORDS = frozenset({
    "web", "ui", "client", "clients", "mcp", "loader", "exporter", "backup", "backups", "operator",
    "tools", "tool", "dashboard", "cli", "sync", "migrate", "migration", "migrator", "init", "bench",
    "benchmark", "ingest", "ingestor", "indexer", "uploader", "importer", "seed", "seeder", "py",
    "js", "sdk", "api", "adapter", "connector", "plugin", "proxy",
})


def is_qdrant_image(image: str) -> bool:
    """True for ``qdrant/qdrant[:tag]`` with any registry, and other images named qdrant
    (a mirror, ``custom-qdrant``, a project's ``posey-qdrant`` build), but not tools around
    it (``mcp-server-qdrant``, ``qdrant-loader``, ``qdrant/qdrant-web-ui``)."""
    ref = image.split("@", 1)[0].lower()
    last = ref.rsplit("/", 1)[-1]
    name = last.split(":", 1)[0]
    repo = ref[: len(ref) - len(last)] + name
    if "qdrant" not in repo:
        return False
    if "qdrant" not in name:  # `qdrant/something`: only Qdrant's own image names count
        return False
    words = {w for w in name.replace("_", "-").replace(".", "-").split("-") if w}
    namespaces = set(ref[: len(ref) - len(last)].strip("/").split("/"))
    # Docker's `mcp/qdrant` is an MCP server for agents, not the database
    return not (words & _TOOL_WORDS) and "mcp" not in namespaces


def interpolate_node(node: Node, interp: Interpolator) -> Node:
    """A copy of ``node`` with ``${VAR}`` resolved in string scalars (defaults used when a
    variable is unknown; a ``ValueRef`` when there is no default)."""
    value = node.value
    if isinstance(value, dict):
        value = {k: interpolate_node(v, interp) for k, v in value.items()}
    elif isinstance(value, list):
        value = [interpolate_node(v, interp) for v in value]
    raw = node.raw
    if isinstance(value, str):
        value = interp.resolve(value, use_defaults=True)
        if raw is not None and isinstance(value, str):
            raw = value  # a plain scalar: Qdrant reads (and types) the substituted text
    return Node(value, node.line, node.column, node.key_line, node.key_column, node.tag, node.file,
                raw)


#: the files docker compose reads by default, and the override it merges into each
_DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _override_names(base: str) -> tuple[str, ...]:
    stem = base.rsplit(".", 1)[0]
    return (f"{stem}.override.yaml", f"{stem}.override.yml")


def override_of(path: str) -> str | None:
    """The override file docker compose merges into ``path`` by default
    (``docker-compose.override.yml`` beside ``docker-compose.yml``), when it exists."""
    name = os.path.basename(path)
    if name not in _DEFAULT_FILES:
        return None
    for candidate in _override_names(name):
        full = os.path.join(os.path.dirname(path), candidate)
        if os.path.isfile(full):
            return full
    return None


def base_of_override(path: str) -> str | None:
    """For an override file, the default compose file it is merged into, when it exists."""
    directory, name = os.path.split(path)
    for base in _DEFAULT_FILES:
        if name in _override_names(base) and os.path.isfile(os.path.join(directory, base)):
            return os.path.join(directory, base)
    return None


def _tag_file(node: Node, file: str) -> Node:
    """A copy of ``node`` whose nodes all say they come from ``file``."""
    value = node.value
    if isinstance(value, dict):
        value = {k: _tag_file(v, file) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_tag_file(v, file) for v in value]
    return Node(value, node.line, node.column, node.key_line, node.key_column, node.tag, file)


def _env_map(node: Node) -> Node:
    """``environment:`` in map form: a list item ``KEY=VALUE`` becomes ``KEY`` holding the
    value positioned at the item (``KEY`` alone: a None value, as in the map form)."""
    if not isinstance(node.value, list):
        return node
    out: dict[str, Node] = {}
    for item in node.value:
        key, eq, value = _scalar_text(item.value).partition("=")
        if key.strip():
            out[key.strip()] = Node(value if eq else None, item.line, item.column, item.line, item.column,
                                    None, item.file)
    return Node(out, node.line, node.column, node.key_line, node.key_column, node.tag, node.file)


def _as_list(node: Node) -> Node:
    if isinstance(node.value, list):
        return node
    return Node([node], node.line, node.column, node.key_line, node.key_column, node.tag, node.file)


def _mount_target(item: Node) -> str | None:
    if isinstance(item.value, dict):
        target = item.get("target")
        return str(target.value) if target is not None else None
    parts = str(item.value).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _by_source(item: Node) -> str | None:
    if isinstance(item.value, dict):
        source = item.get("source")
        return str(source.value) if source is not None else None
    return str(item.value)


#: sequences compose replaces instead of appending (a command is one value)
_REPLACED = frozenset({"command", "entrypoint"})
#: sequences merged by an identity: an entry of the overriding service replaces the base's
_KEYED = {"volumes": _mount_target, "secrets": _by_source, "configs": _by_source}


def merge_service(base: Node, own: Node) -> Node:
    """Compose's merge of two service definitions (an override file, ``extends``): ``own``
    wins for scalars, mappings are merged (``environment`` by variable, whatever form each
    side uses), ``command``/``entrypoint`` replaced, ``volumes`` merged by container path,
    ``secrets``/``configs`` by source, other sequences (``ports``, ``env_file``) appended;
    every node keeps its position (and file)."""
    merged: dict[str, Node] = dict(base.value) if isinstance(base.value, dict) else {}
    for key, node in (own.value.items() if isinstance(own.value, dict) else ()):
        prev = merged.get(key)
        if prev is not None and key == "environment" and isinstance(prev.value, (dict, list)) \
                and isinstance(node.value, (dict, list)) and (
                    isinstance(prev.value, dict) or isinstance(node.value, dict)):
            prev, node = _env_map(prev), _env_map(node)
        elif prev is not None and key == "env_file" and (
                isinstance(prev.value, list) or isinstance(node.value, list)):
            prev, node = _as_list(prev), _as_list(node)
        if prev is not None and key in _KEYED and isinstance(prev.value, list) \
                and isinstance(node.value, list):
            ident = _KEYED[key]
            mine = {ident(n) for n in node.value} - {None}
            node = Node([*(n for n in prev.value if ident(n) not in mine), *node.value], node.line,
                        node.column, node.key_line, node.key_column, node.tag, node.file)
        elif key in _REPLACED:
            pass
        elif prev is not None and isinstance(prev.value, dict) and isinstance(node.value, dict):
            node = Node({**prev.value, **node.value}, node.line, node.column, node.key_line,
                        node.key_column, node.tag, node.file)
        elif prev is not None and isinstance(prev.value, list) and isinstance(node.value, list):
            node = Node([*prev.value, *node.value], node.line, node.column, node.key_line,
                        node.key_column, node.tag, node.file)
        merged[key] = node
    return Node(merged, base.line, base.column, base.key_line, base.key_column, base.tag, base.file)


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _env_list(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if isinstance(node.value, list):
        return node.value
    return [node]


class ComposeFile:
    def __init__(self, ctx: BuildContext, src: SourceFile, options: LintOptions) -> None:
        self.ctx = ctx
        self.src = src
        self.options = options
        self.dir = os.path.dirname(src.path)
        dotenv_path = os.path.join(self.dir, ".env")
        self.dotenv: str | None = None
        variables: dict[str, str] = {}
        if os.path.isfile(dotenv_path):
            dsrc = ctx.sources.get(dotenv_path, env=True)
            if dsrc.text is not None:
                self.dotenv = dsrc.path
                ctx.use(dsrc.path)
                variables = {v.name: v.value for v in dsrc.env()}
        self.interp = Interpolator(variables)
        self._scopes: dict[str, dict[str, Node]] = {}
        self.include_roots: list[Node] = []
        self.origin: dict[str, str] = {}

    def node_dir(self, node: Node | None) -> str:
        """The directory relative paths in ``node`` resolve from: the file that set it (an
        included or extended file), else this compose file's."""
        file = getattr(node, "file", None)
        return os.path.dirname(file) if file else self.dir

    def included(self, root: Node, file: str, stack: set[str]) -> list[Node]:
        """The roots (nodes tagged with their file) of the files ``root`` includes, nested
        includes first; relative paths resolve from the including file."""
        inc = root.get("include")
        if inc is None:
            return []
        out: list[Node] = []
        for entry in _env_list(inc):
            path_node = entry.get("path") if isinstance(entry.value, dict) else entry
            for item in _env_list(path_node) if path_node is not None else []:
                if not isinstance(item.value, str) or not item.value.strip():
                    continue
                rel = self.interp.resolve(item.value.strip(), use_defaults=True)
                if isinstance(rel, ValueRef) or "://" in rel or rel.startswith("oci:"):
                    self.ctx.note(f"{file}:{item.line}: include {item.value} is not a local file; not linted")
                    continue
                full = os.path.normpath(os.path.join(os.path.dirname(file), os.path.expanduser(rel)))
                if full in stack:
                    continue
                isrc = self.ctx.sources.get(full)
                self.ctx.use(isrc.path)
                if isrc.problem is not None:
                    self.ctx.note(f"{file}:{item.line}: include {item.value}: {isrc.problem.message}")
                    continue
                if not self.ctx.report_file(isrc, "compose"):
                    continue
                iroot = first_mapping(isrc)
                if iroot is None:
                    continue
                tagged = _tag_file(iroot, isrc.path)
                out.extend(self.included(tagged, isrc.path, stack | {full}))
                out.append(tagged)
        return out

    def top_level(self, section: str) -> dict[str, Node]:
        """A top-level mapping (``configs``, ``secrets``) of this file with those of the
        files it includes (their nodes keep their file)."""
        merged: dict[str, Node] = {}
        for root in [*self.include_roots, self.root]:
            node = root.get(section) if root is not None else None
            if node is not None and isinstance(node.value, dict):
                merged.update(node.value)
        return merged

    def targets(self) -> list[Target]:
        root = first_mapping(self.src)
        self.root = root
        self.include_roots = self.included(root, self.src.path, {os.path.normpath(self.src.path)}) \
            if root is not None else []
        # an included file's services belong to this project (compose refuses a name
        # defined twice; here this file's definition wins)
        combined: dict[str, Node] = {}
        self.origin: dict[str, str] = {}
        for r in [*self.include_roots, root]:
            services = r.get("services") if r is not None else None
            if services is None or not isinstance(services.value, dict):
                continue
            for name, svc in services.value.items():
                if r is not root:
                    self.origin[name] = svc.file or ""
                elif name in self.origin:
                    del self.origin[name]
                combined[name] = svc
        if not combined:
            return []
        out = []
        all_services = self.with_override(combined)
        for name, svc in all_services.items():
            if not isinstance(svc.value, dict):
                continue
            svc = self.extended(name, svc, all_services, set())
            image_node = svc.get("image")
            built = self.built_from(svc)
            if built is not None and (image_node is None or not is_qdrant_image(
                    self.interp.resolve(str(image_node.value), use_defaults=True))):
                base, dockerfile, user = built
                self.ctx.note(f"{self.src.path}:{svc.key_line or svc.line}: service {name} is built from "
                              f"{dockerfile} (FROM {base}); linted as Qdrant")
                target = self.service_target(name, svc, base)
                target.extra["dockerfile"] = dockerfile
                if user is not None:
                    target.extra["dockerfile_user"] = user
                out.append(target)
                continue
            if image_node is None or image_node.value is None:
                continue
            image = self.interp.resolve(str(image_node.value), use_defaults=True)
            if not is_qdrant_image(image):
                # `image: ${REPO}:${TAG}` is only known at deploy time: a service that calls
                # itself qdrant is taken at its word
                named = [str(n) for n in (name, getattr(svc.get("container_name"), "value", None)) if n]
                if not (isinstance(image, ValueRef) and any("qdrant" in n.lower() for n in named)):
                    continue
                self.ctx.note(f"{self.src.path}:{image_node.line}: service {name}: image {image} is set "
                              "at deploy time; linted as Qdrant because of its name")
            out.append(self.service_target(name, svc, image))
        return out

    def with_override(self, services: dict[str, Node]) -> dict[str, Node]:
        """``services`` with the default override file (``docker-compose.override.yml``)
        merged in, as ``docker compose up`` does; its nodes keep their own file."""
        path = override_of(self.src.path)
        if path is None:
            return services
        osrc = self.ctx.sources.get(path)
        self.ctx.use(osrc.path)
        if not self.ctx.report_file(osrc, "compose"):
            return services
        oroot = first_mapping(osrc)
        extra = oroot.get("services") if oroot is not None else None
        if extra is None or not isinstance(extra.value, dict):
            return services
        self.ctx.note(f"{osrc.path} is merged into {self.src.path}, as docker compose does by default")
        merged = dict(services)
        for name, node in extra.value.items():
            tagged = _tag_file(node, osrc.path)
            merged[name] = merge_service(merged[name], tagged) if name in merged else tagged
        return merged

    def built_from(self, svc: Node) -> tuple[str, str, str | None] | None:
        """(base image, Dockerfile path, last USER of the final stage or None) when the service
        has a ``build:`` whose local Dockerfile's final stage is ``FROM`` a Qdrant image."""
        build = svc.get("build")
        if build is None or build.value is None:
            return None
        if isinstance(build.value, dict):
            ctx_node, file_node = build.get("context"), build.get("dockerfile")
            context = str(ctx_node.value) if ctx_node is not None and ctx_node.value else "."
            dockerfile = str(file_node.value) if file_node is not None and file_node.value else "Dockerfile"
        else:
            context, dockerfile = str(build.value), "Dockerfile"
        context = self.interp.resolve(context, use_defaults=True)
        if isinstance(context, ValueRef) or "://" in context or context.startswith("git@"):
            return None  # a remote context is not here to read
        path = os.path.normpath(os.path.join(self.node_dir(build), os.path.expanduser(context), dockerfile))
        try:
            text = read_limited(path, limit=MAX_DOCKERFILE_BYTES).decode("utf-8", "replace")
        except OSError as exc:  # missing, a FIFO or device, too large: no base image known
            if not isinstance(exc, FileNotFoundError):
                self.ctx.note(f"{self.src.path}:{build.line}: Dockerfile {path}: "
                              f"{exc.strerror or exc}; not read")
            return None
        base: str | None = None
        user: str | None = None
        args: dict[str, str] = {}
        for raw in text.splitlines():
            parts = raw.strip().split(None, 1)
            if len(parts) < 2 or parts[0].startswith("#"):
                continue
            word, rest = parts[0].upper(), parts[1].strip()
            if word == "ARG" and "=" in rest:
                key, _, val = rest.partition("=")
                args.setdefault(key.strip(), val.strip().strip('"').strip("'"))
            elif word == "FROM":
                ref = [t for t in rest.split() if not t.startswith("--")]
                base = ref[0] if ref else None
                if base is not None:
                    base = Interpolator(args).resolve(base, use_defaults=True)
                user = None  # USER does not carry over between stages
            elif word == "USER":
                user = rest.split()[0] if rest.split() else None
        if base is None or isinstance(base, ValueRef) or not is_qdrant_image(str(base)):
            return None
        return str(base), os.path.relpath(path) if not os.path.isabs(self.src.path) else path, user

    def extends_scope(
        self, name: str, ext: Node, other_file: Node, base_name: object,
    ) -> dict[str, Node] | None:
        """The services of the file an ``extends: {file: ...}`` names (relative to the file
        that says so), their nodes tagged with that file; None (noted) when unusable."""
        where = (f"{ext.file or self.src.path}:{ext.line}: service {name} extends {base_name} "
                 f"from {other_file.value}")
        rel = self.interp.resolve(str(other_file.value), use_defaults=True)
        if isinstance(rel, ValueRef):
            self.ctx.note(f"{where}, which depends on an unset variable; only what this file sets was linted")
            return None
        full = os.path.normpath(os.path.join(self.node_dir(ext), os.path.expanduser(rel)))
        cached = self._scopes.get(full)
        if cached is not None:
            return cached
        osrc = self.ctx.sources.get(full)
        oroot = None
        if osrc.problem is None and self.ctx.report_file(osrc, "compose"):
            oroot = first_mapping(osrc)
        services = oroot.get("services") if oroot is not None else None
        if services is None or not isinstance(services.value, dict):
            why = osrc.problem.message if osrc.problem is not None else "no services there"
            self.ctx.note(f"{where} ({why}); only what this file sets was linted")
            return None
        scope = {k: _tag_file(v, osrc.path) for k, v in services.value.items()}
        self._scopes[full] = scope
        return scope

    def extended(self, name: str, svc: Node, services: dict[str, Node], seen: set[tuple[str, str]]) -> Node:
        """``svc`` with ``extends`` applied as compose does: the base's keys first, the
        service's own keys win (see ``merge_service``). ``extends: {file: other.yml}`` takes
        the base from that file, resolved from the file that says so; every node keeps its
        own position and file, so a finding on an inherited value points into the file that
        set it, and relative paths in it resolve from there."""
        ext = svc.get("extends")
        key = (svc.file or self.src.path, name)
        if ext is None or key in seen:
            return svc
        base_name = ext.value if isinstance(ext.value, str) else getattr(ext.get("service"), "value", None)
        other_file = ext.get("file") if isinstance(ext.value, dict) else None
        scope: dict[str, Node] | None = services
        if other_file is not None and other_file.value:
            scope = self.extends_scope(name, ext, other_file, base_name)
            if scope is None:
                return svc
        base = scope.get(str(base_name)) if base_name is not None else None
        if base is None or not isinstance(base.value, dict):
            return svc
        base = self.extended(str(base_name), base, scope, seen | {key})
        own = Node({k: v for k, v in svc.value.items() if k != "extends"}, svc.line, svc.column,
                   svc.key_line, svc.key_column, svc.tag, svc.file)
        plain_base = Node({k: v for k, v in base.value.items() if k != "extends"}, svc.line, svc.column,
                          svc.key_line, svc.key_column, svc.tag, svc.file)
        return merge_service(plain_base, own)

    # -- one service ---------------------------------------------------------------------
    def service_target(self, name: str, raw: Node, image: str) -> Target:
        svc = interpolate_node(raw, self.interp)
        self.unread_env_files: list[str] = []
        env = self.environment(raw)
        run_mode = env.get("RUN_MODE")
        mode = IMAGE_RUN_MODE
        if run_mode is not None and run_mode.value and not isinstance(run_mode.value, ValueRef):
            mode = run_mode.value
        wd = svc.get("working_dir")
        workdir = str(wd.value) if wd is not None and wd.value else IMAGE_WORKDIR
        mounts = self.mounts(svc)
        inline: dict[str, Node] = {}
        mounts.extend(self.config_mounts(svc, inline))
        command = svc.get("command")
        entrypoint = svc.get("entrypoint")
        config_path = (config_path_arg(command.plain()) if command is not None else None) or (
            config_path_arg(entrypoint.plain()) if entrypoint is not None else None)
        layers = self.config_layers(name, mounts, mode, config_path, workdir, inline)
        cfg = build_effective(layers)
        apply_env(cfg, env.values())
        self.key_from_secret(name, svc, cfg)
        target = Target(
            kind="compose", file=self.src.path, label=f"{self.src.path} service {name}" + (
                f" (included from {self.origin[name]})" if self.origin.get(name) else ""), config=cfg,
            config_files=[f for f, _ in layers], runs_qdrant=True, compose_service=svc,
            compose_service_name=name, mounts=mounts, workdir=workdir, options=self.options,
            extra={"config_nodes": dict(layers), "image": image, "dotenv": self.dotenv,
                   "unread_env_files": self.unread_env_files},
        )
        target.ports = list(compose_ports(self.src.path, svc))
        mode_node = svc.get("network_mode")
        if mode_node is not None and str(mode_node.value).strip() == "host":
            target.ports.extend(host_network_ports(cfg, Location.of_node(self.src.path, mode_node)))
        return target

    def key_from_secret(self, name: str, svc: Node, cfg: EffectiveConfig) -> None:
        """Qdrant reads no ``*_FILE`` variables or secret files, but a service with its own
        ``entrypoint:`` and a compose secret named like an API key (``QDRANT_API_KEY``) exports
        the key from it: take the key as set (a reference), noted, rather than report none."""
        if cfg.get("service.api_key") not in (None, "") or svc.get("entrypoint") is None:
            return
        for item in _env_list(svc.get("secrets")):
            secret = item.get("source") if isinstance(item.value, dict) else item
            text = str(getattr(secret, "value", "") or "")
            if "api_key" in text.lower().replace("-", "_") or "apikey" in text.lower():
                cfg.set("service.api_key", ValueRef(f"<secret {text} via entrypoint>", "compose-secret"),
                        Source("file", file=item.file or self.src.path, line=item.line, column=item.column))
                self.ctx.note(f"{self.src.path}:{item.line}: service {name}: taking the API key as set by "
                              f"its entrypoint from secret {text}")
                return

    def environment(self, svc: Node) -> dict[str, EnvSetting]:
        env: dict[str, EnvSetting] = {}
        for item in _env_list(svc.get("env_file")):
            path_node = item.get("path") if isinstance(item.value, dict) else item
            required_node = item.get("required") if isinstance(item.value, dict) else None
            if path_node is None or path_node.value is None:
                continue
            rel = self.interp.resolve(str(path_node.value), use_defaults=True)
            if isinstance(rel, ValueRef):
                self.ctx.note(f"{self.src.path}:{path_node.line}: env_file {rel} "
                              "depends on an unset variable")
                continue
            full = os.path.normpath(os.path.join(self.node_dir(path_node), os.path.expanduser(rel)))
            esrc = self.ctx.sources.get(full, env=True)
            self.ctx.use(full)
            if esrc.problem is not None:
                self.unread_env_files.append(full)
                required = required_node is None or required_node.value is not False
                self.ctx.note(f"{self.src.path}:{path_node.line}: env_file {rel}: {esrc.problem.message}"
                              + ("" if required else " (optional)"))
                continue
            self.ctx.report_file(esrc, "env")
            for var in esrc.env():
                value = var.value if var.quoted and "$" not in var.value else self.interp.resolve(var.value)
                env[var.name] = EnvSetting(var.name, value, Source(
                    "env", file=esrc.path, line=var.line, column=var.column, env_var=var.name))
        node = svc.get("environment")
        if node is None:
            return env
        if isinstance(node.value, dict):
            for key, vnode in node.value.items():
                if vnode.value is None:
                    value = self._passthrough(key)
                    line, col = vnode.key_line or vnode.line, vnode.key_column or vnode.column
                else:
                    value = self.interp.resolve(_scalar_text(vnode.value))
                    line, col = vnode.line, vnode.column
                env[key] = EnvSetting(key, value, Source("env", file=vnode.file or self.src.path, line=line,
                                                         column=col, env_var=key))
        elif isinstance(node.value, list):
            for item in node.value:
                text = _scalar_text(item.value)
                key, eq, raw_value = text.partition("=")
                key = key.strip()
                if not key:
                    continue
                value = self.interp.resolve(raw_value) if eq else self._passthrough(key)
                env[key] = EnvSetting(key, value, Source("env", file=item.file or self.src.path,
                                                         line=item.line, column=item.column, env_var=key))
        return env

    def _passthrough(self, name: str) -> str:
        """``environment: [NAME]``: the value comes from the shell (or ``.env``)."""
        known = self.interp.vars.get(name)
        return known if known is not None else ValueRef(f"${{{name}}}", "compose-var", may_be_empty=True)

    def mounts(self, svc: Node) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        vols = svc.get("volumes")
        for item in vols.value if vols is not None and isinstance(vols.value, list) else []:
            if isinstance(item.value, dict):
                source, target = item.get("source"), item.get("target")
                kind = item.get("type")
                if source is None or target is None or (kind is not None and kind.value != "bind"):
                    continue
                host, container = str(source.value), str(target.value)
            elif isinstance(item.value, str):
                parts = item.value.split(":")
                if len(parts) < 2:
                    continue
                host, container = parts[0], parts[1]
            else:
                continue
            if not host.startswith((".", "/", "~")):
                continue  # a named volume
            here = self.node_dir(item)
            out.append((container, os.path.normpath(os.path.join(here, os.path.expanduser(host)))))
        return out

    def config_mounts(self, svc: Node, inline: dict[str, Node]) -> list[tuple[str, str]]:
        """Compose ``configs:`` / ``secrets:`` of a service: (container path, local file) for
        ``file:`` sources; inline ``content:`` goes to ``inline`` (container path -> node of
        the content string)."""
        out: list[tuple[str, str]] = []
        for section, default_dir in (("configs", "/"), ("secrets", "/run/secrets/")):
            items = svc.get(section)
            if items is None or not isinstance(items.value, list):
                continue
            defined = self.top_level(section)
            if not defined:
                continue
            for item in items.value:
                if isinstance(item.value, dict):
                    source_node, target_node = item.get("source"), item.get("target")
                    source = None if source_node is None else source_node.value
                    target = None if target_node is None else target_node.value
                else:
                    source, target = item.value, None
                if not isinstance(source, str) or not source:
                    continue
                target = str(target) if target else source
                if not target.startswith("/"):
                    target = default_dir + target
                definition = defined.get(source)
                if definition is None or not isinstance(definition.value, dict):
                    continue
                file_node, content_node = definition.get("file"), definition.get("content")
                if file_node is not None and isinstance(file_node.value, str):
                    rel = self.interp.resolve(file_node.value, use_defaults=True)
                    if not isinstance(rel, ValueRef):
                        here = self.node_dir(file_node)
                        local = os.path.normpath(os.path.join(here, os.path.expanduser(rel)))
                        out.append((target, local))
                elif content_node is not None and isinstance(content_node.value, str):
                    inline[target] = content_node
        return out

    def parse_inline(self, node: Node, what: str) -> Node | None:
        """The Qdrant config in a compose ``content:`` string, positioned in the compose file
        (or the included file that defines it)."""
        file = node.file or self.src.path
        lines = self.ctx.sources.get(file).lines() if node.file else self.src.lines()
        text = str(node.value)
        line = lines[node.line - 1] if 0 < node.line <= len(lines) else ""
        if line[node.column - 1:node.column] == "|":  # a literal block: positions map 1:1
            body = next((ln for ln in lines[node.line:] if ln.strip()), "")
            line_off, col_off, flat = node.line, len(body) - len(body.lstrip(" ")), None
        else:
            line_off, col_off, flat = 0, 0, (node.line, node.column)
        try:
            docs = load_located(text, name=f"{file} ({what})")
        except YamlSyntaxError as exc:
            at_line = exc.line + line_off if exc.line and flat is None else node.line
            at_col = exc.column + col_off if exc.column and flat is None else node.column
            self.ctx.findings.append(invalid_file(file, Problem(
                f"invalid YAML in {what}: {exc.problem}", at_line, at_col)))
            return None
        if not docs or docs[0].root is None or not isinstance(docs[0].root.value, dict):
            return None
        for dup in docs[0].duplicates:
            self.ctx.findings.append(
                duplicate_key(file, dup, "qdrant-config", line_offset=line_off, col_offset=col_off)
                if flat is None else duplicate_key(file, dup, "qdrant-config"))
        return interpolate_node(shift_node(docs[0].root, line_off, col_off, flat=flat), self.interp)

    def config_layers(
        self, name: str, mounts: list[tuple[str, str]], run_mode: str, config_path: str | None, workdir: str,
        inline: dict[str, Node] | None = None,
    ) -> list[tuple[str, Node | None]]:
        probe = Target(kind="compose", file=self.src.path, label="", config=build_effective(),
                       mounts=mounts, workdir=workdir)
        wanted = container_config_files(run_mode, config_path, workdir)
        chosen: dict[int, str] = {}
        for cpath in wanted:
            local = probe.host_path(cpath)
            rank = layer_rank_of_container_path(cpath, run_mode, workdir)
            # (os.path, not pathlib: a name from the file may be too long, which
            # Path.is_file() raises and os.path.isfile() answers False to)
            if local is not None and rank not in chosen and os.path.isfile(local):
                chosen[rank] = local
        config_dir = f"{workdir.rstrip('/')}/config/"
        config_file = probe.host_path(wanted[-1]) if config_path else None
        for container, local in mounts:
            if local in chosen.values() or not (container.startswith(config_dir) or local == config_file):
                continue
            if not os.path.exists(local):
                self.ctx.note(f"{self.src.path} service {name}: {local} (mounted at {container}) "
                              "does not exist here, so it was not linted")
            elif os.path.isfile(local):
                self.ctx.note(f"{self.src.path} service {name}: {local} is mounted at {container}, "
                              "which Qdrant does not read")
        inline_at: dict[int, tuple[str, Node]] = {}
        for cpath in wanted:
            rank = layer_rank_of_container_path(cpath, run_mode, workdir)
            if inline and cpath in inline and rank not in chosen and rank not in inline_at:
                inline_at[rank] = (cpath, inline[cpath])
        for container, node in (inline or {}).items():
            if container not in {c for c, _ in inline_at.values()} and container.startswith(config_dir):
                self.ctx.note(f"{self.src.path}:{node.line}: service {name}: inline content mounted at "
                              f"{container}, which Qdrant does not read")
        layers: list[tuple[str, Node | None]] = []
        for rank in sorted({*chosen, *inline_at}):
            if rank in chosen:
                src = self.ctx.sources.get(chosen[rank])
                self.ctx.use(src.path)
                if self.ctx.report_file(src, "qdrant-config"):
                    layers.append((src.path, first_mapping(src)))
            else:
                cpath, node = inline_at[rank]
                layers.append((node.file or self.src.path,
                               self.parse_inline(node, f"config content mounted at {cpath}")))
        return layers


def included_files(src: SourceFile) -> list[str]:
    """Normalised local paths a compose file's top-level ``include:`` names (no interpolation:
    a ``${VAR}`` path is resolved, and noted, when the file is built)."""
    root = first_mapping(src)
    inc = root.get("include") if root is not None else None
    out = []
    for entry in _env_list(inc):
        path_node = entry.get("path") if isinstance(entry.value, dict) else entry
        for item in _env_list(path_node) if path_node is not None else []:
            if isinstance(item.value, str) and item.value.strip() and "$" not in item.value:
                out.append(os.path.normpath(os.path.join(os.path.dirname(src.path),
                                                         os.path.expanduser(item.value.strip()))))
    return out


def compose_targets(ctx: BuildContext, src: SourceFile, options: LintOptions) -> list[Target]:
    return ComposeFile(ctx, src, options).targets()
