"""The public status lookup: case number plus date of birth, like Meschede's status portal.

Without a link, anyone may ask how a request stands, given its case number (Kassenzeichen, on
the fee notice and in the e-mails) and the date of birth given when booking. A wrong pair must
not tell anything, not even whether the case number exists: an unknown number, a wrong date, a
case without a date of birth and a case being redone all raise the same ``StatusNotFound``
after the same work (one indexed query and two HMACs compared in constant time), so neither the
answer nor its timing differs. The caller rate-limits by client and by case number.

The answer holds no personal data: the case number, the milestones and the payment and
delivery states only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office
from cases.milestones import Milestone, milestones
from cases.models import Case, CaseState, Channel
from core.errors import NotFound

CASE_NUMBER_MAX = 40


class StatusNotFound(NotFound):
    code = "status_not_found"
    message = (
        "We could not find a request with this case number and date of birth. "
        "Please check both and try again."
    )


@dataclass(frozen=True)
class StatusAnswer:
    case_id: int
    reference: str
    channel: str
    case_number: str  # empty for an online request not decided yet
    payment_status: str
    dispatch_status: str
    delivery: str
    external_authority: str
    timezone: str
    milestones: list[Milestone]
    request_status: str | None = None  # an online request's, filled in by the caller


def normalize_case_number(value: str) -> str:
    return "".join(value.split()).upper()[:CASE_NUMBER_MAX]


def _mac(key: bytes, case_number: str, date_of_birth: dt.date | None) -> bytes:
    born = date_of_birth.isoformat() if date_of_birth is not None else "-"
    message = f"status-lookup\x00{case_number}\x00{born}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


async def lookup(session: AsyncSession, key: bytes, case_number: str,
                 date_of_birth: dt.date) -> StatusAnswer:
    number = normalize_case_number(case_number)
    given = _mac(key, number, date_of_birth)
    # A decided request by its case number; an online request also by its reference (it has
    # no case number until it is decided).
    row = (await session.execute(
        select(Case, col(Case.date_of_birth), col(Office.timezone))
        .join(Office, col(Office.id) == col(Case.office_id))
        .where(or_(col(Case.case_number) == number,
                   and_(col(Case.reference) == number, col(Case.channel) == Channel.online)))
    )).first()
    case, born, zone = row if row is not None else (None, None, "UTC")
    usable = case is not None and born is not None and (
        case.state == CaseState.completed
        or (case.channel == Channel.online and case.state == CaseState.open))
    # Without a usable case the comparison runs against a value no input can produce.
    actual = _mac(key, number, born) if usable else _mac(key, "", None)
    if not hmac.compare_digest(given, actual) or case is None or case.id is None:
        raise StatusNotFound()
    return StatusAnswer(
        case_id=case.id, reference=case.reference, channel=case.channel,
        case_number=case.case_number or "", payment_status=case.payment_status,
        dispatch_status=case.dispatch_status, delivery=case.delivery,
        external_authority=case.external_authority, timezone=zone,
        milestones=await milestones(session, case.id),
    )
