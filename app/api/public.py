"""Public API: offices, services, free slots, and booking (CONTRACT §3 "Public")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.availability import cache_of, respond
from app.api.http import client_key, read_json, validate
from app.api.links import policy_from
from app.api.openapi import operation
from app.api.party import composition_of
from app.api.proof import require_proof
from app.api.proof import routes as proof_routes
from app.api.schemas import (
    AvailabilityOut,
    AvailabilityQuery,
    BookingCreated,
    BookingIn,
    OfficeOut,
    ServiceOut,
    ServicesQuery,
    booking_out,
    office_out,
    service_out,
)
from app.context import AppContext, ctx
from app.templating import request_language
from booking import catalog
from booking.availability_cache import Computed
from booking.availability_cache import render as render_availability
from booking.availability_window import window_availability
from booking.service import CitizenInput
from core.errors import Invalid, SlotTaken
from core.tenancy import current_municipality
from monitoring.metrics import metrics_of
from postcall.intake import book


@operation("List the offices", tag="public", responses={200: list[OfficeOut]})
async def list_offices(request: Request) -> Response:
    async with ctx(request).db.transaction() as session:
        offices = await catalog.offices(session)
        # Render inside the transaction: its rollback expires what it loaded.
        return JSONResponse([office_out(office) for office in offices])


@operation(
    "List the bookable services", tag="public", query=ServicesQuery,
    responses={200: list[ServiceOut], 404: None, 422: None},
)
async def list_services(request: Request) -> Response:
    query = validate(ServicesQuery, dict(request.query_params))
    async with ctx(request).db.transaction() as session:
        offered = await catalog.services(session, office_id=query.office_id)
        lang = request_language(request)
        return JSONResponse([service_out(item, lang) for item in offered])


@operation(
    "Free slots of a service at an office", tag="public", query=AvailabilityQuery,
    responses={200: AvailabilityOut, 304: None, 404: None, 422: None},
)
async def availability(request: Request) -> Response:
    # Answers are kept by booking/availability_cache.py while nothing changed (the same bytes either
    # way), under one key per question; a query string written as that key (the order
    # service_id, office_id, from, to, as the booking pages send it) is found before any parsing.
    state = ctx(request)
    cache = cache_of(state)
    # Each municipality's answers are its own (the same ids asked on another town's host find
    # nothing there).
    town = f"{current_municipality()}|".encode()
    raw_query: bytes = request.scope["query_string"]
    kept = cache.get(town + raw_query)
    if kept is not None:
        return respond(kept, request)
    if len(request.query_params.multi_items()) != len(request.query_params):
        raise Invalid("Each parameter only once, please.")
    query = validate(AvailabilityQuery, dict(request.query_params))
    # One key per question, however it was written (order, encoding, date or date-time).
    ids = query.ids()
    composition = composition_of(state.settings, ids, query.persons)
    key = town + (f"service_id={ids[0]}&office_id={query.office_id}"
           f"&from={query.from_.isoformat()}&to={query.to.isoformat()}"
           + (f"&channel={query.channel}" if query.channel else "")).encode()
    if not composition.plain:
        key += f"&service_ids={','.join(map(str, ids))}&persons={query.persons}".encode()
    kept = cache.get(key)
    if kept is not None:
        return respond(kept, request)
    # Computing is what costs: a per-client limit that a person browsing never reaches.
    await state.limiter.hit("availability", client_key(request))

    async def compute() -> Computed:
        async with state.db.transaction() as session:
            window = await window_availability(
                session, service_id=ids[0], office_id=query.office_id,
                start=query.from_, end=query.to, composition=composition, channel=query.channel,
            )
            return render_availability(window)

    return respond(await cache.fetch(key, query.office_id, compute), request)


@operation(
    "Book an appointment", tag="public", request=BookingIn,
    responses={201: BookingCreated, 400: None, 404: None, 409: None, 413: None, 422: None,
               429: None},
)
async def create_appointment(request: Request) -> Response:
    state = ctx(request)
    with metrics_of(state).booking():  # counts the outcome: created, slot_taken, ...
        return await _create_appointment(request, state)


async def _create_appointment(request: Request, state: AppContext) -> Response:
    await state.limiter.hit("booking", client_key(request))
    body = await read_json(request, BookingIn)
    await require_proof(request, body.altcha)
    citizen = CitizenInput(
        given_name=body.citizen.given_name,
        family_name=body.citizen.family_name,
        email=body.citizen.email,
        phone=body.citizen.phone,
        date_of_birth=body.citizen.date_of_birth,
    )
    composition = composition_of(state.settings, body.ids(), body.persons)
    try:
        async with state.db.transaction(write=True) as session:
            booked = await book(
                session, state.links, policy_from(state.settings),
                service_id=composition.head, office_id=body.office_id, start=body.start,
                citizen=citizen, locale=body.locale or request_language(request),
                address=body.postal_address, composition=composition, channel=body.channel,
            )
            # The link token is not in the response: it reaches the citizen only by e-mail,
            # which is what makes the confirmation a proof of the address.
            created = booking_out(booked.appointment, booked.office_timezone)
    except SlotTaken:
        # The database knew better than what this instance may be showing (a booking made on
        # another instance without Redis): the office's kept answers go, the next read is fresh.
        cache_of(state).invalidate(frozenset({body.office_id}))
        raise
    return JSONResponse(created, status_code=201)


routes: list[BaseRoute] = [
    Route("/api/v1/offices", list_offices, methods=["GET"]),
    Route("/api/v1/services", list_services, methods=["GET"]),
    Route("/api/v1/availability", availability, methods=["GET"]),
    Route("/api/v1/appointments", create_appointment, methods=["POST"]),
    *proof_routes,  # GET /api/v1/challenge
]
