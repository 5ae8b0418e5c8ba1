"""A lost link (CONTRACT "Further booking options"): ``POST /api/v1/links/resend {"email"}``
answers 202 with the same body whether or not the address is known; the address gets one
e-mail with the links of its open appointments and requests (``online/lost_links.py``).

Limits: per client (``link_resend_client``, a 429 like every per-client limit) and per address
(``link_resend``, counted under a keyed hash of the address). Over the per-address limit the
answer stays the same 202 and nothing is sent: nobody learns that the address was asked for
before, and a mailbox cannot be flooded.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import client_key, read_json
from app.api.openapi import operation
from app.api.schemas import Email
from app.context import ctx
from app.templating import translator
from core.errors import RateLimited
from online.lost_links import address_key, resend_links

NEUTRAL = ("If this e-mail address belongs to open appointments or requests, we have sent it an "
           "e-mail with their links. It may take a few minutes to arrive.")


class LinksResendIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: Email


class LinksResendOut(BaseModel):
    message: str


async def resend(request: Request, email: str) -> None:
    """The lost-link request behind its limits (API and page)."""
    state = ctx(request)
    await state.limiter.hit("link_resend_client", client_key(request))
    try:
        await state.limiter.hit("link_resend", address_key(state.secret_key, email))
        allowed = True
    except RateLimited:
        allowed = False
    async with state.db.transaction(write=True) as session:
        await resend_links(session, email, send=allowed)


@operation("Send me the links of my open appointments and requests again", tag="public",
           request=LinksResendIn,
           responses={202: LinksResendOut, 400: None, 413: None, 422: None, 429: None})
async def resend_links_api(request: Request) -> Response:
    """Always 202 with the same body, whether or not the address is known."""
    body = await read_json(request, LinksResendIn)
    await resend(request, body.email)
    message = translator(request).gettext(NEUTRAL)
    return JSONResponse(LinksResendOut(message=message).model_dump(), status_code=202)


routes: list[BaseRoute] = [
    Route("/api/v1/links/resend", resend_links_api, methods=["POST"]),
]
