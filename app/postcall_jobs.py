"""Worker jobs after the call (registered in ``app.worker.default_handlers``):

============================  =================================================================
``case.notice``               {case_id, revision}: the fee notice PDF, e-mailed; milestone
                              ``notice_sent`` (the mail is the citizen's news of it)
``case.corrected_notice``     {case_id, refund_id?}: a changed notice after a refund
                              ("Geänderter Bescheid"), e-mailed; it replaces the notice the
                              link serves (one per refund)
``payment.receipt``           {case_id, attempt_id?}: the receipt of an online payment;
                              milestone ``receipt_sent``
``case.reminder``             {case_id}: the dunning reminder with the notice and its GiroCode
``mail.milestone``            {case_id, milestone}: one e-mail per status step
``dispatch.submit``           {dispatch_id}: hands a queued letter to the hybrid-mail provider
============================  =================================================================

Periodic tasks: dunning (``postcall.dunning``) and, with the hybrid-mail provider, re-reading the
status of letters whose webhook may have been missed.

Mails are built after the data is read (no transaction is held during SMTP); what a sent mail
changes (``mailed_at``, the milestone) is written afterwards. A crash between the two sends the
mail again on retry, with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlmodel import col

from app.mails import PermanentMailError, link_url_for
from app.postcall_mails import (
    CaseMail,
    bank_rows,
    build_case_mail,
    girocode_png,
    message_id,
    pdf_attachment,
    send,
)
from app.tasks import PeriodicTask
from booking.models import Appointment, Office
from cases.milestones import MAIL_JOB, Milestone, MilestoneKind, reach
from cases.models import Case, CaseItem, CaseState, PaymentStatus
from core.audit import Actor, record
from core.jobs import Job
from core.types import utcnow
from postcall import dispatch as dispatching
from postcall.dispatch_models import CaseDocument, Dispatch, DispatchState
from postcall.dispatch_providers import (
    DispatchProvider,
    HybridMailConfig,
    HybridMailProvider,
    OutgoingLetter,
    PrintRoomProvider,
)
from postcall.dunning import REMINDER_JOB, claim_reminder, overdue_cases
from postcall.notices import (
    CORRECTED_JOB,
    NOTICE_JOB,
    RECEIPT_JOB,
    authority_for,
    ensure_fee_notice,
    ensure_letter,
    ensure_receipt,
    make_corrected_notice,
    needs_notice,
)

if TYPE_CHECKING:
    from app.context import AppContext
    from app.settings import Settings
    from app.tasks import JobHandler

log = logging.getLogger("buergerbuero.postcall")

HYBRID_ACTOR = Actor("system", None, "hybrid-mail")
SYNC_AFTER = dt.timedelta(minutes=30)  # re-read a handed-over letter this long after a change
SYNC_BATCH = 20


def _int(data: dict[str, object], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PermanentMailError(f"job payload lacks {key}")
    return value


async def _mail_facts(ctx: AppContext, case_id: int) -> CaseMail | None:
    async with ctx.db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return None
        items = list((await session.execute(
            select(CaseItem).where(col(CaseItem.case_id) == case_id)
            .order_by(col(CaseItem.position), col(CaseItem.id))
        )).scalars())
        office = await session.get(Office, case.office_id)
        appointment = await session.get(Appointment, case.appointment_id)
    if office is None or appointment is None:
        raise PermanentMailError("case without office or appointment")
    return CaseMail(case=case, items=items, office=office, appointment=appointment,
                    link_url=link_url_for(ctx, appointment))


async def _claim_mail(ctx: AppContext, document: CaseDocument, job: Job) -> bool:
    """True when this job is the one to mail the letter (first claim, or its own retry)."""
    async with ctx.db.transaction(write=True) as session:
        claimed = await session.execute(
            update(CaseDocument)
            .where(col(CaseDocument.id) == document.id, col(CaseDocument.mailed_at).is_(None),
                   or_(col(CaseDocument.mail_job_id).is_(None),
                       col(CaseDocument.mail_job_id) == job.id))
            .values(mail_job_id=job.id)
            .returning(col(CaseDocument.id))
        )
        return claimed.first() is not None


async def _mark_mailed(ctx: AppContext, document_id: int, case_id: int,
                       milestone: MilestoneKind | None) -> None:
    async with ctx.db.transaction(write=True) as session:
        document = await session.get(CaseDocument, document_id)
        if document is not None and document.mailed_at is None:
            document.mailed_at = utcnow()
        if milestone is not None:
            await reach(session, case_id, milestone, notify=False)


def _notice_extra(ctx: AppContext, mail: CaseMail, document: CaseDocument) -> dict[str, object]:
    t = ctx.i18n.translator(mail.appointment.locale)
    case = mail.case
    currency = case.currency

    def money(cents: int) -> str:
        return t.money(cents, currency) if cents else ""

    return {
        "corrected": document.corrected,
        "open_amount": money(document.open_cents),
        "refund_amount": money(document.refund_cents),
        "due_date": t.date(document.due_date, "long") if document.due_date else "",
        "rows": [(t.gettext("Fee"), t.money(document.total_cents, currency))],
        "bank_rows": bank_rows(t, authority_for(mail.office), case.case_number,
                               document.open_cents, document.due_date, currency)
        if document.open_cents else [],
    }


async def _send_notice(ctx: AppContext, job: Job, document: CaseDocument, *,
                       milestone: MilestoneKind | None) -> None:
    assert job.id is not None and document.id is not None
    mail = await _mail_facts(ctx, document.case_id)
    if mail is None or not await _claim_mail(ctx, document, job):
        return
    mail.attachments.append(pdf_attachment(
        document.pdf, "Geaenderter-Bescheid" if document.corrected else "Gebuehrenbescheid",
        mail.case.case_number))
    mail.extra = _notice_extra(ctx, mail, document)
    message = build_case_mail(ctx, "notice", mail, message_id=message_id(
        job.id, "notice", mail.case, ctx.settings.base_url))
    await send(ctx, message, "notice")
    await _mark_mailed(ctx, document.id, document.case_id, milestone)


async def send_notice(ctx: AppContext, job: Job) -> None:
    """``case.notice``: the fee notice of a completion, e-mailed the same day."""
    data = job.data()
    case_id, revision = _int(data, "case_id"), _int(data, "revision")
    async with ctx.db.transaction() as session:
        case = await session.get(Case, case_id)
    if case is None or not needs_notice(case) or case.revision != revision:
        log.info("job %s: fee notice of case %s skipped (superseded)", job.id, case_id)
        return
    document = await ensure_fee_notice(ctx.db, case_id)
    if document is None:
        return
    if document.mailed_at is not None:
        return  # sent by an earlier try that could not record the job's end
    await _send_notice(ctx, job, document, milestone=MilestoneKind.notice_sent)


async def send_corrected_notice(ctx: AppContext, job: Job) -> None:
    """``case.corrected_notice``: the changed notice after a refund replaces the served one."""
    data = job.data()
    case_id = _int(data, "case_id")
    refund = data.get("refund_id")
    # One changed notice per refund, however often its job runs; without one, per job.
    origin = f"refund{refund}" if isinstance(refund, int) else f"job{job.id}"
    document = await make_corrected_notice(ctx.db, case_id, origin)
    if document is None or document.mailed_at is not None:
        return
    await _send_notice(ctx, job, document, milestone=None)


async def send_receipt(ctx: AppContext, job: Job) -> None:
    """``payment.receipt``: the receipt of an online payment, e-mailed."""
    assert job.id is not None
    case_id = _int(job.data(), "case_id")
    document = await ensure_receipt(ctx.db, case_id)
    if document is None or document.id is None:
        log.info("job %s: receipt of case %s skipped (not paid)", job.id, case_id)
        return
    if document.mailed_at is not None:
        return
    mail = await _mail_facts(ctx, case_id)
    if mail is None or not await _claim_mail(ctx, document, job):
        return
    t = ctx.i18n.translator(mail.appointment.locale)
    mail.attachments.append(pdf_attachment(document.pdf, "Zahlungsbestaetigung",
                                           mail.case.case_number))
    paid = t.money(document.total_cents, mail.case.currency)
    mail.extra = {"paid_amount": paid, "rows": [(t.gettext("Paid"), paid)]}
    message = build_case_mail(ctx, "receipt", mail, message_id=message_id(
        job.id, "receipt", mail.case, ctx.settings.base_url))
    await send(ctx, message, "receipt")
    await _mark_mailed(ctx, document.id, case_id, MilestoneKind.receipt_sent)


async def send_reminder(ctx: AppContext, job: Job) -> None:
    """``case.reminder``: the one payment reminder, with the notice and its GiroCode."""
    assert job.id is not None
    case_id = _int(job.data(), "case_id")
    async with ctx.db.transaction() as session:
        case = await session.get(Case, case_id)
    if case is None or not needs_notice(case) or case.payment_status != PaymentStatus.open:
        log.info("job %s: reminder of case %s skipped (paid or changed)", job.id, case_id)
        return
    document = await ensure_fee_notice(ctx.db, case_id)
    mail = await _mail_facts(ctx, case_id)
    if document is None or mail is None or document.open_cents <= 0:
        return
    t = ctx.i18n.translator(mail.appointment.locale)
    authority = authority_for(mail.office)
    number, currency = mail.case.case_number, mail.case.currency
    mail.attachments += [
        pdf_attachment(document.pdf, "Gebuehrenbescheid", number),
        girocode_png(authority, number, document.open_cents),
    ]
    mail.extra = {
        "open_amount": t.money(document.open_cents, currency),
        "due_date": t.date(case.due_date, "long") if case.due_date else "",
        "rows": [(t.gettext("Open amount"), t.money(document.open_cents, currency))],
        "bank_rows": bank_rows(t, authority, number, document.open_cents, None, currency),
    }
    message = build_case_mail(ctx, "reminder", mail, message_id=message_id(
        job.id, "reminder", mail.case, ctx.settings.base_url))
    await send(ctx, message, "reminder")


async def send_milestone_mail(ctx: AppContext, job: Job) -> None:
    """``mail.milestone``: tell the citizen about one step, in the booking's language."""
    assert job.id is not None
    data = job.data()
    case_id, kind = _int(data, "case_id"), str(data.get("milestone", ""))
    async with ctx.db.transaction() as session:
        milestone = (await session.execute(
            select(Milestone).where(col(Milestone.case_id) == case_id,
                                    col(Milestone.kind) == kind)
        )).scalars().first()
    mail = await _mail_facts(ctx, case_id)
    if milestone is None or mail is None or mail.case.state != CaseState.completed:
        log.info("job %s: milestone mail %s skipped", job.id, kind)
        return
    mail.extra = {"kind": kind, "detail": milestone.detail, "at": milestone.at}
    message = build_case_mail(ctx, "milestone", mail, message_id=message_id(
        job.id, f"status-{kind}", mail.case, ctx.settings.base_url))
    await send(ctx, message, f"milestone {kind}")


