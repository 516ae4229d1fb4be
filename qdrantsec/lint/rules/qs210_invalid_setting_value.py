"""QS210 invalid-setting-value: a value Qdrant refuses at startup."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import as_bool, as_int
from qdrantsec.lint.rules.qs211_unexpanded_variable import unexpanded_reference
from qdrantsec.qdrant.config import SETTING_TYPES, shown_value

#: Enumerations Qdrant checks when it deserialises the config.
ENUMS: dict[str, tuple[str, ...]] = {
    "audit.rotation": ("daily", "hourly"),
    "storage.snapshots_config.snapshots_storage": ("local", "s3"),
}

_TYPED_PATHS = tuple(SETTING_TYPES)
_TYPED_KINDS = tuple(SETTING_TYPES.values())


class InvalidSettingValue(Rule):
    id = "QS210"
    name = "invalid-setting-value"
    severity = Severity.MEDIUM
    summary = ("A setting has a value Qdrant refuses at startup: a non-boolean for a flag, a "
               "non-number for a port, an unknown `audit.rotation`.")
    rationale = (
        "Type errors abort Qdrant's startup (`QDRANT__SERVICE__ENABLE_TLS=enabled`, "
        "`audit.rotation: Daily`). The usual reaction to a crash-looping node is to remove the "
        "security setting that \"broke\" it; catching the typo in review avoids that."
    )
    example = "audit:\n  enabled: true\n  rotation: Daily\n"
    fix = ("Use `true/false` (env: also `1/0`, `on/off`, `yes/no`) for flags, plain numbers for ports "
           "and sizes, `daily` or `hourly` for `audit.rotation`.")
    references = ("qdrant-security-facts 1.2, 1.3, 1.7",)

    def check(self, target: Target) -> Iterable[Finding]:
        reported: set[str] = set()
        for error in target.config.errors:
            reported.add(error.path)
            yield self.finding(f"`{error.path}`: {error.message}", target.loc(error.path), target=target)
        typed = target.config.settings(_TYPED_PATHS)  # (one look-up per section)
        for path, kind, setting in zip(_TYPED_PATHS, _TYPED_KINDS, typed, strict=True):
            if setting is None or path in reported or setting.source.kind == "default":
                continue
            value = setting.value
            if value is None or isinstance(value, ValueRef) or unexpanded_reference(target, path, setting):
                continue  # a literal `${VAR}` in a config file is QS211's, with the reason
            bad = ((kind == "bool" and as_bool(value) is None)
                   or (kind == "int" and (as_int(value) is None or isinstance(value, bool))))
            if bad:
                what = "boolean" if kind == "bool" else "number"
                yield self.finding(f"`{path}` is {shown_value(value)}, not a {what}; Qdrant refuses to start",
                                   target.loc(path), target=target)
        for path, allowed in ENUMS.items():
            setting = target.config.setting(path)
            if setting is None or path in reported or isinstance(setting.value, ValueRef):
                continue
            if unexpanded_reference(target, path, setting):
                continue
            if setting.value is not None and str(setting.value) not in allowed:
                yield self.finding(f"`{path}` is {shown_value(setting.value)}; Qdrant accepts only "
                                   f"{' or '.join(allowed)} and refuses to start", target.loc(path),
                                   target=target)
