"""The waitlist's API (CONTRACT §3 "Waitlist"), its jobs and its trigger.

* ``POST /api/v1/waitlist`` puts a wish on the waitlist (rate-limited like booking).
* A wish's link token opens ``GET /api/v1/me`` and ``POST /api/v1/me/cancel`` (through
  ``app/api/citizen.py``, which asks ``wish_me`` / ``wish_cancel`` first), and
  ``POST /api/v1/me/accept`` · ``POST /api/v1/me/decline``.
* ``GET /api/v1/admin/waitlist``: the length of the waitlist per service.
* Jobs: ``waitlist.match`` offers free places (``cases.waitlist_offers``), ``mail.waitlist``
  sends the mails; the periodic sweep lapses offers and matches every queue (missed events).
* Trigger: after every commit that may free places (``booking.availability_changes``; not
  after a booking, which only takes some) a
  ``waitlist.match`` job is written for those offices, when wishes wait there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import bearer_token, client_key, read_json, town_base_url
from app.api.links import policy_from
from app.api.openapi import operation
from app.api.proof import require_proof
from app.api.schemas import CitizenIn, Id, IsoDate
from app.auth import require_api_user
from app.context import AppContext, ctx
from app.mail_env import mail_job
from app.tasks import JobHandler, PeriodicTask
from app.templating import request_language
from booking import availability_changes, waitlist
from booking.availability import zone
from booking.availability_changes import Offices
from booking.catalog import service_name
from booking.models import Appointment, Office, Service
from booking.service import CitizenInput
from booking.waitlist import WaitlistWish, Window
from cases import waitlist_offers
from cases.waitlist_offers import OfferRules
from core.i18n import Language
from core.jobs import Job, JobStatus, job_values
from core.types import utcnow
from mail.waitlist import send_waitlist_mail
from postcall.intake import address_for, keep_wish_address

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger("buergerbuero.waitlist")

HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                            description="HH:MM, office-local")]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1000)


class WindowIn(_In):
    from_date: IsoDate
    to_date: IsoDate
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, max_length=7, description="Monday = 0; empty: every day")
    from_time: HHMM | None = None
    to_time: HHMM | None = None

    def window(self) -> Window:
        return Window(
            from_date=self.from_date, to_date=self.to_date,
            weekdays=tuple(sorted(set(self.weekdays))),
            from_time=dt.time.fromisoformat(self.from_time) if self.from_time else None,
            to_time=dt.time.fromisoformat(self.to_time) if self.to_time else None)


class WaitlistIn(_In):
    service_id: Id
    office_id: Id
    channel: Literal["video", "onsite", "phone"] = "video"
    windows: list[WindowIn] = Field(min_length=1, max_length=waitlist.MAX_WINDOWS)
    citizen: CitizenIn
    postal_address: list[str] = Field(
        default_factory=list, max_length=5,
        description="As for a booking: where the documents are posted, required when the "
        "service's `postal_address_required` is true; an offer books with it.")
    locale: Language | None = None
    altcha: str | None = Field(
        default=None, max_length=2000,
        description="The solved proof of work of `GET /api/v1/challenge`, as for a booking: an "
        "offer holds a place for hours, so joining is guarded like booking.")


class WaitlistOut(_In):
    reference: str
    status: str


def rules_from(settings: Settings) -> OfferRules:
    return OfferRules(offer_hours=settings.waitlist_offer_hours, booking=policy_from(settings),
                      after_hold=keep_wish_address)


@operation("Join the waitlist of a service", tag="public", request=WaitlistIn,
           responses={201: WaitlistOut, 404: None, 409: None, 422: None, 429: None})
async def join(request: Request) -> Response:
    """An e-mail carries the link `/t/{token}` of the waitlist entry; when a fitting place
    becomes free it is held and offered by e-mail (accept or decline through the link)."""
    state = ctx(request)
    await state.limiter.hit("booking", client_key(request))
    body = await read_json(request, WaitlistIn)
    await require_proof(request, body.altcha)
    c = body.citizen
    async with state.db.transaction(write=True) as session:
        address = await address_for(session, [body.service_id], body.postal_address)
        joined = await waitlist.join(
            session, state.links, office_id=body.office_id, service_id=body.service_id,
            channel=body.channel, windows=[w.window() for w in body.windows],
            citizen=CitizenInput(given_name=c.given_name, family_name=c.family_name,
                                 email=c.email, phone=c.phone),
            locale=body.locale or request_language(request),
            max_open=state.settings.waitlist_max_open_per_email,
            link_grace_days=state.settings.link_grace_days, postal_address=address)
        out = {"reference": joined.wish.reference, "status": joined.wish.status}
    return JSONResponse(out, status_code=201)


def _time(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(zone(timezone)).isoformat()


async def wish_out(session: AsyncSession, state: AppContext, wish: WaitlistWish,
                   lang: str) -> dict[str, Any]:
    office = await session.get(Office, wish.office_id)
    service = await session.get(Service, wish.service_id)
    assert office is not None and service is not None
    out: dict[str, Any] = {
        "kind": "waitlist", "reference": wish.reference, "status": wish.status,
        "channel": wish.channel,
        "service": {"id": service.id, "name": service_name(service, lang)},
        "office": {"id": office.id, "name": office.name, "timezone": office.timezone},
        "windows": [w.as_json() for w in wish.window_list()],
        "offer": None, "appointment": None,
    }
    appointment = (await session.get(Appointment, wish.appointment_id)
                   if wish.appointment_id is not None else None)
    if appointment is not None and wish.status == waitlist.WishStatus.offered:
        assert wish.offer_expires_at is not None
        out["offer"] = {"start": _time(appointment.start_at, office.timezone),
                        "end": _time(appointment.end_at, office.timezone),
                        "expires_at": _time(wish.offer_expires_at, office.timezone)}
    elif appointment is not None and wish.status == waitlist.WishStatus.booked:
        token = state.links.token_for(appointment.link_nonce)
        out["appointment"] = {
            "reference": appointment.reference, "status": appointment.status,
            "start": _time(appointment.start_at, office.timezone),
            "end": _time(appointment.end_at, office.timezone),
            "url": f"{await town_base_url(state)}/t/{token}",
        }
    return out


async def wish_me(request: Request, state: AppContext, token: str) -> Response | None:
    """``GET /api/v1/me`` for a wish's link; None for any other link."""
    async with state.db.transaction() as session:
        wish = await waitlist.find_wish(session, state.links, token)
        if wish is None:
            return None
        return JSONResponse(await wish_out(session, state, wish, request_language(request)))


