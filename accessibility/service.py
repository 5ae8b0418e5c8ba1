"""The accessibility statement and barrier reports: reading, saving (admins) and reporting
(citizens), with their checks. The pages are in ``app/pages/accessibility.py``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from accessibility.models import AccessibilityStatement, BarrierReport, Conformance
from core.audit import Actor, record
from core.document_numbers import looks_like_document_number
from core.errors import Invalid
from core.types import utcnow

TEXT_MAX = 10_000
DESCRIPTION_MAX = 4000
PAGE_MAX = 500
NAME_MAX = 200


@dataclass(frozen=True)
class StatementInput:
    conformance: str
    known_barriers: str
    alternatives: str
    prepared_on: str  # YYYY-MM-DD as typed
    feedback_contact: str
    arbitration_body: str


@dataclass(frozen=True)
class ReportInput:
    description: str
    page: str = ""
    name: str = ""
    email: str = ""


def _clean(text: str) -> str:
    """Line breaks kept, other control characters dropped, Windows line ends made plain."""
    kept = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return kept.replace("\r\n", "\n").strip()


async def statement(session: AsyncSession) -> AccessibilityStatement | None:
    """The municipality's statement (one per municipality; ``tenants.scope`` picks it)."""
    query = select(AccessibilityStatement).order_by(col(AccessibilityStatement.id)).limit(1)
    return (await session.execute(query)).scalars().first()


async def save_statement(session: AsyncSession, actor: Actor,
                         given: StatementInput) -> AccessibilityStatement:
    problems = Invalid()
    if given.conformance not in {c.value for c in Conformance}:
        problems.add("conformance", "Please choose how far the site meets the requirements.")
    try:
        prepared_on = dt.date.fromisoformat(given.prepared_on.strip())
    except ValueError:
        problems.add("prepared_on", "Please enter a date as YYYY-MM-DD.")
        prepared_on = dt.date.min
    texts = {"known_barriers": _clean(given.known_barriers),
             "alternatives": _clean(given.alternatives),
             "feedback_contact": _clean(given.feedback_contact),
             "arbitration_body": _clean(given.arbitration_body)}
    for name, text in texts.items():
        if len(text) > TEXT_MAX:
            problems.add(name, "At most %(max)s characters, please.", max=TEXT_MAX)
    for name in ("feedback_contact", "arbitration_body"):
        if not texts[name]:
            problems.add(name, "Please fill in this field.")
    if problems.problems:
        raise problems
    found = await statement(session)
    if found is None:
        found = AccessibilityStatement(prepared_on=prepared_on)
        session.add(found)
    found.conformance = given.conformance
    found.prepared_on = prepared_on
    found.known_barriers = texts["known_barriers"]
    found.alternatives = texts["alternatives"]
    found.feedback_contact = texts["feedback_contact"]
    found.arbitration_body = texts["arbitration_body"]
    found.updated_at = utcnow()
    await session.flush()
    record(session, actor, "accessibility_statement.saved", "accessibility_statement",
           found.id, {"conformance": given.conformance})
    return found


def check_report(given: ReportInput) -> ReportInput:
    """The report as it will be stored, or ``Invalid`` with every field's problem."""
    problems = Invalid()
    description = _clean(given.description)
    page, name, email = _clean(given.page), _clean(given.name), given.email.strip()
    if not description:
        problems.add("description", "Please describe the barrier.")
    elif len(description) > DESCRIPTION_MAX:
        problems.add("description", "At most %(max)s characters, please.", max=DESCRIPTION_MAX)
    elif looks_like_document_number(description, strict=False):
        problems.add("description", "Please do not write ID document numbers or lines of a "
                     "document's machine-readable zone here.")
    for field, value, limit in (("page", page, PAGE_MAX), ("name", name, NAME_MAX)):
        if len(value) > limit:
            problems.add(field, "At most %(max)s characters, please.", max=limit)
    if email:
        try:
            email = validate_email(email[:254], check_deliverability=False).normalized
        except EmailNotValidError:
            problems.add("email", "Please enter a valid e-mail address.")
    if problems.problems:
        raise problems
    return ReportInput(description=description, page=page, name=name, email=email)


async def report_barrier(session: AsyncSession, given: ReportInput, *, locale: str,
                         now: dt.datetime, answer_days: int) -> BarrierReport:
    """Store a citizen's report; the office answers by ``answer_days`` after ``now`` (in the
    office's calendar: the date is what the citizen is told)."""
    checked = check_report(given)
    report = BarrierReport(description=checked.description, page=checked.page,
                           name=checked.name, email=checked.email, locale=locale,
                           created_at=now, answer_by=now.date() + dt.timedelta(days=answer_days))
    session.add(report)
    await session.flush()
    return report


async def reports(session: AsyncSession, limit: int = 200) -> Sequence[BarrierReport]:
    """The latest reports first."""
    query = (select(BarrierReport).order_by(col(BarrierReport.created_at).desc(),
                                            col(BarrierReport.id).desc()).limit(limit))
    return (await session.execute(query)).scalars().all()


# --- privacy: a report holds a name and an address --------------------------------------------


async def reports_of(session: AsyncSession, email: str) -> Sequence[BarrierReport]:
    address = email.strip().lower()
    query = select(BarrierReport).where(func.lower(col(BarrierReport.email)) == address)
    return (await session.execute(query.order_by(col(BarrierReport.id)))).scalars().all()


async def erase_reports(session: AsyncSession, email: str) -> list[str]:
    """Delete an address's reports; their labels (``barrier-report-{id}``)."""
    erased = []
    for report in await reports_of(session, email):
        erased.append(f"barrier-report-{report.id}")
        await session.delete(report)
    await session.flush()
    return erased


async def apply_retention(session: AsyncSession, retention_days: int, *,
                          now: dt.datetime) -> int:
    """Delete reports received more than ``retention_days`` ago (answered by then)."""
    cutoff = now - dt.timedelta(days=retention_days)
    old = (await session.execute(select(BarrierReport).where(
        col(BarrierReport.created_at) < cutoff))).scalars().all()
    for report in old:
        await session.delete(report)
    await session.flush()
    return len(old)
