"""What a token says, and every reason Qdrant would refuse it.

Decoding is strict where Qdrant is strict; the header and claims are still shown when
Qdrant would refuse them (a padded token, ``alg: none``...). Without keys the signature is
not checked and the report says UNVERIFIED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.secrets import Secret
from qdrantsec.token.claims import (
    SIGNATURE,
    STAGE_PAYLOAD_DECODE,
    STAGE_SIGNATURE,
    Problem,
    claim_problems,
    claim_warnings,
    expiry_problem,
    is_expired,
    is_int,
)
from qdrantsec.token.durations import MAX_TIMESTAMP, iso, relative
from qdrantsec.token.jws import Decoded
from qdrantsec.token.verify import Verdict, qdrant_verdict


@dataclass
class Report:
    header: Any
    claims: Any
    #: "unverified" (no key given), "verified" or "invalid"
    signature: str
    verdict: Verdict | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exp: int | None = None
    now: int = 0
    #: why the claims could not be decoded at all (not base64url, not JSON, not an object):
    #: then there is nothing to judge, and ``token inspect`` exits TOKEN_MALFORMED
    claims_error: str | None = None

    @property
    def verified_with(self) -> tuple[str, str] | None:
        signed = self.verdict.signed_by if self.verdict else None
        return (signed.role, signed.fingerprint) if signed else None

    @property
    def expires_at(self) -> str | None:
        return iso(self.exp) if self.exp is not None and 0 <= self.exp <= MAX_TIMESTAMP else None

    @property
    def expired(self) -> bool:
        return self.exp is not None and is_expired(self.exp, self.now)

    @property
    def expires_relative(self) -> str | None:
        if self.exp is None:
            return None
        if self.exp < self.now:
            return f"expired {relative(self.exp, self.now)}"
        return f"expires {relative(self.exp, self.now)}"

    @property
    def accepted(self) -> bool | None:
        """Would Qdrant accept it? None when unverified and nothing else refuses it."""
        if self.problems:
            return False
        return None if self.verdict is None else self.verdict.accepted

    def as_dict(self) -> dict[str, Any]:
        vw = self.verified_with
        return {
            "signature": self.signature,
            "verified_with": {"role": vw[0], "fingerprint": vw[1]} if vw else None,
            "accepted": self.accepted,
            "header": self.header,
            "claims": self.claims,
            "expires_at": self.expires_at,
            "expires_relative": self.expires_relative,
            "expired": self.expired,
            "rejections": [p.as_dict() for p in self.problems],
            "warnings": list(self.warnings),
            "qdrant_verdict": self.verdict.as_dict() if self.verdict else None,
            "claims_error": self.claims_error,
        }


def inspect(decoded: Decoded, keys: Sequence[Secret] = (), *, now: int) -> Report:
    """Every rejection reason (structural, signature, claims, expiry) and every warning."""
    problems = list(decoded.problems)
    verdict = qdrant_verdict(decoded, keys, now) if keys else None
    if verdict is None:
        signature = "unverified"
    elif verdict.signed_by is not None:
        signature = "verified"
    else:
        signature = "invalid"
        if not decoded.problems_before(STAGE_SIGNATURE):
            names = " nor ".join(f"{r.role} {r.fingerprint}" for r in verdict.results)
            text = (f"the signature matches neither {names}" if len(verdict.results) > 1
                    else f"the signature does not match {names}")
            problems.append(Problem("bad_signature", SIGNATURE, STAGE_SIGNATURE, text))
    claims = decoded.claims
    if claims is not None or decoded.payload_ok:
        problems += claim_problems(claims)
        exp_problem = expiry_problem(claims, now)
        if exp_problem:
            problems.append(exp_problem)
    problems.sort(key=lambda p: p.stage)
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return Report(
        header=decoded.header, claims=claims, signature=signature, verdict=verdict,
        problems=problems, warnings=claim_warnings(claims, now),
        exp=exp if is_int(exp) else None, now=now, claims_error=_claims_error(claims, problems),
    )


#: the problems that leave no claims to read
_UNDECODABLE = ("payload_not_json", "claims_not_object")


def _claims_error(claims: Any, problems: Sequence[Problem]) -> str | None:
    """Why there are no claims to show (a lenient reading found no JSON object), else None.
    A payload Qdrant refuses but that decodes (padded, non-canonical) has claims."""
    if isinstance(claims, Mapping):
        return None
    reasons = [p.message for p in problems
               if p.code in _UNDECODABLE or (p.stage == STAGE_PAYLOAD_DECODE and p.code == "bad_base64")]
    return "; ".join(reasons) or "the payload is not a JSON object"
