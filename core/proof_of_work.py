"""A proof of work before a booking: signed ALTCHA challenges, verified once each.

At a release time bots poll for new slots and book them faster than people can. Before a
booking (or a waitlist entry) is accepted, the client solves a small hash puzzle: find the
``number`` (0 … ``max_number``) with ``SHA-256(salt + number) == challenge``. A browser does that
in well under a second (README "Proof of work" gives the measured figure); a farm booking
thousands of times pays it thousands of times. No third party, no cookie, nothing about the
person: the challenge is signed, not stored.

The ``altcha`` library (its v1 protocol, which the browser's Web Crypto solves with plain
SHA-256) creates the challenges and checks a solution's hash and HMAC signature. The HMAC key is
derived from the server's secret key (``core.signing.keyed_hash``), so every instance accepts
every other's challenges. Two checks are ours, because the library's would read the wall clock
and keep no memory:

* **expiry** against the product's clock (``core.types.utcnow``; tests move it), from the
  ``expires`` the signed salt carries;
* **one use**: a solved challenge is remembered (by its signature) until it has surely expired,
  in Redis when configured, else in the process, through the rate limiter's fixed windows
  (``core.ratelimit.RateLimiter.window_hit``: one use per challenge lifetime, counted even with
  the rate limits switched off, and in the process while Redis is away).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from altcha.v1 import ChallengeOptions, Payload, create_challenge, verify_solution
from limits import RateLimitItemPerSecond

from core.errors import Conflict, Invalid
from core.ratelimit import RateLimiter
from core.signing import keyed_hash

ALGORITHM: Final = "SHA-256"  # what the browser's Web Crypto digests
KEY_PURPOSE = "altcha-hmac-key"
USED_RULE = "proof-of-work-used"
MAX_SOLUTION_CHARS = 2000


class ProofRequired(Invalid):
    code = "proof_required"
    message = ("Please wait a moment until your browser has finished the automatic check, "
               "then send the form again.")


class ProofInvalid(Invalid):
    code = "proof_invalid"
    message = "The automatic check against misuse failed. Please try again."


class ProofExpired(Invalid):
    code = "proof_expired"
    message = "The automatic check against misuse has expired. Please try again."


class ProofReused(Conflict):
    code = "proof_reused"
    message = "The automatic check against misuse was already used. Please try again."


@dataclass(frozen=True)
class ProofOfWork:
    """Challenges of one installation (see the module docstring)."""

    hmac_key: str
    max_number: int
    lifetime: timedelta
    limiter: RateLimiter

    @classmethod
    def keyed(cls, secret_key: bytes, *, max_number: int, lifetime_seconds: int,
              limiter: RateLimiter) -> ProofOfWork:
        return cls(keyed_hash(secret_key, KEY_PURPOSE, ALGORITHM), max_number,
                   timedelta(seconds=lifetime_seconds), limiter)

    def challenge(self, now: datetime) -> dict[str, Any]:
        """A new challenge as ALTCHA's JSON: algorithm, challenge, maxNumber, salt, signature."""
        created = create_challenge(ChallengeOptions(
            algorithm=ALGORITHM, max_number=self.max_number, hmac_key=self.hmac_key,
            expires=now + self.lifetime))
        body: dict[str, Any] = created.to_dict()
        body["expires_at"] = (now + self.lifetime).isoformat(timespec="seconds")
        return body

    async def verify(self, solution: object, now: datetime) -> None:
        """Accept a solution once, or raise ``ProofRequired``, ``ProofInvalid``,
        ``ProofExpired`` or ``ProofReused``. ``solution`` is what the client sent: ALTCHA's
        payload as base64 of its JSON (the widget's form field), or that JSON object."""
        payload = _payload(solution)
        ok, _ = verify_solution(payload, self.hmac_key, check_expires=False)
        if not ok:
            raise ProofInvalid()
        _, expires, _ = payload.parse_salt()
        if expires is None:
            raise ProofInvalid()
        if expires < now.timestamp():
            raise ProofExpired()
        window = RateLimitItemPerSecond(1, int(self.lifetime.total_seconds()) + 60)
        if not await self.limiter.window_hit(window, USED_RULE, payload.signature):
            raise ProofReused()


def _payload(solution: object) -> Payload:
    if solution is None or solution == "":
        raise ProofRequired()
    data: object = solution
    if isinstance(solution, str):
        if len(solution) > MAX_SOLUTION_CHARS:
            raise ProofInvalid()
        try:
            data = json.loads(base64.b64decode(solution, validate=True))
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ProofInvalid() from exc
    if not isinstance(data, dict):
        raise ProofInvalid()
    texts = [data.get(name) for name in ("algorithm", "challenge", "salt", "signature")]
    number = data.get("number")
    if (not all(isinstance(t, str) and 0 < len(t) <= 500 for t in texts)
            or not isinstance(number, int) or isinstance(number, bool)
            or not 0 <= number <= 10**9 or data.get("algorithm") != ALGORITHM):
        raise ProofInvalid()
    return Payload.from_dict({
        "algorithm": ALGORITHM, "challenge": data["challenge"], "number": number,
        "salt": data["salt"], "signature": data["signature"]})
