"""The clerk's desk API (CONTRACT §3 "Clerk"): identity check, completion, no-show; for admins
reopening and the audit trail.

Access: any staff account, limited to the appointments of its offices (admins: all). An unknown
reference is 404 and another office's appointment 403, exactly as in the clerk's call API
(``staff.service.appointment_for_staff``): references are random and only staff reach these
endpoints, so telling "not yours" from "not there" reveals nothing a clerk could use, and a
clear 403 helps a clerk who opened the wrong office's link. A citizen's link token is not a
staff token (401).

Bodies are read before the write transaction (never wait on a client while holding it), but a
bad body is reported only after the access check, so a stranger learns nothing but 401/403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import case_schemas as s
from app.api.http import read_json_later, validate
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import ctx
from app.settings import Settings
from app.templating import request_language
from booking.models import Appointment, Office, Service
from cases import completion as cases
from cases.identity import applicant_check, identity_checks, latest_check
from cases.models import Case, CaseState, Outcome
from core.errors import Conflict, NotFound
from online.inbox import complete_appointment
from postcall import decisions
from privacy.audit_log import AuditFilter, bound, display_zone, search_audit
from staff.service import appointment_for_staff, staff_actor

ERRORS: dict[int, Any] = {401: None, 403: None, 404: None}
BODY_ERRORS: dict[int, Any] = {400: None, 409: None, 413: None, 422: None}


def case_policy(settings: Settings) -> cases.CasePolicy:
    return cases.CasePolicy(
        number_format=settings.case_number_format,
        fee_due_days=settings.fee_due_days,
        online_payment=bool(settings.stripe_secret_key),
    )


async def _zone(session: AsyncSession, appointment: Appointment) -> str:
    office = await session.get(Office, appointment.office_id)
    return office.timezone if office is not None else "UTC"


async def render_case(session: AsyncSession, case: Case, tz: str, lang: str) -> dict[str, Any]:
    assert case.id is not None
    return s.case_out(case, await cases.case_items(session, case.id), tz, lang)


async def desk_details(session: AsyncSession, appointment: Appointment,
                       lang: str) -> dict[str, Any]:
    """The identity checks and the case of one appointment, as the clerk's panels show them."""
    assert appointment.id is not None
    tz = await _zone(session, appointment)
    service = await session.get(Service, appointment.service_id)
    checks = await identity_checks(session, appointment.case_id)
    case = await cases.case_of(session, appointment.id)
    latest = applicant_check(checks)
    return s.DeskOut.model_validate({
        "reference": appointment.reference, "status": appointment.status,
        "requires_identity": bool(service and service.requires_identity),
        "identity_verified": latest is not None and latest.outcome == Outcome.verified,
        "verification": s.verification_out(latest, tz) if latest else None,
        "verifications": [s.verification_out(c, tz) for c in checks],
        "case": await render_case(session, case, tz, lang) if case else None,
    }).model_dump()


# --- clerk -------------------------------------------------------------------------------------


@operation(
    "The identity checks and the case of one of my offices' appointments", tag="clerk",
    auth="staff", responses={200: s.DeskOut, **ERRORS},
)
async def desk(request: Request) -> Response:
    user = await require_api_user(request)
    async with ctx(request).db.transaction() as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        body = await desk_details(session, appointment, request_language(request))
    return JSONResponse(body)


@operation(
    "Record an identity check (never an image or a document number)", tag="clerk",
    auth="staff", request=s.VerificationIn,
    responses={200: s.VerificationResult, **ERRORS, **BODY_ERRORS},
)
async def verification(request: Request) -> Response:
    """Several checks may be recorded; the latest counts. Only while the appointment is
    `confirmed` or `in_call`. Unknown fields are refused (422)."""
    user = await require_api_user(request)
    body = await read_json_later(request, s.VerificationIn)
    async with ctx(request).db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        data = body.value()
        check = await cases.record_verification(session, appointment, cases.VerificationInput(
            document_type=data.document_type, checks=frozenset(data.checks),
            outcome=data.outcome, reason_code=data.reason_code, reason=data.reason,
            valid_until=data.valid_until, note=data.note, person=data.person,
        ), staff_actor(user))
        applicant = await latest_check(session, check.case_id)
        out = {
            "reference": appointment.reference,
            "identity_verified": applicant is not None and applicant.outcome == Outcome.verified,
            "verification": s.verification_out(check, await _zone(session, appointment)),
        }
    return JSONResponse(out)


