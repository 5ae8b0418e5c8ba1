"""Bodies and answers of the online-services API (CONTRACT "Online services"), and how requests,
services and their fields are rendered for citizens and clerks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from app.api.schemas import Email, Id, IsoDate, IsoDateTime, Phone, iso
from booking.catalog import service_description, service_name
from booking.models import Office, Service
from cases.models import Case
from core.i18n import Language, uses_english_data
from online.catalogue import Offered
from online.forms import field_options, max_bytes_of
from online.models import FieldType, FormField, OnlineRequest, RequestDocument, RequestMessage
from online.requests import answers_of

OptionalName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


# --- admin -------------------------------------------------------------------------------------


class FieldIn(_Strict):
    key: str
    label: str
    label_en: str = ""
    type: Literal["text", "textarea", "date", "number", "email", "choice", "checkbox",
                  "address", "file", "location"]
    required: bool = False
    options: list[Any] | None = None
    max_bytes: int | None = None
    hint: str = ""
    hint_en: str = ""


class OnlineServicePatch(_Strict):
    name: str | None = None
    name_en: str | None = None
    description: str | None = None
    description_en: str | None = None
    office_ids: list[int] | None = None
    fee_cents: int | None = None
    currency: str | None = None
    fee_schedule_ref: str | None = None
    identity: Literal["none", "video"] | None = None
    processing_days: int | None = None
    anonymous_allowed: bool | None = None
    video_service_id: int | None = None
    active: bool | None = None
    sort_order: int | None = None
    fields: list[dict[str, Any]] | None = Field(
        default=None, description="The whole form in order (FieldIn each): a new key is "
        "added, a known key changed, a key left out retired (its answers stay readable).")


class OnlineServiceCreate(OnlineServicePatch):
    name: str


class OptionOut(BaseModel):
    value: str
    label: str
    label_en: str = ""


class FieldOut(BaseModel):
    key: str
    label: str
    label_en: str
    hint: str
    hint_en: str
    type: str
    required: bool
    options: list[OptionOut]
    max_bytes: int | None
    retired: bool


class OnlineServiceOut(BaseModel):
    id: int
    name: str
    name_en: str
    description: str
    description_en: str
    office_ids: list[int]
    fee_cents: int
    currency: str
    fee_schedule_ref: str
    identity: str
    processing_days: int
    anonymous_allowed: bool
    video_service_id: int | None
    active: bool
    sort_order: int
    fields: list[FieldOut]


class OnlineServiceList(RootModel[list[OnlineServiceOut]]):
    pass


def field_out(field: FormField) -> dict[str, Any]:
    return {
        "key": field.key, "label": field.label, "label_en": field.label_en, "hint": field.hint,
        "hint_en": field.hint_en, "type": field.type, "required": field.required,
        "options": [o.to_json() for o in field_options(field)],
        "max_bytes": max_bytes_of(field) if field.type == FieldType.file else None,
        "retired": field.retired_at is not None,
    }


def online_service_out(offered: Offered) -> dict[str, Any]:
    service, online = offered.service, offered.online
    return {
        "id": service.id, "name": service.name, "name_en": service.name_en,
        "description": service.description, "description_en": service.description_en,
        "office_ids": offered.office_ids, "fee_cents": service.fee_cents,
        "currency": service.currency, "fee_schedule_ref": service.fee_schedule_ref,
        "identity": online.identity, "processing_days": online.processing_days,
        "anonymous_allowed": online.anonymous_allowed,
        "video_service_id": online.video_service_id, "active": service.active,
        "sort_order": service.sort_order, "fields": [field_out(f) for f in offered.fields],
    }


# --- public ------------------------------------------------------------------------------------


class PublicFieldOut(BaseModel):
    key: str
    label: str
    hint: str
    type: str
    required: bool
    options: list[OptionOut] | None = None
    max_bytes: int | None = None


class PublicOnlineServiceOut(BaseModel):
    id: int
    name: str
    description: str
    fee_cents: int
    currency: str
    identity: str
    processing_days: int
    anonymous_allowed: bool
    office_ids: list[int]
    fields: list[PublicFieldOut]


def label_of(field: FormField, lang: str) -> str:
    return field.label_en if uses_english_data(lang) and field.label_en else field.label


def hint_of(field: FormField, lang: str) -> str:
    return field.hint_en if uses_english_data(lang) and field.hint_en else field.hint


def public_field_out(field: FormField, lang: str) -> dict[str, Any]:
    body: dict[str, Any] = {"key": field.key, "label": label_of(field, lang),
                            "hint": hint_of(field, lang), "type": field.type,
                            "required": field.required}
    if field.type == FieldType.choice:
        english = uses_english_data(lang)
        body["options"] = [{"value": o.value,
                            "label": o.label_en if english and o.label_en else o.label}
                           for o in field_options(field)]
    if field.type == FieldType.file:
        body["max_bytes"] = max_bytes_of(field)
    return body


def public_service_out(offered: Offered, lang: str) -> dict[str, Any]:
    service = offered.service
    return {
        "id": service.id, "name": service_name(service, lang),
        "description": service_description(service, lang), "fee_cents": service.fee_cents,
        "currency": service.currency, "identity": offered.identity,
        "processing_days": offered.online.processing_days,
        "anonymous_allowed": offered.online.anonymous_allowed,
        "office_ids": offered.office_ids,
        "fields": [public_field_out(f, lang) for f in offered.in_force],
    }


class RequestCitizenIn(_Strict):
    given_name: OptionalName = ""
    family_name: OptionalName = ""
    email: Email
    phone: Phone = ""
    date_of_birth: IsoDate | None = None


class RequestIn(_Strict):
    service_id: Id
    office_id: Id
    citizen: RequestCitizenIn
    answers: dict[str, Any] = Field(default_factory=dict)
    locale: Language | None = None


class RequestCreated(BaseModel):
    reference: str
    status: str


# --- the citizen's link and the clerk's view ---------------------------------------------------


class MessageIn(_Strict):
    text: str


class ClerkMessageIn(_Strict):
    text: str
    documents_requested: list[str] = Field(default_factory=list)


class RejectIn(_Strict):
    reason: str


class AssignIn(_Strict):
    staff_id: Id | None = None


class VideoBookingIn(_Strict):
    start: IsoDateTime


class DocumentOut(BaseModel):
    id: int
    field: str
    filename: str
    size: int
    content_type: str
    scanned: bool
    uploaded_at: str


class MessageOut(BaseModel):
    id: int
    author: str
    text: str
    documents_requested: list[str]
    at: str


class RequestMeOut(BaseModel):
    reference: str
    kind: Literal["request"]
    status: str
    service: dict[str, Any]
    office: dict[str, Any]
    answers: list[dict[str, Any]]
    documents: list[DocumentOut]
    messages: list[MessageOut]
    documents_requested: list[str]
    case: dict[str, Any] | None
    submitted_at: str
    due_at: str | None
    video_invited: bool


class InboxItemOut(BaseModel):
    reference: str
    service: dict[str, Any]
    office: dict[str, Any]
    status: str
    submitted_at: str
    due_at: str | None
    overdue: bool
    needs_attention: bool
    assigned_to: str
    citizen: dict[str, Any]


def document_out(document: RequestDocument, tz: ZoneInfo) -> dict[str, Any]:
    return {"id": document.id, "field": document.field_key, "filename": document.filename,
            "size": document.size, "content_type": document.content_type,
            "scanned": document.scanned == "clean", "uploaded_at": iso(document.created_at, tz)}


def message_out(message: RequestMessage, tz: ZoneInfo) -> dict[str, Any]:
    return {"id": message.id, "author": message.author, "text": message.text,
            "documents_requested": message.requested_keys(),
            "at": iso(message.created_at, tz)}


def answers_out(fields: list[FormField], request: OnlineRequest, lang: str,
                ) -> list[dict[str, Any]]:
    """Each answered field with its label, retired fields included (their answers stay)."""
    given = answers_of(request)
    return [{"key": f.key, "label": label_of(f, lang), "type": f.type, "value": given[f.key],
             "retired": f.retired_at is not None} for f in fields if f.key in given]


def citizen_out(case: Case) -> dict[str, Any]:
    return {"given_name": case.given_name, "family_name": case.family_name,
            "email": case.email, "phone": case.phone,
            "date_of_birth": case.date_of_birth.isoformat() if case.date_of_birth else None}


def names_out(service: Service, office: Office, lang: str) -> tuple[dict[str, Any],
                                                                    dict[str, Any]]:
    return ({"id": service.id, "name": service_name(service, lang)},
            {"id": office.id, "name": office.name, "address": office.address,
             "phone": office.phone, "email": office.email})


def when(value: datetime | None, tz: ZoneInfo) -> str | None:
    return iso(value, tz) if value is not None else None
