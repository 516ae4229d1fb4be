"""QS211 unexpanded-variable: a ``${VAR}`` in a Qdrant config file, which Qdrant reads as
literal text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import KEY_PATHS
from qdrantsec.qdrant import schema
from qdrantsec.qdrant.config import SETTING_TYPES, Setting

#: ``${VAR}``, ``${VAR:-default}``, ``${VAR?msg}``; or (``_WHOLE``) a whole-value ``$VAR``
_BRACED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?+=][^}]*)?\}")
_WHOLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*$")
#: settings that hold secrets: a literal `${...}` there is a key anyone can read in the repository
SECRET_PATHS = frozenset({
    *KEY_PATHS, "storage.snapshots_config.s3_config.secret_key",
    "storage.snapshots_config.s3_config.access_key", "inference.token",
})


def unexpanded_reference(target: Target, path: str, setting: Setting | None = None) -> str | None:
    """The ``${VAR}`` text when the setting at ``path`` is a reference Qdrant will read
    literally (a config file, not an environment variable or an interpolated compose file);
    QS211 reports those, so the rules that would misread the text (as a host name, a weak
    key, a non-number) leave them alone."""
    setting = setting if setting is not None else target.config.setting(path)
    if setting is None:
        return None
    src, value = setting.source, setting.value
    if src.kind != "file" or not isinstance(value, str) or isinstance(value, ValueRef):
        return None
    if target.kind == "compose" and src.file == target.file:
        return None  # inline compose content: compose interpolated it
    return find_reference(value)


def find_reference(value: str) -> str | None:
    """The first ``${VAR...}`` in ``value``, or the whole value when it is ``$VAR``.

    Searched only up to the last ``}``: past it no ``${`` can close, and a search there
    rescans to the end from each one (``${A-`` repeated 40,000 times took minutes)."""
    if "$" not in value:  # most values: no search at all
        return None
    end = value.rfind("}")
    m = _BRACED.search(value, 0, end + 1) if end >= 0 else None
    if m is None:
        m = _WHOLE.match(value)
    return m.group(0) if m else None


class UnexpandedVariable(Rule):
    id = "QS211"
    name = "unexpanded-variable"
    severity = Severity.MEDIUM
    summary = ("A `${VAR}` reference in a Qdrant config file: Qdrant does not expand environment "
               "variables in its config files, so the setting is the literal text.")
    rationale = (
        "Qdrant reads its YAML files with the `config` crate, which has no variable substitution "
        "(only `QDRANT__...` environment variables override settings). `api_key: ${QDRANT_API_KEY}` "
        "therefore sets the key to the 17 characters `${QDRANT_API_KEY}`, which anyone who reads the "
        "file can send; a `${PORT:-6333}` port or a `${FLAG}` bool stops Qdrant at startup. Compose "
        "expands `${...}` in the compose file itself (and in inline `configs:` content), never in a "
        "bind-mounted file. Severity: high for API keys and other secrets; low in Kubernetes "
        "manifests, where a tool (envsubst, Flux `postBuild`) may substitute before applying."
    )
    example = "service:\n  api_key: ${QDRANT_API_KEY}\n"
    fix = ("Drop the line from the file and set the value through the environment instead "
           "(`QDRANT__SERVICE__API_KEY=...` from a secret), or render the file before Qdrant reads it "
           "(envsubst in an init step).")
    references = (
        "https://qdrant.tech/documentation/guides/configuration/",
        "https://github.com/rust-cli/config-rs/pull/706",
        "qdrant-security-facts 1.1, 1.2",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        for path, setting in target.config.leaves():
            ref = unexpanded_reference(target, path, setting)
            if ref is None or not schema.is_known(path):
                continue  # an unknown key is QS208's: Qdrant ignores it whatever it holds
            secret = path in SECRET_PATHS
            kind = SETTING_TYPES.get(path, "str")
            if secret:
                what = "the key is that literal text, readable by anyone who reads this file"
            elif kind in ("bool", "int"):
                what = (f"Qdrant cannot read `{setting.value}` as a "
                        f"{'boolean' if kind == 'bool' else 'number'} and refuses to start")
            else:
                what = "the setting is that literal text"
            if target.kind == "k8s":
                sev = Severity.LOW
                what += " (unless a tool such as envsubst or Flux `postBuild` substitutes it first)"
            else:
                sev = Severity.HIGH if secret else self.severity
            yield self.finding(f"`{path}` is `{setting.value}`: Qdrant does not expand `{ref}` in config "
                               f"files, so {what}", target.loc(path), severity=sev, target=target)
