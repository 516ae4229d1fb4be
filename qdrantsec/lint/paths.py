"""Paths as the linter shows and matches them.

``display_path`` turns whatever path the engine was given into the relative POSIX form
every output and the baseline use (so a baseline written on Linux matches on Windows, and
``./a.yaml`` and ``a.yaml`` are the same file). ``PathGlob`` implements the gitignore-ish
globs of ``.qdrantsec.yaml`` (``ignore_paths`` and ``ignore[].path``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache


def display_path(path: str, cwd: str | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when it lies below
    it, else absolute; always with ``/`` separators and without ``./``.

    Every formatter asks this for every finding (and sorting asks again), for a handful of
    distinct files: the answer is cached per (path, working directory), which stays right
    when the working directory changes between calls."""
    return _display_path(path, cwd or os.getcwd())


@lru_cache(maxsize=1024)  # findings come file by file: a small cache hits, and memory stays flat
def _display_path(path: str, cwd: str) -> str:
    base = os.path.abspath(cwd)
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full, base)
    except ValueError:  # another drive on Windows
        rel = full
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        rel = full
    return rel.replace(os.sep, "/")


def repository_root(path: str) -> str | None:
    """The nearest directory at or above ``path`` that holds ``.git``, or None."""
    current = os.path.abspath(path)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def stable_path(path: str) -> str:
    """``path`` relative to its repository root (POSIX), so that it reads the same from any
    working directory inside the checkout; outside a repository, ``display_path``."""
    root = repository_root(os.path.dirname(os.path.abspath(path)))
    rel = relative_to(path, root) if root else None
    return rel if rel is not None else display_path(path)


def relative_to(path: str, base_dir: str) -> str | None:
    """``path`` relative to ``base_dir`` in POSIX form, or None when it is outside."""
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full, os.path.abspath(base_dir))
    except ValueError:
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace(os.sep, "/")


class GlobError(ValueError):
    """A pattern the glob syntax does not allow; the message says why."""


#: a ``**`` path segment: any number of directories (one or more at the end of a pattern)
_ANY_DIRS = "**"
#: a ``*`` inside a segment
_STAR = "*"


@dataclass(frozen=True)
class PathGlob:
    """One gitignore-style pattern, relative to ``base_dir``.

    - ``*`` and ``?`` stay within one path segment, ``[abc]`` / ``[!abc]`` are classes;
    - ``**`` spans directories (``deploy/**/values.yaml``, ``**/secrets/*``);
    - a pattern without a ``/`` (other than a trailing one) matches at any depth, like
      ``*.env`` or ``charts``; one with a ``/`` is anchored at ``base_dir``;
    - a trailing ``/`` matches directories only;
    - a pattern that matches a directory matches every file below it.

    Matched segment by segment, with a table over (pattern segment, path segment) and a
    two-pointer wildcard match inside a segment: the project file comes with the repository
    being linted, and a regular expression built from ``a/**/**/**/.../zz`` or ``*a*a*a*b``
    backtracks exponentially on a path that does not match.
    """

    pattern: str
    base_dir: str
    segments: tuple[object, ...]  # _ANY_DIRS, or a tuple of tokens for one segment
    dir_only: bool

    @classmethod
    def compile(cls, pattern: str, base_dir: str) -> PathGlob:
        text = pattern.strip()
        if not text:
            raise GlobError("empty pattern")
        if text.startswith("!"):
            raise GlobError("negated patterns ('!...') are not supported")
        if "\\" in text:
            raise GlobError("use '/' as the path separator")
        dir_only = text.endswith("/")
        text = text.rstrip("/")
        if not text:
            raise GlobError("'/' alone matches nothing; use '**' for everything")
        anchored = "/" in text
        text = text.lstrip("/")
        while text.startswith("./"):
            text = text[2:]
        segments: list[object] = [] if anchored else [_ANY_DIRS]
        for seg in text.split("/"):
            item = _ANY_DIRS if seg == "**" else _tokens(seg)
            if not (item is _ANY_DIRS and segments and segments[-1] is _ANY_DIRS):  # a/**/**/b is a/**/b
                segments.append(item)
        return cls(pattern, os.path.abspath(base_dir), tuple(segments), dir_only)

    def matches(self, path: str) -> bool:
        """True when ``path`` (absolute or relative to the current directory) or one of
        its parent directories below ``base_dir`` matches."""
        rel = relative_to(path, self.base_dir)
        if rel is None or rel == ".":
            return False
        return self.matches_relative(rel, is_dir=self.dir_only and os.path.isdir(path))

    def matches_relative(self, rel: str, *, is_dir: bool = False) -> bool:
        parts = rel.split("/")
        candidates = list(range(1, len(parts)))  # the parent directories, by depth
        if is_dir or not self.dir_only:
            candidates.append(len(parts))
        return any(_match_segments(self.segments, parts[:n]) for n in candidates)


