"""Request and response models of the clerk's desk API (identity check, completion, no-show,
reopening), the citizen's view of the case, and the admin's audit browser.

The identity check's body refuses unknown fields (``extra="forbid"``, 422): whatever a client
sends beyond the listed fields (an image, a document number) is turned away rather than
silently dropped, so it is clear that nothing of the kind is kept. The other bodies ignore
unknown fields like the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.api.schemas import CitizenCaseItemOut, CitizenCaseOut, DateParam, Id, IsoDate, iso
from cases.identity import SECURITY_FEATURES
from cases.models import Case, CaseItem, IdentityCheck
from core.audit import AuditEvent
from core.i18n import uses_english_data
from privacy.audit_log import detail_of, reference_of

CheckName = Literal[
    "photo_matches", "name_matches", "birth_date_matches", "document_valid", "hologram",
    "colour_shift", "tactile_relief", "micro_text", "laser_photo", "security_questions",
]
DocumentTypeName = Literal["id_card", "passport", "residence_permit", "other"]
ReasonCodeName = Literal[
    "poor_image_quality", "document_expired", "photo_mismatch", "data_mismatch",
    "security_features", "other",
]


# --- requests ----------------------------------------------------------------------------------


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1000)

    document_type: DocumentTypeName
    checks: list[CheckName] = Field(
        default_factory=list, max_length=20,
        description="Ticked items of the checklist. `verified` needs `photo_matches`, "
        "`name_matches`, `birth_date_matches`, `document_valid`, `security_questions` and at "
        "least three security features (`hologram`, `colour_shift`, `tactile_relief`, "
        "`micro_text`, `laser_photo`).",
    )
    outcome: Literal["verified", "failed"]
    reason_code: ReasonCodeName | None = Field(
        default=None,
        description="Why it failed. `poor_image_quality`: the clerk aborted because the "
        "document could not be seen well enough on camera.",
    )
    reason: str = Field(default="", max_length=300,
                        description="Required for `failed` unless `reason_code` is given.")
    valid_until: IsoDate | None = Field(
        default=None, description="The document's expiry date; a `verified` check refuses an "
        "expired document.",
    )
    note: str = Field(default="", max_length=500,
                      description="Never a document number: text shaped like one is refused.")
    person: Annotated[StrictInt, Field(ge=1, le=20)] = Field(
        default=1, description="Whose document: 1 is the applicant, 2, 3, ... further people "
        "of the same request (e.g. a family). Completion needs the applicant's.",
    )


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    service_id: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=20)] = 1
    person: Annotated[StrictInt, Field(ge=1, le=20)] | None = Field(
        default=None, description="Whose item, for an appointment of several people: 1 the "
        "applicant, 2, 3, ... the further persons. A service may then appear once per person.")


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1000)

    items: list[ItemIn] = Field(min_length=1, max_length=20,
                                description="Services from the fee schedule, each once.")
    payment: Literal["invoice", "online", "none"] = Field(
        description="`invoice`: fee notice with bank transfer. A total of 0 needs none."
    )
    delivery: Literal["post", "email", "pickup", "external"]
    external_authority: str = Field(
        default="", max_length=200,
        description="Required for `external`: the authority that sends the document, e.g. "
        "`Bundesamt für Justiz`.",
    )
    note: str = Field(default="", max_length=1000, description="Internal note for staff.")
    postal_address: list[str] = Field(
        default_factory=list, max_length=5,
        description="The citizen's postal address as confirmed in the call (the lines after "
        "the name, 1 to 5 of at most 60 characters); stored when given. Delivery by `post` "
        "without a postal address on record is refused with 422 `postal_address_missing`.",
    )


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=300)
    reason: str = Field(default="", max_length=300, description="Kept in the audit trail.")


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=254, populate_by_name=True)

    from_: DateParam | None = Field(
        default=None, alias="from",
        description="From this day (YYYY-MM-DD, local time) or instant (ISO 8601), inclusive.",
    )
    to: DateParam | None = Field(
        default=None, description="To this day (inclusive) or instant (exclusive).",
    )
    actor: str | None = Field(default=None, description="Part of the actor's e-mail address, "
                              "or `system` / `citizen`.")
    action: str | None = Field(default=None, max_length=60,
                               description="An action (`case.complete`) or a prefix (`case.*`).")
    reference: str | None = Field(default=None, max_length=40,
                                  description="An appointment reference or a case number.")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=200)


# --- responses ---------------------------------------------------------------------------------


class VerificationOut(BaseModel):
    id: int
    person: int
    checked_at: str
    checked_by: str
    document_type: str
    checks: list[str]
    security_features: list[str]
    outcome: str
    reason_code: str | None
    reason: str
    valid_until: str | None
    note: str


class VerificationResult(BaseModel):
    reference: str
    identity_verified: bool
    verification: VerificationOut


class CaseItemOut(BaseModel):
    service_id: int | None
    person: int | None = Field(default=None, description="Whose item (see `items[].person`).")
    name: str
    fee_schedule_ref: str
    quantity: int
    unit_fee_cents: int
    amount_cents: int
    currency: str


class CaseOut(BaseModel):
    case_number: str = Field(description="The Kassenzeichen; the payment reference.")
    state: Literal["completed", "reopened"]
    revision: int
    amount_cents: int
    currency: str
    payment: Literal["invoice", "online", "none"]
    payment_status: Literal["not_required", "open", "paid", "failed", "refunded"]
    delivery: Literal["post", "email", "pickup", "external"]
    dispatch_status: Literal["not_required", "queued", "printed", "posted", "delivered",
                             "returned", "cancelled", "forwarded"]
    external_authority: str | None
    due_date: str | None
    completed_at: str
    completed_by: str
    note: str
    items: list[CaseItemOut]


class CaseResult(BaseModel):
    reference: str
    status: str
    case: CaseOut


class StatusResult(BaseModel):
    reference: str
    status: str
    case: CaseOut | None = None


class DeskOut(BaseModel):
    """Everything the clerk's panels need beside the call."""

    reference: str
    status: str
    requires_identity: bool
    identity_verified: bool
    verification: VerificationOut | None = Field(description="The latest check: it counts.")
    verifications: list[VerificationOut]
    case: CaseOut | None


