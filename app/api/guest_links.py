"""The clerk's API for a call's guest link (``calls.guests``): an interpreter's one-time link.

``POST /api/v1/clerk/appointments/{reference}/guest-link {"kind", "name"?}`` issues it (an
earlier link of the call is revoked); ``DELETE`` the same path revokes it. The link ``/g/{token}``
works for this call's join window only and binds to the first browser that uses it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import read_json, town_base_url
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import ctx
from calls.guests import MAX_NAME_CHARS, issue_guest_link, revoke_guest_links
from calls.service import join_window
from core.types import utcnow
from staff.service import appointment_for_staff


class GuestLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["interpreter", "sign_language"] = Field(
        description="`interpreter` (Dolmetscher/in) or `sign_language` "
                    "(Gebärdensprachdolmetscher/in).")
    name: str = Field(default="", max_length=MAX_NAME_CHARS)


class GuestLinkOut(BaseModel):
    url: str = Field(description="The one-time link `{BUERO_BASE_URL}/g/{token}`; shown once.")
    kind: str
    name: str
    expires_at: str = Field(description="The end of the call's join window.")


class RevokedOut(BaseModel):
    revoked: int = Field(description="How many links were in force (0 or 1).")


@operation(
    "A one-time link for an interpreter to join an appointment's video call as a third "
    "participant", tag="clerk", auth="staff", request=GuestLinkIn,
    responses={201: GuestLinkOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
async def create_guest_link(request: Request) -> Response:
    user = await require_api_user(request)
    body = await read_json(request, GuestLinkIn)
    state = ctx(request)
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        window = join_window(appointment, state.settings.join_before_minutes,
                             state.settings.join_after_minutes)
        issued = await issue_guest_link(session, state.secret_key, appointment, user,
                                        kind=body.kind, name=body.name, window=window, now=now)
    return JSONResponse({
        "url": f"{await town_base_url(state)}/g/{issued.token}",
        "kind": issued.link.kind, "name": issued.link.name,
        "expires_at": issued.link.expires_at.isoformat(),
    }, status_code=201, headers={"Cache-Control": "no-store"})


@operation(
    "Revoke the guest link of an appointment's call (a guest in the call is disconnected)",
    tag="clerk", auth="staff", responses={200: RevokedOut, 401: None, 403: None, 404: None},
)
async def delete_guest_link(request: Request) -> Response:
    user = await require_api_user(request)
    state = ctx(request)
    async with state.db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        revoked = await revoke_guest_links(session, appointment, user, utcnow())
    return JSONResponse({"revoked": revoked})


routes: list[BaseRoute] = [
    Route("/api/v1/clerk/appointments/{reference}/guest-link", create_guest_link,
          methods=["POST"]),
    Route("/api/v1/clerk/appointments/{reference}/guest-link", delete_guest_link,
          methods=["DELETE"]),
]
