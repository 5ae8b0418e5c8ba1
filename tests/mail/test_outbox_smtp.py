"""End to end through a real SMTP server (aiosmtpd): the outbox delivers every mail exactly
once, across an SMTP outage and across a killed worker process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import vobject
from sqlalchemy import select, update
from sqlmodel import col

from app.context import AppContext
from app.worker import Worker
from booking.models import Appointment, AppointmentStatus
from core.jobs import Job, JobStatus, enqueue
from mail.appointments import ICS_METHODS, message_id_for_job
from tests.services import FAULTS

from . import factories
from .conftest import SmtpSink, wait_for

ROOT = Path(__file__).resolve().parents[2]


def smtp_settings(sink: SmtpSink, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_timeout_seconds": 5.0,
        "worker_poll_seconds": 0.02,
        "job_backoff_base_seconds": 0.05,
        "job_backoff_max_seconds": 0.3,
        "mail_from": "buergerbuero@ostfildern.example",
    }
    values.update(overrides)
    return values


async def _book(ctx: AppContext, n: int, *, template: str = "confirmed", locale: str = "de",
                **kwargs: object) -> list[tuple[Appointment, str, int]]:
    """``n`` appointments with one mail job each: (appointment, token, job id)."""
    out = []
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        for i in range(n):
            row, token = await factories.add_appointment_with_mail(
                session, ctx.links, office, service, template=template, locale=locale,
                email=f"citizen{i}@example.org", **kwargs,
            )
            out.append((row, token))
        await session.flush()
        jobs = (await session.execute(select(Job).order_by(Job.id))).scalars().all()
    return [(row, token, job.id) for (row, token), job in zip(out, jobs, strict=True)
            if job.id is not None]


async def _statuses(ctx: AppContext) -> Counter[str]:
    async with ctx.db.transaction() as session:
        return Counter((await session.execute(select(Job.status))).scalars().all())


async def _drain(worker: Worker) -> None:
    while await worker.run_once():
        pass


async def test_mails_arrive_with_both_parts_language_and_calendar(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ctx = make_ctx(**smtp_settings(smtp_sink))
    expected: dict[str, tuple[str, str, str, Appointment, str]] = {}
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        status_for = {"hold": AppointmentStatus.reserved, "cancelled": AppointmentStatus.cancelled,
                      "expired": AppointmentStatus.expired}
        for lang in ("de", "en"):
            for template in ("hold", "confirmed", "rescheduled", "cancelled", "expired",
                             "reminder"):
                row, token = await factories.add_appointment_with_mail(
                    session, ctx.links, office, service, template=template, locale=lang,
                    status=status_for.get(template, AppointmentStatus.confirmed),
                    email=f"{template}.{lang}@example.org",
                )
                expected[row.email] = (template, lang, token, row, "")
        await session.flush()
        for job in (await session.execute(select(Job))).scalars().all():
            appointment_id = job.data()["appointment_id"]
            for email, (template, lang, token, row, _) in expected.items():
                if row.id == appointment_id:
                    assert job.id is not None
                    expected[email] = (template, lang, token, row,
                                       message_id_for_job(job.id, row, ctx.settings.base_url))

    await _drain(Worker(ctx, name="w1", periodic=[]))

    messages = smtp_sink.snapshot()
    assert len(messages) == 12
    assert (await _statuses(ctx)) == Counter({JobStatus.done: 12})
    for message in messages:
        email = message["To"].addresses[0].addr_spec
        template, lang, token, row, message_id = expected[email]
        assert message["Message-ID"] == message_id
        assert message["Content-Language"] == lang
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        html_content = html.get_content()
        assert f'<html lang="{lang}">' in html_content
        if template not in ("cancelled", "expired"):
            assert f"http://testserver/t/{token}" in text.get_content()
        greeting = {"de": "Guten Tag Erika Mustermann,", "en": "Hello Erika Mustermann,"}[lang]
        assert greeting in text.get_content()
        attachments = list(message.iter_attachments())
        if template in ICS_METHODS:
            [ics] = attachments
            payload = ics.get_payload(decode=True)
            assert isinstance(payload, bytes)
            cal = vobject.readOne(payload.decode())
            assert cal.method.value == ICS_METHODS[template]
            assert cal.vevent.uid.value == row.ics_uid
        else:
            assert attachments == []

    # No recipient, name or token in any log line (but the test SMTP server's own, "mail.log").
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "mail confirmed sent via SMTP" in logged
    for email, (_, _, token, _, _) in expected.items():
        assert email not in logged and token not in logged
    assert "Mustermann" not in logged


async def test_smtp_outage_mid_run_loses_nothing_and_sends_nothing_twice(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    # One job at a time, so the outage hits exactly one delivery in flight (see SmtpSink).
    ctx = make_ctx(**smtp_settings(smtp_sink, worker_batch_size=1))
    booked = await _book(ctx, 10)
    smtp_sink.hold_rcpt_at = 4  # the 4th delivery hangs until the server goes down
    worker = Worker(ctx, name="w1", periodic=[])
    task = asyncio.create_task(worker.run_forever())
    try:
        await asyncio.to_thread(smtp_sink.held.wait, 30)
        assert len(smtp_sink.snapshot()) == 3
        await asyncio.to_thread(smtp_sink.stop)  # mid-run: 3 delivered, 1 in flight

        async def retries_pending() -> bool:
            async with ctx.db.transaction() as session:
                rows = (await session.execute(select(Job))).scalars().all()
                return sum(1 for j in rows if j.last_error and j.status == "pending") >= 2

        await wait_for(retries_pending, 30, "failed deliveries waiting for a retry")
        await asyncio.to_thread(smtp_sink.start)  # the same port again

        async def all_done() -> bool:
            return (await _statuses(ctx)) == Counter({JobStatus.done: 10})

        await wait_for(all_done, 60, "all jobs done")
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)

    ids = smtp_sink.message_ids()
    assert len(ids) == 10  # every mail arrived, none twice
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == {message_id_for_job(job_id, row, ctx.settings.base_url)
                        for row, _, job_id in booked}
    async with ctx.db.transaction() as session:
        attempts = (await session.execute(select(Job.attempts))).scalars().all()
    assert max(attempts) >= 2  # the outage really made deliveries fail and retry


def worker_starter(ctx: AppContext, overrides: dict[str, object],
                   folder: Path) -> Callable[[str], subprocess.Popen[bytes]]:
    """Starts ``buergerbuero worker`` processes with ``ctx``'s settings, each logging to a file
    of ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUERO_")}
    env.update({f"BUERO_{key.upper()}": str(value) for key, value in overrides.items()})
    s = ctx.settings
    env.update({
        "BUERO_ENV": "test", "BUERO_DATABASE_URL": s.database_url,
        "BUERO_SECRET_KEY": str(s.secret_key), "BUERO_BASE_URL": s.base_url,
        "BUERO_VAR_DIR": str(s.var_dir), "BUERO_LOG_LEVEL": "INFO",
    })

    def start_worker(log_name: str) -> subprocess.Popen[bytes]:
        with (folder / log_name).open("wb") as log:  # the child keeps its own descriptor
            return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT)

    return start_worker


