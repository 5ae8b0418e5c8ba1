"""What the clerk's desk panels show beside the call: the identity checklist and the completion
form (with the values and errors of a failed submission), the latest recorded check and the case.

Built from the same domain services the bearer API uses (``cases.identity``,
``cases.completion``); rendered by ``app/templates/call/_desk_panels.html``. Message ids are
English, translated in ``core/locales/de/LC_MESSAGES/desk.po``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.pages.desk_party import person_label, persons_view
from app.pages.staff import STATUS_LABELS
from booking.models import Appointment, AppointmentStatus, Service
from booking.service import appointment_details
from cases import completion as cases
from cases.identity import (
    CHECKABLE,
    FEATURES_BY_TYPE,
    MIN_FEATURES,
    applicant_check,
    identity_checks,
)
from cases.models import Case, CaseItem, DocumentType, IdentityCheck, Outcome, ReasonCode
from core.i18n import Translator
from core.messages import N_
from postcall.dispatch import postal_address

ITEM_ROWS = 4  # fee-schedule rows in the form; more than one service per call is rare
DEFAULT_AUTHORITY = "Bundesamt für Justiz"  # posts the certificate of good conduct itself

DOCUMENT_TYPES: dict[str, str] = {
    DocumentType.id_card: N_("ID card"),
    DocumentType.passport: N_("Passport"),
    DocumentType.residence_permit: N_("Residence permit"),
    DocumentType.other: N_("Other document"),
}
# The legend of each type's group of security features.
FEATURE_GROUPS: dict[str, str] = {
    DocumentType.id_card: N_("Security features of the ID card"),
    DocumentType.passport: N_("Security features of the passport"),
    DocumentType.residence_permit: N_("Security features of the residence permit"),
    DocumentType.other: N_("Security features of the document"),
}
FEATURES: dict[str, str] = {
    "hologram": N_("Hologram (Identigram)"),
    "colour_shift": N_("Colour-changing ink"),
    "tactile_relief": N_("Tactile relief"),
    "micro_text": N_("Micro-text"),
    "laser_photo": N_("Laser-engraved photo"),
}
# Order and wording of the checklist; the two with booking data show it beside the box.
CHECKS: dict[str, str] = {
    "photo_matches": N_("The photo matches the person"),
    "name_matches": N_("The name matches the booking"),
    "birth_date_matches": N_("The date of birth matches the booking"),
    "document_valid": N_("The document is valid"),
}
QUESTIONS_LABEL = N_("Security questions asked and answered correctly")
REASONS: dict[str, str] = {
    ReasonCode.poor_image_quality: N_("Poor image quality"),
    ReasonCode.document_expired: N_("Document expired"),
    ReasonCode.photo_mismatch: N_("Photo does not match the person"),
    ReasonCode.data_mismatch: N_("Name or date of birth do not match"),
    ReasonCode.security_features: N_("Security features not convincing"),
    ReasonCode.other: N_("Other reason"),
}
PAYMENTS: dict[str, str] = {
    "invoice": N_("Fee notice (bank transfer)"),
    "online": N_("Online payment"),
    "none": N_("No payment (free of charge)"),
}
DELIVERIES: dict[str, str] = {
    "post": N_("By post"),
    "email": N_("By e-mail"),
    "pickup": N_("Pickup at the office"),
    "external": N_("Sent by another authority"),
}


@dataclass
class FormState:
    """One form's values and its errors (field id -> translated message; "" for the form)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def identity_defaults() -> FormState:
    return FormState({
        "document_type": "", "checks": [], "features": [], "valid_until": "", "outcome": "",
        "reason_code": "", "reason": "", "note": "", "person": "1",
    })


def is_good_conduct(service: Service) -> bool:
    names = f"{service.name} {service.name_en}".lower()
    return "führungszeugnis" in names or "good conduct" in names


def completion_defaults(service: Service, address: tuple[str, ...] = ()) -> FormState:
    rows = [{"service": "", "quantity": "1", "person": ""} for _ in range(ITEM_ROWS)]
    rows[0]["service"] = str(service.id)
    external = is_good_conduct(service)
    return FormState({
        "rows": rows,
        "payment": "invoice" if service.fee_cents > 0 else "none",
        "delivery": "external" if external else "post",
        "external_authority": DEFAULT_AUTHORITY if external else "",
        "note": "",
        "postal_address": "\n".join(address),
    })


