"""An online request as its citizen reads it on the link page (``online/request.html``): status in
plain words, the answers (retired fields too), documents, messages, what the office asks for,
the video appointment it invited to, and the decided case (the appointment page's partials).

Reads only; built inside the page's read transaction from the services the API uses
(``online.requests``, ``online.catalogue``, ``app.api.online_schemas.answers_out``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.milestone_views import milestone_views
from app.api.online_schemas import answers_out, label_of
from app.api.schemas import iso
from app.context import AppContext
from app.pages.apply_form import FieldView, field_view
from app.pages.case_views import CaseView, case_view
from app.pages.citizen_views import STATUS_LABELS as APPOINTMENT_LABELS
from app.pages.citizen_views import local_day, time_range
from app.pages.postcall_pages import StatusView, case_documents
from booking.catalog import service_name
from booking.models import Appointment, AppointmentStatus, Office, Service
from cases.completion import case_items
from cases.intake import appointments_of
from cases.milestones import milestones
from cases.models import CaseState
from core.errors import NotFound
from core.i18n import Translator, uses_english_data
from core.messages import N_
from online import catalogue
from online import requests as online
from online.catalogue import Offered
from online.forms import field_options, missing_files
from online.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Author,
    FieldType,
    FormField,
    RequestStatus,
)
from online.requests import Held

# status -> (label, badge kind, what it means in plain words)
STATUSES: dict[str, tuple[str, str, str]] = {
    RequestStatus.submitted: (
        N_("Sent – please confirm"), "warning",
        N_("Please confirm your request with the button below or with the link in our "
           "e-mail. Only then does it reach the office.")),
    RequestStatus.received: (
        N_("Received"), "info",
        N_("Your request has reached the office. A member of staff will take it up soon.")),
    RequestStatus.in_progress: (
        N_("Being processed"), "info", N_("A member of staff is working on your request.")),
    RequestStatus.waiting_for_citizen: (
        N_("Waiting for your answer"), "warning",
        N_("The office has a question for you. Please answer it below, so that your request "
           "can go on.")),
    RequestStatus.completed: (N_("Completed"), "success", N_("Your request has been decided.")),
    RequestStatus.rejected: (
        N_("Rejected"), "danger",
        N_("Your request has been rejected. You receive a notice with the reasons by e-mail.")),
    RequestStatus.withdrawn: (N_("Withdrawn"), "neutral", N_("You have withdrawn this request.")),
    RequestStatus.expired: (
        N_("Expired – not confirmed in time"), "danger",
        N_("This request was not confirmed in time and has not reached the office. If you "
           "still need it, please send it again.")),
}
ACTIVE_APPOINTMENT = (AppointmentStatus.reserved, AppointmentStatus.confirmed,
                      AppointmentStatus.in_call)


@dataclass(frozen=True)
class AnswerView:
    label: str
    value: str
    retired: bool


@dataclass(frozen=True)
class DocumentView:
    id: int
    filename: str
    field: str
    size: str
    unscanned: bool


@dataclass(frozen=True)
class MessageView:
    from_office: bool
    at: str
    at_iso: str
    text: str


@dataclass(frozen=True)
class VideoAppointmentView:
    reference: str
    when: str
    status: str
    href: str


@dataclass
class RequestView:
    reference: str
    status: str
    status_label: str
    status_kind: str
    status_text: str
    service: str
    office: str
    office_address: str
    office_phone: str
    office_email: str
    submitted: str
    due: str
    rejection_reason: str
    answers: list[AnswerView] = field(default_factory=list)
    documents: list[DocumentView] = field(default_factory=list)
    messages: list[MessageView] = field(default_factory=list)
    question: MessageView | None = None
    wanted: list[FieldView] = field(default_factory=list)  # upload inputs
    video_invited: bool = False
    can_book_video: bool = False
    appointments: list[VideoAppointmentView] = field(default_factory=list)
    case: CaseView | None = None
    status_view: StatusView | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def can_confirm(self) -> bool:
        return self.status == RequestStatus.submitted

    @property
    def can_withdraw(self) -> bool:
        return self.status not in CLOSED_STATUSES


def size_text(t: Translator, size: int) -> str:
    if size < 1024 * 1024:
        return t.gettext("%(size)s KB", size=max(1, round(size / 1024)))
    return t.gettext("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1),
                                                        locale=t.locale))


def number_text(t: Translator, value: Any) -> str:
    """A number as written here, without thousands separators (a year, a chip count, a
    coordinate) and with up to six decimals."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    return format_decimal(value, format="0.######", locale=t.locale)


def answer_text(t: Translator, f: FormField, value: Any) -> str:
    """An answer for people: dates and numbers as written here, the option's label, yes/no."""
    if f.type == FieldType.date and isinstance(value, str):
        try:
            return t.date(dt.date.fromisoformat(value), "long")
        except ValueError:
            return value
    if f.type == FieldType.number:
        return number_text(t, value)
    if f.type == FieldType.checkbox:
        return t.gettext("Yes") if value is True else t.gettext("No")
    if f.type == FieldType.choice:
        option = next((o for o in field_options(f) if o.value == value), None)
        if option is not None:
            english = uses_english_data(t.lang)
            return option.label_en if english and option.label_en else option.label
    if f.type == FieldType.address and isinstance(value, dict):
        return t.gettext("%(street)s, %(postcode)s %(city)s", street=value.get("street", ""),
                         postcode=value.get("postcode", ""), city=value.get("city", ""))
    if f.type == FieldType.location and isinstance(value, dict):
        return t.gettext("Latitude %(lat)s, longitude %(lon)s",
                         lat=number_text(t, value.get("lat")), lon=number_text(t, value.get("lon")))
    return str(value)