async def leases_run_out(ctx: AppContext) -> None:
    """The leases of a killed worker's jobs run out: moved into the past here rather than
    waited for on the wall clock."""
    async with ctx.db.transaction(write=True) as session:
        await session.execute(update(Job).where(col(Job.status) == JobStatus.running)
                              .values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))


@pytest.mark.slow
async def test_killed_worker_process_loses_nothing(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink, tmp_path: Path,
) -> None:
    # A lease long enough for a loaded machine: the killed worker's lease is moved into the past
    # below, and a delivery outliving its lease would be sent twice (at least once, by design).
    overrides = smtp_settings(smtp_sink, worker_batch_size=1, job_lease_seconds=60.0)
    ctx = make_ctx(**overrides)
    booked = await _book(ctx, 8)
    smtp_sink.hold_rcpt_at = 4  # the first process is killed inside the 4th delivery
    start_worker = worker_starter(ctx, overrides, tmp_path)

    first = start_worker("worker1.log")
    try:
        assert await asyncio.to_thread(smtp_sink.held.wait, 60), (
            (tmp_path / "worker1.log").read_text()
        )
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(smtp_sink.snapshot()) == 3
    assert (await _statuses(ctx))[JobStatus.running] == 1  # the one in flight, lease still on
    await leases_run_out(ctx)

    second = start_worker("worker2.log")
    try:
        async def all_done() -> bool:
            return (await _statuses(ctx)) == Counter({JobStatus.done: 8})

        await wait_for(all_done, 60, "all jobs done by the second worker")
        second.send_signal(signal.SIGTERM)  # a clean stop
        assert await asyncio.to_thread(second.wait, 10) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()

    ids = smtp_sink.message_ids()
    assert sorted(ids) == sorted(message_id_for_job(job_id, row, ctx.settings.base_url)
                                 for row, _, job_id in booked)
    assert len(set(ids)) == 8
    log2 = (tmp_path / "worker2.log").read_text()
    assert "stopped" in log2
    for row, token, _ in booked:
        assert row.email not in log2 and token not in log2


