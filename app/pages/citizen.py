"""Citizen pages: start page, privacy notice and the booking flow.

The choosing steps (service → office → day → time → details) are GET requests with query
parameters: they only read, so a reload, the back button or a shared link is harmless. Only the
booking itself is a POST, with a CSRF token and a per-IP rate limit. The appointment page behind
the e-mailed link lives in ``citizen_link``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from accessibility import videos
from app.api.http import cookie_secure
from app.api.links import policy_from
from app.api.party import composition_rules
from app.api.proof import proof_required, require_proof
from app.context import ctx
from app.pages import book_channel, citizen_link
from app.pages import party_form as party
from app.pages.citizen_forms import Choice, DetailsForm, FieldErrors
from app.pages.citizen_http import limit
from app.pages.citizen_views import (
    appointment_view,
    day_list,
    duration_text,
    fee_text,
    service_option,
    slot_groups,
    time_range,
    zone_note,
)
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking import catalog
from booking import service as booking
from booking.availability import office_today, zone
from booking.catalog import service_name
from booking.channels import PHONE_NEEDED
from booking.composition import Composition
from booking.lookup import find_appointment
from booking.models import AppointmentStatus, Office
from booking.release import release_time_text
from core.errors import (
    AlreadyBooked,
    Invalid,
    NotASlot,
    NotFound,
    SlotTaken,
    TooManyBookings,
)
from core.messages import N_
from core.proof_of_work import ProofReused
from core.signing import sign, unsign
from monitoring.metrics import metrics_of
from postcall.intake import ADDRESS_NEEDED
from postcall.intake import book as book_with_address
from tenants.links import site_url
from tenants.service import current_municipality_texts

BOOKED_COOKIE = "citizen_booked"
BOOKED_MAX_AGE = 3600

STEP_SERVICE = N_("Service")
STEP_OFFICE = N_("Office")
STEP_DAY = N_("Day")
STEP_TIME = N_("Time")
STEP_DETAILS = N_("Your details")


# --- start and privacy -------------------------------------------------------------------------


async def start(request: Request) -> Response:
    t = translator(request)
    async with ctx(request).db.transaction() as session:
        services = [offered.service for offered in await catalog.services(session)]
        rows = [
            {"id": s.id, "name": service_name(s, t.lang), "duration": duration_text(t, s),
             "fee": fee_text(t, s)}
            for s in services
        ]
        offices = await catalog.offices(session)
        sign_videos = await videos.listed(session, "start")
    # The town: the authorities the offices belong to (one for most installations), in order.
    towns = list(dict.fromkeys(o.authority.strip() for o in offices if o.authority.strip()))
    places = [{"name": o.name, "address": o.address.splitlines(), "phone": o.phone}
              for o in offices]
    return render(request, "citizen/start.html",
                  {"services": rows, "towns": towns, "offices": places,
                   "sign_videos": sign_videos})


async def privacy(request: Request) -> Response:
    """The municipality's privacy statement, then the product's notice and each office's
    contacts."""
    async with ctx(request).db.transaction() as session:
        town = await current_municipality_texts(session)
        offices = [
            {"name": o.name, "authority": o.authority, "address": o.address, "email": o.email,
             "phone": o.phone, "privacy_contact": o.privacy_contact,
             "data_protection_officer": o.data_protection_officer}
            for o in await catalog.offices(session)
        ]
    settings = ctx(request).settings
    return render(request, "citizen/privacy.html",
                  {"offices": offices, "grace_days": settings.link_grace_days,
                   "own_text": town.privacy_statement if town else ""})


# --- the booking flow --------------------------------------------------------------------------


@dataclass
class Step:
    """One rendered step of the flow: which template, with what, and the HTTP status."""

    name: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    # The resolved choice (plain values: the ORM objects expire with the read transaction).
    service_id: int = 0
    office_id: int = 0
    office_zone: str = "Europe/Berlin"
    composition: Composition | None = None  # several services or people (party_form)
    channel: str = "video"


def _steps(request: Request, with_office: bool, with_channel: bool = False) -> list[str]:
    names = [STEP_SERVICE, STEP_OFFICE, book_channel.STEP_CHANNEL, STEP_DAY, STEP_TIME,
             STEP_DETAILS]
    skip = {n for n, shown in ((STEP_OFFICE, with_office),
                               (book_channel.STEP_CHANNEL, with_channel)) if not shown}
    t = translator(request)
    return [t.gettext(n) for n in names if n not in skip]


async def resolve(request: Request, session: AsyncSession, choice: Choice) -> Step:
    """The first step whose choice is missing or no longer valid, else the details step."""
    t = translator(request)
    offered = await catalog.services(session)
    if not offered:
        return Step("unavailable", "citizen/book_unavailable.html")
    services = [o.service for o in offered]
    service = next((s for s in services if s.id == choice.service_id), None)
    rules = composition_rules(ctx(request).settings)
    if service is None:
        error = ""
        if choice.step == "service" or choice.service_id is not None or "service" in choice.bad:
            error = t.gettext("Choose what you need an appointment for.")
        steps = _steps(request, any(len(o.office_ids) > 1 for o in offered))
        return Step("service", "citizen/book_service.html", {
            "steps": steps, "current": 0, "error": error, "selected": choice.service_id,
            "options": [service_option(t, s) for s in services],
            **party.service_step(t, services, choice.also, choice.persons, rules),
        }, 422 if error else 200)

    assert service.id is not None
    composition = party.chosen(service, offered, choice.also, choice.persons, rules)
    choice.also, choice.persons = composition.service_ids[1:], composition.size
    offices = [o for o in await catalog.service_offices(session, service.id)
               if party.offers_all(offered, composition, o)]
    with_office = len(offices) > 1
    steps = _steps(request, with_office)
    base = {"steps": steps, "service_name": service_name(service, t.lang)}
    office = offices[0] if len(offices) == 1 else next(
        (o for o in offices if o.id == choice.office_id), None)
    if office is None:
        error = ""
        if choice.step == "office" or choice.office_id is not None or "office" in choice.bad:
            error = t.gettext("Choose where you want to make your appointment.")
        return Step("office", "citizen/book_office.html", {
            **base, "current": 1, "error": error, "selected": choice.office_id,
            "options": [{"value": o.id, "title": o.name, "hint": o.address} for o in offices],
            "back_href": "/book", "hidden": choice.params(upto="service"),
        }, 422 if error else 200, service_id=service.id, composition=composition)
    choice.office_id = office.id
    base["office_name"] = office.name
    assert office.id is not None
    with_channel = book_channel.asks(service)
    base["steps"] = _steps(request, with_office, with_channel)
    channel = book_channel.resolve(choice, service)
    if channel is None:
        error = book_channel.error(t, choice)
        return Step("channel", "citizen/book_channel.html", {
            **base, "current": 2 if with_office else 1, "error": error,
            "selected": choice.channel, "options": book_channel.options(t, service, office),
            "back_href": choice.url(upto="service") if with_office else "/book",
            "hidden": choice.params(upto="office"),
        }, 422 if error else 200, service_id=service.id, office_id=office.id,
            office_zone=office.timezone)
    choice.channel = channel if with_channel else None
    offset = (1 if with_office else 0) + (1 if with_channel else 0)
    # A chosen day with free times goes on to them without the days of the whole booking
    # window (they are only needed to offer another day).
    slots = (await party.slots_for(session, composition, office, choice.day, channel)
             if choice.day is not None and party.listed(composition, office, choice.day)
             else [])
    if not slots:
        day_step = await _day_step(request, session, choice, composition, office, base,
                                   offset, channel)
        if day_step is not None:
            return day_step
        assert choice.day is not None
        slots = await party.slots_for(session, composition, office, choice.day, channel)
    assert choice.day is not None
    chosen = next((s for s in slots if s.start == choice.slot), None)
    day_params = choice.params(upto="day")
    if not slots:
        choice.day = None
        again = await _day_step(request, session, choice, composition, office, base, offset,
                                channel)
        assert again is not None
        again.context["error"] = t.gettext(
            "There are no free times left on this day. Please choose another day.")
        again.status = 409
        return again
    if chosen is None:
        error = ""
        status = 200
        if choice.slot is not None or "slot" in choice.bad:
            error = t.gettext("Sorry, this time is no longer free. Please choose another time.")
            status = 409
        elif choice.step == "slot":
            error = t.gettext("Choose a time.")
            status = 422
        return Step("slot", "citizen/book_slot.html", {
            **base, "current": offset + 2, "error": error,
            "day_text": t.date(choice.day, "full"), "groups": slot_groups(t, slots, office),
            "zone_note": zone_note(t, office), "selected": None,
            "back_href": choice.url(upto="channel"), "form_action": "/book",
            "form_method": "get", "hidden": day_params, "step_field": "slot",
        }, status, service_id=service.id, office_id=office.id, office_zone=office.timezone,
            composition=composition, channel=channel)

    return Step("details", "citizen/book_details.html", {
        **base, "current": offset + 3, "errors": {}, "values": DetailsForm(),
        "hidden": choice.params(upto="slot"), "back_href": choice.url(upto="day"),
        "summary": [
            (t.gettext("Service"), service_name(service, t.lang)),
            (t.gettext("Office"), office.name),
            (t.gettext(book_channel.STEP_CHANNEL), book_channel.label(t, channel)),
            (t.gettext("Date"), t.date(choice.day, "full")),
            (t.gettext("Time"), time_range(t, chosen.start, chosen.end, office.timezone)),
            (t.gettext("Duration"), duration_text(t, service)),
            (t.gettext("Fee"), fee_text(t, service)),
        ] if composition.plain else [
            (t.gettext("Office"), office.name),
            (t.gettext("Date"), t.date(choice.day, "full")),
            (t.gettext("Time"), time_range(t, chosen.start, chosen.end, office.timezone)),
            *party.summary_rows(t, services, composition),
        ],
        "further_persons": party.persons_form({}, composition.size),
        "change_day_href": choice.url(upto="channel"),
        "change_time_href": choice.url(upto="day"),
        "switch_url": choice.url(upto="slot"),
        "by_post": party.by_post(services, composition),
        "proof_of_work": proof_required(ctx(request)),
        "channel": channel,
    }, service_id=service.id, office_id=office.id, office_zone=office.timezone,
        composition=composition, channel=channel)


async def _day_step(
    request: Request,
    session: AsyncSession,
    choice: Choice,
    composition: Composition,
    office: Office,
    base: dict[str, Any],
    offset: int,
    channel: str,
) -> Step | None:
    """The day step, or None when the chosen day is free (the flow goes on to the time);
    ``offset``: how many steps (office, channel) come between the service and the day."""
    t = translator(request)
    assert office.id is not None
    days = await party.days_for(session, composition, office, channel)
    if choice.day is not None and choice.day in days:
        return None
    listing, status = day_list(t, choice, days, office_today(office),
                               lambda day: choice.url(upto="channel", **{"from": day.isoformat()}))
    # Back to the channel step (the choice up to the office), else the office's or the start.
    back = choice.url(upto="office") if choice.channel is not None else (
        choice.url(upto="service") if offset else "/book")
    return Step("day", "citizen/book_day.html", {
        **base, **listing, "current": 1 + offset, "back_href": back,
        "form_action": "/book", "form_method": "get", "hidden": choice.params(upto="channel"),
        "step_field": "day",
        "release_time": await release_time_text(session, office.id, composition.head),
    }, status, service_id=composition.head, office_id=office.id, office_zone=office.timezone,
        composition=composition, channel=channel)


async def book_page(request: Request) -> Response:
    await limit(request, "availability")  # each step computes free days or times
    choice = Choice.from_params(request.query_params)
    async with ctx(request).db.transaction() as session:
        step = await resolve(request, session, choice)
    return render(request, step.template, step.context, step.status)


def _translate_errors(request: Request, errors: FieldErrors) -> dict[str, str]:
    t = translator(request)
    return {name: t.gettext(msgid, **params) for name, (msgid, params) in errors.items()}


async def _booked_here(request: Request, choice: Choice) -> bool:
    """Whether this browser just booked this very choice (the form sent again after "Back"):
    then it sees that booking instead of a second hold or a "taken" message."""
    state = ctx(request)
    reference = unsign(state.secret_key, "booked", request.cookies.get(BOOKED_COOKIE),
                       BOOKED_MAX_AGE)
    if reference is None or choice.slot is None:
        return False
    async with state.db.transaction() as session:
        appointment = await find_appointment(session, reference)
    return (appointment is not None and appointment.service_id == choice.service_id
            and appointment.start_at == choice.slot
            and appointment.status in (AppointmentStatus.reserved,
                                       AppointmentStatus.confirmed))


async def book_submit(request: Request) -> Response:
    form = await read_form(request)
    await limit(request, "booking")
    state = ctx(request)
    t = translator(request)
    choice = Choice.from_params(form)
    details = DetailsForm.from_form(form)
    if await _booked_here(request, choice):
        return redirect("/book/done")
    async with state.db.transaction() as session:
        step = await resolve(request, session, choice)
    if step.name != "details":
        # The choice went stale between the form and the click (a slot taken, a day full).
        return render(request, step.template, step.context,
                      step.status if step.status != 200 else 422)
    assert choice.slot is not None
    slot_day = choice.slot.astimezone(zone(step.office_zone)).date()
    citizen, errors = details.validate(slot_day)
    assert step.composition is not None
    further = party.persons_form(form, step.composition.size)
    persons, person_errors = party.check_persons(further, slot_day)
    errors = {**errors, **person_errors}
    if step.context.get("by_post") and not details.postal_address:
        citizen, errors = None, {**errors, "postal_address": (ADDRESS_NEEDED, {})}
    if book_channel.needs_phone(step.channel, details):
        citizen, errors = None, {**errors, "phone": (PHONE_NEEDED, {})}
    if citizen is None or person_errors:
        context = {**step.context, "errors": _translate_errors(request, errors), "values": details,
                   "further_persons": further}
        return render(request, step.template, context, 422)
    try:
        await require_proof(request, form.get("altcha"))
        with metrics_of(state).booking():  # counts created, slot_taken, invalid
            async with state.db.transaction(write=True) as session:
                booked = await book_with_address(
                    session, state.links, policy_from(state.settings),
                    service_id=step.service_id, office_id=step.office_id,
                    start=choice.slot, citizen=citizen, locale=t.lang,
                    address=details.postal_address.splitlines(), channel=step.channel,
                    composition=party.with_persons(step.composition, persons),
                )
                reference = booked.appointment.reference
    except (SlotTaken, NotASlot) as exc:
        async with state.db.transaction() as session:
            again = await resolve(request, session, choice)
        if isinstance(exc, SlotTaken):
            message = t.gettext("Sorry, this time has just been booked by someone else. "
                                "Please choose another time.")
        else:  # e.g. the minimum notice ran out while the form was open
            message = t.gettext("Sorry, this time is no longer free. Please choose another time.")
        if again.name == "details":  # the time still shows as free: keep the form, say why
            context = {**again.context, "values": details, "errors": {}, "form_error": message}
            return render(request, again.template, context, exc.status)
        again.context["error"] = message
        return render(request, again.template, again.context, exc.status)
    except AlreadyBooked as exc:
        # The form sent again (Back, then "book"): the browser that booked sees its booking;
        # anyone else learns only that this address already holds this time.
        booked_here = unsign(state.secret_key, "booked", request.cookies.get(BOOKED_COOKIE),
                             BOOKED_MAX_AGE)
        if booked_here == exc.reference:
            return redirect("/book/done")
        context = {**step.context, "values": details, "errors": {},
                   "form_error": t.gettext(exc.msgid)}
        return render(request, step.template, context, 409)
    except TooManyBookings:
        context = {**step.context, "values": details, "errors": {}, "form_error": t.gettext(
            "You already have the maximum number of open appointments with this e-mail "
            "address. Please use the link in one of our e-mails to cancel or move an "
            "appointment first.")}
        return render(request, step.template, context, 409)
    except (Invalid, ProofReused) as exc:
        if exc.field == "postal_address":  # beside the field, like the other details
            message = t.gettext(exc.msgid, **exc.params)
            context = {**step.context, "values": details,
                       "errors": {"postal_address": message}}
            return render(request, step.template, context, 422)
        context = {**step.context, "values": details, "errors": {}, "form_error":
                   t.gettext(exc.msgid, **exc.params)}
        return render(request, step.template, context, 422)

    response = redirect("/book/done")
    response.set_cookie(
        BOOKED_COOKIE, sign(state.secret_key, "booked", reference),
        max_age=BOOKED_MAX_AGE, path=site_url(request.scope, "/book"), httponly=True,
        samesite="lax", secure=cookie_secure(request),
    )
    return response


async def book_done(request: Request) -> Response:
    """The confirmation after booking; the browser that booked carries a signed reference.

    No link token here: with double opt-in only the mailbox owner may confirm.
    """
    state = ctx(request)
    reference = unsign(state.secret_key, "booked", request.cookies.get(BOOKED_COOKIE),
                       BOOKED_MAX_AGE)
    if reference is None:
        return redirect("/book")
    async with state.db.transaction() as session:
        appointment = await find_appointment(session, reference)
        if appointment is None:
            raise NotFound()
        appointment, office, service = await booking.appointment_details(session, appointment)
        view = appointment_view(
            translator(request), appointment, office, service,
            join_before_minutes=state.settings.join_before_minutes,
            join_after_minutes=state.settings.join_after_minutes,
        )
    return render(request, "citizen/book_done.html", {
        "appointment": view, "hold_minutes": state.settings.hold_minutes,
        "join_before_minutes": state.settings.join_before_minutes,
    })

routes: list[BaseRoute] = [
    Route("/", start, methods=["GET"]),
    Route("/privacy", privacy, methods=["GET"]),
    Route("/book", book_page, methods=["GET"]),
    Route("/book", book_submit, methods=["POST"]),
    Route("/book/done", book_done, methods=["GET"]),
    *citizen_link.routes,
]
