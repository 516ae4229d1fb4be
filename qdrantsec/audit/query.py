"""One audit query over one kind of source: files, one server, or several peers.

Every function returns an iterator of Entries in the order asked for (newest first unless
``oldest_first``), at most ``limit`` of them (0: all), and records problems in a RunStats:
the caller streams the entries to a renderer and then looks at the stats.
"""

from __future__ import annotations

import collections
import itertools
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from qdrantsec.audit import files
from qdrantsec.audit.api import ApiQuery, pages
from qdrantsec.audit.filters import Filter, Window
from qdrantsec.audit.model import Entry, RunStats
from qdrantsec.errors import QdrantsecError


@dataclass
class Query:
    filt: Filter
    window: Window
    limit: int = 100
    oldest_first: bool = False


def from_files(paths: list[str], q: Query, stats: RunStats,
               stdin: IO[bytes] | None = None) -> Iterator[Entry]:
    groups = files.plan(paths, q.window, stats)
    if not groups:
        stats.warn(f"none of the {len(paths)} audit file(s) can hold entries of the time window")
    parser = files.LineParser(q.filt, q.window, stats)
    it = files.entries(groups, parser, newest_first=not q.oldest_first, stdin=stdin)
    return itertools.islice(it, q.limit) if q.limit else it


def _api_query(q: Query, server_timeout: int | None) -> ApiQuery:
    need = q.limit if (q.limit and not q.filt.needs_local() and not q.oldest_first) else None
    return ApiQuery(window=q.window, filters=q.filt.pushdown(), need=need, server_timeout=server_timeout)


def _local(stream: Iterable[Entry], filt: Filter) -> Iterator[Entry]:
    if not filt.needs_local():
        return iter(stream)
    return (e for e in stream if filt.matches(e.fields))


def _ordered(newest: Iterator[Entry], q: Query) -> Iterator[Entry]:
    """A newest-first stream in the order and length asked for, in bounded memory: the
    oldest N are the last N seen; all of them oldest first go through a temporary file."""
    if not q.oldest_first:
        return itertools.islice(newest, q.limit) if q.limit else newest
    if q.limit:
        tail: collections.deque[Entry] = collections.deque(newest, maxlen=q.limit)
        return reversed(tail)
    return _reverse_spooled(newest)


def _reverse_spooled(stream: Iterator[Entry]) -> Iterator[Entry]:
    with tempfile.TemporaryFile() as spool:
        for e in stream:
            spool.write(e.raw + b"\n")
            if e.peer is not None:
                spool.write(b"\x00" + e.peer.encode() + b"\n")
        spool.flush()
        yield from _reread(spool)


def _reread(spool: Any) -> Iterator[Entry]:
    import json

    from qdrantsec.audit.timeparse import parse_rfc3339

    peer: str | None = None
    for line in files.lines_backward(spool):
        if line.startswith(b"\x00"):  # the peer of the entry written before it
            peer = line[1:].decode()
            continue
        obj = json.loads(line)
        yield Entry(parse_rfc3339(obj["timestamp"]), line, obj, peer)
        peer = None


def from_api(settings: Any, key: Any, q: Query, stats: RunStats, *, server_timeout: int | None,
             transport: Any = None) -> Iterator[Entry]:
    from qdrantsec.qdrant.client import make_client

    client = make_client(settings, key, transport=transport)

    def stream() -> Iterator[Entry]:
        with client:
            yield from _local(pages(client, _api_query(q, server_timeout), stats), q.filt)

    return _ordered(stream(), q)


_DONE = object()


class _Failed:
    def __init__(self, error: QdrantsecError) -> None:
        self.error = error


def from_peers(peers: list[tuple[str, Any]], key: Any, q: Query, stats: RunStats, *,
               server_timeout: int | None, transport: Any = None) -> Iterator[Entry]:
    """Each peer queried on its own thread, entries tagged with the peer's URL and merged
    newest first. A peer that fails or times out is a warning and makes the answer partial;
    if every peer fails, the first failure is raised.

    In a Qdrant 1.19 cluster every peer's answer already holds the other peers' entries
    (the server gathers them), so an entry that several peers return (same timestamp, same
    content) is shown once, tagged with the first peer in ``peers`` order that returned it."""
    from qdrantsec.qdrant.client import make_client

    stop = threading.Event()
    queues: list[queue.Queue[Any]] = []
    failures: list[QdrantsecError] = []

    # clients made here, not in the threads: a bad --ca-cert is one error, not N warnings
    clients = [make_client(settings, key, transport=transport) for _label, settings in peers]

    def work(label: str, client: Any, out: queue.Queue[Any]) -> None:
        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with client:
                for e in _local(pages(client, _api_query(q, server_timeout), stats, peer=label), q.filt):
                    if not put(e):
                        return
        except QdrantsecError as exc:
            put(_Failed(exc))
        except Exception as exc:  # a bug or a library error: the peer is failed, not the run
            put(_Failed(QdrantsecError(f"{label}: {type(exc).__name__}")))
        finally:
            put(_DONE)

    threads = []
    for (label, _settings), client in zip(peers, clients, strict=True):
        qu: queue.Queue[Any] = queue.Queue(maxsize=2048)
        queues.append(qu)
        t = threading.Thread(target=work, args=(label, client, qu), daemon=True,
                             name=f"audit-peer-{label}")
        threads.append(t)

    def drain(label: str, qu: queue.Queue[Any]) -> Iterator[Entry]:
        while True:
            item = qu.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                failures.append(item.error)
                stats.partial = True
                stats.warn(f"peer {label} failed: {item.error.message}")
                continue
            yield item

    order = {label: i for i, (label, _s) in enumerate(peers)}

    def merged() -> Iterator[Entry]:
        import heapq

        for t in threads:
            t.start()
        yielded = 0
        try:
            streams = [drain(label, qu) for (label, _s), qu in zip(peers, queues, strict=True)]
            group_ts: int | None = None
            seen: dict[bytes, dict[str, int]] = {}
            for e in heapq.merge(*streams, key=lambda e: (e.ts, -order[e.peer or ""]), reverse=True):
                if e.ts != group_ts:
                    group_ts, seen = e.ts, {}
                counts = seen.setdefault(e.raw, {})
                mine = counts.get(e.peer or "", 0) + 1
                counts[e.peer or ""] = mine
                if mine <= max((c for p, c in counts.items() if p != (e.peer or "")), default=0):
                    continue  # the same entry, already shown from another peer
                yielded += 1
                yield e
        finally:
            stop.set()
        if failures and len(failures) == len(peers) and yielded == 0:
            first = failures[0]
            raise type(first)(f"every peer failed; first: {first.message}", hint=first.hint,
                              exit_code=first.exit_code)

    return _ordered(merged(), q)