async def wish_cancel(request: Request, state: AppContext, token: str) -> Response | None:
    """``POST /api/v1/me/cancel`` for a wish's link: it leaves the waitlist."""
    async with state.db.transaction(write=True) as session:
        wish = await waitlist.find_wish(session, state.links, token)
        if wish is None:
            return None
        await waitlist.withdraw(session, wish)
        return JSONResponse(await wish_out(session, state, wish, request_language(request)))


async def _offer_change(request: Request, accept: bool) -> Response:
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    token = bearer_token(request)
    async with state.db.transaction(write=True) as session:
        wish = await waitlist.find_wish(session, state.links, token)
        if wish is None:
            raise waitlist.NoOffer()
        if accept:
            await waitlist_offers.accept(session, policy_from(state.settings), wish)
        else:
            await waitlist.decline(session, wish)
        return JSONResponse(await wish_out(session, state, wish, request_language(request)))


@operation("Accept the place offered from the waitlist", tag="citizen", auth="citizen",
           responses={200: None, 401: None, 409: None, 429: None})
async def accept(request: Request) -> Response:
    """The held place becomes a confirmed appointment (its own link comes by e-mail);
    409 `offer_lapsed` when the offer has run out, `no_offer` when none is open."""
    return await _offer_change(request, accept=True)


@operation("Decline the place offered from the waitlist", tag="citizen", auth="citizen",
           responses={200: None, 401: None, 409: None, 429: None})
async def decline(request: Request) -> Response:
    """The place goes to the next person waiting; the entry stays on the waitlist."""
    return await _offer_change(request, accept=False)


@operation("The waitlist's length per service", tag="admin", auth="staff",
           responses={200: None, 401: None, 403: None})
async def lengths(request: Request) -> Response:
    await require_api_user(request, role="admin")
    async with ctx(request).db.transaction() as session:
        counts = await waitlist.queue_lengths(session)
        services = (await session.execute(select(Service).order_by(col(Service.id)))).scalars()
        out = [{"service_id": s.id, "service": s.name, "length": counts.get(s.id or 0, 0)}
               for s in services]
    return JSONResponse(out)


