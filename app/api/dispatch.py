"""The dispatch API (CONTRACT §3 "Clerk": ``GET /api/v1/clerk/dispatch?status=``,
``POST /api/v1/clerk/dispatch/{id}/status``), the print room's batch files, the citizen's postal
address, and the hybrid-mail provider's status webhook.

Staff see the letters of their offices (admins: all); another office's letter is 403, an
unknown one 404. The webhook is authenticated by its HMAC signature alone: a forged, stale or
replayed request is 400 and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import postcall_schemas as s
from app.api.http import read_body, read_json, read_json_later, validate
from app.api.openapi import operation
from app.api.routing import ID
from app.auth import require_api_user
from app.context import ctx, print_room_takes_all
from cases.completion import case_municipality
from core.audit import Actor
from core.errors import Forbidden, NotFound
from core.tenancy import acting_for
from core.types import utcnow
from postcall import dispatch as dispatching
from postcall.dispatch_models import Dispatch, HybridMailEvent
from postcall.dispatch_providers import WebhookRejected, verify_webhook
from postcall.print_room import batch_files, default_day, office_list
from staff.models import StaffUser
from staff.service import (
    appointment_for_staff,
    office_ids_in_scope,
    staff_actor,
    visible_office_ids,
)

log = logging.getLogger("buergerbuero.dispatch")

ERRORS: dict[int, Any] = {401: None, 403: None}
HYBRID_ACTOR = Actor("system", None, "hybrid-mail")


async def _offices(request: Request, user: StaffUser, office_id: int | None) -> list[int]:
    async with ctx(request).db.transaction() as session:
        return await office_ids_in_scope(session, user, office_id)


async def _zone(request: Request, office_ids: list[int]) -> str:
    async with ctx(request).db.transaction() as session:
        offices = await office_list(session, office_ids[:1])
    return offices[0].timezone if offices else "Europe/Berlin"


@operation(
    "The dispatch queue of my offices, newest first", tag="clerk", auth="staff",
    query=s.DispatchQuery, responses={200: list[s.DispatchOut], 404: None, 422: None, **ERRORS},
)
async def list_dispatch(request: Request) -> Response:
    """``office_id``: one of my offices (403 for another one, 404 for none), as for the
    agenda."""
    user = await require_api_user(request)
    query = validate(s.DispatchQuery, dict(request.query_params))
    office_ids = await _offices(request, user, query.office_id)
    tz = await _zone(request, office_ids)
    async with ctx(request).db.transaction() as session:
        rows = await dispatching.list_dispatches(session, office_ids, status=query.status)
    return JSONResponse([s.dispatch_out(row, tz) for row in rows])


async def _visible_dispatch(request: Request, user: StaffUser,
                            dispatch_id: int) -> Dispatch:
    async with ctx(request).db.transaction() as session:
        dispatch = await dispatching.get_dispatch(session, dispatch_id)
        visible = await visible_office_ids(session, user)
    if dispatch.office_id not in visible:
        raise Forbidden()
    return dispatch


@operation(
    "One letter of the dispatch queue", tag="clerk", auth="staff",
    responses={200: s.DispatchOut, 404: None, **ERRORS},
)
async def get_dispatch(request: Request) -> Response:
    user = await require_api_user(request)
    dispatch = await _visible_dispatch(request, user, request.path_params["id"])
    tz = await _zone(request, [dispatch.office_id])
    async with ctx(request).db.transaction() as session:
        row = await dispatching.row_of(session, dispatch)
    return JSONResponse(s.dispatch_out(row, tz))


@operation(
    "Move a letter on: queued → printed → posted → delivered | returned, or cancelled",
    tag="clerk", auth="staff", request=s.DispatchStatusIn,
    responses={200: s.DispatchOut, 400: None, 404: None, 409: None, 413: None, 422: None,
               **ERRORS},
)
async def set_status(request: Request) -> Response:
    """409 `illegal_transition` for a step the letter cannot take; the state it already is in
    is accepted and changes nothing. Each change is audited and announced to the citizen."""
    user = await require_api_user(request)
    body = await read_json_later(request, s.DispatchStatusIn)
    dispatch = await _visible_dispatch(request, user, request.path_params["id"])
    status = body.value().status
    tz = await _zone(request, [dispatch.office_id])
    async with ctx(request).db.transaction(write=True) as session:
        found = await dispatching.get_dispatch(session, request.path_params["id"])
        await dispatching.set_status(session, found, status, staff_actor(user))
        row = await dispatching.row_of(session, found)
    return JSONResponse(s.dispatch_out(row, tz))


async def _batch_scope(request: Request) -> tuple[list[int], dt.date, int | None]:
    user = await require_api_user(request)
    query = validate(s.BatchQuery, dict(request.query_params))
    office_ids = await _offices(request, user, query.office_id)
    day = query.date
    if day is None:
        async with ctx(request).db.transaction() as session:
            day = default_day(await office_list(session, office_ids[:1]))
    return office_ids, day, query.upto


@operation(
    "The print room's batch as one PDF to print duplex (every letter on a fresh sheet)",
    tag="clerk", auth="staff", query=s.BatchQuery,
    responses={200: "application/pdf", 404: None, 422: None, **ERRORS},
)
async def batch_pdf(request: Request) -> Response:
    """404 when the batch holds no letter. Letters queued up to the day and not yet printed
    are in it, and so are those marked printed for that day (a second download)."""
    office_ids, day, upto = await _batch_scope(request)
    files = await batch_files(ctx(request).db, office_ids, day, upto=upto,
                              takes_all=print_room_takes_all(ctx(request)))
    if files.batch is None:
        raise NotFound("There are no letters in this batch.")
    return Response(files.batch.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="druckstapel-{day.isoformat()}.pdf"',
        "Cache-Control": "no-store",
    })


@operation(
    "The batch's manifest (CSV, one row per letter with its pages and sheets)", tag="clerk",
    auth="staff", query=s.BatchQuery, responses={200: "text/csv", 422: None, **ERRORS},
)
async def batch_csv(request: Request) -> Response:
    office_ids, day, upto = await _batch_scope(request)
    files = await batch_files(ctx(request).db, office_ids, day, upto=upto,
                              takes_all=print_room_takes_all(ctx(request)))
    return Response(files.manifest, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="druckstapel-{day.isoformat()}.csv"',
        "Cache-Control": "no-store",
    })


@operation(
    "Mark a batch printed (its queued letters) or posted (its printed letters)",
    tag="clerk", auth="staff", request=s.BatchStatusIn,
    responses={200: s.BatchStatusOut, 400: None, 413: None, 422: None, **ERRORS},
)
async def batch_status(request: Request) -> Response:
    user = await require_api_user(request)
    body = await read_json(request, s.BatchStatusIn)
    office_ids = await _offices(request, user, body.office_id)
    async with ctx(request).db.transaction(write=True) as session:
        count = await dispatching.mark_batch(
            session, office_ids, body.date, body.status, staff_actor(user), upto=body.upto,
            unassigned=print_room_takes_all(ctx(request)))
    return JSONResponse({"date": body.date.isoformat(), "status": body.status, "count": count})


# --- the postal address --------------------------------------------------------------------


@operation(
    "Where the citizen's letters go (the lines after the name)", tag="clerk", auth="staff",
    responses={200: s.PostalAddressOut, 404: None, **ERRORS},
)
async def get_address(request: Request) -> Response:
    user = await require_api_user(request)
    async with ctx(request).db.transaction() as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        # The address belongs to the appointment's request (not to the appointment's id).
        lines = await dispatching.postal_address(session, appointment.case_id)
    return JSONResponse({
        "reference": appointment.reference, "lines": list(lines),
        "name": f"{appointment.given_name} {appointment.family_name}".strip(),
    })


@operation(
    "Take down the citizen's postal address (during the call or before printing)",
    tag="clerk", auth="staff", request=s.PostalAddressIn,
    responses={200: s.PostalAddressOut, 400: None, 404: None, 409: None, 413: None, 422: None,
               **ERRORS},
)
async def put_address(request: Request) -> Response:
    """409 `address_locked` once the letter is printed or handed over."""
    user = await require_api_user(request)
    body = await read_json_later(request, s.PostalAddressIn)
    async with ctx(request).db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        lines = await dispatching.set_postal_address(session, appointment, body.value().lines,
                                                     staff_actor(user))
    return JSONResponse({
        "reference": appointment.reference, "lines": list(lines),
        "name": f"{appointment.given_name} {appointment.family_name}".strip(),
    })


# --- the hybrid-mail webhook -------------------------------------------------------------------


class WebhookReplayed(WebhookRejected):
    code = "webhook_replayed"
    message = "This webhook event has already been received."


@operation(
    "Letter status from the hybrid-mail provider (HMAC-SHA256 `Signature` over the raw body)",
    tag="webhooks", responses={200: None, 400: None, 413: None},
)
async def hybrid_webhook(request: Request) -> Response:
    """Forged, stale (more than five minutes off) or replayed (an event id seen before)
    requests are refused with 400 and change nothing."""
    state = ctx(request)
    body = await read_body(request, 256 * 1024)
    event = verify_webhook(body, request.headers.get("signature"),
                           state.settings.hybrid_mail_webhook_secret or "", now=utcnow())
    try:
        async with state.db.transaction(write=True) as session:
            session.add(HybridMailEvent(event_id=event.event_id, kind=event.kind,
                                        letter_ref=event.letter_ref))
            await session.flush()
            dispatch = await dispatching.by_provider_ref(session, event.letter_ref)
            if dispatch is None:
                log.info("hybrid-mail event %s for an unknown letter ignored", event.kind)
            elif event.target is None:
                dispatch.last_error = (event.reason or event.kind)[:300]
                dispatch.updated_at = utcnow()
            else:  # for the letter's municipality: its audit events, milestones and mails
                with acting_for(await case_municipality(session, dispatch.case_id)):
                    await dispatching.advance(session, dispatch, event.target.value,
                                              HYBRID_ACTOR, at=event.created_at,
                                              detail=event.reason)
    except IntegrityError as exc:  # the event id is stored already
        raise WebhookReplayed() from exc
    return JSONResponse({"received": True})


routes: list[BaseRoute] = [
    Route("/api/v1/clerk/dispatch", list_dispatch, methods=["GET"]),
    Route("/api/v1/clerk/dispatch/batch.pdf", batch_pdf, methods=["GET"]),
    Route("/api/v1/clerk/dispatch/batch.csv", batch_csv, methods=["GET"]),
    Route("/api/v1/clerk/dispatch/batch/status", batch_status, methods=["POST"]),
    Route(f"/api/v1/clerk/dispatch/{ID}", get_dispatch, methods=["GET"]),
    Route(f"/api/v1/clerk/dispatch/{ID}/status", set_status, methods=["POST"]),
    Route("/api/v1/clerk/appointments/{reference}/postal-address", get_address,
          methods=["GET"]),
    Route("/api/v1/clerk/appointments/{reference}/postal-address", put_address,
          methods=["PUT"]),
    Route("/api/v1/webhooks/hybrid-mail", hybrid_webhook, methods=["POST"]),
]
