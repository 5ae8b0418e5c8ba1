"""The identity check on camera: the rules for "verified", and recording a check.

A check is *verified* only when the clerk confirmed that the photo, the name and the date of
birth match, that the document is valid (and, when a validity date is given, not expired),
asked the security questions, and inspected at least three security features of that kind of
document. A *failed* check needs a reason; a clerk who cannot see the document well enough
aborts with ``reason_code = "poor_image_quality"`` (the citizen may try again, e.g. with more
light), which is recorded as a failed check of that reason, not as a finding against them.

Nothing of the document itself is kept (PAuswG §20): no image, no number. The free-text
fields (reason, note) are short and refuse text shaped like a document number or a
machine-readable zone, so a number cannot be slipped in by typing it into a note.

Services here take a session, raise domain errors and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Appointment, AppointmentStatus, Office
from cases.intake import request_of
from cases.models import DocumentType, IdentityCheck, Outcome, ReasonCode
from cases.persons import check_persons
from core.audit import Actor, record
from core.document_numbers import no_document_number
from core.errors import Invalid, NotFound, WrongState
from core.types import utcnow

# The confirmations every verified check needs, in the order the checklist shows them.
REQUIRED_CHECKS = (
    "photo_matches",
    "name_matches",
    "birth_date_matches",
    "document_valid",
    "security_questions",
)
SECURITY_FEATURES = ("hologram", "colour_shift", "tactile_relief", "micro_text", "laser_photo")
ALL_CHECKS = (*REQUIRED_CHECKS, *SECURITY_FEATURES)
MIN_FEATURES = 3

# Security features a clerk can inspect on camera, per kind of document. The German ID card,
# the passport's data page and the electronic residence permit (eAT) are all polycarbonate
# with an Identigram (hologram), colour-shifting ink, a tactile relief, micro-text and a
# laser-engraved photo; for other documents the clerk picks what applies.
FEATURES_BY_TYPE: dict[str, tuple[str, ...]] = {
    DocumentType.id_card: SECURITY_FEATURES,
    DocumentType.passport: SECURITY_FEATURES,
    DocumentType.residence_permit: SECURITY_FEATURES,
    DocumentType.other: SECURITY_FEATURES,
}

# Checks may be recorded while the citizen is in the call (or about to be).
CHECKABLE = frozenset({AppointmentStatus.confirmed.value, AppointmentStatus.in_call.value})

REASON_MAX = 300
NOTE_MAX = 500

@dataclass(frozen=True)
class VerificationInput:
    document_type: str
    checks: frozenset[str]
    outcome: str
    reason_code: str | None = None
    reason: str = ""
    valid_until: date | None = None
    note: str = ""
    person: int = 1  # 1 is the applicant; others of the same request are 2, 3, ...


MAX_PERSONS = 20


@dataclass(frozen=True)
class Verification:
    """A validated check, ready to store."""

    document_type: str
    checks: tuple[str, ...]
    outcome: str
    reason_code: str
    reason: str
    valid_until: date | None
    note: str


def _check_names(data: VerificationInput) -> tuple[str, ...]:
    unknown = sorted(data.checks - set(ALL_CHECKS))
    if unknown:
        raise Invalid("Unknown check: %(name)s", field="checks", name=unknown[0])
    allowed = FEATURES_BY_TYPE[data.document_type]
    for name in SECURITY_FEATURES:
        if name in data.checks and name not in allowed:
            raise Invalid("%(name)s is not a security feature of this kind of document.",
                          field="checks", name=name)
    return tuple(name for name in ALL_CHECKS if name in data.checks)


def _verified_rules(data: VerificationInput, checks: tuple[str, ...], today: date) -> None:
    missing = [name for name in REQUIRED_CHECKS if name not in checks]
    if missing:
        raise Invalid("A verified identity needs these checks: %(missing)s",
                      field="checks", missing=", ".join(missing))
    features = [name for name in checks if name in SECURITY_FEATURES]
    if len(features) < MIN_FEATURES:
        raise Invalid("Check at least %(count)s security features of the document.",
                      field="checks", count=MIN_FEATURES)
    if data.valid_until is not None and data.valid_until < today:
        raise Invalid("The document expired on %(date)s, so the identity cannot be verified.",
                      field="valid_until", date=data.valid_until.isoformat())
    if data.reason_code or data.reason.strip():
        raise Invalid("A reason is given only for a failed check.", field="reason")


def validate_verification(data: VerificationInput, today: date) -> Verification:
    """The check as it will be stored, or ``Invalid`` naming the field. ``today`` is the
    office's local date (a document valid until today is still valid)."""
    if data.document_type not in FEATURES_BY_TYPE:
        raise Invalid("Unknown document type.", field="document_type")
    if data.outcome not in (Outcome.verified, Outcome.failed):
        raise Invalid("The outcome must be verified or failed.", field="outcome")
    checks = _check_names(data)
    reason = no_document_number(data.reason.strip()[:REASON_MAX], "reason")
    note = no_document_number(data.note.strip()[:NOTE_MAX], "note")
    reason_code = data.reason_code or ""
    if data.outcome == Outcome.verified:
        _verified_rules(data, checks, today)
    else:
        if reason_code and reason_code not in set(ReasonCode):
            raise Invalid("Unknown reason.", field="reason_code")
        if not reason_code and not reason:
            raise Invalid("Please give the reason why the identity could not be verified.",
                          field="reason")
        reason_code = reason_code or ReasonCode.other.value
    return Verification(data.document_type, checks, data.outcome, reason_code, reason,
                        data.valid_until, note)


