"""Audit lines in Qdrant's exact shape, and a way to run the CLI in-process with real
byte streams (the jsonl writer writes bytes to stdout's buffer)."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

from qdrantsec.cli.app import main

ORDER = ("timestamp", "method", "api", "auth_type", "subject", "remote", "collection",
         "tracing_id", "result", "error")


def qline(ts: str, **fields: Any) -> str:
    """One line as Qdrant writes it: members in AuditEvent order, compact, raw UTF-8."""
    data = {"timestamp": ts, "auth_type": "ApiKey", "result": "ok", **fields}
    return json.dumps({k: data[k] for k in ORDER if k in data}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    data = "".join(lines).encode()
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def __repr__(self) -> str:
        return f"Result({self.code}, out={self.out[:400]!r}, err={self.err[:400]!r})"


def run(*args: str, stdin: bytes = b"") -> Result:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    err = io.StringIO()
    inp = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = out, err, inp  # type: ignore[assignment]
    try:
        code = main(list(args))
        out.flush()
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    return Result(code, raw.getvalue().decode("utf-8"), err.getvalue())
