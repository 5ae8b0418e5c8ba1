"""The clerk's desk pages: two offices, fee-schedule services, clerks of each office and an
admin (``tests.cases.conftest.build_desk``), and a page session for clerk A."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from tests.app.pages.call_helpers import quick_hashes
from tests.cases.conftest import ADMIN, CLERK_A, Desk, build_desk
from tests.staff.helpers import form_token, page_login

__all__ = ["quick_hashes"]


@pytest.fixture(autouse=True)
def _cheap_passwords(quick_hashes: None) -> None:
    """Every test here creates accounts: real argon2id, small cost."""


@pytest.fixture
async def desk(app: Starlette, client: httpx.AsyncClient) -> Desk:
    found = await build_desk(app, client)
    r = await page_login(client, CLERK_A)
    assert r.status_code == 303, r.text
    return found


@asynccontextmanager
async def other_client(app: Starlette, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies), logged in as ``email``."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        r = await page_login(client, email)
        assert r.status_code == 303, r.text
        yield client


@pytest.fixture
async def admin_client(app: Starlette, desk: Desk) -> AsyncIterator[httpx.AsyncClient]:
    async with other_client(app, ADMIN) as client:
        yield client


async def csrf(client: httpx.AsyncClient, path: str = "/staff") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return form_token(page.text)
