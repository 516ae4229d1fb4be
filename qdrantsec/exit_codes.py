"""Every exit code qdrantsec uses, named once.

The README's exit-code table is generated from this enum's docstrings (see
``scripts/gen_docs.py``); tests pin the numbers, so they are part of the public interface.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success: the command did what was asked; a check passed."""
    FAILED = 1
    """A check ran and its answer is "no": lint findings at or above --fail-on, an invalid
    certificate, a certificate expiring within the window, an action a token may not do."""
    USAGE = 2
    """Bad command line or bad input: unknown option, unreadable or malformed file,
    missing or empty key, bad duration."""
    NETWORK = 3
    """A Qdrant server could not be reached, the TLS handshake failed, or it timed out."""
    SERVER = 4
    """A Qdrant server answered with an unexpected error (5xx, malformed body)."""
    AUTH = 5
    """A Qdrant server refused the credentials (401 or 403)."""
    TOKEN_BAD_SIGNATURE = 10
    """token verify: the signature matches none of the given keys (Qdrant: 403 InvalidSignature)."""
    TOKEN_EXPIRED = 11
    """token verify: exp is more than 30 s in the past (Qdrant: 403 ExpiredSignature)."""
    TOKEN_MALFORMED = 12
    """token verify: not a usable HS256 JWT: bad base64url, padding, alg other than HS256
    (Qdrant: 401 Invalid API key or JWT)."""
    TOKEN_CLAIMS_REJECTED = 13
    """token verify: well signed, but Qdrant rejects the claims: non-integer exp, unknown
    access mode, duplicate collection, deprecated payload, malformed value_exists (Qdrant: 401)."""
    HALTED = 20
    """A multi-step operation (key rotation) stopped at a failed health gate; its journal
    says where, and it can be resumed."""
    INTERNAL = 70
    """A bug in qdrantsec (run again with --debug to see the traceback)."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C."""
