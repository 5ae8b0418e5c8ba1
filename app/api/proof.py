"""The proof of work against booking bots (``core/proof_of_work.py``) over HTTP.

``GET /api/v1/challenge`` hands out a signed challenge (no cookie, nothing stored). The
endpoints that take a booking or a place on the waitlist call ``require_proof`` with what the
client sent in its ``altcha`` field: ``POST /api/v1/appointments`` and the booking form here;
``POST /api/v1/waitlist`` calls it the same way, with its body's ``altcha``. A request with a
staff bearer token (an integration, a clerk's tool) is exempt: that token is checked instead,
and a wrong one is 401.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import client_key
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import AppContext, ctx
from core.proof_of_work import ProofOfWork
from core.types import utcnow

EXTRAS_KEY = "proof_of_work"


class ChallengeOut(BaseModel):
    """An ALTCHA challenge (protocol v1): find ``number`` in 0 … ``maxNumber`` with
    ``SHA-256(salt + number)`` (hex) = ``challenge``; send back base64 of the JSON
    ``{"algorithm", "challenge", "number", "salt", "signature"}`` as ``altcha``."""

    algorithm: str = Field(examples=["SHA-256"])
    challenge: str
    maxNumber: int
    salt: str
    signature: str
    expires_at: str = Field(description="until when a solution is accepted")


def proof_of(state: AppContext) -> ProofOfWork:
    """The installation's challenges, made on first use."""
    found = state.extras.get(EXTRAS_KEY)
    if not isinstance(found, ProofOfWork):
        settings = state.settings
        found = state.extras[EXTRAS_KEY] = ProofOfWork.keyed(
            state.secret_key, max_number=settings.proof_of_work_max_number,
            lifetime_seconds=settings.proof_of_work_seconds, limiter=state.limiter)
    return found


@operation("A proof-of-work challenge for a booking or a waitlist entry", tag="public",
           responses={200: ChallengeOut, 429: None})
async def challenge(request: Request) -> Response:
    state = ctx(request)
    # As cheap as a page view; the availability limit keeps a client from hoarding them.
    await state.limiter.hit("availability", client_key(request))
    return JSONResponse(proof_of(state).challenge(utcnow()),
                        headers={"cache-control": "no-store"})


async def require_proof(request: HTTPConnection, solution: object) -> None:
    """Accept the request's proof of work (raises ``ProofRequired`` … ``ProofReused``), unless
    the setting is off or a staff bearer token comes with it (then that token must be valid)."""
    state = ctx(request)
    if "authorization" in request.headers:
        await require_api_user(request, role="any")
        return
    if not state.settings.proof_of_work:
        return
    await proof_of(state).verify(solution, utcnow())


def proof_required(state: AppContext) -> bool:
    """Whether the booking pages ask the browser to solve a challenge."""
    return state.settings.proof_of_work


routes: list[BaseRoute] = [
    Route("/api/v1/challenge", challenge, methods=["GET"]),
]
