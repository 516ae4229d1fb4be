"""QS001 invalid-file: a file that looks like Qdrant configuration but cannot be read as
such (invalid YAML, an alias bomb, binary or non-UTF-8 content, too large, several YAML
documents where Qdrant expects one). Raised by the engine while reading files, not by
``check``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target


class InvalidFile(Rule):
    id = "QS001"
    name = "invalid-file"
    severity = Severity.HIGH
    summary = ("A YAML, compose, Kubernetes, Helm values or env file cannot be parsed: invalid YAML, "
               "an alias bomb, binary or non-UTF-8 content, or larger than 10 MiB.")
    rationale = (
        "Qdrant refuses to start on a config file it cannot parse, and docker compose, kubectl "
        "and helm refuse theirs; worse, a file that no tool can read was never checked by "
        "qdrantsec either, so every other rule is silent about it. The finding points at the "
        "line and column where parsing failed. A YAML file whose anchors and aliases expand "
        "to more than 200,000 nodes (a \"billion laughs\" alias bomb) is refused rather than "
        "expanded."
    )
    example = "service:\n  api_key: \"abc\n  host: 0.0.0.0\n"
    fix = ("Fix the syntax at the reported position (an unclosed quote, a tab used for "
           "indentation, a missing `:`), save the file as UTF-8, or exclude the file with "
           "`ignore_paths` in `.qdrantsec.yaml` if it is not a deployment file.")
    references = (
        "https://yaml.org/spec/1.2.2/",
        "https://en.wikipedia.org/wiki/Billion_laughs_attack",
        "qdrant-security-facts 1.3",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        # File problems are found while reading files (qdrantsec.lint.engine).
        return ()
