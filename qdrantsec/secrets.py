"""Where keys come from, and how they are shown (as fingerprints, never as values).

One mechanism for every command. For the admin key the sources are tried in this order
(the first that is given wins):

1. ``--api-key-file PATH`` (a trailing newline is stripped)
2. ``--api-key-stdin`` (first line of standard input)
3. ``--api-key-env NAME`` (the named environment variable)
4. ``--qdrant-config FILE`` (``service.api_key`` with ``QDRANT__...`` overrides applied)
5. ``QDRANT__SERVICE__API_KEY``, then ``QDRANT_API_KEY`` in the environment
6. a hidden prompt, when standard input is a terminal

``--api-key VALUE`` exists for convenience but warns: argv is visible to every user of the
machine (``ps``, ``/proc/*/cmdline``). The alt key has the same chain with ``alt_``
names and ``QDRANT__SERVICE__ALT_API_KEY`` (no prompt: it is always optional).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from qdrantsec.errors import QdrantsecError, SecretError

#: Qdrant recommends (and warns below) 32 bytes for HMAC-SHA256 secrets.
MIN_SIGNING_KEY_BYTES = 32


def fingerprint(value: str | bytes) -> str:
    """First 12 hex digits of the SHA-256 of the key: safe to print and compare."""
    data = value.encode() if isinstance(value, str) else value
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


@dataclass(frozen=True)
class Secret:
    """A key and where it came from. ``repr``/``str`` never show the value."""

    value: str = field(repr=False)
    origin: str
    role: str = "api_key"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    def __str__(self) -> str:
        return f"{self.role} {self.fingerprint} (from {self.origin})"

    def describe(self) -> str:
        return str(self)


@dataclass
class KeyOptions:
    """What the user told us about one key (all optional)."""

    literal: str | None = field(default=None, repr=False)  # the key itself (--api-key)
    file: str | None = None
    stdin: bool = False
    env_name: str | None = None
    qdrant_config: str | None = None


@dataclass
class SecretResolver:
    """Resolves keys; the outside world (env, stdin, prompt, warnings) is injected."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    stdin: TextIO | None = None
    prompt: Callable[[str], str] | None = None
    warn: Callable[[str], None] = field(default_factory=lambda: _warn)
    _stdin_used: bool = False
    _config_cache: dict[str, object] = field(default_factory=dict, repr=False)

    def resolve(
        self, opts: KeyOptions, *, role: str = "api_key", required: bool = True,
        allow_prompt: bool = True,
    ) -> Secret | None:
        flag = "--alt-api-key" if role == "alt_api_key" else "--api-key"
        secret = self._resolve(opts, role, flag, allow_prompt)
        if secret is None:
            if required:
                raise SecretError(
                    f"no {role} given",
                    hint=f"use {flag}-file PATH, {flag}-stdin, {flag}-env NAME, "
                    "--qdrant-config FILE or set QDRANT_API_KEY",
                )
            return None
        if secret.value == "":
            raise SecretError(f"{role} from {secret.origin} is empty")
        return secret

    def _resolve(
        self, opts: KeyOptions, role: str, flag: str, allow_prompt: bool
    ) -> Secret | None:
        if opts.literal is not None:
            self.warn(
                f"{flag} puts the key on the command line, where other users can read it "
                f"(ps, /proc); prefer {flag}-file or {flag}-env"
            )
            return Secret(opts.literal, "command line", role)
        if opts.file is not None:
            return Secret(_read_key_file(opts.file, flag), f"file {opts.file}", role)
        if opts.stdin:
            return Secret(self._read_stdin(flag), "standard input", role)
        if opts.env_name is not None:
            if opts.env_name not in self.env:
                if looks_like_a_key(opts.env_name):
                    raise SecretError(
                        f"{flag}-env takes a variable's NAME, and the text given looks like a key "
                        f"(not shown: {fingerprint(opts.env_name)})",
                        hint=f"give the variable name ({flag}-env MY_KEY), not its value")
                raise SecretError(f"environment variable {opts.env_name} is not set")
            return Secret(self.env[opts.env_name], f"environment variable {opts.env_name}", role)
        if opts.qdrant_config is not None:
            value, where = self._from_qdrant_config(opts.qdrant_config, role)
            if value is not None:
                return Secret(value, where, role)
            return None
        qdrant_var = f"QDRANT__SERVICE__{role.upper()}"
        for name in (qdrant_var, "QDRANT_API_KEY") if role == "api_key" else (qdrant_var,):
            if name in self.env:
                return Secret(self.env[name], f"environment variable {name}", role)
        if allow_prompt and role == "api_key" and self.prompt is not None:
            value = self.prompt(f"Qdrant {role}: ")
            return Secret(value, "prompt", role)
        return None

    def _read_stdin(self, flag: str) -> str:
        if self._stdin_used:
            raise SecretError(f"standard input is already used; {flag}-stdin cannot read it too")
        stream = self.stdin if self.stdin is not None else sys.stdin
        if stream is None:
            raise SecretError("standard input is not available")
        self._stdin_used = True
        from qdrantsec.fsutil import MAX_KEY_BYTES

        try:  # one line, and not an endless one (`< /dev/zero` has no newline)
            line = stream.readline(MAX_KEY_BYTES + 1)
        except UnicodeDecodeError:  # a strict UTF-8 locale; the bytes are not echoed
            raise SecretError("the key on standard input is not UTF-8 text") from None
        if len(line) > MAX_KEY_BYTES:
            raise SecretError("the key on standard input is longer than 64 KiB; is it really a key?")
        return line.rstrip("\r\n")

    def _from_qdrant_config(self, path: str, role: str) -> tuple[str | None, str]:
        from qdrantsec.fsutil import read_text
        from qdrantsec.qdrant.config import build_effective
        from qdrantsec.yamlloc import load_located

        cfg = self._config_cache.get(path)
        if cfg is None:
            with key_like_argument(path, "--qdrant-config"):
                text = read_text(path, what="Qdrant config", pipe_ok=True)  # capped: MAX_DOCUMENT_BYTES
            docs = load_located(text, name=path)
            root = docs[0].root if docs else None
            cfg = build_effective([(path, root)], self.env)
            self._config_cache[path] = cfg
        setting = cfg.setting(f"service.{role}")  # type: ignore[attr-defined]
        if setting is None or setting.value is None:
            return None, path
        value = setting.value
        if isinstance(value, bool):  # config-rs turns scalars into the string setting
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise SecretError(f"service.{role} in {setting.source.describe()} is not a string")
        return value, f"service.{role} in {setting.source.describe()}"


