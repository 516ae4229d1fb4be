"""One error base for everything qdrantsec reports to a user.

Core code raises these (never prints or exits); the boundary in ``qdrantsec.cli.app``
turns them into ``qdrantsec: error: <message>`` plus an optional hint line on stderr and
the error's exit code. Library errors (PyJWT, httpx, yaml, cryptography) are wrapped into
these at the edge of core, with messages that never contain a key or token.
"""

from __future__ import annotations

from qdrantsec.exit_codes import ExitCode


class QdrantsecError(Exception):
    """A failure the user can act on: a one-line message, an optional hint, an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(QdrantsecError):
    """Bad options or option combinations."""

    exit_code = ExitCode.USAGE


class InputError(QdrantsecError):
    """A file, token or value given to qdrantsec cannot be used."""

    exit_code = ExitCode.USAGE


class SecretError(QdrantsecError):
    """A key is missing, empty or unreadable. Messages name the source, never the value."""

    exit_code = ExitCode.USAGE


class NetworkError(QdrantsecError):
    """A server could not be reached, or TLS failed."""

    exit_code = ExitCode.NETWORK


class ServerError(QdrantsecError):
    """A server answered with an error qdrantsec cannot continue from."""

    exit_code = ExitCode.SERVER


class AuthError(QdrantsecError):
    """A server refused the credentials."""

    exit_code = ExitCode.AUTH
