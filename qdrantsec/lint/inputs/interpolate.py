"""Docker compose variable interpolation: ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}``
(defaults may nest), and ``$$`` for a literal ``$``.

Variables come from the ``.env`` file beside the compose file, as docker compose reads it.
A variable that is not there is unknown at lint time: a value that depends on one is
returned as a ``ValueRef`` (kind ``compose-var``) holding the original text, unless the
caller asks for the default to be used (ports, image names, typed settings). Variables a
deployment platform generates (Coolify's ``SERVICE_PASSWORD_*``) are never empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from qdrantsec.lint.model import ValueRef

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: defaults nested deeper than this (``${A:-${B:-${C:-...``) are left unresolved: the
#: scanner recurses once per level, and Python's stack would not last
MAX_NESTING = 64
#: variables a deployment platform generates for every deployment (Coolify's
#: ``SERVICE_PASSWORD_QDRANTAPIKEY``, ``SERVICE_BASE64_64_...``): never empty
_GENERATED = re.compile(r"^SERVICE_(PASSWORD|BASE64|REALBASE64|HEX)(_\d+)?_[A-Z0-9_]+$")


def generated_variable(name: str) -> bool:
    return _GENERATED.match(name) is not None


@dataclass
class _Part:
    text: str
    known: bool
    may_be_empty: bool = False
    default: str | None = None


class Interpolator:
    def __init__(self, variables: Mapping[str, str]) -> None:
        self.vars = dict(variables)

    def resolve(self, text: str, *, use_defaults: bool = False) -> str:
        """Interpolate ``text``. Fully known -> a plain str. Otherwise a ``ValueRef`` of the
        original text, or with ``use_defaults`` the text with each unknown variable replaced
        by its default (when every unknown one has a default)."""
        if "$" not in text:
            return text
        parts, _ = self._scan(text, 0, None)
        if all(p.known for p in parts):
            return "".join(p.text for p in parts)
        unknown = [p for p in parts if not p.known]
        if use_defaults and all(p.default is not None for p in unknown):
            return "".join(p.text if p.known else (p.default or "") for p in parts)
        only = unknown[0] if len(parts) == 1 else None
        may_be_empty = only.may_be_empty if only is not None else False
        default = only.default if only is not None else None
        return ValueRef(text, "compose-var", may_be_empty=may_be_empty, default=default)

    # -- scanner -------------------------------------------------------------------
    def _scan(self, text: str, i: int, stop: str | None, depth: int = 0) -> tuple[list[_Part], int]:
        parts: list[_Part] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                parts.append(_Part("".join(buf), True))
                buf.clear()

        while i < len(text):
            ch = text[i]
            if stop is not None and ch == stop:
                break
            if ch != "$":
                buf.append(ch)
                i += 1
                continue
            nxt = text[i + 1: i + 2]
            if nxt == "$":
                buf.append("$")
                i += 2
                continue
            if nxt == "{":
                flush()
                part, i = self._braced(text, i + 2, depth + 1)
                parts.append(part)
                continue
            m = _NAME.match(text, i + 1)
            if m:
                flush()
                parts.append(self._lookup(m.group(0), None, required=False))
                i = m.end()
                continue
            buf.append("$")
            i += 1
        flush()
        return parts, i

    def _braced(self, text: str, i: int, depth: int = 1) -> tuple[_Part, int]:
        if depth > MAX_NESTING:  # the rest of the text: unknown, as if a variable were unset
            return _Part("", False, may_be_empty=True), len(text)
        m = _NAME.match(text, i)
        if not m:  # malformed: keep literally
            end = text.find("}", i)
            end = len(text) if end < 0 else end + 1
            return _Part(text[i - 2: end], True), end
        name, i = m.group(0), m.end()
        op = ""
        for candidate in (":-", ":?", ":+", "-", "?", "+"):
            if text.startswith(candidate, i):
                op = candidate
                break
        i += len(op)
        arg_parts: list[_Part] = []
        if op:
            arg_parts, i = self._scan(text, i, "}", depth)
        i = i + 1 if i < len(text) else i  # the closing brace
        arg_known = all(p.known for p in arg_parts)
        arg = "".join(p.text for p in arg_parts) if arg_known else None
        value = self.vars.get(name)
        empty_is_unset = op.startswith(":")
        kind = op.lstrip(":")
        if value is not None:
            unset = empty_is_unset and value == ""
            if kind == "-" and unset:
                return _Part(arg, True) if arg is not None else _Part("", False, True), i
            if kind == "+":
                return (_Part(arg, True) if arg is not None else _Part("", False)), i
            return _Part(value, True), i
        # unknown at lint time
        if kind == "-":
            return _Part("", False, may_be_empty=not arg, default=arg), i
        if kind == "?":
            return _Part("", False, may_be_empty=not empty_is_unset), i
        if kind == "+":
            return _Part("", False, may_be_empty=True, default=""), i
        return _Part("", False, may_be_empty=not generated_variable(name)), i

    def _lookup(self, name: str, default: str | None, *, required: bool) -> _Part:
        value = self.vars.get(name)
        if value is not None:
            return _Part(value, True)
        return _Part("", False, may_be_empty=not (required or generated_variable(name)), default=default)
