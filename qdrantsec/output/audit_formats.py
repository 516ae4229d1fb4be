"""Audit entries out, streamed one at a time: jsonl (each line exactly as Qdrant wrote
it, plus ``"peer"`` when several peers were asked), json (one array), csv and table.

A writer gets ``begin()``, ``write(entry)`` per entry, ``end()``; nothing is held beyond
one entry, so a query of any size runs in constant memory.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import IO, Any

from qdrantsec.audit.filters import FIELDS
from qdrantsec.audit.model import Entry

FORMATS = ("table", "json", "jsonl", "csv")


class Writer:
    def __init__(self, out: IO[str], *, with_peer: bool = False, local: bool = False) -> None:
        self.out = out
        self.with_peer = with_peer
        self.local = local
        self.count = 0

    def begin(self) -> None:
        pass

    def write(self, entry: Entry) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        self.out.flush()

    def end(self) -> None:
        self.flush()


class JsonlWriter(Writer):
    """The raw bytes of the line; with ``peer``, the member is appended before the
    closing brace, so every other byte is Qdrant's."""

    def begin(self) -> None:
        self.out.flush()
        self.buf: IO[bytes] = getattr(self.out, "buffer", None) or _TextBytes(self.out)

    def write(self, entry: Entry) -> None:
        raw = entry.raw
        if self.with_peer and entry.peer is not None:
            body = raw.rstrip()
            raw = body[:-1] + b',"peer":' + json.dumps(entry.peer).encode() + b"}"
        self.buf.write(raw + b"\n")
        self.count += 1

    def flush(self) -> None:
        self.buf.flush()

    def end(self) -> None:
        self.buf.flush()


class _TextBytes:
    """Bytes onto a text stream without a buffer (a test's StringIO)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, data: bytes) -> int:
        return self.out.write(data.decode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        self.out.flush()


class JsonWriter(Writer):
    def begin(self) -> None:
        self.out.write("[")

    def write(self, entry: Entry) -> None:
        obj = dict(entry.fields)
        if self.with_peer and entry.peer is not None:
            obj["peer"] = entry.peer
        self.out.write(("\n  " if self.count == 0 else ",\n  ") + json.dumps(obj, ensure_ascii=False))
        self.count += 1

    def end(self) -> None:
        self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()


class CsvWriter(Writer):
    def begin(self) -> None:
        self.columns = list(FIELDS) + (["peer"] if self.with_peer else [])
        self.csv = csv.writer(self.out, lineterminator="\n")
        self.csv.writerow(self.columns)

    def write(self, entry: Entry) -> None:
        f = entry.fields
        row = [_cell(f.get(c)) for c in FIELDS]
        if self.with_peer:
            row.append(entry.peer or "")
        self.csv.writerow(row)
        self.count += 1


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # a leading =, +, - or @ makes a spreadsheet run the cell as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def make_writer(fmt: str, out: IO[str] | None = None, *, with_peer: bool = False,
                local: bool = False, width: int | None = None) -> Writer:
    out = out if out is not None else sys.stdout
    if fmt == "table":
        from qdrantsec.output.audit_table import TableWriter

        return TableWriter(out, with_peer=with_peer, local=local, width=width)
    cls = {"jsonl": JsonlWriter, "json": JsonWriter, "csv": CsvWriter}[fmt]
    return cls(out, with_peer=with_peer, local=local)
