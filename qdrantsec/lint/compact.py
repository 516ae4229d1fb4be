"""Compact containers for what a streaming lint run keeps to the end, one entry per file.

A Python ``str`` costs about 50 bytes before its first character, a tuple or a named
tuple 50 to 60 more, and ten thousand of them left between short-lived objects keep the
allocator's arenas from being given back. ``StringList`` keeps strings joined a few hundred
to a piece, ``TargetList`` the kind and file of each linted target, and ``HashSet`` only
the hashes of paths where membership is all that is asked: a few bytes an entry instead of
a hundred, so the memory of a run does not grow with the number of files it has seen.
"""

from __future__ import annotations

import heapq
import itertools
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

#: strings per sealed piece of a ``StringList``
PIECE = 256


class StringList(Sequence[str]):
    """An append-only list of strings stored as a few compressed pieces (each the end
    offsets of its strings, then their text) and a short tail of plain strings. Reads like
    a list (``len``, indexing, slicing, iteration, ``in``, ``==`` with a list); appending
    is amortised O(1); reading a string in a piece unpacks that piece (a few kB)."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._pieces: list[bytes] = []
        self._tail: list[str] = []
        self.extend(items)

    def append(self, item: str) -> None:
        tail = self._tail
        tail.append(item)
        if len(tail) >= PIECE:
            ends = array("I")
            end = 0
            for s in tail:
                end += len(s)
                ends.append(end)
            text = "".join(tail).encode("utf-8", "surrogatepass")  # (file names may hold surrogates)
            self._pieces.append(zlib.compress(ends.tobytes() + text, 1))
            self._tail = []

    def extend(self, items: Iterable[str]) -> None:
        for item in items:
            self.append(item)

    def __len__(self) -> int:
        return len(self._pieces) * PIECE + len(self._tail)

    @staticmethod
    def _unpack(piece: bytes) -> list[str]:
        data = zlib.decompress(piece)
        ends = array("I")
        ends.frombytes(data[:PIECE * ends.itemsize])
        text = data[PIECE * ends.itemsize:].decode("utf-8", "surrogatepass")
        out, start = [], 0
        for end in ends:
            out.append(text[start:end])
            start = end
        return out

    def _from(self, start: int) -> Iterator[str]:
        """The strings from index ``start`` on."""
        first, skip = divmod(start, PIECE)
        for piece in self._pieces[first:]:
            yield from self._unpack(piece)[skip:]
            skip = 0
        yield from self._tail[max(0, start - len(self._pieces) * PIECE):]

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return list(self)[index]
            return list(itertools.islice(self._from(start), max(0, stop - start)))
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("StringList index out of range")
        return next(self._from(index))

    def __iter__(self) -> Iterator[str]:
        return self._from(0)

    def __contains__(self, item: object) -> bool:
        return any(s == item for s in self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (StringList, list, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"StringList({list(self)!r})"


class TargetSummary(NamedTuple):
    """What is left of a target once its findings are made (``lint_paths(stream=True)``):
    its kind and main file."""

    kind: str
    file: str


class TargetList(Sequence[TargetSummary]):
    """``TargetSummary`` entries stored as a kind number and a file in a ``StringList``."""

    def __init__(self) -> None:
        self._kinds: list[str] = []  # the distinct kinds, in order of first use
        self._codes = bytearray()
        self._files = StringList()

    def append(self, kind: str, file: str) -> None:
        try:
            code = self._kinds.index(kind)
        except ValueError:
            code = len(self._kinds)
            self._kinds.append(kind)
        self._codes.append(code)
        self._files.append(file)

    def extend(self, other: Iterable[TargetSummary]) -> None:
        for t in other:
            self.append(t.kind, t.file)

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, index: int) -> TargetSummary: ...
    @overload
    def __getitem__(self, index: slice) -> list[TargetSummary]: ...
    def __getitem__(self, index: int | slice) -> TargetSummary | list[TargetSummary]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return TargetSummary(self._kinds[self._codes[index]], self._files[index])

    def __iter__(self) -> Iterator[TargetSummary]:
        kinds = self._kinds
        for code, file in zip(self._codes, self._files, strict=True):
            yield TargetSummary(kinds[code], file)


class HashSet:
    """Which strings were added, kept as their 64-bit hashes: sorted in an array, with the
    latest in a small set. ``in`` may answer yes for a string never added (two hashes
    equal: about one chance in 10**15 for ten thousand entries), never no for one that
    was; callers use it only where a wrong yes costs time, not correctness."""

    _MERGE = 512

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._sorted: array[int] = array("q")
        self._recent: set[int] = set()
        self.update(items)

    def add(self, item: str) -> None:
        self.add_hash(hash(item))

    def add_hash(self, h: int) -> None:
        self._recent.add(h)
        # merged once the recent ones are an eighth of the rest: a few dozen merges for
        # ten thousand paths, and the set never much larger than 1/8 of the array
        if len(self._recent) >= max(self._MERGE, len(self._sorted) >> 3):
            self._merge()

    def update(self, items: Iterable[str]) -> None:
        for item in items:
            self.add_hash(hash(item))

    def hashes(self) -> array[int]:
        """Every hash, sorted (to hand to ``add_hashes`` of another set)."""
        self._merge()
        return self._sorted

    def add_hashes(self, hashes: Iterable[int]) -> None:
        for h in hashes:
            self.add_hash(h)

    def _merge(self) -> None:
        """The recent hashes into the sorted array, one value at a time (a set or list of
        every hash as Python ints would be ten times the array, if only for a moment)."""
        if self._recent:
            out: array[int] = array("q")
            last = None
            for h in heapq.merge(self._sorted, sorted(self._recent)):
                if h != last:
                    out.append(h)
                    last = h
            self._sorted = out
            self._recent = set()

    def __contains__(self, item: object) -> bool:
        h = hash(item)
        if h in self._recent:
            return True
        arr = self._sorted
        i = bisect_left(arr, h)
        return i < len(arr) and arr[i] == h

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_hash_set, (self.hashes(),))


def _hash_set(hashes: array[int]) -> HashSet:
    out = HashSet()
    out._sorted = array("q", hashes)
    return out