def _warn(message: str) -> None:
    from qdrantsec.output import warn  # escaped like every other diagnostic line

    warn(message)


#: a compact JWS: a JSON header (base64url of '{"...' starts with eyJ), a payload, a signature
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def looks_like_a_key(text: str) -> bool:
    """Whether a file or variable name given to qdrantsec is more likely the key itself
    (``--api-key-file "$KEY"``): then it is named by its fingerprint only, so that the
    mistake does not print the key into a terminal or a CI log. Keys as ``key generate``
    makes them (mixed case and digits), hex keys of 16 bytes or more, and PEM text
    (``--ca-key "$(cat ca-key.pem)"``) count, and so does a JWT."""
    if "-----BEGIN" in text or "PRIVATE KEY" in text:
        return True
    if _JWT.fullmatch(text):  # a token given where its file belongs (--token-file "$TOKEN")
        return True
    if len(text) < 16 or "/" in text or "." in text:
        return False
    if len(text) >= 32 and all(c in "0123456789abcdefABCDEF" for c in text):
        return True
    return (any(c.islower() for c in text) and any(c.isupper() for c in text)
            and any(c.isdigit() for c in text))


def shown_argument(text: str) -> str:
    """A path or variable name from the command line, for a message: itself, or its
    fingerprint when it looks like a key."""
    if looks_like_a_key(text):
        return f"<a name that looks like a key, not shown: {fingerprint(text)}>"
    return text


