from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.context import AppContext
from app.db import Database
from booking.models import Appointment
from tests.booking.factories import BERLIN, World, world

# A day a few days ahead (the API uses the real clock): always bookable with the defaults below.
DAY: date = (datetime.now(BERLIN) + timedelta(days=3)).date()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def seeded(db: Database) -> World:
    """One office (Europe/Berlin, no minimum notice), one 15-minute service, every day 09–12."""
    return await world(db)


def app_ctx(app: Starlette) -> AppContext:
    value = app.state.ctx
    assert isinstance(value, AppContext)
    return value


async def token_of(app: Starlette, db: Database, reference: str) -> str:
    """The citizen's link token, rebuilt the way the mail worker does."""
    async with db.transaction() as session:
        result = await session.execute(
            select(Appointment.link_nonce).where(Appointment.reference == reference)  # type: ignore[arg-type]
        )
        nonce = result.scalar_one()
    return app_ctx(app).links.token_for(nonce)