def _match_segments(pattern: tuple[object, ...], parts: list[str]) -> bool:
    """Whether the path segments ``parts`` match the pattern's segments; ``**`` takes zero
    or more segments, or one or more when it ends the pattern (``a/**`` is what is below
    ``a``). Filled backwards, one row per pattern segment: O(pattern x path)."""
    n = len(parts)
    last = len(pattern) - 1
    # ok[j]: the pattern from segment i on matches parts[j:]
    ok = [False] * n + [True]
    for i in range(last, -1, -1):
        seg = pattern[i]
        row = [False] * (n + 1)
        for j in range(n, -1, -1):
            if seg is _ANY_DIRS:
                if i == last:
                    row[j] = j < n
                else:
                    row[j] = ok[j] or (j < n and row[j + 1])
            else:
                row[j] = j < n and ok[j + 1] and _match_segment(seg, parts[j])  # type: ignore[arg-type]
        ok = row
    return ok[0]


def _match_segment(tokens: tuple[object, ...], text: str) -> bool:
    """A glob segment against one path segment: the classic two-pointer match, where a
    ``*`` that fails is retried one character further (at most len(text) x len(tokens))."""
    t = s = 0
    star, mark = -1, 0
    while s < len(text):
        if t < len(tokens) and tokens[t] is _STAR:
            star, mark = t, s
            t += 1
        elif t < len(tokens) and _one(tokens[t], text[s]):
            t += 1
            s += 1
        elif star >= 0:
            t, mark = star + 1, mark + 1
            s = mark
        else:
            return False
    while t < len(tokens) and tokens[t] is _STAR:
        t += 1
    return t == len(tokens)


def _one(token: object, ch: str) -> bool:
    if token is None:  # "?"
        return ch != "/"
    if isinstance(token, str):
        return token == ch
    return token.fullmatch(ch) is not None  # type: ignore[attr-defined]  # a [class]


def _tokens(glob: str) -> tuple[object, ...]:
    """One segment's tokens: _STAR, None for ``?``, a one-character regex for a class,
    else the literal character."""
    out: list[object] = []
    i, n = 0, len(glob)
    while i < n:
        ch = glob[i]
        if ch == "*":
            if glob.startswith("**", i):
                raise GlobError("'**' must be a whole path segment ('a/**/b', '**/x', 'a/**')")
            if not (out and out[-1] is _STAR):  # ** inside a segment is refused; *x* stays as is
                out.append(_STAR)
        elif ch == "?":
            out.append(None)
        elif ch == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end < 0:
                raise GlobError("unclosed '[' in pattern")
            inner = glob[i + 1 : end]
            negate = inner[:1] in ("!", "^")
            if negate:
                inner = inner[1:]
            inner = inner.replace("\\", "\\\\").replace("^", "\\^")
            try:
                out.append(re.compile(f"[{'^/' if negate else ''}{inner}]"))
            except re.error as exc:  # [z-a]
                raise GlobError(f"bad character class [{glob[i + 1:end]}]: {exc}") from None
            i = end + 1
            continue
        else:
            out.append(ch)
        i += 1
    return tuple(out)
