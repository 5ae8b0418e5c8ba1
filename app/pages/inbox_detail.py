"""What one online request's page shows the clerk (``/staff/requests/{reference}``): the
citizen, the answers (retired fields marked), the documents, the messages, the identity checks
and appointments, the case once decided, and the forms of what can be done next with the
values and errors of a refused post.

The request's data is the API's (``app.api.online_clerk.request_details``), put into the
page's words here; the completion form is the call page's (``app.pages.desk_views``), so its
fee schedule, payments and deliveries are offered alike. Message ids are English, translated
in ``core/locales/de/LC_MESSAGES/inbox.po``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.online_clerk import request_details
from app.pages.desk_views import (
    DELIVERIES,
    PAYMENTS,
    FormState,
    case_view,
    completion_defaults,
    fee_schedule,
    service_label,
    verification_view,
)
from app.pages.inbox_views import STATUS_KINDS, citizen_name, status_label
from app.pages.staff import STATUS_LABELS as APPOINTMENT_LABELS
from cases import completion as cases
from cases.identity import identity_checks
from core.i18n import Translator
from online.catalogue import online_service
from online.inbox import Entry
from online.models import OPEN_STATUSES, FieldType, Identity
from staff.models import StaffUser
from staff.service import list_users, user_office_ids

JOINABLE = frozenset({"confirmed", "in_call"})


@dataclass
class Forms:
    """The request page's forms: values and errors of a refused post (else their defaults)."""

    assign: FormState = field(default_factory=lambda: FormState({"staff_id": ""}))
    ask: FormState = field(default_factory=lambda: FormState({"text": "", "documents": []}))
    reject: FormState = field(default_factory=lambda: FormState({"reason": ""}))
    invite: FormState = field(default_factory=FormState)
    completion: FormState | None = None


@dataclass(frozen=True)
class Answer:
    label: str
    text: str
    retired: bool


@dataclass(frozen=True)
class Document:
    id: int
    field: str
    filename: str
    size: str
    uploaded: str
    unscanned: bool


@dataclass(frozen=True)
class Message:
    from_citizen: bool
    author: str
    when: str
    text: str
    requested: list[str]


@dataclass(frozen=True)
class FileField:
    key: str
    label: str
    documents: int


@dataclass
class RequestView:
    reference: str
    service: str
    office: str
    status: str
    status_label: str
    kind: str
    is_open: bool
    attention: bool
    citizen: list[tuple[str, str]]
    facts: list[tuple[str, str]]
    overdue: bool
    answers: list[Answer]
    documents: list[Document]
    messages: list[Message]
    identity: str
    identity_verified: bool
    verifications: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    video_configured: bool
    video_invited: bool
    clerks: list[tuple[str, str]]
    assigned_id: int | None
    file_fields: list[FileField]
    case: dict[str, Any] | None
    rejection_reason: str
    forms: Forms
    # What the call page's completion form needs (app/templates/call/_desk_macros.html).
    completion: FormState
    services: list[dict[str, Any]]
    payments: list[dict[str, str]]
    deliveries: list[dict[str, str]]
    requires_identity: bool


def _when(t: Translator, value: str | None, tz: str) -> str:
    return t.datetime(datetime.fromisoformat(value), tz, "short") if value else ""


def size_text(t: Translator, size: int) -> str:
    if size >= 1024 * 1024:
        return t.gettext("%(size)s MB", size=f"{size / 1024 / 1024:.1f}".replace(
            ".", "," if t.lang == "de" else "."))
    return t.gettext("%(size)s KB", size=max(1, round(size / 1024)))


def answer_text(t: Translator, answer: dict[str, Any], spec: dict[str, Any] | None) -> str:
    """An answer in words: a date as a date, a box as yes or no, a choice by its label."""
    value, kind = answer["value"], answer["type"]
    if kind == FieldType.checkbox:
        return t.gettext("yes") if value else t.gettext("no")
    if kind == FieldType.date and isinstance(value, str):
        try:
            return t.date(date.fromisoformat(value), "long")
        except ValueError:
            return value
    if kind == FieldType.choice and spec is not None:
        for option in spec["options"]:
            if option["value"] == value:
                return str(option["label_en"] if t.lang == "en" and option["label_en"]
                           else option["label"])
    if kind == FieldType.address and isinstance(value, dict):
        return f"{value.get('street', '')}\n{value.get('postcode', '')} {value.get('city', '')}"
    if kind == FieldType.location and isinstance(value, dict):
        return t.gettext("Latitude %(lat)s, longitude %(lon)s", lat=value.get("lat"),
                         lon=value.get("lon"))
    return str(value)


