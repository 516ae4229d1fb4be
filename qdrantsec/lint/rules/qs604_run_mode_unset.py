"""QS604 run-mode-unset: a bare Qdrant started here without RUN_MODE loads development.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target

DEV_NAMES = ("development.yaml", "development.yml")


def _root_location(target: Target, file: str) -> Location:
    roots = target.extra.get("config_nodes") or {}
    root = roots.get(file)
    if root is not None and root.line:
        return Location(file, root.line, root.column)
    return Location(file)


class RunModeUnset(Rule):
    id = "QS604"
    name = "run-mode-unset"
    severity = Severity.LOW
    summary = ("A config directory outside Docker holds `development.yaml`, which Qdrant loads when "
               "`RUN_MODE` is unset.")
    rationale = (
        "Outside the official image `RUN_MODE` defaults to `development`, so a Qdrant started from "
        "this directory layers `config/development.yaml` over `config.yaml`: DEBUG logging (which "
        "may log request details), every feature flag on, resharding on. Settings you reviewed in "
        "`config.yaml` may not be the ones that run. Not reported when `RUN_MODE` is known "
        "(`extra[\"run_mode\"]`, e.g. from an `--env-file`)."
    )
    example = "config/config.yaml\nconfig/development.yaml   # and no RUN_MODE in the service unit\n"
    fix = ("Set `RUN_MODE=production` in the service environment, or remove `development.yaml` from "
           "the deployment.")
    references = (
        "https://qdrant.tech/documentation/guides/configuration/",
        "qdrant-security-facts 1.1, 9",
    )
    kinds = ("qdrant-config",)

    def check(self, target: Target) -> Iterable[Finding]:
        if target.extra.get("run_mode"):
            return
        files = target.config_files or [target.file]
        layered = [f for f in files if Path(f).name in DEV_NAMES]
        if layered and len(files) > 1:
            dev = layered[0]
            yield self.finding(f"{Path(dev).name} is loaded on top of {Path(files[0]).name} because "
                               "RUN_MODE is unset (DEBUG logging, all feature flags)",
                               _root_location(target, dev), target=target)
            return
        if layered:
            return  # development.yaml linted on its own
        here = Path(target.file)
        dev_path = next((here.parent / n for n in DEV_NAMES if (here.parent / n).is_file()), None)
        if dev_path is None:
            return
        yield self.finding(f"{dev_path.name} sits next to {here.name}: without RUN_MODE, Qdrant also loads "
                           "it (DEBUG logging, all feature flags)", _root_location(target, target.file),
                           target=target)
