"""QS207 plaintext-secret: a literal key or secret in a file meant to be committed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef

#: Settings whose value is a credential.
SECRET_PATHS: tuple[str, ...] = (
    "service.api_key",
    "service.alt_api_key",
    "service.read_only_api_key",
    "storage.snapshots_config.s3_config.secret_key",
    "inference.token",
    "debugger.pyroscope.password",
)

_EXAMPLE_MARKERS = ("example", "sample", "template", "dist", "tmpl")
_INTERPOLATION = re.compile(r"(?<!\$)\$(\{|[A-Za-z_])")


def _lines(path: str) -> list[str] | tuple[str, ...]:
    from qdrantsec.lint.inputs.source import lines_if_read

    held = lines_if_read(path)  # the lint run has it in memory: no second read
    return held if held is not None else _read_lines(path)


@lru_cache(maxsize=128)
def _read_lines(path: str) -> tuple[str, ...]:
    from qdrantsec.fsutil import MAX_DOCUMENT_BYTES, read_limited

    try:  # a linted file, read again: regular and capped as it was the first time
        return tuple(read_limited(path, limit=MAX_DOCUMENT_BYTES).decode("utf-8", "replace").splitlines())
    except OSError:
        return ()


def interpolated_in_file(path: str, line: int | None) -> bool:
    """True when the source line holds a ``$VAR`` / ``${VAR}`` reference: the engine resolved
    the value from a variable (an untracked ``.env``), so the secret is not in this file."""
    if line is None:
        return False
    lines = _lines(path)
    return 0 < line <= len(lines) and _INTERPOLATION.search(lines[line - 1]) is not None


def meant_to_be_committed(path: str) -> bool:
    """Env files (``.env``, ``.env.local``, ``prod.env``) are usually gitignored and are where
    a literal belongs; their ``*.example`` / ``*.sample`` / ``*.template`` variants and every
    other file (config YAML, compose, manifests, Helm values) are meant to be committed."""
    name = os.path.basename(path).lower()
    is_env = name == ".env" or name.endswith(".env") or name.startswith(".env.")
    if not is_env:
        return True
    return any(marker in name.split(".") or name.endswith(marker) for marker in _EXAMPLE_MARKERS)


class PlaintextSecret(Rule):
    id = "QS207"
    name = "plaintext-secret"
    severity = Severity.HIGH
    summary = ("A literal API key or other secret (S3 `secret_key`, `inference.token`, Pyroscope "
               "password) sits in a file meant to be committed (config YAML, compose, manifest, "
               "Helm values, `*.env.example`).")
    rationale = (
        "Files in a repository are copied to every clone, CI log and image layer, and stay in git "
        "history after the line is deleted. A key written there is shared with everyone who can "
        "read the repository. Env files named `.env`, `.env.*` or `*.env` are treated as local, "
        "gitignored files and are not reported (their `.example`, `.sample`, `.template` variants "
        "are). References (`${VAR}`, `secretKeyRef`, a Helm-generated key) are fine, also when "
        "the variable's value is found in a `.env` beside the compose file."
    )
    example = ("env:\n  - name: QDRANT__SERVICE__API_KEY\n    value: 8Yb3kQ...\n")
    fix = ("Reference the secret instead: compose `${QDRANT_API_KEY:?}` with the value in an "
           "untracked `.env`, Kubernetes `valueFrom.secretKeyRef`, Helm `apiKey.valueFrom`; rotate "
           "any key that was committed.")
    references = (
        "https://qdrant.tech/documentation/guides/security/",
        "https://kubernetes.io/docs/concepts/configuration/secret/",
        "qdrant-security-facts 1.8, 9",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        for path in SECRET_PATHS:
            setting = target.config.setting(path)
            if setting is None or setting.source.kind == "default":
                continue
            value = setting.value
            if value is None or isinstance(value, ValueRef) or value == "" or isinstance(value, (dict, list)):
                continue
            file = setting.source.file
            if not file or not meant_to_be_committed(file):
                continue
            if interpolated_in_file(file, setting.source.line):
                continue
            via = f" (via {setting.source.env_var})" if setting.source.env_var else ""
            yield self.finding(
                f"`{path}` is a literal secret{via} in {os.path.basename(file)}, a file meant to be "
                "committed", target.loc(path), target=target)