def _options(t: Translator, labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": key, "title": t.gettext(msgid)} for key, msgid in labels.items()]


async def office_clerks(session: AsyncSession, office_id: int) -> list[StaffUser]:
    """The active accounts that work for the office (those a request may be handed to)."""
    users = [u for u in await list_users(session) if u.active and u.id is not None]
    offices = await user_office_ids(session, [u.id for u in users if u.id is not None])
    return [u for u in users if u.id is not None and office_id in offices.get(u.id, [])]


def _messages(t: Translator, details: dict[str, Any], labels: dict[str, str],
              tz: str) -> list[Message]:
    return [Message(
        from_citizen=m["author"] == "citizen",
        author=t.gettext("Citizen") if m["author"] == "citizen" else t.gettext("Office"),
        when=_when(t, m["at"], tz), text=m["text"],
        requested=[labels.get(k, k) for k in m["documents_requested"]],
    ) for m in details["messages"]]


async def request_view(session: AsyncSession, t: Translator, user: StaffUser, entry: Entry, *,
                       online_payment: bool, now: datetime,
                       forms: Forms | None = None) -> RequestView:
    """The page of ``entry`` as it stands now, with a refused form's values and errors."""
    forms = forms or Forms()
    details = await request_details(session, entry, t.lang)
    case, request, tz = entry.case, entry.request, entry.office.timezone
    assert case.id is not None
    specs = {f["key"]: f for f in details["fields"]}
    labels = {f["key"]: (f["label_en"] if t.lang == "en" and f["label_en"] else f["label"])
              for f in details["fields"]}
    documents = details["documents"]
    present = [d["field"] for d in documents]
    checks = await identity_checks(session, case.id)
    clerks = await office_clerks(session, case.office_id)
    due = request.due_at
    overdue = due is not None and request.status in OPEN_STATUSES and due < now
    decided = None
    if case.case_number:
        decided = case_view(t, case, await cases.case_items(session, case.id))
    payments = {k: v for k, v in PAYMENTS.items() if k != "online" or online_payment}
    return RequestView(
        reference=case.reference, service=details["service"]["name"],
        office=entry.office.name, status=request.status,
        status_label=status_label(t, request.status),
        kind=STATUS_KINDS.get(request.status, "neutral"),
        is_open=request.status in OPEN_STATUSES, attention=request.needs_attention,
        citizen=[(label, value) for label, value in (
            (t.gettext("Name"), citizen_name(t, case, request.anonymous)),
            (t.gettext("E-mail address"), case.email),
            (t.gettext("Phone"), case.phone),
            (t.gettext("Date of birth"),
             t.date(case.date_of_birth, "long") if case.date_of_birth else ""),
        ) if value],
        facts=[(label, value) for label, value in (
            (t.gettext("Office"), entry.office.name),
            (t.gettext("Submitted"), _when(t, details["submitted_at"], tz)),
            (t.gettext("Due"), t.datetime(due, tz, "short") if due else ""),
            (t.gettext("Assigned to"), request.assigned_label or t.gettext("nobody yet")),
        ) if value],
        overdue=overdue,
        answers=[Answer(a["label"], answer_text(t, a, specs.get(a["key"])), a["retired"])
                 for a in details["answers"]],
        documents=[Document(d["id"], labels.get(d["field"], d["field"]), d["filename"],
                            size_text(t, d["size"]), _when(t, d["uploaded_at"], tz),
                            not d["scanned"]) for d in documents],
        messages=_messages(t, details, labels, tz),
        identity=details["identity"], identity_verified=details["identity_verified"],
        verifications=[verification_view(t, c, tz) for c in checks],
        appointments=[{
            "reference": a["reference"], "when": _when(t, a["start"], tz),
            "status": t.gettext(APPOINTMENT_LABELS.get(a["status"], a["status"])),
            "joinable": a["status"] in JOINABLE,
        } for a in details["appointments"]],
        video_configured=await _video_configured(session, entry),
        video_invited=details["video_invited"],
        clerks=[(str(u.id), u.display_name or u.email) for u in clerks],
        assigned_id=request.assigned_to_id,
        file_fields=[FileField(f["key"], labels[f["key"]], present.count(f["key"]))
                     for f in details["fields"]
                     if f["type"] == FieldType.file and not f["retired"]],
        case=decided, rejection_reason=request.rejection_reason, forms=forms,
        completion=forms.completion or completion_defaults(entry.service),
        services=[{"value": str(s.id), "title": service_label(t, s), "fee": s.fee_cents,
                   "currency": s.currency} for s in await fee_schedule(session)],
        payments=_options(t, payments), deliveries=_options(t, DELIVERIES),
        requires_identity=details["identity"] == Identity.video,
    )


async def _video_configured(session: AsyncSession, entry: Entry) -> bool:
    offered = await online_service(session, entry.case.service_id)
    return offered.online.video_service_id is not None
