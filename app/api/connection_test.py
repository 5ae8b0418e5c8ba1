"""The citizen's pre-call connection test (``calls.echo``), authorised by the link token.

Flow for the appointment page:

1. ``GET /api/v1/me/ice-servers`` → ``{"ice_servers": [RTCIceServer...], "expires_at"}`` for
   ``new RTCPeerConnection({iceServers})``.
2. Add the camera (and microphone) tracks, ``createOffer``, ``setLocalDescription`` and wait until
   ICE gathering is complete, then ``POST /api/v1/me/connection-test`` with
   ``{"type": "offer", "sdp": pc.localDescription.sdp}`` → ``201 {"id", "type": "answer", "sdp",
   "expires_at", "report"}``. Apply the answer; the remote track is the camera, echoed.
3. ``GET /api/v1/me/connection-test/{id}`` → the report: ``state`` (``connecting`` →
   ``connected`` → ``closed``, or ``failed``), ``connected``, ``route`` (``direct`` | ``relay``),
   ``connect_ms``, frame counts. ``DELETE`` stops the test early (204).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import bearer_token, client_key, read_json_later
from app.api.openapi import operation
from app.context import AppContext, ctx
from booking.models import Appointment, AppointmentStatus
from booking.service import find_by_token
from calls.echo import ConnectionTests, ice_servers_for
from core.errors import NotFound, WrongState

# A test makes sense until the call is over.
TESTABLE = frozenset({
    AppointmentStatus.confirmed.value,
    AppointmentStatus.in_call.value,
})


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=60_000)


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServersOut(BaseModel):
    ice_servers: list[IceServerOut]
    expires_at: str = Field(description="When the TURN credentials stop working.")


class ReportOut(BaseModel):
    id: str
    state: Literal["connecting", "connected", "failed", "closed"]
    connected: bool = Field(description="ICE and DTLS connected at some point.")
    route: Literal["direct", "relay"] | None = Field(
        description="`relay`: through the TURN server; `direct`: host or server-reflexive."
    )
    local_candidate: str | None = Field(description="The server's candidate type.")
    remote_candidate: str | None = Field(description="The browser's candidate type.")
    connect_ms: int | None = Field(description="From the offer to connected, in ms.")
    video_frames: int = Field(description="Video frames received from the browser.")
    audio_frames: int = Field(description="Audio frames received from the browser.")
    expires_at: str = Field(description="When the test peer closes itself.")


class StartedOut(BaseModel):
    id: str
    type: Literal["answer"]
    sdp: str
    expires_at: str
    report: ReportOut


ERRORS: dict[int, Any] = {401: None, 429: None}


def _tests(state: AppContext) -> ConnectionTests:
    tests = state.extras.get("connection_tests")
    if not isinstance(tests, ConnectionTests):
        raise RuntimeError("connection tests are not running")
    return tests


async def _appointment(request: Request) -> tuple[AppContext, Appointment]:
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    token = bearer_token(request)
    async with state.db.transaction() as session:
        appointment = await find_by_token(session, state.links, token)
    return state, appointment


@operation(
    "ICE servers (STUN, TURN with short-lived credentials) for the connection test",
    tag="citizen", auth="citizen", responses={200: IceServersOut, **ERRORS},
)
async def ice_servers(request: Request) -> Response:
    state, appointment = await _appointment(request)
    config = _tests(state).config
    servers, expires_at = ice_servers_for(config, f"test-{appointment.reference}")
    return JSONResponse({"ice_servers": servers, "expires_at": expires_at.isoformat()})


@operation(
    "Start a connection test: a server peer answers the offer and echoes the camera",
    tag="citizen", auth="citizen", request=OfferIn,
    responses={201: StartedOut, 400: None, 409: None, 413: None, 422: None, 503: None, **ERRORS},
)
async def start(request: Request) -> Response:
    state, appointment = await _appointment(request)
    # The body after the token: a stranger learns nothing but 401.
    body = await read_json_later(request, OfferIn)
    if appointment.status == AppointmentStatus.reserved:
        # A reservation nobody confirmed is no reason to run a media peer.
        raise WrongState("Please confirm your appointment first (with the link in our "
                         "e-mail); then you can test your connection.")
    if appointment.status not in TESTABLE:
        raise WrongState()
    sdp = body.value().sdp
    # Every try counts against the link's limit, also one refused as busy: a few links cannot
    # keep the instance's test peers taken by asking again and again.
    await state.limiter.hit("connection_test", appointment.reference)
    tests = _tests(state)
    tests.check_capacity()
    report, answer = await tests.start(appointment.reference, sdp)
    return JSONResponse(
        {"id": report.id, "type": "answer", "sdp": answer, "expires_at": report.expires_at,
         "report": report.public()},
        status_code=201,
    )


@operation(
    "The report of a connection test", tag="citizen", auth="citizen",
    responses={200: ReportOut, 404: None, **ERRORS},
)
async def report(request: Request) -> Response:
    state, appointment = await _appointment(request)
    found = await _tests(state).report(request.path_params["test_id"], appointment.reference)
    if found is None:
        raise NotFound()
    return JSONResponse(found.public())


@operation(
    "Stop a connection test", tag="citizen", auth="citizen",
    responses={204: None, 404: None, **ERRORS},
)
async def stop(request: Request) -> Response:
    state, appointment = await _appointment(request)
    if not await _tests(state).stop(request.path_params["test_id"], appointment.reference):
        raise NotFound()
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/api/v1/me/ice-servers", ice_servers, methods=["GET"]),
    Route("/api/v1/me/connection-test", start, methods=["POST"]),
    Route("/api/v1/me/connection-test/{test_id}", report, methods=["GET"]),
    Route("/api/v1/me/connection-test/{test_id}", stop, methods=["DELETE"]),
]
