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


@dataclass(frozen=True)
class PathGlob:
    """One gitignore-style pattern, relative to ``base_dir``.

    - ``*`` and ``?`` stay within one path segment, ``[abc]`` / ``[!abc]`` are classes;
    - ``**`` spans directories (``deploy/**/values.yaml``, ``**/secrets/*``);
    - a pattern without a ``/`` (other than a trailing one) matches at any depth, like
      ``*.env`` or ``charts``; one with a ``/`` is anchored at ``base_dir``;
    - a trailing ``/`` matches directories only;
    - a pattern that matches a directory matches every file below it.
    """

    pattern: str
    base_dir: str
    regex: re.Pattern[str]
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
        body = _translate(text)
        prefix = "" if anchored else "(?:.*/)?"
        return cls(pattern, os.path.abspath(base_dir), re.compile(prefix + body + r"\Z"), dir_only)

    def matches(self, path: str) -> bool:
        """True when ``path`` (absolute or relative to the current directory) or one of
        its parent directories below ``base_dir`` matches."""
        rel = relative_to(path, self.base_dir)
        if rel is None or rel == ".":
            return False
        return self.matches_relative(rel, is_dir=self.dir_only and os.path.isdir(path))

    def matches_relative(self, rel: str, *, is_dir: bool = False) -> bool:
        parts = rel.split("/")
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if is_dir or not self.dir_only:
            candidates.append(rel)
        return any(self.regex.match(c) for c in candidates)


def _translate(glob: str) -> str:
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        ch = glob[i]
        if ch == "*":
            if glob.startswith("**", i):
                before_ok = i == 0 or glob[i - 1] == "/"
                after = glob[i + 2 : i + 3]
                if before_ok and after == "/":
                    out.append("(?:.*/)?")  # "**/": zero or more directories
                    i += 3
                    continue
                if before_ok and after == "":
                    out.append(".*")  # trailing "/**" (or "**" alone): everything below
                    i += 2
                    continue
                raise GlobError("'**' must be a whole path segment ('a/**/b', '**/x', 'a/**')")
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end < 0:
                raise GlobError("unclosed '[' in pattern")
            inner = glob[i + 1 : end]
            negate = inner[:1] in ("!", "^")
            if negate:
                inner = inner[1:]
            inner = inner.replace("\\", "\\\\").replace("^", "\\^")
            out.append(f"[{'^/' if negate else ''}{inner}]")
            i = end + 1
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)
