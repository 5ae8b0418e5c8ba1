"""The hybrid-mail provider against a fake of Pingen's API on a real uvicorn: letters are
uploaded, created as drafts and sent by the worker; signed webhooks move them on, and forged,
stale or replayed webhooks are refused with nothing changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.postcall_jobs import sync_hybrid_task
from app.settings import Settings
from app.worker import Worker
from core.audit import AuditEvent
from core.types import utcnow
from postcall.dispatch_models import Dispatch
from tests.cases.conftest import Desk
from tests.conftest import live_server
from tests.postcall.dispatch.fake_pingen import FakePingen
from tests.postcall.notices.support import (
    bearer,
    case_row,
    complete,
    configure_offices,
    drain,
    milestone_kinds,
    pdf_text,
    state_of,
)
from tests.smtp_support import SmtpSink

SECRET = "whsec-test-0123456789"
ORG = "b85c7b52-debb-4b15-b5db-d86b0a4e9bbf"
HOOK = "/api/v1/webhooks/hybrid-mail"


@pytest.fixture
async def pingen() -> AsyncIterator[FakePingen]:
    fake = FakePingen(client_id="client-1", client_secret="secret-1", organisation_id=ORG)
    async with live_server(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink,
             pingen: FakePingen) -> Settings:
    return settings_factory(
        smtp_host="127.0.0.1", smtp_port=smtp_sink.port, dispatch_provider="hybrid",
        hybrid_mail_api_base=pingen.base_url, hybrid_mail_client_id="client-1",
        hybrid_mail_client_secret="secret-1", hybrid_mail_webhook_secret=SECRET,
        hybrid_mail_organisation_id=ORG,
    )


async def dispatch_row(desk: Desk) -> Dispatch:
    async with state_of(desk.app).db.transaction() as session:
        return (await session.execute(select(Dispatch))).scalars().one()


async def audit_count(desk: Desk) -> int:
    async with state_of(desk.app).db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def posted_case(desk: Desk) -> tuple[str, str]:
    reference, token, case = await complete(desk, delivery="post")
    r = await desk.client.put(f"/api/v1/clerk/appointments/{reference}/postal-address",
                              json={"lines": ["Großer Anger 7", "73760 Musterhausen"]},
                              headers=desk.clerk_a)
    assert r.status_code == 200
    await drain(desk.app)
    return token, case["case_number"]


async def test_letters_go_to_the_provider_and_signed_webhooks_move_them_on(
    desk: Desk, smtp_sink: SmtpSink, pingen: FakePingen, tmp_path: Path
) -> None:
    await configure_offices(desk)
    token, number = await posted_case(desk)
    [letter] = pingen.letters.values()
    assert letter.status == "submitted" and letter.print_mode == "duplex"
    assert letter.delivery_product == "cheap"
    content = pdf_text(letter.pdf, tmp_path)
    assert "Großer Anger 7" in content and "Gebührenbescheid" in content and number in content
    dispatch = await dispatch_row(desk)
    assert (dispatch.provider, dispatch.provider_ref, dispatch.status) == (
        "hybrid", letter.id, "printed")  # in the service's print run
    # The print room does not print what the service took.
    batch = await desk.client.get("/api/v1/clerk/dispatch/batch.pdf", headers=desk.clerk_a)
    assert batch.status_code == 404

    # Pingen stamps its events to the second: the post's event comes in the second after the
    # notice went out (the same second would truncate to before it).
    body, headers = pingen.webhook("webhook_sent", letter.id, SECRET,
                                   created_at=utcnow() + dt.timedelta(seconds=1))
    r = await desk.client.post(HOOK, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert (await case_row(desk.app, number)).dispatch_status == "posted"
    kinds = await milestone_kinds(desk.app, number)  # notice and hand-over ran side by side
    assert sorted(kinds) == ["completed", "notice_sent", "posted", "printed"]
    assert kinds[0] == "completed" and kinds[-1] == "posted"
    before = await audit_count(desk)

    # Replayed: the same request again.
    r = await desk.client.post(HOOK, content=body, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_replayed"
    # Forged: another body under the old signature, a wrong key, no signature.
    delivered, good = pingen.webhook("webhook_delivered", letter.id, SECRET)
    forged = [
        (delivered, headers),
        (delivered, pingen.webhook("webhook_delivered", letter.id, "guessed")[1]),
        (delivered, {"Content-Type": "application/vnd.api+json"}),
    ]
    for forged_body, forged_headers in forged:
        r = await desk.client.post(HOOK, content=forged_body, headers=forged_headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"
    # Stale: properly signed, but its time lies outside the tolerance.
    old, old_headers = pingen.webhook("webhook_delivered", letter.id, SECRET,
                                      created_at=utcnow() - dt.timedelta(minutes=10))
    r = await desk.client.post(HOOK, content=old, headers=old_headers)
    assert r.status_code == 400
    assert (await dispatch_row(desk)).status == "posted"
    assert await audit_count(desk) == before

    r = await desk.client.post(HOOK, content=delivered, headers=good)
    assert r.status_code == 200
    assert (await dispatch_row(desk)).status == "delivered"
    await drain(desk.app)
    subjects = [str(m["Subject"]) for m in smtp_sink.snapshot()]
    assert f"An die Post übergeben – Kassenzeichen {number}" in subjects
    assert f"Brief zugestellt – Kassenzeichen {number}" in subjects
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert [s["kind"] for s in me["case"]["milestones"]][-2:] == ["posted", "delivered"]
    assert pingen.token_requests == 1  # the access token is reused


async def test_an_issue_is_noted_and_an_unknown_letter_ignored(
    desk: Desk, smtp_sink: SmtpSink, pingen: FakePingen
) -> None:
    await configure_offices(desk)
    await posted_case(desk)
    [letter] = pingen.letters.values()
    body, headers = pingen.webhook("webhook_issues", letter.id, SECRET,
                                   reason="Address not readable")
    assert (await desk.client.post(HOOK, content=body, headers=headers)).status_code == 200
    dispatch = await dispatch_row(desk)
    assert (dispatch.status, dispatch.last_error) == ("printed", "Address not readable")
    body, headers = pingen.webhook("webhook_sent", "no-such-letter", SECRET)
    assert (await desk.client.post(HOOK, content=body, headers=headers)).status_code == 200
    assert (await dispatch_row(desk)).status == "printed"


async def test_a_failed_send_is_retried_without_a_second_letter(
    desk: Desk, smtp_sink: SmtpSink, pingen: FakePingen
) -> None:
    await configure_offices(desk)
    pingen.fail_next_send = 1
    await posted_case(desk)
    [letter] = pingen.letters.values()
    assert letter.status == "valid" and letter.sent_requests == 1
    dispatch = await dispatch_row(desk)
    assert dispatch.provider_ref == letter.id and dispatch.provider_status == ""
    assert dispatch.status == "queued"
    # The retry comes after a backoff: run the worker as if later.
    later = Worker(state_of(desk.app), name="later", periodic=[],
                   clock=lambda: utcnow() + dt.timedelta(hours=2))
    assert await later.run_once() == 1
    assert len(pingen.letters) == 1 and letter.status == "submitted"
    assert (await dispatch_row(desk)).provider_status == "submitted"
    assert (await dispatch_row(desk)).status == "printed"


async def test_a_missed_webhook_is_caught_up_by_reading_the_status(
    desk: Desk, smtp_sink: SmtpSink, pingen: FakePingen
) -> None:
    await configure_offices(desk)
    _, number = await posted_case(desk)
    [letter] = pingen.letters.values()
    letter.status = "sent"
    async with state_of(desk.app).db.transaction(write=True) as session:
        row = (await session.execute(select(Dispatch))).scalars().one()
        row.updated_at = utcnow() - dt.timedelta(hours=1)
    await sync_hybrid_task(state_of(desk.app))
    assert (await dispatch_row(desk)).status == "posted"
    assert "posted" in await milestone_kinds(desk.app, number)
    async with state_of(desk.app).db.transaction() as session:
        handed = await session.scalar(select(func.count()).select_from(AuditEvent).where(
            col(AuditEvent.action) == "dispatch.handed_over"))
    assert handed == 1
