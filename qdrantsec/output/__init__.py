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


def warn(message: str) -> None:
    """A one-line warning on stderr, in the same shape as errors."""
    sys.stderr.write(f"qdrantsec: warning: {message}\n")


def note(message: str) -> None:
    """An informational line on stderr (never data)."""
    sys.stderr.write(f"{message}\n")


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
