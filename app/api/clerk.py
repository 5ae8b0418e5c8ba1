"""The clerk's call API (CONTRACT §3 "Clerk"): today's agenda with the waiting room, and the
call token that lets the clerk's page join one appointment's call.

Clerks (and admins) see only their offices' appointments. ``waiting`` comes from the signalling
hub's room store, so it is right on every instance.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import validate
from app.api.openapi import operation
from app.api.schemas import ChannelName, QueryId, iso
from app.auth import require_api_user
from app.calls import hub_of
from app.context import ctx
from app.settings import Settings
from app.templating import request_language
from booking.agenda import AgendaItem, day_agenda, with_parties
from booking.catalog import service_name
from booking.models import Office
from booking.service import appointment_details
from calls.service import issue_call_token, join_window
from core.types import parse_day, utcnow
from staff.service import appointment_for_staff, office_ids_in_scope

# --- models ------------------------------------------------------------------------------------


class AgendaQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=100)
    date: str | None = Field(
        default=None, description="YYYY-MM-DD; default: today in each office's time zone.",
        json_schema_extra={"format": "date"},
    )
    office_id: QueryId | None = Field(default=None, description="Default: all my offices.")

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_day(value)
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
        return value


class AgendaServiceOut(BaseModel):
    id: int
    name: str
    duration_minutes: int


class AgendaCitizenOut(BaseModel):
    given_name: str
    family_name: str
    email: str
    phone: str
    date_of_birth: str | None


class JoinWindowOut(BaseModel):
    opens_at: str
    closes_at: str


class AgendaItemOut(BaseModel):
    reference: str
    start: str
    end: str
    status: str
    channel: ChannelName = Field(description="`video` (the call: `call-token`), `onsite` or "
                                 "`phone` (no call; identity check, completion and no-show as "
                                 "for video).")
    waiting: bool = Field(description="The citizen is in the waiting room (or the clerk left).")
    service: AgendaServiceOut
    services: list[AgendaServiceOut] = Field(
        description="Every service of the appointment, in order (the first is `service`).")
    persons: int = Field(description="People the appointment is for, the one who booked "
                                     "included.")
    office_id: int
    office_name: str
    timezone: str
    join: JoinWindowOut
    citizen: AgendaCitizenOut


class CallTokenOut(BaseModel):
    token: str = Field(description="For the `hello` frame of `WebSocket /ws/call`; once.")
    expires_at: str


def item_out(item: AgendaItem, waiting: bool, settings: Settings, lang: str) -> dict[str, Any]:
    a, office, service = item.appointment, item.office, item.service
    tz = ZoneInfo(office.timezone)
    window = join_window(a, settings.join_before_minutes, settings.join_after_minutes)
    return AgendaItemOut(
        reference=a.reference, start=iso(a.start_at, tz), end=iso(a.end_at, tz), status=a.status,
        channel=a.channel, waiting=waiting,
        service=AgendaServiceOut(id=service.id or 0, name=service_name(service, lang),
                                 duration_minutes=service.duration_minutes),
        services=[AgendaServiceOut(id=s.id or 0, name=service_name(s, lang),
                                   duration_minutes=s.duration_minutes)
                  for s in item.all_services],
        persons=item.persons,
        office_id=office.id or 0, office_name=office.name, timezone=office.timezone,
        join=JoinWindowOut(opens_at=iso(window.opens_at, tz), closes_at=iso(window.closes_at, tz)),
        citizen=AgendaCitizenOut(
            given_name=a.given_name, family_name=a.family_name, email=a.email, phone=a.phone,
            date_of_birth=a.date_of_birth.isoformat() if a.date_of_birth else None,
        ),
    ).model_dump()


# --- handlers ----------------------------------------------------------------------------------


@operation(
    "My offices' appointments of a day, with the waiting room", tag="clerk", auth="staff",
    query=AgendaQuery, responses={200: list[AgendaItemOut], 401: None, 403: None, 404: None,
                                  422: None},
)
async def agenda(request: Request) -> Response:
    user = await require_api_user(request)
    query = validate(AgendaQuery, dict(request.query_params))
    state = ctx(request)
    day = parse_day(query.date) if query.date else None
    async with state.db.transaction() as session:
        office_ids = await office_ids_in_scope(session, user, query.office_id)
        items = await day_agenda(session, office_ids, day, utcnow())
    waiting = await hub_of(state).waiting_rooms([i.appointment.reference for i in items])
    lang = request_language(request)
    return JSONResponse([
        item_out(i, i.appointment.reference in waiting, state.settings, lang) for i in items
    ])


@operation(
    "One appointment of my offices, with the waiting room", tag="clerk", auth="staff",
    responses={200: AgendaItemOut, 401: None, 403: None, 404: None},
)
async def appointment(request: Request) -> Response:
    user = await require_api_user(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        found = await appointment_for_staff(session, user, request.path_params["reference"])
        found, office, service = await appointment_details(session, found)
        [item] = await with_parties(session, [AgendaItem(found, office, service)])
    waiting = await hub_of(state).is_waiting(found.reference)
    return JSONResponse(item_out(item, waiting, state.settings, request_language(request)))


@operation(
    "A short-lived token for the clerk's side of an appointment's video call", tag="clerk",
    auth="staff", responses={200: CallTokenOut, 401: None, 403: None, 404: None, 409: None},
)
async def call_token(request: Request) -> Response:
    """409 `not_a_call` for an on-site or phone appointment: it has no call."""
    user = await require_api_user(request)
    state = ctx(request)
    settings = state.settings
    now = utcnow()
    async with state.db.transaction(write=True) as session:
        found = await appointment_for_staff(session, user, request.path_params["reference"])
        office = await session.get(Office, found.office_id)
        issued = await issue_call_token(
            session, state.secret_key, found, user, login=request.state.staff_session_id,
            window=join_window(found, settings.join_before_minutes, settings.join_after_minutes),
            max_lifetime=timedelta(minutes=settings.call_token_minutes), now=now,
        )
    tz = office.timezone if office is not None else "UTC"
    return JSONResponse({"token": issued.token, "expires_at": iso(issued.expires_at, tz)},
                        headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/api/v1/clerk/appointments", agenda, methods=["GET"]),
    Route("/api/v1/clerk/appointments/{reference}", appointment, methods=["GET"]),
    Route("/api/v1/clerk/appointments/{reference}/call-token", call_token, methods=["POST"]),
]