@operation(
    "Complete the request: fee items, payment and delivery; creates the case", tag="clerk",
    auth="staff", request=s.CompletionIn,
    responses={200: s.CaseResult, **ERRORS, **BODY_ERRORS},
)
async def complete(request: Request) -> Response:
    """409 `identity_required` when the service needs a verified identity and the latest check
    is not verified; 409 `already_completed` the second time; 422 `postal_address_missing` for
    delivery by post without a postal address."""
    user = await require_api_user(request)
    body = await read_json_later(request, s.CompletionIn)
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            appointment = await appointment_for_staff(session, user,
                                                      request.path_params["reference"])
            data = body.value()
            case = await complete_appointment(session, appointment, cases.CompletionInput(
                items=tuple(cases.ItemInput(i.service_id, i.quantity, i.person)
                            for i in data.items),
                payment=data.payment, delivery=data.delivery,
                external_authority=data.external_authority, note=data.note,
            ), staff_actor(user), case_policy(state.settings), address=data.postal_address)
            tz = await _zone(session, appointment)
            out = {"reference": appointment.reference, "status": appointment.status,
                   "case": await render_case(session, case, tz, request_language(request))}
    except IntegrityError as exc:  # a concurrent completion won (the unique keys hold)
        raise Conflict() from exc
    return JSONResponse(out)


@operation(
    "Mark an appointment as missed (after its start, while still confirmed)", tag="clerk",
    auth="staff", responses={200: s.StatusResult, 409: None, **ERRORS},
)
async def no_show(request: Request) -> Response:
    user = await require_api_user(request)
    async with ctx(request).db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        await cases.mark_no_show(session, appointment, staff_actor(user))
        out = {"reference": appointment.reference, "status": appointment.status, "case": None}
    return JSONResponse(out)


# --- admin -------------------------------------------------------------------------------------


@operation(
    "Reopen a completed or missed appointment (back to confirmed)", tag="admin", auth="admin",
    request=s.ReopenIn, responses={200: s.StatusResult, **ERRORS, **BODY_ERRORS},
)
async def reopen(request: Request) -> Response:
    """A completed case keeps its number and is marked `reopened`; the next completion
    replaces its items, payment and delivery. Refused (409 `cannot_reopen`) once the fee is
    paid or the documents are printed or posted. The body (`reason`) is optional."""
    user = await require_api_user(request, role="admin")
    body = await read_json_later(request, s.ReopenIn, optional=True)
    async with ctx(request).db.transaction(write=True) as session:
        appointment = await appointment_for_staff(session, user, request.path_params["reference"])
        data = body.value()
        case = await decisions.reopen(session, appointment, staff_actor(user), reason=data.reason)
        tz = await _zone(session, appointment)
        rendered = (await render_case(session, case, tz, request_language(request))
                    if case is not None and case.state == CaseState.reopened else None)
        out = {"reference": appointment.reference, "status": appointment.status,
               "case": rendered}
    return JSONResponse(out)


@operation(
    "The audit trail, newest first, filtered and a page at a time", tag="admin", auth="admin",
    query=s.AuditQuery, responses={200: s.AuditPageOut, 401: None, 403: None, 422: None},
)
async def audit(request: Request) -> Response:
    await require_api_user(request, role="admin")
    query = validate(s.AuditQuery, dict(request.query_params))
    async with ctx(request).db.transaction() as session:
        zone = await display_zone(session)
        found = await search_audit(session, AuditFilter(
            start=bound(query.from_, zone, end=False), end=bound(query.to, zone, end=True),
            actor=(query.actor or "").strip(), action=(query.action or "").strip(),
            reference=(query.reference or "").strip(),
        ), page=query.page, per_page=query.per_page)
    if query.page > found.pages:
        raise NotFound("This page of the list does not exist.")
    return JSONResponse({
        "items": [s.audit_event_out(e, zone) for e in found.events],
        "page": found.page, "per_page": found.per_page, "pages": found.pages,
        "total": found.total, "timezone": zone,
    })


routes: list[BaseRoute] = [
    Route("/api/v1/clerk/appointments/{reference}/case", desk, methods=["GET"]),
    Route("/api/v1/clerk/appointments/{reference}/verification", verification,
          methods=["POST"]),
    Route("/api/v1/clerk/appointments/{reference}/complete", complete, methods=["POST"]),
    Route("/api/v1/clerk/appointments/{reference}/no-show", no_show, methods=["POST"]),
    Route("/api/v1/admin/appointments/{reference}/reopen", reopen, methods=["POST"]),
    Route("/api/v1/admin/audit", audit, methods=["GET"]),
]