# --- dispatch ------------------------------------------------------------------------------


def provider_for(ctx: AppContext) -> DispatchProvider:
    """The configured provider, built once per app (it caches its access token)."""
    found = ctx.extras.get("dispatch_provider")
    if found is not None:
        return found  # type: ignore[no-any-return]
    s = ctx.settings
    provider: DispatchProvider
    if s.dispatch_provider == "hybrid":
        provider = HybridMailProvider(HybridMailConfig(
            api_base=s.hybrid_mail_api_base,
            identity_base=s.hybrid_mail_identity_base or s.hybrid_mail_api_base,
            client_id=s.hybrid_mail_client_id or "",
            client_secret=s.hybrid_mail_client_secret or "",
            organisation_id=s.hybrid_mail_organisation_id or "",
        ))
    else:
        provider = PrintRoomProvider()
    ctx.extras["dispatch_provider"] = provider
    return provider


async def submit_dispatch(ctx: AppContext, job: Job) -> None:
    """``dispatch.submit``: hand a queued letter to the hybrid-mail provider (if configured)."""
    provider = provider_for(ctx)
    if not provider.automatic:
        return  # the print room prints it with its batch
    dispatch_id = _int(job.data(), "dispatch_id")
    async with ctx.db.transaction() as session:
        dispatch = await session.get(Dispatch, dispatch_id)
        case = await session.get(Case, dispatch.case_id) if dispatch is not None else None
    if dispatch is None or case is None or dispatch.status != DispatchState.queued \
            or dispatch.provider == dispatching.PRINT_ROOM or case.state != CaseState.completed:
        return
    if dispatch.provider_status:
        return  # already handed over
    document = await ensure_letter(ctx.db, dispatch.case_id)
    if document is None or document.id is None:
        return

    async def remember(reference: str) -> None:
        async with ctx.db.transaction(write=True) as session:
            row = await session.get(Dispatch, dispatch_id, with_for_update=True)
            if row is not None:
                row.provider, row.provider_ref = dispatching.HYBRID, reference
                row.document_id = document.id
                row.updated_at = utcnow()

    status = await provider.hand_over(
        OutgoingLetter(dispatch_id=dispatch_id, case_number=case.case_number, pdf=document.pdf),
        dispatch.provider_ref, remember)
    async with ctx.db.transaction(write=True) as session:
        row = await session.get(Dispatch, dispatch_id, with_for_update=True)
        if row is not None:
            row.provider_status = (status or "submitted")[:40]
            row.updated_at = utcnow()
            record(session, HYBRID_ACTOR, "dispatch.handed_over", "dispatch", dispatch_id,
                   {"case_number": case.case_number, "provider": provider.name})
            # In the service's print run now: fixed like a printed letter (no reopening).
            await dispatching.advance(session, row, DispatchState.printed.value, HYBRID_ACTOR)


