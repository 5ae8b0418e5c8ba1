"""The waitlist form without JavaScript: it asks how to meet when the service is offered in
several ways (preselected from the booking's choice), and for the postal address when the
documents go by post; the wish keeps both."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from booking.models import Service
from booking.waitlist import WaitlistWish
from tests.app.pages.helpers import csrf_of
from tests.app.pages.seed import app_ctx, seed


async def test_the_form_asks_the_channel_and_the_postal_address(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await seed(app)
    # A plain video service: neither question.
    r = await client.get(f"/waitlist?service={s.service_id}&office={s.office_id}")
    assert r.status_code == 200
    assert 'name="postal_address"' not in r.text and 'type="radio" name="channel"' not in r.text

    async with app_ctx(app).db.transaction(write=True) as session:
        service = await session.get(Service, s.service_id)
        assert service is not None
        service.onsite = True
        service.delivers_by_post = True
    r = await client.get(f"/waitlist?service={s.service_id}&office={s.office_id}&channel=onsite")
    assert r.status_code == 200
    assert 'name="postal_address"' in r.text
    assert re.search(r'<input[^>]*name="channel"[^>]*value="onsite"[^>]*checked', r.text)
    assert not re.search(r'<input[^>]*name="channel"[^>]*value="video"[^>]*checked', r.text)
    day = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    form = {"csrf_token": csrf_of(r.text), "service": str(s.service_id),
            "office": str(s.office_id), "channel": "onsite", "from_date": day, "to_date": day,
            "given_name": "Erika", "family_name": "Muster", "email": "erika@example.org"}
    r = await client.post("/waitlist", data=form)
    assert r.status_code == 422
    assert 'id="postal_address-error"' in r.text and "Postanschrift" in r.text
    assert 'value="Erika"' in r.text  # nothing typed is lost
    r = await client.post("/waitlist", data={
        **form, "postal_address": "Hauptstraße 1\n73760 Ostfildern"})
    assert r.status_code == 303, r.text
    async with app_ctx(app).db.transaction() as session:
        [wish] = (await session.execute(select(WaitlistWish))).scalars().all()
    assert wish.channel == "onsite"
    assert wish.postal_address == "Hauptstraße 1\n73760 Ostfildern"