# --- jobs and trigger --------------------------------------------------------------------------


async def match_offices(state: AppContext, office_id: int | None) -> int:
    """Offer free places of an office's queues (None: all), one offer per transaction."""
    rules = rules_from(state.settings)
    offers = 0
    async with state.db.transaction() as session:
        found = await waitlist_offers.queues(session, office_id)
    for office, service in found:
        while True:
            async with state.db.transaction(write=True) as session:
                wish = await waitlist_offers.offer_next(session, state.links, rules,
                                                        office_id=office, service_id=service)
            if wish is None:
                break
            offers += 1
    return offers


async def match_job(state: AppContext, job: Job) -> None:
    office = job.data().get("office_id")
    await match_offices(state, office if isinstance(office, int) else None)


async def sweep_task(state: AppContext) -> None:
    """Periodic: lapsed offers go on, ended wishes close, entries closed longer than the
    retention period go, every queue is matched."""
    retention = dt.timedelta(days=state.settings.retention_days)
    async with state.db.transaction(write=True) as session:
        changed = await waitlist.lapse_offers(session)
        await waitlist.purge_closed(session, utcnow() - retention)
    offers = await match_offices(state, None)
    if changed or offers:
        log.info("waitlist: %d lapsed or ended, %d offered", changed, offers)


def handlers() -> dict[str, JobHandler]:
    return {waitlist.MATCH_JOB: match_job, waitlist.MAIL_JOB: mail_job(send_waitlist_mail)}


def periodic(settings: Settings) -> list[PeriodicTask]:
    return [PeriodicTask("waitlist.sweep", settings.worker_periodic_seconds, sweep_task)]


_TASKS = "waitlist_trigger_tasks"


async def _note_change(state: AppContext, offices: Offices) -> None:
    waiting = exists().where(col(WaitlistWish.status) == waitlist.WishStatus.waiting)
    if offices is not None:
        waiting = waiting.where(col(WaitlistWish.office_id).in_(list(offices)))
    pending = select(col(Job.payload)).where(col(Job.kind) == waitlist.MATCH_JOB,
                                             col(Job.status) == JobStatus.pending)
    async with state.db.transaction() as session:
        wanted = (await session.execute(select(waiting))).scalar_one()
        queued = set((await session.execute(pending)).scalars()) if wanted else set()
    every = [None] if offices is None else sorted(offices)
    # A match that is coming anyway (of that office, or of every office) is enough.
    todo = [o for o in every if _payload(o) not in queued and _payload(None) not in queued]
    if not wanted or not todo:
        return
    async with state.db.transaction(write=True) as session:
        for office in todo:
            waitlist.schedule_matching(session, office)


def _payload(office_id: int | None) -> str:
    return job_values(waitlist.MATCH_JOB, {"office_id": office_id})["payload"]  # type: ignore[no-any-return]


def start_trigger(state: AppContext) -> None:
    """Subscribe to availability changes (lifespan start)."""
    tasks: set[asyncio.Task[None]] = set()

    def changed(offices: Offices) -> None:
        task = asyncio.get_running_loop().create_task(_note_change(state, offices))
        tasks.add(task)
        task.add_done_callback(_done(tasks))

    state.extras[_TASKS] = (tasks, availability_changes.subscribe(state.db.engine.url, changed,
                                                                freeing_only=True))


def _done(tasks: set[asyncio.Task[None]]) -> Any:
    def forget(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("waitlist trigger failed: %s", task.exception())

    return forget


async def settled(state: AppContext) -> None:
    """Wait until the triggers of past commits have written their jobs (shutdown, tests)."""
    found = state.extras.get(_TASKS)
    if found is not None:
        while found[0]:
            await asyncio.gather(*list(found[0]), return_exceptions=True)


async def stop_trigger(state: AppContext) -> None:
    found = state.extras.pop(_TASKS, None)
    if found is not None:
        found[1]()
        await asyncio.gather(*list(found[0]), return_exceptions=True)


routes: list[BaseRoute] = [
    Route("/api/v1/waitlist", join, methods=["POST"]),
    Route("/api/v1/me/accept", accept, methods=["POST"]),
    Route("/api/v1/me/decline", decline, methods=["POST"]),
    Route("/api/v1/admin/waitlist", lengths, methods=["GET"]),
]
