"""Every exit code qdrantsec uses, named once.

The README's and the man page's exit-code tables are generated from ``DESCRIPTIONS``
(``scripts/gen_docs.py``); tests pin the numbers, so they are part of the public interface.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NETWORK = 3
    SERVER = 4
    AUTH = 5
    PARTIAL = 6
    TOKEN_BAD_SIGNATURE = 10
    TOKEN_EXPIRED = 11
    TOKEN_MALFORMED = 12
    TOKEN_CLAIMS_REJECTED = 13
    HALTED = 20
    PAUSED = 21
    INTERNAL = 70
    INTERRUPTED = 130


DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.OK: "Success: the command did what was asked, or the check passed.",
    ExitCode.FAILED: (
        'A check ran and its answer is "no": lint findings at or above --fail-on, an '
        "invalid certificate, a certificate expiring within the window, an action the "
        "token may not do."
    ),
    ExitCode.USAGE: (
        "Bad command line or bad input: unknown option, unreadable or malformed file, "
        "missing or empty key, bad duration, unknown rule ID; lint: a named file of no known "
        "kind, or no Qdrant deployment found (unless --allow-empty)."
    ),
    ExitCode.NETWORK: "A Qdrant server could not be reached, the TLS handshake failed, or it timed out.",
    ExitCode.SERVER: "A Qdrant server answered with an unexpected error (5xx or a malformed body).",
    ExitCode.AUTH: "A Qdrant server refused the credentials (401 or 403).",
    ExitCode.PARTIAL: (
        "audit: the answer is partial: some of the --peers failed or timed out, or a source "
        "could not be read to the end (each named in a warning); the rest was printed."
    ),
    ExitCode.TOKEN_BAD_SIGNATURE: (
        "token verify: the signature matches none of the given keys (Qdrant answers 403 InvalidSignature)."
    ),
    ExitCode.TOKEN_EXPIRED: (
        "token verify: exp is more than 30 s in the past (Qdrant answers 403 ExpiredSignature)."
    ),
    ExitCode.TOKEN_MALFORMED: (
        "token verify: not a usable HS256 JWT (bad base64url, padding, alg other than HS256); "
        "Qdrant answers 401. token inspect: the claims cannot be decoded at all (not base64url, "
        "not JSON, not an object)."
    ),
    ExitCode.TOKEN_CLAIMS_REJECTED: (
        "token verify: well signed, but Qdrant rejects the claims (non-integer exp, unknown "
        "access mode, duplicate collection, deprecated payload, malformed value_exists); 401."
    ),
    ExitCode.HALTED: (
        "rotate-key: stopped before touching the next peer (a failed restart, a peer not "
        "back in time, a key not accepted); the journal says where; fix it and run "
        "'rotate-key resume'. Also a preflight refusal (nothing touched, no journal "
        "written): fix it and start again."
    ),
    ExitCode.PAUSED: (
        "rotate-key --pause: stopped on purpose at the switch phase (both keys accepted "
        "everywhere); move the clients to the new key, then run 'rotate-key resume'."
    ),
    ExitCode.INTERNAL: "A bug in qdrantsec; run again with --debug to see the traceback.",
    ExitCode.INTERRUPTED: "Interrupted (Ctrl-C).",
}
