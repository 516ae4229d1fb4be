"""QS604 run-mode-unset: a bare Qdrant started here without RUN_MODE loads development.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import config_section_node

DEV_NAMES = ("development.yaml", "development.yml")


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
        "`config.yaml` may not be the ones that run. Only reported when the engine did not see "
        "`RUN_MODE` (`extra[\"run_mode\"]`)."
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
        here = Path(target.file)
        if here.name in DEV_NAMES or any(Path(f).name in DEV_NAMES for f in target.config_files):
            return
        dev = next((here.parent / n for n in DEV_NAMES if (here.parent / n).is_file()), None)
        if dev is None:
            return
        root = config_section_node(target, "")
        loc = Location(target.file, root[1].line, root[1].column) if root else Location(target.file)
        yield self.finding(f"{dev.name} sits next to {here.name}: without RUN_MODE, Qdrant also loads it "
                           "(DEBUG logging, all feature flags)", loc, target=target)
