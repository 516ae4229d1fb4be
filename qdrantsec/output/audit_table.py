"""The audit table for people: one line an entry, at most 100 columns (less on a narrower
terminal), with a second indented line for the error of a denied entry and the peer.

Plain text, no Rich: the table streams, and values from the log are shown through
``printable`` so a hostile value cannot move the cursor.
"""

from __future__ import annotations

from typing import IO

from qdrantsec.audit.model import Entry
from qdrantsec.audit.timeparse import format_ns
from qdrantsec.output import printable
from qdrantsec.output.audit_formats import Writer

MAX_WIDTH = 100
#: (title, width); the last column takes what is left
COLUMNS = (("TIME", 24), ("RESULT", 6), ("AUTH", 6), ("WHO", 20), ("METHOD", 22), ("COLLECTION", 0))


def _fit(text: str, width: int) -> str:
    text = printable(text)
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


class TableWriter(Writer):
    def __init__(self, out: IO[str], *, with_peer: bool = False, local: bool = False,
                 width: int | None = None) -> None:
        super().__init__(out, with_peer=with_peer, local=local)
        self.width = min(MAX_WIDTH, width or MAX_WIDTH)

    def begin(self) -> None:
        # a local time carries its offset (+01:00): 5 more characters than Z
        self.columns = [(t, w + 5 if t == "TIME" and self.local else w) for t, w in COLUMNS]
        fixed = sum(w for _t, w in self.columns) + len(self.columns) - 1
        self.last = max(8, self.width - fixed)
        self.out.write(self._row([t for t, _w in self.columns]) + "\n")

    def _row(self, cells: list[str]) -> str:
        widths = [w or self.last for _t, w in self.columns]
        return " ".join(_fit(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()[: self.width]

    def write(self, entry: Entry) -> None:
        f = entry.fields
        when = format_ns(entry.ts, local=self.local, digits=3)
        who = f.get("subject") or f.get("remote") or ""
        method = f.get("method") or f.get("api") or ""
        self.out.write(self._row([when, str(f.get("result", "")), str(f.get("auth_type", "")),
                                  str(who), str(method), str(f.get("collection") or "")]) + "\n")
        extra = []
        if self.with_peer and entry.peer:
            extra.append(f"peer {entry.peer}")
        if f.get("error"):
            extra.append(str(f["error"]))
        if extra:
            self.out.write(_fit("    " + "  ".join(extra), self.width).rstrip() + "\n")
        self.count += 1

    def end(self) -> None:
        if self.count == 0:
            self.out.write("(no entries)\n")
        self.out.flush()
