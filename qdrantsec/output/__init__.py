"""Output helpers shared by every command.

Data goes to stdout, diagnostics (warnings, progress, fingerprints) to stderr, so that
``X=$(qdrantsec ...)`` and pipes get only data. Rich is imported only when a human-readable
rendering is actually produced.
"""

from __future__ import annotations

import json
import sys
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


def warn(message: str) -> None:
    """A one-line warning on stderr, in the same shape as errors."""
    sys.stderr.write(f"qdrantsec: warning: {printable(message)}\n")


def note(message: str) -> None:
    """An informational line on stderr (never data)."""
    sys.stderr.write(f"{printable(message)}\n")


def to_json(obj: Any, *, pretty: bool = True) -> str:
    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def print_json(obj: Any, *, pretty: bool = True) -> None:
    sys.stdout.write(to_json(obj, pretty=pretty) + "\n")


def console(stderr: bool = False) -> Any:
    """A Rich console for human output; colour only on a TTY, NO_COLOR honoured (Rich
    reads NO_COLOR and FORCE_COLOR itself)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)
