"""Output helpers shared by every command.

Data goes to stdout, diagnostics (warnings, progress, fingerprints) to stderr, so that
``X=$(qdrantsec ...)`` and pipes get only data. Rich is imported only when a human-readable
rendering is actually produced.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

FORMATS_BASIC = ("text", "json")


#: bidirectional overrides and isolates: they reorder what a terminal shows
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (ESC sequences, C1 CSI, NUL, line
    breaks) and bidi overrides from a token, a file or an argument are shown escaped
    (``\\x1b``), so hostile input cannot repaint the screen or forge extra lines."""
    if text.isprintable() and not _BIDI.intersection(text):
        return text
    out = []
    for ch in text:
        if ch in _BIDI or (not ch.isprintable() and ch != " "):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


#: an argument (a run without spaces) longer than this is cut in a diagnostic line, and a
#: whole line longer than LINE_LIMIT too: a 100 kB path must not flood a terminal or CI log
WORD_LIMIT = 200
LINE_LIMIT = 2000


def shorten(text: str, limit: int = WORD_LIMIT) -> str:
    """``text`` cut to its first ``limit`` characters, then ``…`` and its full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


def diagnostic(text: str) -> str:
    """One line for stderr: overlong arguments shortened, then :func:`printable` (a path or
    value with a newline cannot forge a second ``qdrantsec: error:`` line). A PEM private
    key in it (a key file's text given as an argument) is shown by its fingerprint."""
    if "PRIVATE KEY" in text:
        from qdrantsec.secrets import redact_private_keys

        text = redact_private_keys(text)
    if len(text) > WORD_LIMIT:
        text = re.sub(rf"[^\s…]{{{WORD_LIMIT + 1},}}", lambda m: shorten(m.group()), text)
        text = shorten(text, LINE_LIMIT)
    return printable(text)


def error(message: str, hint: str | None = None) -> None:
    """A ``qdrantsec: error:`` line (and an optional hint) on stderr, escaped and shortened:
    for errors reported without stopping (one per file that could not be read)."""
    sys.stderr.write(f"qdrantsec: error: {diagnostic(message)}\n")
    if hint:
        sys.stderr.write(f"qdrantsec: hint: {diagnostic(hint)}\n")


def warn(message: str) -> None:
    """A one-line warning on stderr, in the same shape as errors."""
    sys.stderr.write(f"qdrantsec: warning: {diagnostic(message)}\n")


def note(message: str) -> None:
    """An informational line on stderr (never data)."""
    sys.stderr.write(f"{diagnostic(message)}\n")


def to_json(obj: Any, *, pretty: bool = True) -> str:
    import json  # (here: most commands print no JSON, and start-up counts)

    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def json_members(encoded: Iterable[str], close: str) -> Iterator[str]:
    """The members of a JSON array, each already encoded with its indent, in pieces of a
    few hundred (fewer, larger writes): ``"\n"`` before the first, ``",\n"`` before the
    others, then the closing bracket at the indent ``close`` (just ``]`` when empty)."""
    batch: list[str] = []
    first = True
    for text in encoded:
        batch.append(("\n" if first else ",\n") + text)
        first = False
        if len(batch) >= 256:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
    yield "]" if first else "\n" + close + "]"


def print_json(obj: Any, *, pretty: bool = True) -> None:
    sys.stdout.write(to_json(obj, pretty=pretty) + "\n")


#: the width a console assumes when not on a terminal: wide enough that no table is squeezed
UNWRAPPED_WIDTH = 10_000


def console(stderr: bool = False) -> Any:
    """A Rich console for human output; colour only on a TTY, NO_COLOR honoured (Rich
    reads NO_COLOR and FORCE_COLOR itself). Not on a terminal (a pipe, a file, CI logs)
    nothing is wrapped or cut: a line is as long as its data, so grep and scripts see it
    whole (Rich would otherwise wrap at 80 columns)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        tty = False
    if tty:
        return Console(stderr=stderr, highlight=False, soft_wrap=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH)
