"""Setting or removing ``QDRANT__SERVICE__API_KEY`` / ``QDRANT__SERVICE__ALT_API_KEY`` in an
env file (a systemd ``EnvironmentFile=`` or a docker compose ``.env`` / ``env_file:``),
changing only those lines: every other line, comment, blank line, ``export`` prefix and line
end stays as it was.

systemd and compose read env files differently (compose interpolates ``$VAR`` in unquoted
and double-quoted values and cuts `` #`` comments; systemd keeps both, and takes backslash
escapes in unquoted values). A value is therefore written only in a form both read as the
same bytes: bare when it is made of ``A-Z a-z 0-9 _ - . , / + = : @ % ^``, else in single
quotes (literal for both) when it holds no ``'`` and does not end with a backslash (compose
would read ``\\'`` as an escaped quote); anything else is refused.

Qdrant matches ``QDRANT__`` variables case-insensitively, so ``qdrant__service__api_key``
is the same setting: every spelling is edited together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from qdrantsec.errors import InputError

NAMES = {"api_key": "QDRANT__SERVICE__API_KEY", "alt_api_key": "QDRANT__SERVICE__ALT_API_KEY"}
ENFORCE_NAME = "QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH"
_ASSIGN = re.compile(r"^(?P<lead>[ \t]*)(?P<export>export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)"
                     r"(?P<eq>[ \t]*=[ \t]*)(?P<value>.*?)(?P<eol>\r?\n)?\Z", re.S)
_BARE_SAFE = re.compile(r"[A-Za-z0-9_\-.,/+=:@%^]+\Z")


def read_env_vars(text: str) -> dict[str, str]:
    """Every ``NAME=VALUE`` of the file as compose reads it, names upper-cased (the last
    assignment of a name wins, as for both systemd and compose)."""
    from qdrantsec.lint.inputs.envfile import parse_env_lines

    return {v.name.upper(): v.value for v in parse_env_lines(text)}


def encode_value(value: str, *, name: str) -> str:
    """``value`` in a form systemd and compose read identically (see the module doc)."""
    from qdrantsec.secrets import fingerprint

    if _BARE_SAFE.match(value):
        return value
    if "'" not in value and not value.endswith("\\") and value.isprintable() and "\n" not in value:
        return "'" + value + "'"
    raise InputError(
        f"{name}: the key {fingerprint(value)} cannot be written so that systemd and docker "
        "compose read it the same way (it holds a single quote or ends with a backslash)",
        hint="use a key of letters, digits and -_.+/= (qdrantsec key generate makes one)")


def edit_env_keys(text: str, changes: Mapping[str, str | None], *, name: str) -> str:
    """``text`` with each ``QDRANT__SERVICE__<KEY>`` set to its value (None: its lines
    removed). The first line of a variable is rewritten in place, later duplicates are
    dropped; a new variable goes next to its sibling, else at the end."""
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in text else "\n"
    use_export = any((m := _ASSIGN.match(line)) and m.group("export") for line in lines
                     if not line.lstrip().startswith("#"))
    for key, value in changes.items():
        var = NAMES[key]
        lines = _edit(lines, var, value, eol, use_export, name)
    out = "".join(lines)
    _verify(text, out, changes, name)
    return out


def _match(line: str) -> re.Match[str] | None:
    if line.lstrip().startswith(("#", ";")):  # systemd also takes ';' comments
        return None
    return _ASSIGN.match(line)


def _edit(lines: list[str], var: str, value: str | None, eol: str, use_export: bool,
          name: str) -> list[str]:
    out: list[str] = []
    done = False
    for number, line in enumerate(lines, start=1):
        m = _match(line)
        if m is None or m.group("name").upper() != var:
            out.append(line)
            continue
        _refuse_multiline(m.group("value"), var, name, number)
        if value is None or done:
            continue  # removed, or a later duplicate of the line just written
        done = True
        if _line_value(line) == value:
            out.append(line)  # already so: the line stays exactly as written
            continue
        out.append(f"{m.group('lead')}{m.group('export') or ''}{m.group('name')}="
                   f"{encode_value(value, name=var)}{m.group('eol') or ''}")
    if value is not None and not done:
        out = _insert(out, var, f"{var}={encode_value(value, name=var)}", eol, use_export)
    return out


def _insert(lines: list[str], var: str, assignment: str, eol: str, use_export: bool) -> list[str]:
    sibling = NAMES["alt_api_key"] if var == NAMES["api_key"] else NAMES["api_key"]
    for i, line in enumerate(lines):
        m = _match(line)
        if m is not None and m.group("name").upper() == sibling:
            new = f"{m.group('lead')}{m.group('export') or ''}{assignment}{eol}"
            if var == NAMES["api_key"]:
                return [*lines[:i], new, *lines[i:]]
            if not line.endswith("\n"):
                lines = [*lines[:i], line + eol, *lines[i + 1:]]
            return [*lines[:i + 1], new, *lines[i + 1:]]
    if lines and not lines[-1].endswith("\n"):
        lines = [*lines[:-1], lines[-1] + eol]
    return [*lines, f"{'export ' if use_export else ''}{assignment}{eol}"]


def _line_value(line: str) -> str | None:
    from qdrantsec.lint.inputs.envfile import parse_env_lines

    parsed = parse_env_lines(line)
    return parsed[0].value if parsed else None


def _refuse_multiline(value: str, var: str, name: str, number: int) -> None:
    """A quoted value without its closing quote, or a trailing backslash, continues on the
    next lines (systemd): rewriting one line would leave the rest behind."""
    stripped = value.strip()
    quote = stripped[:1]
    continued = stripped.endswith("\\") and quote not in ("'", '"')
    if quote == "'":
        continued = stripped.find("'", 1) < 0
    elif quote == '"':
        continued = re.match(r'"(?:[^"\\]|\\.)*"', stripped, re.S) is None
    if continued:
        raise InputError(f"{name}:{number}: {var} continues on the next line",
                         hint="write it on one line, then run again")


def _verify(before: str, after: str, changes: Mapping[str, str | None], name: str) -> None:
    """The file must now say exactly the requested values, and every other variable must
    read as before."""
    old, new = read_env_vars(before), read_env_vars(after)
    targets = {NAMES[k] for k in changes}
    for key, value in changes.items():
        if new.get(NAMES[key]) != value:
            raise InputError(f"{name}: could not set {NAMES[key]} safely; the file was left as it was",
                             hint="set it by hand once, then run again")
    others_before = {k: v for k, v in old.items() if k not in targets}
    if others_before != {k: v for k, v in new.items() if k not in targets}:
        raise InputError(f"{name}: editing {', '.join(sorted(targets))} would change other "
                         "variables; the file was left as it was",
                         hint="set the keys by hand once, then run again")
