"""A provider's webhook answers on every host and finds its object by the provider's id, with no
municipality current; what it then sets going (milestones, mails, audit events) is the
municipality's of the object it found, so that the worker's job finds the object and its mail
names that town."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.settings import Settings
from cases.milestones import MAIL_JOB
from core.audit import AuditEvent
from core.jobs import Job
from postcall.dispatch_models import Dispatch
from tests.postcall.dispatch.fake_pingen import FakePingen
from tests.request_support import drain
from tests.staff.helpers import context
from tests.tenants.world import HOST_A, TownA, TownB, build

SECRET = "whsec-towns-0123456789"
HOOK = "/api/v1/webhooks/hybrid-mail"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(hybrid_mail_webhook_secret=SECRET)


@pytest.fixture
async def towns(app: Starlette) -> tuple[TownA, TownB]:
    return await build(app)


async def test_the_letter_provider_s_report_on_town_b_s_letter_is_town_b_s(
    app: Starlette, settings: Settings, towns: tuple[TownA, TownB]
) -> None:
    _, b = towns
    async with context(app).db.transaction(write=True) as session:
        dispatch = await session.get(Dispatch, b.dispatch)
        assert dispatch is not None
        dispatch.provider, dispatch.provider_ref, dispatch.status = "hybrid", "letter-b", "printed"
    pingen = FakePingen(client_id="c", client_secret="s", organisation_id="org-1")
    body, headers = pingen.webhook("webhook_sent", "letter-b", SECRET)
    transport = httpx.ASGITransport(app=app)
    # The provider calls whichever host it was given: here town A's.
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST_A}") as client:
        r = await client.post(HOOK, content=body, headers=headers)
    assert r.status_code == 200, r.text

    async with context(app).db.transaction() as session:
        dispatch = await session.get(Dispatch, b.dispatch)
        assert dispatch is not None and dispatch.status == "posted"
        jobs = (await session.execute(select(Job).where(col(Job.kind) == MAIL_JOB))).scalars()
        mail_towns = [job.municipality_id for job in jobs]
        events = (await session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "dispatch.status"))).scalars()
        event_towns = [event.municipality_id for event in events]
    assert mail_towns == [b.id]  # the mail "handed to the post" is B's
    assert event_towns == [b.id]

    await drain(app)
    posted = []
    for path in settings.mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if "An die Post übergeben" in str(message["Subject"]):
            posted.append(message)
    [message] = posted
    assert "Stadt Zwiebelbach" in str(message["From"])
    part = message.get_body(preferencelist=("plain",))
    assert part is not None and "http://b.example/" in part.get_content()
