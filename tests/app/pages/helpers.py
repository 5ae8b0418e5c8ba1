"""Helpers for walking the citizen pages like a browser would (no JavaScript)."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col
from starlette.applications import Starlette

from booking.models import Appointment
from core.audit import AuditEvent
from core.jobs import Job
from tests.app.pages.seed import Seed, app_ctx


def radio_values(page: str, name: str) -> list[str]:
    return [html_lib.unescape(v) for v in
            re.findall(rf'<input type="radio" id="[^"]+" name="{name}" value="([^"]+)"', page)]


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF field"
    return match.group(1)


def h1_count(page: str) -> int:
    return len(re.findall(r"<h1[ >]", page))


def details_form(
    csrf: str, service_id: int, day: str, slot: str, **overrides: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf, "service": str(service_id), "day": day, "slot": slot,
        "given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.org",
        "phone": "", "date_of_birth": "1964-08-12", "consent": "yes",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def walk_to_details(client: httpx.AsyncClient, seed: Seed, pick: int = 0,
                          min_slots: int = 1) -> tuple[str, str, str]:
    """Service → day → time through GET pages; returns (day, slot, details page).

    The first day with at least ``min_slots`` free times (and more than ``pick``): late in the
    day, today may have only one or two left.
    """
    r = await client.get(f"/book?service={seed.service_id}")
    assert r.status_code == 200, r.text
    for day in radio_values(r.text, "day"):
        r = await client.get(f"/book?service={seed.service_id}&day={day}")
        assert r.status_code == 200
        slots = radio_values(r.text, "slot")
        if len(slots) >= max(min_slots, pick + 1):
            break
    else:
        raise AssertionError("no day with enough free times")
    slot = slots[pick]
    r = await client.get("/book", params={"service": seed.service_id, "day": day, "slot": slot})
    assert r.status_code == 200
    return day, slot, r.text


async def book_via_pages(client: httpx.AsyncClient, seed: Seed, pick: int = 0,
                         **overrides: str) -> str:
    """Book through the pages; returns the appointment reference from the done page."""
    day, slot, page = await walk_to_details(client, seed, pick)
    r = await client.post("/book", data=details_form(csrf_of(page), seed.service_id, day, slot,
                                                     **overrides))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/book/done"
    r = await client.get("/book/done")
    assert r.status_code == 200
    match = re.search(r"<dd>(BB-[A-Z0-9]{4}-[A-Z0-9]{4})</dd>", r.text)
    assert match, r.text
    return match.group(1)


async def load(app: Starlette, reference: str) -> Appointment:
    async with app_ctx(app).db.transaction() as session:
        result = await session.execute(
            select(Appointment).where(col(Appointment.reference) == reference))
        appointment = result.scalar_one()
        session.expunge(appointment)
        return appointment


async def token_of(app: Starlette, reference: str) -> str:
    appointment = await load(app, reference)
    return app_ctx(app).links.token_for(appointment.link_nonce)


async def counts(app: Starlette) -> tuple[int, int, int]:
    """(appointments, jobs, audit events): a GET must change none of them."""
    async with app_ctx(app).db.transaction() as session:
        values = []
        for model in (Appointment, Job, AuditEvent):
            values.append(int((await session.execute(
                select(func.count()).select_from(model))).scalar_one()))
        return values[0], values[1], values[2]
