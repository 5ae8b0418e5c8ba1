"""Single sign-on is the installation's provider: it serves the first municipality only, so it
never makes or signs in accounts of another town for whoever the provider knows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from core.audit import Actor
from tenants.service import create_municipality
from tests.conftest import running
from tests.staff.helpers import context
from tests.staff.oidc_support import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
async def sso_app(settings_factory: Callable[..., Settings]) -> AsyncIterator[Starlette]:
    settings = settings_factory(oidc_issuer="https://login.stadt.example",
                                oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    application = create_app(settings)
    async with running(application):
        state = context(application)
        async with state.db.transaction(write=True) as session:
            await create_municipality(session, Actor.system(),
                                      {"name": "Stadt Zwiebelbach", "hosts": ["b.example"]})
        state.hosts.forget()
        yield application


def _client(app: Starlette, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


async def test_only_the_first_town_offers_single_sign_on(sso_app: Starlette) -> None:
    async with _client(sso_app, "a.example") as town_a, _client(sso_app, "b.example") as town_b:
        page_a = await town_a.get("/staff/login")
        page_b = await town_b.get("/staff/login")
        start_b = await town_b.get("/staff/sso/start")
        callback_b = await town_b.get("/staff/sso/callback?state=x&code=y")
    assert page_a.status_code == page_b.status_code == 200
    assert "/staff/sso/start" in page_a.text
    assert "/staff/sso/start" not in page_b.text
    assert 'name="password"' in page_b.text  # B's staff sign in with their password
    assert start_b.status_code == 404
    assert callback_b.status_code == 404
