"""Setting or removing ``service.api_key`` / ``service.alt_api_key`` in a Qdrant YAML config
while keeping everything else as it was written: comments, key order, quoting, indentation,
blank lines, CRLF line ends, document markers.

A round trip through a YAML library does not do that: ruamel.yaml's (measured on Qdrant
configs) re-indents mappings and sequences, re-aligns trailing comments, turns CRLF into LF
and drops ``---``/``...``. So the edit is a splice: the file is parsed for the positions of
``service`` and of the two keys, only those bytes are changed (one scalar replaced, one line
inserted or removed, in flow mappings ``, key: value``), and the result is parsed again and
compared with the original as Qdrant reads it (``qdrant.config.qdrant_value``): it must be
the same document with exactly the requested change, or nothing is written.

Where a splice cannot be made safely (a key whose value is a YAML alias or carries an
anchor, a key sharing its line with other content), ruamel.yaml's comment-preserving round
trip edits the file instead, under the same check.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from qdrantsec.errors import InputError

SERVICE = "service"
KEYS = ("api_key", "alt_api_key")
#: the style of a key written where there was none: double quotes, unambiguous in every YAML
NEW = '"'
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+=-]*\Z")


class _CannotSplice(Exception):
    """This file's shape needs the round-trip editor instead."""


def edit_service_keys(text: str, changes: Mapping[str, str | None], *, name: str) -> str:
    """``text`` with ``service.<key>`` set to each value of ``changes`` (None: removed).
    Raises InputError (never naming a key's value) when the file cannot be edited safely."""
    for key in changes:
        if key not in KEYS:
            raise ValueError(key)
    before = _qdrant_plain(text, name)
    expected = _canon(_expected(before, changes))
    if _canon(before) == expected:
        return text
    try:
        out = text
        for key, value in changes.items():
            out = _splice(out, key, value, name)
        if _canon(_qdrant_plain(out, name)) == expected:
            return out
    except _CannotSplice:
        pass
    out = _round_trip(text, changes, name)
    if _canon(_qdrant_plain(out, name)) != expected:
        raise InputError(f"{name}: could not change service.{' and service.'.join(changes)} "
                         "without changing something else; the file was left as it was",
                         hint="set the keys by hand once (e.g. without YAML anchors or merges "
                              "around service), then run again")
    return out


# -- reading ---------------------------------------------------------------------------
def _qdrant_plain(text: str, name: str) -> dict[str, Any]:
    """The document as Qdrant reads it (YAML 1.2 core typing); refuses several documents,
    a non-mapping root, and duplicate ``service`` or key entries (which one would Qdrant
    take? the editor would change only one)."""
    from qdrantsec.qdrant.config import qdrant_value
    from qdrantsec.yamlloc import load_located

    docs = [d for d in load_located(text, name=name) if d.root is not None]
    if len(docs) > 1:
        raise InputError(f"{name}: expected one YAML document, found {len(docs)}")
    if not docs:
        return {}
    doc = docs[0]
    for dup in doc.duplicates:
        if dup.key in (SERVICE, *KEYS):
            raise InputError(f"{name}:{dup.line}:{dup.column}: duplicate key {dup.key!r} "
                             f"(first at line {dup.first_line})",
                             hint="keep one; then run again")
    root = doc.root
    assert root is not None
    if not isinstance(root.value, dict):
        raise InputError(f"{name}:{root.line}:{root.column}: a Qdrant config must be a mapping")
    plain = qdrant_value(root)
    service = plain.get(SERVICE)
    if service is not None and not isinstance(service, dict):
        node = root.value[SERVICE]
        raise InputError(f"{name}:{node.line}:{node.column}: service must be a mapping")
    return plain  # type: ignore[no-any-return]