class AuditEventOut(BaseModel):
    id: int
    at: str
    actor_type: str
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    reference: str | None
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    items: list[AuditEventOut]
    page: int
    per_page: int
    pages: int
    total: int
    timezone: str = Field(description="The zone of the times and of date filters.")


# --- rendering ---------------------------------------------------------------------------------


def verification_out(check: IdentityCheck, tz: str) -> dict[str, Any]:
    names = check.check_list()
    return VerificationOut(
        id=check.id or 0, person=check.person, checked_at=iso(check.checked_at, tz),
        checked_by=check.checked_by_label, document_type=check.document_type, checks=names,
        security_features=[n for n in names if n in SECURITY_FEATURES], outcome=check.outcome,
        reason_code=check.reason_code or None, reason=check.reason,
        valid_until=check.valid_until.isoformat() if check.valid_until else None,
        note=check.note,
    ).model_dump()


def _item_name(item: CaseItem, lang: str) -> str:
    return item.name_en if uses_english_data(lang) and item.name_en else item.name


def case_out(case: Case, items: list[CaseItem], tz: str, lang: str) -> dict[str, Any]:
    return CaseOut.model_validate({
        "case_number": case.case_number, "state": case.state, "revision": case.revision,
        "amount_cents": case.amount_cents, "currency": case.currency, "payment": case.payment,
        "payment_status": case.payment_status, "delivery": case.delivery,
        "dispatch_status": case.dispatch_status,
        "external_authority": case.external_authority or None,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "completed_at": iso(case.decided_at, tz), "completed_by": case.completed_by_label,
        "note": case.note,
        "items": [
            CaseItemOut(service_id=i.service_id, person=i.person, name=_item_name(i, lang),
                        fee_schedule_ref=i.fee_schedule_ref, quantity=i.quantity,
                        unit_fee_cents=i.unit_fee_cents, amount_cents=i.amount_cents,
                        currency=i.currency)
            for i in items
        ],
    }).model_dump()


def citizen_case_out(case: Case, items: list[CaseItem], lang: str) -> dict[str, Any]:
    """What the citizen sees: no staff names, no internal note."""
    return CitizenCaseOut.model_validate({
        "case_number": case.case_number, "amount_cents": case.amount_cents,
        "currency": case.currency, "payment": case.payment,
        "payment_status": case.payment_status,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "delivery": case.delivery, "dispatch_status": case.dispatch_status,
        "external_authority": case.external_authority or None,
        "items": [
            CitizenCaseItemOut(name=_item_name(i, lang), person=i.person,
                               fee_schedule_ref=i.fee_schedule_ref,
                               quantity=i.quantity, unit_fee_cents=i.unit_fee_cents,
                               amount_cents=i.amount_cents, currency=i.currency)
            for i in items
        ],
    }).model_dump()


def audit_event_out(event: AuditEvent, tz: str) -> dict[str, Any]:
    return AuditEventOut(
        id=event.id or 0, at=iso(event.at, tz), actor_type=event.actor_type,
        actor_id=event.actor_id, actor=event.actor_label, action=event.action,
        object_type=event.object_type, object_id=event.object_id,
        reference=reference_of(event), detail=detail_of(event),
    ).model_dump()
