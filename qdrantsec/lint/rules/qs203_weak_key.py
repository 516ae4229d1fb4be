"""QS203 weak-key: a key that is short, a documentation placeholder, or low in entropy."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import KEY_PATHS, ref_default, ref_var
from qdrantsec.lint.rules.qs211_unexpanded_variable import unexpanded_reference

MIN_BYTES = 32
#: Values copied from docs, samples and tutorials.
PLACEHOLDERS = frozenset({
    "your_secret_api_key_here", "your-secret-api-key", "your_api_key", "your-api-key", "api_key",
    "apikey", "my-secret", "my-ro-secret", "mysecret", "secret", "secretkey", "changeme", "change-me",
    "change_me", "password", "passw0rd", "qdrant", "test", "testkey", "test-key", "example", "xxx",
    "__required__", "todo", "replace-me", "replaceme", "default", "admin", "12345678", "123456",
})
_PLACEHOLDER_PARTS = re.compile(
    r"(your[-_ ]?|change[-_]?me|replace[-_]?(me|this|with)|placeholder|example|^<.*>$|^\{\{.*\}\}$|"
    r"^x{3,}$|^_+required_+$|here$)", re.I)


def shannon_bits(text: str) -> float:
    """Shannon entropy per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def weakness(key: str) -> tuple[Severity, str] | None:
    """Why ``key`` is weak and how bad that is, or None."""
    low = key.strip().lower()
    if low in PLACEHOLDERS or _PLACEHOLDER_PARTS.search(low):
        return Severity.HIGH, "a documentation placeholder"
    size = len(key.encode())
    if size < 16:
        return Severity.HIGH, f"only {size} bytes long"
    if len(set(key)) < 6:
        return Severity.HIGH, f"low in entropy (only {len(set(key))} distinct characters)"
    if size < MIN_BYTES:
        return Severity.MEDIUM, f"{size} bytes long, below the {MIN_BYTES} bytes an HS256 JWT secret needs"
    if len(set(key)) < 8 or shannon_bits(key) < 3.0:
        return Severity.MEDIUM, "low in entropy (few distinct characters or a repeated pattern)"
    return None


class WeakKey(Rule):
    id = "QS203"
    name = "weak-key"
    severity = Severity.HIGH
    summary = ("A key is shorter than 32 bytes, a documentation placeholder (`your_secret_api_key_here`, "
               "`my-secret`, `changeme`, ...) or low in entropy.")
    rationale = (
        "The API key is compared as a plain string and is also the HMAC-SHA256 secret of JWTs when "
        "`jwt_rbac` is on; Qdrant itself recommends 32 bytes. Placeholders from docs and samples are "
        "the first thing an attacker tries. A compose `${VAR:-placeholder}` falls back to the "
        "placeholder whenever the variable is missing. Severity: high for placeholders and keys "
        "under 16 bytes, medium for 16-31 bytes or low entropy."
    )
    example = "service:\n  api_key: my-secret\n"
    fix = ("Generate 32+ random bytes (`qdrantsec key generate`, or `openssl rand -base64 32`) and "
           "keep them in a secret store; never give a compose variable a key as its default.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#authentication",
        "qdrant-security-facts 1.3, 3",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        for path in KEY_PATHS:
            value = target.config.get(path)
            if value is None or value == "":
                continue
            if isinstance(value, ValueRef):
                default = ref_default(value)
                if not default:
                    continue
                verdict = weakness(default)
                if verdict is None:
                    continue
                sev, why = verdict
                yield self.finding(
                    f"`{path}` falls back to a default that is {why} when ${{{ref_var(value)}}} is unset",
                    target.loc(path), severity=sev, target=target)
                continue
            if unexpanded_reference(target, path):
                continue  # `api_key: ${VAR}` in a config file is QS211's (a literal, public key)
            verdict = weakness(str(value))
            if verdict is not None:
                sev, why = verdict
                yield self.finding(f"`{path}` is {why}", target.loc(path), severity=sev, target=target)