def _answers(t: Translator, fields: list[FormField], held: Held) -> list[AnswerView]:
    by_key = {f.key: f for f in fields}
    return [AnswerView(a["label"], answer_text(t, by_key[a["key"]], a["value"]), a["retired"])
            for a in answers_out(fields, held.request, t.lang)]


def _wanted_keys(held: Held, fields: list[FormField], present: set[str],
                 question_keys: list[str]) -> list[str]:
    """The file fields the page offers an upload for: what the office asked for while it waits,
    required files still missing before the request is confirmed."""
    status = held.request.status
    if status == RequestStatus.waiting_for_citizen:
        return question_keys
    if status == RequestStatus.submitted:
        return missing_files(fields, present)
    return []


async def wanted_fields(session: AsyncSession, held: Held, offered: Offered) -> list[FormField]:
    """The file fields the request page offers an upload for now (see ``_wanted_keys``)."""
    assert held.case.id is not None
    messages = await online.messages_of(session, held.case.id)
    question = next((m for m in reversed(messages) if m.author == Author.office), None)
    present = {d.field_key for d in await online.documents_of(session, held.case.id)}
    keys = _wanted_keys(held, offered.fields, present,
                        question.requested_keys() if question else [])
    by_key = {f.key: f for f in offered.fields if f.type == FieldType.file}
    return [by_key[key] for key in keys if key in by_key]


async def _appointments(session: AsyncSession, state: AppContext, t: Translator,
                        appointments: list[Appointment]) -> list[VideoAppointmentView]:
    """The request's appointments (the identity check by video), each with its own link."""
    found = []
    for appointment in appointments:
        office = await session.get(Office, appointment.office_id)
        tz = office.timezone if office else "Europe/Berlin"
        label = APPOINTMENT_LABELS.get(appointment.status, (appointment.status, ""))[0]
        when = t.gettext("%(date)s, %(time)s", date=t.date(
            local_day(appointment.start_at, office), "full") if office else "",
            time=time_range(t, appointment.start_at, appointment.end_at, tz))
        found.append(VideoAppointmentView(
            reference=appointment.reference, when=when, status=t.gettext(label),
            href=f"/t/{state.links.token_for(appointment.link_nonce)}"))
    return found


def _active(appointments: list[Appointment]) -> bool:
    return any(a.status in ACTIVE_APPOINTMENT for a in appointments)


async def video_booked(session: AsyncSession, case_id: int) -> bool:
    """The request has a video appointment that is still to come or running (one is enough)."""
    return _active(await appointments_of(session, case_id))


async def request_view(session: AsyncSession, state: AppContext, t: Translator, held: Held,
                       *, errors: dict[str, str] | None = None) -> RequestView:
    case, request = held.case, held.request
    assert case.id is not None
    service = await session.get(Service, case.service_id)
    office = await session.get(Office, case.office_id)
    if service is None or office is None:
        raise NotFound()
    offered = await catalogue.online_service(session, case.service_id)
    messages = await online.messages_of(session, case.id)
    documents = await online.documents_of(session, case.id)
    tz = office.timezone
    labels = {f.key: label_of(f, t.lang) for f in offered.fields}
    last_question = next((m for m in reversed(messages) if m.author == Author.office), None)
    wanted = _wanted_keys(held, offered.fields, {d.field_key for d in documents},
                          last_question.requested_keys() if last_question else [])
    file_fields = {f.key: f for f in offered.fields if f.type == FieldType.file}
    label, kind, text = STATUSES.get(request.status, (request.status, "neutral", ""))
    view = RequestView(
        reference=case.reference, status=request.status, status_label=t.gettext(label),
        status_kind=kind, status_text=t.gettext(text) if text else "",
        service=service_name(service, t.lang), office=office.name,
        office_address=office.address, office_phone=office.phone, office_email=office.email,
        submitted=t.datetime(request.submitted_at, tz, "medium"),
        due=t.date(local_day(request.due_at, office), "long")
        if request.due_at and request.status in OPEN_STATUSES else "",
        rejection_reason=request.rejection_reason
        if request.status == RequestStatus.rejected else "",
        answers=_answers(t, offered.fields, held),
        documents=[DocumentView(d.id or 0, d.filename, labels.get(d.field_key, d.field_key),
                                size_text(t, d.size), d.scanned != "clean") for d in documents],
        messages=[MessageView(m.author == Author.office, t.datetime(m.created_at, tz, "medium"),
                              iso(m.created_at, tz), m.text) for m in messages],
        wanted=[field_view(t, file_fields[key], {}, errors or {}) for key in wanted
                if key in file_fields],
    )
    if request.status == RequestStatus.waiting_for_citizen and last_question is not None:
        view.question = next(m for m in reversed(view.messages) if m.from_office)
    appointments = await appointments_of(session, case.id)
    view.appointments = await _appointments(session, state, t, appointments)
    view.video_invited = (request.video_invited_at is not None
                          and request.status in OPEN_STATUSES
                          and offered.online.video_service_id is not None)
    view.can_book_video = view.video_invited and not _active(appointments)
    rows = milestone_views(t, await milestones(session, case.id), tz)
    if case.state == CaseState.completed:
        view.case = case_view(t, case, await case_items(session, case.id), office)
    fee_doc, is_receipt, receipt = case_documents(case) if view.case else (False, False, False)
    view.status_view = StatusView(milestones=rows, fee_document=fee_doc,
                                  fee_document_is_receipt=is_receipt, receipt=receipt,
                                  feedback_open=False, feedback_rating=None, feedback_notice="")
    return view
