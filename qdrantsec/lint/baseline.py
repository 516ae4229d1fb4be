"""Baselines: accept today's findings in an existing repository, fail only on new ones.

A finding's fingerprint hashes its rule, its file (relative to the repository root, POSIX,
so the baseline works from any directory of the checkout), its message with
whitespace and line references normalised, the variable that set the value, and the text
of the line it points at, stripped. The line *number* is left out on purpose: an edit above
a finding shifts it without resurrecting it, while an edit of the offending line itself
(or a different value in the message) makes it a new finding.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable

from qdrantsec.errors import InputError
from qdrantsec.lint.model import Finding
from qdrantsec.lint.paths import stable_path

BASELINE_VERSION = 1
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_LINE_REF = re.compile(r"\b(lines?)\s+\d+", re.IGNORECASE)
_POS_REF = re.compile(r"(\.(?:ya?ml|env|json)):\d+(?::\d+)?\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

LineReader = Callable[[str], list[str]]


def read_file_lines(path: str) -> list[str]:
    """The lines of a text file without line endings; [] when it cannot be read. Findings
    may point at files that vanished or are binary; a fingerprint must still be computed."""
    from qdrantsec.fsutil import MAX_DOCUMENT_BYTES, read_limited

    try:  # (a regular file of at most the linted-file cap: no FIFO, no /dev/zero)
        raw = read_limited(path, limit=MAX_DOCUMENT_BYTES)
    except OSError:
        return []
    return raw.decode("utf-8-sig", errors="replace").splitlines()


def normalize_message(message: str) -> str:
    text = _LINE_REF.sub(lambda m: f"{m.group(1).lower()} N", message)
    text = _POS_REF.sub(lambda m: m.group(1), text)
    return _SPACE.sub(" ", text).strip()


def line_text(finding: Finding, read_lines: LineReader) -> str:
    loc = finding.location
    if not loc.file or not loc.line:
        return ""
    try:
        lines = read_lines(loc.file)
    except (OSError, InputError):
        return ""
    if 0 < loc.line <= len(lines):
        return lines[loc.line - 1].strip()
    return ""


def finding_fingerprint(finding: Finding, read_lines: LineReader | None = None, *,
                        stable: str | None = None) -> str:
    """sha256 hex of rule, repository-relative POSIX path (a probe finding: its URL),
    normalised message, env var and the stripped text of the finding's line (read with
    ``read_lines``, default: from disk). ``stable``: ``stable_path`` of the finding's
    file, when the caller has it already."""
    loc = finding.location
    parts = (
        finding.rule,
        (stable if stable is not None else stable_path(loc.file)) if loc.file else (loc.url or ""),
        normalize_message(finding.message),
        loc.env_var or "",
        line_text(finding, read_lines or read_file_lines),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def load_baseline(path: str) -> set[str]:
    """The fingerprints of a baseline file; InputError when it is missing or not one."""
    from qdrantsec.fsutil import read_text

    text = read_text(path, what="baseline file", pipe_ok=True)  # capped: MAX_DOCUMENT_BYTES
    hint = "write one with `qdrantsec lint --write-baseline FILE`"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"baseline {path} is not JSON (line {exc.lineno}: {exc.msg})", hint=hint) from None
    except ValueError:  # an integer of more than 4300 digits
        raise InputError(f"baseline {path} holds a number too long to be a baseline", hint=hint) from None
    except RecursionError:
        raise InputError(f"baseline {path} is nested too deeply to be a baseline", hint=hint) from None
    if not isinstance(data, dict) or "fingerprints" not in data:
        raise InputError(f"baseline {path} is not a qdrantsec baseline (no \"fingerprints\")", hint=hint)
    if data.get("version") != BASELINE_VERSION:
        raise InputError(
            f"baseline {path} has version {data.get('version')!r}; this qdrantsec reads version "
            f"{BASELINE_VERSION}", hint=hint)
    prints = data["fingerprints"]
    if not isinstance(prints, list):
        raise InputError(f"baseline {path}: \"fingerprints\" must be a list", hint=hint)
    for i, fp in enumerate(prints):
        if not isinstance(fp, str) or not _HEX64.match(fp):
            raise InputError(f"baseline {path}: fingerprint #{i + 1} is not a sha256 hex digest", hint=hint)
    return set(prints)


def baseline_fingerprints(findings: Iterable[Finding], read_lines: LineReader | None = None) -> list[str]:
    """Sorted fingerprints of the findings a baseline should accept: the unsuppressed ones
    and those already accepted by a baseline. Findings suppressed inline or by the project
    file are left out, so that removing (or expiring) that suppression brings them back."""
    reader = read_lines or cached_reader(read_file_lines)
    chosen = (f for f in findings if not f.suppressed or f.suppression == "baseline")
    return sorted({finding_fingerprint(f, reader) for f in chosen})


def write_baseline(path: str, findings: Iterable[Finding], read_lines: LineReader | None = None) -> int:
    """Write a baseline of ``findings`` atomically (replacing any old one); returns how many
    fingerprints it holds."""
    from qdrantsec import __version__
    from qdrantsec.fsutil import atomic_write

    # replacing an old baseline is the point; replacing .qdrantsec.yaml or a config file
    # named by mistake would lose it (a FIFO or device is refused by atomic_write)
    if os.path.isfile(path) and not _replaceable(path):
        raise InputError(f"{path} exists and is not a qdrantsec baseline; refusing to replace it",
                         hint="give --write-baseline a new file name, e.g. .qdrantsec-baseline.json")
    prints = baseline_fingerprints(findings, read_lines)
    doc = {"version": BASELINE_VERSION, "fingerprints": prints, "generated_by": f"qdrantsec {__version__}"}
    atomic_write(path, json.dumps(doc, indent=2) + "\n", overwrite=True)
    return len(prints)


def _replaceable(path: str) -> bool:
    """An empty file, or a JSON object with "fingerprints" (a baseline of any version)."""
    from qdrantsec.fsutil import MAX_DOCUMENT_BYTES, read_limited

    try:
        raw = read_limited(path, limit=MAX_DOCUMENT_BYTES)
        if not raw.strip():
            return True
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "fingerprints" in data


def cached_reader(reader: LineReader = read_file_lines) -> LineReader:
    """``reader`` reading each file once."""
    cache: dict[str, list[str]] = {}

    def read(path: str) -> list[str]:
        if path not in cache:
            cache[path] = reader(path)
        return cache[path]

    return read


def recent_reader(reader: LineReader = read_file_lines, keep: int = 8) -> LineReader:
    """``reader`` keeping the last ``keep`` files read: enough for findings that come file
    by file (a report in output order), without holding every file of a large run."""
    cache: dict[str, list[str]] = {}

    def read(path: str) -> list[str]:
        lines = cache.get(path)
        if lines is None:
            if len(cache) >= keep:
                del cache[next(iter(cache))]  # the oldest
            lines = cache[path] = reader(path)
        return lines

    return read
