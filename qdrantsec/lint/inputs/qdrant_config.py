"""Qdrant config files and environment overrides, layered as Qdrant layers them (facts 1.1):
defaults, ``config/config``, ``config/{RUN_MODE}``, ``config/local``, the ``--config-path``
file, then ``QDRANT__...`` variables.

Standalone files given together are grouped by directory: ``config.yaml``,
``{RUN_MODE}.yaml`` and ``local.yaml`` form the base layers, and every other Qdrant config
file in the directory is a ``--config-path`` file on top of them (one target each).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from qdrantsec.lint.inputs.context import BuildContext, first_mapping
from qdrantsec.lint.inputs.source import SourceFile
from qdrantsec.lint.model import LintOptions, Target
from qdrantsec.qdrant.config import SETTING_TYPES, EffectiveConfig, Source, build_effective, env_var_to_path
from qdrantsec.yamlloc import Node

#: The official image's working directory and config directory (Dockerfile).
IMAGE_WORKDIR = "/qdrant"
IMAGE_CONFIG_DIR = "/qdrant/config"
IMAGE_RUN_MODE = "production"
_SUFFIXES = (".yaml", ".yml")
_CONFIG_PATH = re.compile(r"--config-path(?:=|\s+)['\"]?([^\s'\"]+)")


@dataclass(frozen=True)
class EnvSetting:
    """One environment variable with where it was set."""

    name: str
    value: str
    source: Source


def stem(path: str) -> str:
    base = os.path.basename(path)
    for suffix in _SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def layer_rank(path: str, run_mode: str) -> int:
    """0 config, 1 {RUN_MODE}, 2 local, 3 anything else (a --config-path file)."""
    return {"config": 0, run_mode: 1, "local": 2}.get(stem(path), 3)


def pick_run_mode(names: Iterable[str], env_run_mode: str | None) -> str:
    """RUN_MODE from the environment when given, else ``production`` (the official image)
    when such a file is among ``names``, else ``development`` (Qdrant's own default)."""
    if env_run_mode:
        return env_run_mode
    stems = {stem(n) for n in names}
    if "production" in stems or "development" not in stems:
        return "production"
    return "development"


def group_config_files(paths: list[str], env_run_mode: str | None) -> list[list[str]]:
    """Layered sets of standalone config files (each list in Qdrant's order)."""
    by_dir: dict[str, list[str]] = {}
    for p in paths:
        by_dir.setdefault(os.path.dirname(os.path.normpath(p)), []).append(p)
    groups: list[list[str]] = []
    for files in by_dir.values():
        run_mode = pick_run_mode(files, env_run_mode)
        base: dict[int, str] = {}
        for f in sorted(files):  # config.yaml sorts before config.yml: Qdrant tries .yaml first
            rank = layer_rank(f, run_mode)
            if rank < 3:
                base.setdefault(rank, f)
        base_files = [base[r] for r in sorted(base)]
        others = [f for f in files if layer_rank(f, run_mode) == 3]
        if others:
            groups.extend([*base_files, o] for o in others)
        elif base_files:
            groups.append(base_files)
    return groups


def apply_env(cfg: EffectiveConfig, settings: Iterable[EnvSetting]) -> list[str]:
    """Apply ``QDRANT__`` variables; return the names applied. A reference whose value is
    unknown (``${VAR:-default}``) for a typed setting (bool, number) takes its default: a
    bool Qdrant cannot parse would stop it, so the default is what runs in practice."""
    applied = []
    for s in settings:
        path = env_var_to_path(s.name)
        if path is None:
            continue
        value = s.value
        if getattr(value, "ref_kind", None) == "compose-var" and SETTING_TYPES.get(path, "str") != "str":
            default = getattr(value, "default", None)
            if default is not None:
                value = default
        cfg.apply_env_var(s.name, value, s.source)
        applied.append(s.name)
    return applied


def env_settings_from_file(src: SourceFile) -> list[EnvSetting]:
    return [EnvSetting(v.name, v.value, Source("env", file=src.path, line=v.line, column=v.column,
                                                env_var=v.name)) for v in src.env()]


def config_layers(ctx: BuildContext, paths: list[str]) -> list[tuple[str, Node | None]]:
    """(file, root) for each usable config file; problems are reported on the way."""
    out: list[tuple[str, Node | None]] = []
    for p in paths:
        src = ctx.sources.get(p)
        if ctx.report_file(src, "qdrant-config"):
            out.append((src.path, first_mapping(src)))
    return out


def standalone_targets(
    ctx: BuildContext, paths: list[str], env_files: list[SourceFile], options: LintOptions,
) -> list[Target]:
    """One target per layered set of standalone config files, with ``--env-file`` vars."""
    env: list[EnvSetting] = [s for src in env_files for s in env_settings_from_file(src)]
    run_mode = next((s.value for s in reversed(env) if s.name == "RUN_MODE"), None)
    targets = []
    for group in group_config_files(paths, run_mode):
        layers = config_layers(ctx, group)
        if not layers:
            continue
        cfg = build_effective(layers)
        apply_env(cfg, env)
        files = [f for f, _ in layers]
        label = "Qdrant config " + " + ".join(files)
        if env_files:
            label += " with " + ", ".join(e.path for e in env_files)
        targets.append(Target(
            kind="qdrant-config", file=files[-1], label=label, config=cfg, config_files=files,
            runs_qdrant=True, options=options, extra={"config_nodes": dict(layers)},
        ))
    return targets


def config_path_arg(command: object) -> str | None:
    """The ``--config-path`` value in a container command (string or list form)."""
    if isinstance(command, list):
        text = " ".join(str(c) for c in command)
    elif isinstance(command, str):
        text = command
    else:
        return None
    m = _CONFIG_PATH.search(text)
    return m.group(1) if m else None


def container_config_files(run_mode: str, config_path: str | None, workdir: str) -> list[str]:
    """Container paths Qdrant reads, in order: config/config, config/{RUN_MODE},
    config/local (relative to the working directory), then the --config-path file."""
    return list(_container_config_files(run_mode, config_path, workdir))


@lru_cache(maxsize=256)  # a handful of (run mode, --config-path, working directory) per run
def _container_config_files(run_mode: str, config_path: str | None, workdir: str) -> tuple[str, ...]:
    base = PurePosixPath(workdir) / "config"
    out = [str(base / f"{name}{suffix}") for name in ("config", run_mode, "local") for suffix in _SUFFIXES]
    if config_path:
        out.append(str(PurePosixPath(workdir) / config_path))
    return tuple(out)


@lru_cache(maxsize=256)
def _config_dir(workdir: str) -> str:
    return str(PurePosixPath(workdir) / "config")


def layer_rank_of_container_path(path: str, run_mode: str, workdir: str) -> int:
    if os.path.dirname(path) == _config_dir(workdir):
        return layer_rank(path, run_mode)
    return 3


def env_target(ctx: BuildContext, src: SourceFile, options: LintOptions) -> Target:
    """An env file on its own: Qdrant's defaults plus its ``QDRANT__`` overrides."""
    cfg = build_effective()
    apply_env(cfg, env_settings_from_file(src))
    return Target(kind="env", file=src.path, label=f"env file {src.path}", config=cfg,
                  runs_qdrant=True, options=options, extra={"config_nodes": {}})