def _canon(value: Any) -> Any:
    """``value`` for comparison: a NaN (Qdrant's reader takes ``nan`` as a float) equals
    itself, and ``1``, ``1.0`` and ``true`` differ (Python's ``==`` says they are equal). Key
    order does not count: a new key goes next to its sibling, not last."""
    if isinstance(value, dict):
        return sorted((str(k), _canon(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, float) and value != value:
        return ("nan",)
    return (type(value).__name__, value)


def _expected(before: dict[str, Any], changes: Mapping[str, str | None]) -> dict[str, Any]:
    after = copy.deepcopy(before)
    service = after.get(SERVICE)
    if service is None:
        if all(v is None for v in changes.values()):
            return after
        service = after[SERVICE] = {}
    for key, value in changes.items():
        if value is None:
            service.pop(key, None)
        else:
            service[key] = value
    return after


# -- the splice --------------------------------------------------------------------------
def _compose(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:  # already parsed once by yamlloc: a last guard
        raise InputError(f"{name}: invalid YAML: {exc}".splitlines()[0]) from None


def _splice(text: str, key: str, value: str | None, name: str) -> str:
    import yaml

    eol = "\r\n" if "\r\n" in text else "\n"
    root = _compose(text, name)
    if root is None:
        if value is None:
            return text
        return _append(text, f"{SERVICE}:{eol}  {key}: {_scalar(value, NEW)}{eol}", eol)
    if not isinstance(root, yaml.MappingNode):
        raise _CannotSplice
    found = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == SERVICE]
    if not found:
        if value is None:
            return text
        if root.flow_style:
            return _flow_insert(text, root, f"{SERVICE}: {{{key}: {_scalar(value, NEW)}}}")
        indent = " " * root.start_mark.column
        child = indent + " " * _child_indent(root)
        section = f"{indent}{SERVICE}:{eol}{child}{key}: {_scalar(value, NEW)}{eol}"
        return _insert_at(text, root.end_mark.index, section, eol)
    service_key, service = found[0]
    if service.start_mark.index < service_key.end_mark.index:
        raise _CannotSplice  # an alias: the node is defined elsewhere
    if isinstance(service, yaml.ScalarNode):
        if service.tag != "tag:yaml.org,2002:null":
            raise _CannotSplice
        if value is None:
            return text
        if root.flow_style:
            return _replace(text, service, f"{{{key}: {_scalar(value, NEW)}}}")
        # "service:" with nothing (or null, ~): becomes a block mapping on the next line
        text = text[:service.start_mark.index] + text[service.end_mark.index:]
        child = " " * (service_key.start_mark.column + _child_indent(root))
        return _insert_at(text, _line_end(text, service.start_mark.index), f"{child}{key}: "
                          f"{_scalar(value, NEW)}{eol}", eol)
    if not isinstance(service, yaml.MappingNode):
        raise _CannotSplice
    entries = [(k, v) for k, v in service.value if isinstance(k, yaml.ScalarNode)]
    mine = [(i, k, v) for i, (k, v) in enumerate(entries) if k.value == key]
    if mine:
        i, k, v = mine[0]
        if v.start_mark.index < k.end_mark.index or text[v.start_mark.index] in "&*":
            raise _CannotSplice  # an alias or an anchor: other nodes depend on it
        if value is not None:
            if not isinstance(v, yaml.ScalarNode):
                raise _CannotSplice
            if v.value == value and (v.style is not None or _qdrant_str(v.value) == value):
                return text  # already so: the value stays exactly as written
            return _replace(text, v, _scalar(value, v.style), block_scalar=v.style in ("|", ">"))
        return _remove(text, service_key, service, entries, i, eol)
    if value is None:
        return text
    new = f"{key}: {_scalar(value, NEW)}"
    if service.flow_style:
        return _flow_insert(text, service, new)
    return _block_insert(text, entries, key, new, eol)


def _scalar(value: str, style: str | None) -> str:
    """``value`` as a YAML scalar that Qdrant reads back as this exact string, in the style
    the old value had where that is safe (plain, 'single', "double"); a new key is
    double-quoted. Keys are visible ASCII, so only quotes and backslashes need escaping."""
    from qdrantsec.qdrant.config import qdrant_scalar

    if style is None and _PLAIN_SAFE.match(value) and qdrant_scalar(value) == value and _yaml11_str(value):
        return value
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _qdrant_str(plain: str) -> object:
    from qdrantsec.qdrant.config import qdrant_scalar

    return qdrant_scalar(plain)


def _yaml11_str(value: str) -> bool:
    """PyYAML (YAML 1.1, as linters and compose read it) also sees a string: not ``yes``,
    ``on``, ``1_000``, ``0b1``..."""
    import yaml

    try:
        return bool(yaml.safe_load(value) == value)
    except yaml.YAMLError:
        return False


def _replace(text: str, node: Any, new: str, *, block_scalar: bool = False) -> str:
    start, end = node.start_mark.index, node.end_mark.index
    if block_scalar:  # "|" or ">": its span runs to the start of the next entry's line
        eol = "\r\n" if text[start:end].endswith("\r\n") else "\n"
        new += eol
    elif start == end and start > 0 and text[start - 1] == ":":
        new = " " + new  # "key:" with an empty value
    return text[:start] + new + text[end:]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """The index just after the line break that ends the line holding ``index``."""
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def _insert_at(text: str, index: int, block: str, eol: str) -> str:
    """Insert whole lines at ``index``, which must be a line start (or the end of text)."""
    if index > 0 and text[index - 1] != "\n":
        block = eol + block
    return text[:index] + block + text[index:]


def _append(text: str, block: str, eol: str) -> str:
    return _insert_at(text, len(text), block, eol)


def _child_indent(root: Any) -> int:
    """How far this file indents a nested block mapping (2 unless it shows otherwise)."""
    import yaml

    for k, v in root.value:
        if isinstance(v, yaml.MappingNode) and not v.flow_style and v.value:
            step = v.value[0][0].start_mark.column - k.start_mark.column
            if step > 0:
                return int(step)
    return 2


def _own_line(text: str, node: Any) -> int:
    """The start of ``node``'s line, which must hold nothing before it."""
    start = _line_start(text, node.start_mark.index)
    if text[start:node.start_mark.index].strip(" "):
        raise _CannotSplice
    return start


def _entry_end(text: str, value: Any) -> int:
    """The end of an entry's last line (its trailing comment and line break included)."""
    end = value.end_mark.index
    if end > 0 and text[end - 1] == "\n":
        return int(end)
    return _line_end(text, end)


def _remove(text: str, mapping_key: Any, mapping: Any, entries: list[tuple[Any, Any]], i: int,
            eol: str) -> str:
    k, v = entries[i]
    if mapping.flow_style:
        if len(entries) == 1:
            return text[:k.start_mark.index] + text[v.end_mark.index:]
        if i + 1 < len(entries):
            return text[:k.start_mark.index] + text[entries[i + 1][0].start_mark.index:]
        return text[:entries[i - 1][1].end_mark.index] + text[v.end_mark.index:]
    start, end = _own_line(text, k), _entry_end(text, v)
    if len(mapping.value) == 1:
        # the last key of the section: "service: {}" (an empty "service:" would be null,
        # which replaces Qdrant's defaults for the whole section)
        colon = text.index(":", mapping_key.end_mark.index)
        return text[:colon + 1] + " {}" + eol + text[end:]
    return text[:start] + text[end:]


def _flow_insert(text: str, mapping: Any, new: str) -> str:
    if mapping.value:
        at = mapping.value[-1][1].end_mark.index
        return text[:at] + ", " + new + text[at:]
    at = text.index("{", mapping.start_mark.index) + 1
    return text[:at] + new + text[at:]


def _block_insert(text: str, entries: list[tuple[Any, Any]], key: str, new: str, eol: str) -> str:
    """A new line in the service section: ``alt_api_key`` right after ``api_key``,
    ``api_key`` right before ``alt_api_key``, else after the last entry when that is a
    one-line scalar, else before the first one."""
    import yaml

    indent = " " * entries[0][0].start_mark.column
    sibling = {"api_key": "alt_api_key", "alt_api_key": "api_key"}[key]
    for k, v in entries:
        if k.value == sibling:
            if key == "api_key":
                return _insert_at(text, _own_line(text, k), indent + new + eol, eol)
            if isinstance(v, yaml.ScalarNode) and v.style not in ("|", ">"):
                return _insert_at(text, _entry_end(text, v), indent + new + eol, eol)
    last_k, last_v = entries[-1]
    if (isinstance(last_v, yaml.ScalarNode) and last_v.style not in ("|", ">")
            and last_v.end_mark.line == last_k.start_mark.line):
        return _insert_at(text, _entry_end(text, last_v), indent + new + eol, eol)
    return _insert_at(text, _own_line(text, entries[0][0]), indent + new + eol, eol)


# -- the round trip ------------------------------------------------------------------------
def _round_trip(text: str, changes: Mapping[str, str | None], name: str) -> str:
    """ruamel.yaml's comment-preserving round trip, for shapes the splice does not handle."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        data = yaml.load(text)
        if data is None:
            data = CommentedMap()
        service = data.get(SERVICE)
        if service is None:
            if all(v is None for v in changes.values()):
                return text
            service = data[SERVICE] = CommentedMap()
        for key, value in changes.items():
            if value is None:
                service.pop(key, None)
            else:
                service[key] = DoubleQuotedScalarString(value)
        out = io.StringIO()
        yaml.dump(data, out)
    except (YAMLError, AttributeError, TypeError) as exc:
        # not ruamel's message: it may quote values (a duplicate key's, say), which can be secrets
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        raise InputError(f"{where}: cannot edit this YAML ({type(exc).__name__})",
                         hint="set the keys by hand once, then run again") from None
    result = out.getvalue()
    return result.replace("\n", "\r\n") if "\r\n" in text else result
