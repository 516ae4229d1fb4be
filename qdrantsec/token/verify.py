"""Would Qdrant accept this token? The same checks, in the same order, with the same keys.

Per key (facts 3.1): header and ``alg`` -> signature -> claims deserialisation -> ``exp``
(30 s leeway) -> claim validation. Across keys (facts 2.3): ``api_key`` is tried first,
then ``alt_api_key``; the first key that accepts wins; otherwise the *first error* in that
order is reported (a signature mismatch, an expiry or a validation error), and if no key
produced an error the token is "not a usable JWT" (401).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qdrantsec.exit_codes import ExitCode
from qdrantsec.secrets import Secret
from qdrantsec.token.claims import (
    CLAIMS,
    ERROR_KINDS,
    INVALID,
    SIGNATURE,
    STAGE_PAYLOAD_DECODE,
    STAGE_SIGNATURE,
    Problem,
    claim_problems,
    expiry_problem,
)
from qdrantsec.token.jws import Decoded


@dataclass(frozen=True)
class KeyResult:
    """How one signing key judged the token."""

    role: str
    fingerprint: str
    signature_ok: bool
    problem: Problem | None

    @property
    def accepted(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, object]:
        return {"role": self.role, "fingerprint": self.fingerprint,
                "signature_ok": self.signature_ok,
                "problem": self.problem.as_dict() if self.problem else None}


def judge_with_key(decoded: Decoded, key: Secret, now: int) -> KeyResult:
    """One JWT parser of Qdrant, for one key: None problem means accepted."""
    def result(ok: bool, problem: Problem | None) -> KeyResult:
        return KeyResult(key.role, key.fingerprint, ok, problem)

    before = decoded.problems_before(STAGE_SIGNATURE)
    if before:
        return result(False, before[0])
    if not decoded.signature_matches(key.value):
        return result(False, Problem("bad_signature", SIGNATURE, STAGE_SIGNATURE,
                                     f"the signature does not match {key.role} {key.fingerprint}"))
    payload = [p for p in decoded.problems if p.stage == STAGE_PAYLOAD_DECODE]
    if payload:
        return result(True, payload[0])
    problems = claim_problems(decoded.strict_claims)
    deser = [p for p in problems if p.kind == CLAIMS]
    if deser:
        return result(True, deser[0])
    expired = expiry_problem(decoded.strict_claims, now)
    if expired:
        return result(True, expired)
    invalid = [p for p in problems if p.kind == INVALID]
    return result(True, invalid[0] if invalid else None)


@dataclass(frozen=True)
class Verdict:
    """Qdrant's answer to the token with the given keys."""

    results: tuple[KeyResult, ...]
    #: what Qdrant reports (None when accepted)
    reported: Problem | None

    @property
    def accepted_by(self) -> KeyResult | None:
        return next((r for r in self.results if r.accepted), None)

    @property
    def accepted(self) -> bool:
        return self.accepted_by is not None

    @property
    def signed_by(self) -> KeyResult | None:
        return next((r for r in self.results if r.signature_ok), None)

    @property
    def root_cause(self) -> Problem | None:
        """The real reason, when it differs from what Qdrant reports (e.g. a token signed with
        alt_api_key that expired is reported as InvalidSignature from the api_key parser)."""
        signed = self.signed_by
        if self.accepted or signed is None or signed.problem is None:
            return None
        if self.reported is not None and signed.problem.code != self.reported.code:
            return signed.problem
        return None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.reported is None else self.reported.exit_code

    def explanation(self) -> str:
        """One line (two with a root cause) saying why."""
        if self.accepted:
            by = self.accepted_by
            assert by is not None
            return f"accepted: signed with {by.role} {by.fingerprint}"
        assert self.reported is not None
        line = f"rejected ({self.reported.qdrant_answer}): {self.reported.message}"
        root = self.root_cause
        if root is not None:
            signed = self.signed_by
            assert signed is not None
            line += (f"\nthe token is signed with {signed.role} {signed.fingerprint}, but "
                     f"{root.message}; Qdrant tries api_key first and reports its error")
        return line

    def as_dict(self) -> dict[str, object]:
        root = self.root_cause
        by = self.accepted_by
        return {
            "accepted": self.accepted,
            "exit_code": int(self.exit_code),
            "accepted_by": {"role": by.role, "fingerprint": by.fingerprint} if by else None,
            "reason": self.reported.as_dict() if self.reported else None,
            "root_cause": root.as_dict() if root else None,
            "keys": [r.as_dict() for r in self.results],
        }


def qdrant_verdict(decoded: Decoded, keys: Sequence[Secret], now: int) -> Verdict:
    """Judge with ``keys`` in Qdrant's order (api_key first, then alt_api_key)."""
    if not keys:
        raise ValueError("qdrant_verdict needs at least one key")
    results = tuple(judge_with_key(decoded, k, now) for k in keys)
    if any(r.accepted for r in results):
        return Verdict(results, None)
    errors = [r.problem for r in results if r.problem and r.problem.kind in ERROR_KINDS]
    reported = errors[0] if errors else results[0].problem
    assert reported is not None
    if reported.kind == SIGNATURE and len(results) > 1 and not any(r.signature_ok for r in results):
        names = " nor ".join(f"{r.role} {r.fingerprint}" for r in results)
        reported = Problem(reported.code, reported.kind, reported.stage,
                           f"the signature matches neither {names}")
    return Verdict(results, reported)
