from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.db import Database
from booking.links import LinkKeys


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def links() -> LinkKeys:
    return LinkKeys(b"test-secret-key-0123456789")