_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)
_KEY_CHARS_RUN = re.compile(r"[A-Za-z0-9+=_-]{16,}")


def redact_private_keys(text: str) -> str:
    """``text`` with every PEM private key in it (a key file's text pasted as an argument:
    ``certs inspect "$(cat key.pem)"``) replaced by its fingerprint. For every line on stderr."""
    if "PRIVATE KEY" not in text:
        return text
    return _PEM_PRIVATE_KEY.sub(lambda m: f"<a private key, not shown: {fingerprint(m.group())}>", text)


def redact_key_like(text: str) -> str:
    """``text`` with private keys and every run of key characters that looks like a key
    replaced by fingerprints: for messages that quote the command line as is (the parser's
    'unexpected extra argument (...)', 'no such option: ...')."""

    def one(m: re.Match[str]) -> str:
        run = m.group()
        if not looks_like_a_key(run):
            return run
        return f"<a value that looks like a key, not shown: {fingerprint(run)}>"

    return _KEY_CHARS_RUN.sub(one, redact_private_keys(text))


@contextlib.contextmanager
def key_like_argument(text: str, flag: str) -> Iterator[None]:
    """Errors raised inside (a file named ``text`` not found, a directory, unreadable...)
    name ``text`` by its fingerprint when it looks like a key, with a hint for ``flag``.
    The readers' messages are kept; only the echoed argument is replaced."""
    try:
        yield
    except QdrantsecError as exc:
        if looks_like_a_key(text):
            shown = shown_argument(text)
            forms = {text, str(Path(text)), repr(text), repr(str(Path(text)))}
            for form in sorted(forms, key=len, reverse=True):
                exc.message = exc.message.replace(form, shown)
                if exc.hint:
                    exc.hint = exc.hint.replace(form, shown)
            exc.hint = exc.hint or f"{flag} takes a path; is the key itself given there by mistake?"
        raise


def _read_key_file(path: str, flag: str = "--api-key") -> str:
    from qdrantsec.fsutil import MAX_KEY_BYTES, FileTooLargeError, read_limited

    try:  # a regular file or a pipe (`<(pass show qdrant)`), never a device; at most 64 KiB
        raw = read_limited(path, limit=MAX_KEY_BYTES, pipe_ok=True)
    except FileTooLargeError:
        raise SecretError(f"key file {shown_argument(path)} is larger than 64 KiB; is it really a key?"
                          ) from None
    except FileNotFoundError:
        if looks_like_a_key(path):
            raise SecretError(
                f"key file not found, and its name looks like a key (not shown: {fingerprint(path)})",
                hint=f"{flag}-file takes a path; pass the key itself with {flag}-env NAME or "
                     f"{flag}-stdin") from None
        raise SecretError(f"key file not found: {path}") from None
    except PermissionError:
        raise SecretError(f"key file not readable (permission denied): {shown_argument(path)}") from None
    except IsADirectoryError:
        raise SecretError(f"key file is a directory: {shown_argument(path)}") from None
    except OSError as exc:
        raise SecretError(f"cannot read key file {shown_argument(path)}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"key file {shown_argument(path)} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text


def signing_key_warnings(secret: Secret) -> list[str]:
    """Warnings Qdrant itself gives about a JWT signing key."""
    n = len(secret.value.encode())
    if n < MIN_SIGNING_KEY_BYTES:
        return [
            f"{secret.role} {secret.fingerprint} is {n} bytes; Qdrant recommends at least "
            f"{MIN_SIGNING_KEY_BYTES} bytes for an HMAC-SHA256 signing key"
        ]
    return []


def generate_key(nbytes: int = 32) -> str:
    """A new random key: ``nbytes`` of entropy as URL-safe base64 text (no padding)."""
    import secrets as _secrets

    if nbytes < 32:
        raise SecretError("--bytes must be at least 32")
    return _secrets.token_urlsafe(nbytes)