def _options(t: Translator, labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": str(value), "title": t.gettext(msgid)} for value, msgid in labels.items()]


async def fee_schedule(session: AsyncSession) -> list[Service]:
    query = (select(Service).where(col(Service.active).is_(True))
             .order_by(col(Service.sort_order), col(Service.name), col(Service.id)))
    return list((await session.execute(query)).scalars())


def service_label(t: Translator, service: Service) -> str:
    name = service.name_en if t.lang == "en" and service.name_en else service.name
    fee = (t.money(service.fee_cents, service.currency) if service.fee_cents
           else t.gettext("free of charge"))
    return f"{name} ({fee})"


def verification_view(t: Translator, check: IdentityCheck, tz: str) -> dict[str, Any]:
    names = check.check_list()
    return {
        "verified": check.outcome == Outcome.verified,
        "outcome": t.gettext("Identity verified") if check.outcome == Outcome.verified
        else t.gettext("Identity not verified"),
        "document_type": t.gettext(DOCUMENT_TYPES.get(check.document_type,
                                                      check.document_type)),
        "features": [t.gettext(FEATURES[n]) for n in names if n in FEATURES],
        "when": t.datetime(check.checked_at, tz, "short"),
        "by": check.checked_by_label,
        "reason": t.gettext(REASONS[check.reason_code]) if check.reason_code in REASONS else "",
        "reason_text": check.reason,
        "valid_until": t.date(check.valid_until, "medium") if check.valid_until else "",
    }


def case_view(t: Translator, case: Case, items: list[CaseItem]) -> dict[str, Any]:
    delivery = t.gettext(DELIVERIES.get(case.delivery, case.delivery))
    if case.external_authority:
        delivery = f"{delivery}: {case.external_authority}"
    return {
        "case_number": case.case_number,
        "state": case.state,
        "total": t.money(case.amount_cents, case.currency) if case.amount_cents
        else t.gettext("free of charge"),
        "payment": t.gettext(PAYMENTS.get(case.payment, case.payment)),
        "delivery": delivery,
        "due_date": t.date(case.due_date, "medium") if case.due_date else "",
        "items": [
            {"name": item.name_en if t.lang == "en" and item.name_en else item.name,
             "quantity": item.quantity,
             "amount": t.money(item.amount_cents, item.currency) if item.amount_cents
             else t.gettext("free of charge")}
            for item in items
        ],
    }


@dataclass
class DeskView:
    """Everything the panels render; ``parts`` says which of them a fragment carries."""

    reference: str
    status: str
    status_label: str
    checkable: bool
    completable: bool
    no_show_possible: bool
    requires_identity: bool
    identity_verified: bool
    citizen: str
    date_of_birth: str
    verification: dict[str, Any] | None
    checks_done: int
    case: dict[str, Any] | None
    document_types: list[dict[str, str]]
    feature_groups: list[dict[str, Any]]
    check_items: list[dict[str, str]]
    questions_label: str
    reasons: list[tuple[str, str]]
    services: list[dict[str, Any]]
    payments: list[dict[str, str]]
    deliveries: list[dict[str, str]]
    min_features: int = MIN_FEATURES
    identity: FormState = field(default_factory=identity_defaults)
    completion: FormState = field(default_factory=FormState)
    parts: tuple[str, ...] = ("identity", "completion")
    # The citizen's postal address is known (given at booking or taken down before): the
    # completion form shows it for the clerk to confirm with the citizen.
    address_on_record: bool = False
    channel: str = "video"  # the call page's or the desk page's panels (``booking.channels``)
    announce: str = ""
    focus: str = ""
    # The people of a family appointment with their checks (app/pages/desk_party.py); empty
    # for one person.
    persons: list[dict[str, Any]] = field(default_factory=list)


async def desk_view(
    session: AsyncSession, t: Translator, appointment: Appointment, *, online_payment: bool,
    now: datetime, identity: FormState | None = None, completion: FormState | None = None,
) -> DeskView:
    """The panels of ``appointment`` as they stand in the database now, with a failed form's
    values and errors when given."""
    assert appointment.id is not None
    _, office, service = await appointment_details(session, appointment)
    checks = await identity_checks(session, appointment.case_id)
    latest = applicant_check(checks)
    found = await cases.completed_case(session, appointment.id)
    services = await fee_schedule(session)
    payments = {k: v for k, v in PAYMENTS.items() if k != "online" or online_payment}
    address = await postal_address(session, appointment.case_id)
    persons = await persons_view(session, t, appointment, checks)
    case = case_view(t, *found) if found else None
    for item, row in zip(found[1] if found else [], case["items"] if case else [], strict=True):
        row["person"] = person_label(persons, item.person)
    return DeskView(
        reference=appointment.reference,
        status=appointment.status,
        status_label=t.gettext(STATUS_LABELS.get(appointment.status, appointment.status)),
        checkable=appointment.status in CHECKABLE,
        completable=appointment.status in CHECKABLE,
        no_show_possible=appointment.status == AppointmentStatus.confirmed
        and appointment.start_at <= now,
        requires_identity=service.requires_identity,
        identity_verified=latest is not None and latest.outcome == Outcome.verified,
        citizen=f"{appointment.given_name} {appointment.family_name}",
        date_of_birth=t.date(appointment.date_of_birth, "long") if appointment.date_of_birth
        else "",
        verification=verification_view(t, latest, office.timezone) if latest else None,
        checks_done=len(checks),
        case=case,
        document_types=_options(t, DOCUMENT_TYPES),
        feature_groups=[
            {"type": str(kind), "legend": t.gettext(FEATURE_GROUPS[kind]),
             "features": [{"value": n, "title": t.gettext(FEATURES[n])} for n in names]}
            for kind, names in FEATURES_BY_TYPE.items()
        ],
        check_items=_options(t, CHECKS),
        questions_label=t.gettext(QUESTIONS_LABEL),
        reasons=[(str(k), t.gettext(v)) for k, v in REASONS.items()],
        services=[{"value": str(s.id), "title": service_label(t, s), "fee": s.fee_cents,
                   "currency": s.currency} for s in services],
        payments=_options(t, payments),
        deliveries=_options(t, DELIVERIES),
        identity=identity or identity_defaults(),
        completion=completion or completion_defaults(service, address),
        address_on_record=bool(address),
        persons=persons,
        channel=appointment.channel,
    )