@pytest.mark.slow
@FAULTS
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the window is the worker's
async def test_a_killed_worker_sends_at_most_one_mail_twice(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink, tmp_path: Path,
) -> None:
    """The duplicate window, measured: 200 mails, a worker process killed (SIGKILL) while it
    sends them with its default batch size, twice; this process sends the rest. Each job is
    recorded as soon as its mail is accepted, so a kill repeats at most the one mail accepted
    but not yet recorded."""
    overrides = smtp_settings(smtp_sink)
    ctx = make_ctx(**overrides)
    assert ctx.settings.worker_batch_size == 20
    booked = await _book(ctx, 200)
    start_worker = worker_starter(ctx, overrides, tmp_path)
    kills = [60, 130]  # kill when this many mails arrived

    def arrived(count: int) -> Callable[[], bool]:
        return lambda: len(smtp_sink.snapshot()) >= count

    for number, count in enumerate(kills, start=1):
        worker = start_worker(f"worker{number}.log")
        try:
            await wait_for(arrived(count), 60, f"{count} mails")
            worker.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(worker.wait, 10) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        await leases_run_out(ctx)

    await _drain(Worker(ctx, name="last", periodic=[]))  # the rest, in this process
    assert (await _statuses(ctx)) == Counter({JobStatus.done: 200})

    ids = smtp_sink.message_ids()
    twice = sum(count - 1 for count in Counter(ids).values())
    print(f"\nmail duplicate window: {len(ids)} mails for 200 jobs, {len(kills)} SIGKILLs, "
          f"{twice} delivered twice ({twice / len(kills):.1f} per kill)")
    assert set(ids) == {message_id_for_job(job_id, row, ctx.settings.base_url)
                        for row, _, job_id in booked}  # none lost
    assert twice <= len(kills)


