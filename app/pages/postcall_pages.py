"""After the call, for citizens: the status steps, documents and feedback on the appointment
page (``citizen/_status.html``, included by ``citizen/appointment.html``), the document
downloads behind the link (an appointment's or an online request's), the feedback form's POST,
and the public status lookup ``/status``.

GETs only read (a document made on first download is stored once, as the worker would have);
the feedback form and the lookup are POSTs with the citizen CSRF token.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.citizen_docs import (
    call_over,
    fee_document,
    guarded_lookup,
    pdf_response,
    receipt_document,
)
from app.api.links import open_link
from app.api.milestone_views import MilestoneView, milestone_views
from app.context import ctx
from app.pages.citizen_http import limit, prefer_language
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking import service as booking
from booking.lookup import find_appointment
from booking.models import Appointment, Office
from cases.completion import completed_case
from cases.milestones import milestones
from cases.models import Case, Payment, PaymentStatus
from cases.status_lookup import StatusNotFound
from core.errors import DomainError, Unauthorized
from core.i18n import Translator
from core.types import within_calendar
from postcall import feedback as feedbacks
from postcall.notices import needs_notice

FEEDBACK_NOTICES = ("thanks", "missing", "closed", "given", "too_long")


@dataclass(frozen=True)
class StatusView:
    """What ``citizen/_status.html`` shows; built by ``citizen_status_view``."""

    milestones: list[MilestoneView]
    fee_document: bool  # a fee notice (or the receipt) can be downloaded
    fee_document_is_receipt: bool
    receipt: bool
    feedback_open: bool
    feedback_rating: int | None
    feedback_notice: str


async def citizen_status_view(session: AsyncSession, reference: str, t: Translator,
                              notice: str = "") -> StatusView | None:
    """Milestones, documents and feedback of the appointment ``reference``; None before the
    call is over (nothing to show yet)."""
    appointment = await find_appointment(session, reference)
    if appointment is None or appointment.id is None:
        return None
    over = await call_over(session, appointment.id)
    open_ = feedbacks.feedback_open(appointment, call_over=over)
    given = await feedbacks.feedback_of(session, appointment.id)
    found = await completed_case(session, appointment.id)
    if found is None and not open_ and given is None:
        return None
    rows: list[MilestoneView] = []
    fee_doc = is_receipt = receipt = False
    if found is not None:
        case = found[0]
        assert case.id is not None
        office = await session.get(Office, case.office_id)
        tz = office.timezone if office is not None else "Europe/Berlin"
        rows = milestone_views(t, await milestones(session, case.id), tz)
        fee_doc, is_receipt, receipt = case_documents(case)
    return StatusView(
        milestones=rows, fee_document=fee_doc, fee_document_is_receipt=is_receipt,
        receipt=receipt, feedback_open=open_ and given is None,
        feedback_rating=given.rating if given is not None else None,
        feedback_notice=notice if notice in FEEDBACK_NOTICES else "",
    )


def case_documents(case: Case) -> tuple[bool, bool, bool]:
    """What a completed case offers to download: (a fee document, that document is the receipt,
    a receipt of an online payment)."""
    receipt = case.payment == Payment.online and case.payment_status == PaymentStatus.paid
    return needs_notice(case) or receipt, receipt and not needs_notice(case), receipt


class _Invalid(Exception):
    pass


async def _appointment(request: Request, session: AsyncSession) -> Appointment:
    try:
        appointment = await booking.find_by_token(session, ctx(request).links,
                                                  request.path_params["token"])
    except Unauthorized as exc:
        raise _Invalid() from exc
    prefer_language(request, appointment.locale)
    return appointment


def _invalid(request: Request) -> Response:
    return render(request, "citizen/link_invalid.html", {}, 404)


async def _document(request: Request, *, receipt: bool) -> Response:
    await limit(request, "token")
    state = ctx(request)
    try:
        # The link of an appointment or of an online request: both have their decided case.
        async with state.db.transaction() as session:
            case = (await open_link(session, state, request.path_params["token"])).completed
    except Unauthorized:
        return _invalid(request)
    if case is None:
        return redirect(f"/t/{request.path_params['token']}")
    try:
        document = await (receipt_document(state, case) if receipt
                          else fee_document(state, case))
    except DomainError:
        return redirect(f"/t/{request.path_params['token']}")
    return pdf_response(document, case.number)


async def fee_notice_download(request: Request) -> Response:
    return await _document(request, receipt=False)


async def receipt_download(request: Request) -> Response:
    return await _document(request, receipt=True)


async def feedback_submit(request: Request) -> Response:
    form = await read_form(request)
    await limit(request, "token")
    base = f"/t/{request.path_params['token']}"
    raw = form.get("rating", "")
    rating = int(raw) if raw.isdigit() else 0
    outcome = "thanks"
    try:
        async with ctx(request).db.transaction(write=True) as session:
            appointment = await _appointment(request, session)
            assert appointment.id is not None
            over = await call_over(session, appointment.id)
            await feedbacks.give_feedback(session, appointment, rating, form.get("comment", ""),
                                          call_over=over)
    except _Invalid:
        return _invalid(request)
    except feedbacks.FeedbackGiven:
        outcome = "given"
    except feedbacks.FeedbackNotOpen:
        outcome = "closed"
    except DomainError as exc:
        outcome = "too_long" if exc.field == "comment" else "missing"
    return redirect(f"{base}?feedback={outcome}#feedback")


# --- the public status lookup ----------------------------------------------------------------


def _parse_birth(value: str) -> dt.date | None:
    value = value.strip()
    for parse in (dt.date.fromisoformat, lambda v: dt.datetime.strptime(v, "%d.%m.%Y").date()):
        try:
            return within_calendar(parse(value))
        except ValueError:
            continue
    return None


def _lookup_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    base = {"values": {"case_number": "", "date_of_birth": ""}, "errors": {}, "answer": None,
            "not_found": False, "switch_url": "/status"}
    return render(request, "citizen/status_lookup.html", {**base, **context}, status)


async def status_page(request: Request) -> Response:
    return _lookup_page(request, {})


async def status_submit(request: Request) -> Response:
    form = await read_form(request)
    t = translator(request)
    number = form.get("case_number", "").strip()[:40]
    born_text = form.get("date_of_birth", "").strip()[:20]
    values = {"case_number": number, "date_of_birth": born_text}
    errors: dict[str, str] = {}
    born = _parse_birth(born_text)
    if not number:
        errors["case_number"] = t.gettext("Please enter the case number.")
    if born is None:
        errors["date_of_birth"] = t.gettext("Please enter your date of birth, for example "
                                            "31.12.1980.")
    if errors or born is None:
        return _lookup_page(request, {"values": values, "errors": errors}, 422)
    try:
        answer = await guarded_lookup(ctx(request), request, number, born)
    except StatusNotFound:
        return _lookup_page(request, {"values": values, "not_found": True}, 404)
    views = milestone_views(t, answer.milestones, answer.timezone)
    return _lookup_page(request, {"values": values, "answer": answer, "milestones": views})


routes: list[BaseRoute] = [
    Route("/t/{token}/fee-notice.pdf", fee_notice_download, methods=["GET"]),
    Route("/t/{token}/receipt.pdf", receipt_download, methods=["GET"]),
    Route("/t/{token}/feedback", feedback_submit, methods=["POST"]),
    Route("/status", status_page, methods=["GET"]),
    Route("/status", status_submit, methods=["POST"]),
]
