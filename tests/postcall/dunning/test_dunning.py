"""Dunning: an unpaid fee notice gets exactly one reminder after its due date and the grace
period, however many workers look at once; the reminder carries the notice and its GiroCode."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, update
from sqlmodel import col

from app.main import build_context
from app.postcall_jobs import dunning_task
from booking.availability import local_date
from cases.models import Case
from core.jobs import Job
from core.types import utcnow
from postcall.girocode import epc_transfer
from tests.booking.factories import BERLIN
from tests.cases.conftest import Desk
from tests.postcall.fee_support import decode_png
from tests.postcall.notices.support import (
    AUTHORITY,
    BIC,
    IBAN,
    attachments,
    body_text,
    complete,
    configure_offices,
    drain,
    milestone_kinds,
    pdf_text,
    state_of,
)
from tests.smtp_support import SmtpSink


async def set_case(desk: Desk, number: str, **values: object) -> None:
    async with state_of(desk.app).db.transaction(write=True) as session:
        await session.execute(update(Case).where(col(Case.case_number) == number)
                              .values(**values))


async def reminder_jobs(desk: Desk) -> int:
    async with state_of(desk.app).db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(
            col(Job.kind) == "case.reminder")) or 0)


async def test_one_reminder_after_the_grace_period(office_hours: dt.datetime, desk: Desk,
                                                   smtp_sink: SmtpSink, tmp_path: Path) -> None:
    # The services' day, the same from the start of the test to its end (not the day the module
    # was collected on: the suite may start before midnight and reach this test after it). The
    # clock is put there first, before the desk's staff sign in.
    today = local_date(office_hours, BERLIN)
    await configure_offices(desk)
    _, token, due = await complete(desk)
    _, _, early = await complete(desk)
    _, _, paid = await complete(desk)
    await drain(desk.app)
    notices = len(smtp_sink.snapshot())
    assert notices == 3
    grace = desk.state.settings.dunning_grace_days
    assert grace == 7
    overdue_day = today - dt.timedelta(days=grace + 1)
    await set_case(desk, due["case_number"], due_date=overdue_day)
    await set_case(desk, early["case_number"], due_date=today - dt.timedelta(days=grace))
    await set_case(desk, paid["case_number"], due_date=overdue_day, payment_status="paid")

    # Several workers (each with its own connections) at the same moment, and again later.
    contexts = [build_context(desk.state.settings) for _ in range(3)]
    try:
        await asyncio.gather(*(dunning_task(ctx) for ctx in contexts))
        await dunning_task(contexts[0])
    finally:
        for ctx in contexts:
            await ctx.db.dispose()
    await dunning_task(desk.state)
    assert await reminder_jobs(desk) == 1
    assert (await milestone_kinds(desk.app, due["case_number"])).count("reminder_sent") == 1
    assert "reminder_sent" not in await milestone_kinds(desk.app, early["case_number"])
    assert "reminder_sent" not in await milestone_kinds(desk.app, paid["case_number"])

    await drain(desk.app)
    mails = smtp_sink.snapshot()[notices:]
    assert [str(m["Subject"]) for m in mails] == [
        f"Zahlungserinnerung – Kassenzeichen {due['case_number']}"]
    reminder = mails[0]
    text = body_text(reminder)
    assert "10,00" in text and overdue_day.strftime("%Y") in text and f"/t/{token}" in text
    [(letter_name, letter), (pdf_name, pdf)] = attachments(reminder, "application/pdf")
    assert letter_name == f"Zahlungserinnerung-{due['case_number']}.pdf"
    letter_text = " ".join(pdf_text(letter, tmp_path).split())
    assert "Zahlungserinnerung" in letter_text and "Bitte überweisen Sie 10,00 €" in letter_text
    assert pdf_name == f"Gebuehrenbescheid-{due['case_number']}.pdf"
    assert "Gebührenbescheid" in pdf_text(pdf, tmp_path)
    [(png_name, png)] = attachments(reminder, "image/png")
    assert png_name == "girocode.png"
    (tmp_path / "girocode.png").write_bytes(png)
    assert decode_png(tmp_path / "girocode.png") == [epc_transfer(
        AUTHORITY, IBAN, BIC, 1000, text=f"Kassenzeichen {due['case_number']}").payload]

    await dunning_task(desk.state)
    assert await drain(desk.app) == 0
    assert len(smtp_sink.snapshot()) == notices + 1


async def test_a_payment_before_the_mail_goes_out_stops_it(desk: Desk,
                                                           smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, _, case = await complete(desk)
    await drain(desk.app)
    month_ago = local_date(utcnow(), BERLIN) - dt.timedelta(days=30)
    await set_case(desk, case["case_number"], due_date=month_ago)
    await dunning_task(desk.state)
    assert await reminder_jobs(desk) == 1
    await set_case(desk, case["case_number"], payment_status="paid")
    await drain(desk.app)
    assert [str(m["Subject"]) for m in smtp_sink.snapshot()] == [
        f"Ihr Gebührenbescheid – Kassenzeichen {case['case_number']}"]