async def test_without_smtp_host_mails_are_eml_files(
    make_ctx: Callable[..., AppContext], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ctx = make_ctx()
    [(row, token, job_id)] = await _book(ctx, 1)
    await _drain(Worker(ctx, name="w1", periodic=[]))

    files = list(ctx.settings.mail_dir.glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Message-ID"] == message_id_for_job(job_id, row, ctx.settings.base_url)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and f"/t/{token}" in body.get_content()

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert f"mail confirmed written to {files[0]}" in logged
    assert "no SMTP host configured" in logged
    assert row.email not in logged and token not in logged and "Mustermann" not in logged

    # A retried job writes the same file again rather than a second one.
    from app.mail_env import mailer_for

    await mailer_for(ctx).send(message)  # type: ignore[arg-type]
    assert list(ctx.settings.mail_dir.glob("*.eml")) == files


async def test_stale_and_orphaned_mail_jobs_are_skipped(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    ctx = make_ctx(**smtp_settings(smtp_sink))
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        # A reminder for an appointment moved since (sequence 1 now, job says 0).
        moved, _ = factories.appointment(office, service, ctx.links, sequence=1,
                                         email="moved@example.org")
        # A confirmation for an appointment cancelled since.
        cancelled, _ = factories.appointment(office, service, ctx.links,
                                             status=AppointmentStatus.cancelled,
                                             email="cancelled@example.org")
        # A hold mail for an appointment already confirmed; and a current reminder.
        confirmed, _ = factories.appointment(office, service, ctx.links,
                                             email="confirmed@example.org")
        current, _ = factories.appointment(office, service, ctx.links, sequence=2,
                                           email="current@example.org")
        session.add_all([moved, cancelled, confirmed, current])
        await session.flush()
        enqueue(session, "mail.appointment",
                {"appointment_id": moved.id, "template": "reminder", "sequence": 0})
        enqueue(session, "mail.appointment",
                {"appointment_id": cancelled.id, "template": "confirmed", "sequence": 0})
        enqueue(session, "mail.appointment",
                {"appointment_id": confirmed.id, "template": "hold", "sequence": 0})
        enqueue(session, "mail.appointment",
                {"appointment_id": current.id, "template": "reminder", "sequence": 2})
        enqueue(session, "mail.appointment",
                {"appointment_id": 999_999, "template": "confirmed", "sequence": 0})

    await _drain(Worker(ctx, name="w1", periodic=[]))
    assert (await _statuses(ctx)) == Counter({JobStatus.done: 5})
    recipients = [m["To"].addresses[0].addr_spec for m in smtp_sink.snapshot()]
    assert recipients == ["current@example.org"]


async def test_refused_recipient_fails_without_retry(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    ctx = make_ctx(**smtp_settings(smtp_sink))
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        await factories.add_appointment_with_mail(session, ctx.links, office, service,
                                                  email="bounce@example.org")
    await _drain(Worker(ctx, name="w1", periodic=[]))
    async with ctx.db.transaction() as session:
        [job] = (await session.execute(select(Job))).scalars().all()
        assert job.status == JobStatus.failed and job.attempts == 1
        assert job.last_error is not None
        assert "bounce@example.org" not in job.last_error
    assert smtp_sink.snapshot() == []


async def test_moving_a_held_appointment_mails_the_new_time_and_asks_to_confirm(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    ctx = make_ctx(**smtp_settings(smtp_sink))
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        _, token = await factories.add_appointment_with_mail(
            session, ctx.links, office, service, template="rescheduled",
            status=AppointmentStatus.reserved,
        )
    await _drain(Worker(ctx, name="w1", periodic=[]))
    [message] = smtp_sink.snapshot()
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "Bitte denken Sie daran, den Termin über den Link unten zu bestätigen." in text
    assert f"Termin bestätigen:\nhttp://testserver/t/{token}" in text


# --- with the booking service ------------------------------------------------------------------


def _future_start(days: int = 3) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(days=days)


async def test_confirm_then_cancel_sends_request_then_cancel_with_growing_sequence(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    from booking.service import BookingPolicy, cancel, confirm
    from core.audit import Actor

    ctx = make_ctx(**smtp_settings(smtp_sink))
    worker = Worker(ctx, name="w1", periodic=[])
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        row, _ = factories.appointment(office, service, ctx.links, start=_future_start(),
                                       status=AppointmentStatus.reserved)
        session.add(row)
    async with ctx.db.transaction(write=True) as session:
        appointment = await session.get(Appointment, row.id)
        assert appointment is not None
        await confirm(session, BookingPolicy(), appointment)
    await _drain(worker)
    async with ctx.db.transaction(write=True) as session:
        appointment = await session.get(Appointment, row.id)
        assert appointment is not None
        await cancel(session, appointment, Actor.citizen())
    await _drain(worker)

    calendars = []
    for message in smtp_sink.snapshot():
        [ics] = list(message.iter_attachments())
        payload = ics.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendars.append(vobject.readOne(payload.decode()))
    assert [c.method.value for c in calendars] == ["REQUEST", "CANCEL"]
    assert [c.vevent.uid.value for c in calendars] == [row.ics_uid, row.ics_uid]
    assert [int(c.vevent.sequence.value) for c in calendars] == [0, 1]
    assert calendars[1].vevent.status.value == "CANCELLED"
    # The reminder waits for its time (a day before the start).
    assert (await _statuses(ctx)) == Counter({JobStatus.done: 2, JobStatus.pending: 1})


async def test_worker_releases_lapsed_holds_and_mails_the_citizen(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    ctx = make_ctx(**smtp_settings(smtp_sink, worker_periodic_seconds=0.05))
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        row, _ = factories.appointment(
            office, service, ctx.links, start=_future_start(), status=AppointmentStatus.reserved,
            hold_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        session.add(row)
    worker = Worker(ctx, name="w1")  # default periodic tasks
    task = asyncio.create_task(worker.run_forever())
    try:
        await wait_for(lambda: len(smtp_sink.snapshot()) == 1, 30, "the expiry mail")
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    async with ctx.db.transaction() as session:
        appointment = await session.get(Appointment, row.id)
        assert appointment is not None and appointment.status == AppointmentStatus.expired
    [message] = smtp_sink.snapshot()
    assert message["Subject"] == "Ihre Terminanfrage ist abgelaufen"
