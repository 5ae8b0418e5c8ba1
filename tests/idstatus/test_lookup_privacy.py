"""The public lookup tells nothing more than the status: the same 404 for numbers never known
and for entries deleted after pickup, no number anywhere in the database, a limit per client;
entries go the configured days after pickup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select, text
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from app.worker import document_status_task
from core.types import Clock, utcnow
from idstatus.models import DocumentStatus
from idstatus.service import purge_collected
from tests.conftest import running
from tests.idstatus.conftest import SERIAL, World, item


async def test_unknown_and_deleted_are_the_same_404(world: World) -> None:
    unknown = await world.lookup("T22000129")
    await world.push(item("collected", "2026-01-05T10:00:00+01:00"))
    assert (await world.lookup()).status_code == 200
    async with world.state.db.transaction(write=True) as session:
        assert await purge_collected(session, 30) == 1
    deleted = await world.lookup()
    assert unknown.status_code == deleted.status_code == 404
    assert unknown.content == deleted.content
    assert unknown.json()["error"]["code"] == "not_found"


async def test_the_database_holds_no_document_number(world: World) -> None:
    r = await world.push(item("in_production"), item(serial="t2200-0129", status="ready",
                                                     document_type="passport"))
    assert r.status_code == 200
    r = await world.client.post("/api/v1/document-status/notify", json={
        "document_type": "id_card", "serial": SERIAL, "email": "erika@example.org"})
    assert r.status_code == 202, r.text
    numbers = [SERIAL, "T22000129", "T2200-0129", "L01X", "00T47"]
    async with world.state.db.transaction() as session:
        # Every column of every row of the table, as text.
        table = DocumentStatus.__table__  # type: ignore[attr-defined]
        rows = (await session.execute(select(*table.c))).all()
        assert len(rows) == 2
        cells = [value for row in rows for value in row]
        # Nor in the jobs, the audit trail or anywhere else the push and notify wrote.
        others = (await session.execute(text(
            "SELECT payload FROM job UNION ALL SELECT detail FROM audit_event"))).scalars().all()
    for cell in [*cells, *others]:
        shown = cell.hex().upper() + cell.decode("latin-1").upper() \
            if isinstance(cell, bytes) else str(cell).upper()
        for number in numbers:
            assert number.upper() not in shown
        assert "ERIKA" not in shown  # the address is sealed


@pytest.fixture
def limited(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(rate_limits_enabled=True, rate_limit_document_status="3/minute")


async def test_lookups_are_limited_per_client(limited: Settings) -> None:
    application: Starlette = create_app(limited)
    async with running(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            body = {"document_type": "id_card", "serial": SERIAL}
            codes = [(await c.post("/api/v1/document-status", json=body)).status_code
                     for _ in range(4)]
            assert codes == [404, 404, 404, 429]
            r = await c.post("/api/v1/document-status", json=body)
            assert r.json()["error"]["code"] == "rate_limited"
            assert r.headers["Retry-After"]
            page = await c.get("/document-status")
            assert page.status_code == 200  # the form itself is not counted


async def test_entries_go_the_keep_days_after_pickup(world: World) -> None:
    now = utcnow()
    collected = (now - dt.timedelta(days=29)).isoformat()
    await world.push(item("collected", collected),
                     item("ready", (now - dt.timedelta(days=90)).isoformat(), serial="T22000129"))
    async with world.state.db.transaction(write=True) as session:
        assert await purge_collected(session, 30, now=now) == 0
        assert await purge_collected(session, 30, now=now + dt.timedelta(days=1, minutes=1)) == 1
    entries = await world.entries()
    assert [e.status for e in entries] == ["ready"]  # not collected: it stays


async def test_the_worker_deletes_them_on_its_own(world: World) -> None:
    """The periodic task with the services' clock moved on (``BUERO_DOCUMENT_STATUS_KEEP_DAYS``
    is 30 by default)."""
    await world.push(item("collected", utcnow().isoformat()))
    await document_status_task(world.state)
    assert len(await world.entries()) == 1
    Clock.shift(dt.timedelta(days=30, minutes=1))
    try:
        await document_status_task(world.state)
    finally:
        Clock.shift(dt.timedelta(0))
    assert await world.entries() == []
    assert (await world.lookup()).status_code == 404
