"""QS002 duplicate-key: the same key twice in one YAML mapping. Raised by the engine from
the parser's duplicate-key records, not by ``check``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target


class DuplicateKey(Rule):
    id = "QS002"
    name = "duplicate-key"
    severity = Severity.MEDIUM
    summary = "A key appears twice in the same YAML mapping; Qdrant keeps the last one."
    rationale = (
        "Qdrant's config loader keeps the last value of a duplicated key without a warning, so a "
        "reviewer who reads the first `api_key:` or `enable_tls: true` sees a setting that is not "
        "in force. Duplicates usually come from merging two snippets or from a copy-paste; in a "
        "compose file or a Kubernetes manifest some tools keep the last, others refuse the file. "
        "The finding points at the duplicate and names the line of the first occurrence."
    )
    example = "service:\n  enable_tls: true\n  api_key: a-long-random-key\n  enable_tls: false\n"
    fix = "Keep one occurrence of the key, with the value you mean."
    references = ("https://yaml.org/spec/1.2.2/#mapping (keys must be unique)",
                  "qdrant-security-facts 1.3")

    def check(self, target: Target) -> Iterable[Finding]:
        # Duplicates are found while parsing (qdrantsec.lint.engine).
        return ()