async def sync_hybrid_task(ctx: AppContext) -> None:
    """Re-read letters whose status webhook may have been lost (the provider retries, but)."""
    provider = provider_for(ctx)
    if not provider.automatic:
        return
    cutoff = utcnow() - SYNC_AFTER
    async with ctx.db.transaction() as session:
        rows = list((await session.execute(
            select(Dispatch).where(
                col(Dispatch.provider) == dispatching.HYBRID,
                col(Dispatch.provider_ref).is_not(None),
                col(Dispatch.status).in_([DispatchState.queued, DispatchState.printed,
                                          DispatchState.posted]),
                col(Dispatch.updated_at) < cutoff,
            ).order_by(col(Dispatch.updated_at)).limit(SYNC_BATCH)
        )).scalars())
    for row in rows:
        assert row.provider_ref is not None and row.id is not None
        state = await provider.state_of(row.provider_ref)
        async with ctx.db.transaction(write=True) as session:
            dispatch = await session.get(Dispatch, row.id)
            if dispatch is None:
                continue
            dispatch.updated_at = utcnow()  # read now: the next look is SYNC_AFTER later
            if state is not None:
                await dispatching.advance(session, dispatch, state.value, HYBRID_ACTOR)


# --- dunning -------------------------------------------------------------------------------


async def dunning_task(ctx: AppContext) -> None:
    grace = ctx.settings.dunning_grace_days
    async with ctx.db.transaction() as session:
        due = await overdue_cases(session, grace_days=grace)
    sent = 0
    for case_id in due:
        async with ctx.db.transaction(write=True) as session:
            sent += await claim_reminder(session, case_id, grace_days=grace)
    if sent:
        log.info("queued %d payment reminders", sent)


def handlers() -> dict[str, JobHandler]:
    return {
        NOTICE_JOB: send_notice,
        CORRECTED_JOB: send_corrected_notice,
        RECEIPT_JOB: send_receipt,
        REMINDER_JOB: send_reminder,
        MAIL_JOB: send_milestone_mail,
        dispatching.SUBMIT_JOB: submit_dispatch,
    }


def periodic(settings: Settings) -> list[PeriodicTask]:
    tasks = [PeriodicTask("dunning", settings.worker_periodic_seconds, dunning_task)]
    if settings.dispatch_provider == "hybrid":
        tasks.append(PeriodicTask("hybrid_mail_sync", settings.worker_periodic_seconds,
                                  sync_hybrid_task))
    return tasks