def office_today(office: Office, now: datetime) -> date:
    return now.astimezone(ZoneInfo(office.timezone)).date()


async def record_verification(
    session: AsyncSession,
    appointment: Appointment,
    data: VerificationInput,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> IdentityCheck:
    """Store one identity check, made in the call of ``appointment`` (confirmed or in the
    call), on the request the appointment belongs to; audited."""
    now = now or utcnow()
    # Lock the appointment: a check must not slip in beside a concurrent completion.
    await session.refresh(appointment, with_for_update=True)
    office = await session.get(Office, appointment.office_id)
    if office is None:
        raise NotFound()
    checked = validate_verification(data, office_today(office, now))
    if not 1 <= data.person <= MAX_PERSONS:
        raise Invalid("The person must be between 1 and %(max)s.", field="person",
                      max=MAX_PERSONS)
    if appointment.status not in CHECKABLE:
        raise WrongState()
    await check_persons(session, appointment, {"person": data.person})
    assert appointment.id is not None
    case = await request_of(session, appointment)
    assert case.id is not None
    check = IdentityCheck(
        case_id=case.id, person=data.person, appointment_id=appointment.id, checked_at=now,
        checked_by_id=actor.id, checked_by_label=actor.label[:254],
        document_type=checked.document_type,
        checks=",".join(checked.checks), outcome=checked.outcome,
        reason_code=checked.reason_code, reason=checked.reason,
        valid_until=checked.valid_until, note=checked.note,
    )
    session.add(check)
    await session.flush()
    record(session, actor, "identity.check", "appointment", appointment.id, {
        "reference": appointment.reference, "check_id": check.id, "person": data.person,
        "document_type": checked.document_type, "outcome": checked.outcome,
        "reason_code": checked.reason_code,
        "features": [c for c in checked.checks if c in SECURITY_FEATURES],
    })
    return check


async def identity_checks(session: AsyncSession, case_id: int | None) -> list[IdentityCheck]:
    """Every check of the request (every person), newest first; none without a request."""
    if case_id is None:
        return []
    query = (
        select(IdentityCheck)
        .where(col(IdentityCheck.case_id) == case_id)
        .order_by(col(IdentityCheck.checked_at).desc(), col(IdentityCheck.id).desc())
    )
    return list((await session.execute(query)).scalars())


def applicant_check(checks: list[IdentityCheck]) -> IdentityCheck | None:
    """The applicant's (person 1) check that counts, from ``identity_checks``: the latest."""
    return next((c for c in checks if c.person == 1), None)


async def latest_check(
    session: AsyncSession, case_id: int | None, person: int = 1
) -> IdentityCheck | None:
    """The check of one person of the request that counts: the latest one."""
    if case_id is None:
        return None
    query = (
        select(IdentityCheck)
        .where(col(IdentityCheck.case_id) == case_id, col(IdentityCheck.person) == person)
        .order_by(col(IdentityCheck.checked_at).desc(), col(IdentityCheck.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalars().first()
