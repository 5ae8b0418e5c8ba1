"""The clerk page's guest-link endpoints (CSRF, the office's clerks only, the one JSON error
shape) and the hooks of the invitation panel; the guest page's German text."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from tests.app.pages.call_helpers import (
    CallSeed,
    add_appointment,
    add_clerk,
    form_token,
    login,
    quick_hashes,
    seed_offices,
)

__all__ = ["quick_hashes"]
pytestmark = pytest.mark.usefixtures("quick_hashes")


@pytest.fixture
async def seeded(app: Starlette) -> CallSeed:
    return await seed_offices(app)


async def test_the_panel_and_the_link_endpoints(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    page = await client.get(f"/staff/call/{reference}")
    html = page.text
    for hook in ('id="invite-guest"', 'id="guest-link"', 'id="copy-guest-link"',
                 'id="revoke-guest"', 'id="admit-guest"', 'id="show-large"',
                 'value="sign_language"', "Gebärdensprachdolmetscher/in"):
        assert hook in html, hook
    csrf = form_token(html)
    url = f"/staff/call/{reference}/guest-link"
    # Without the CSRF token: refused, in the JSON shape the page's script reads.
    r = await client.post(url, data={"kind": "interpreter"})
    assert r.status_code == 403 and r.json()["error"]["code"]
    r = await client.post(url, data={"kind": "lawyer", "csrf_token": csrf})
    assert r.status_code == 422
    r = await client.post(url, data={"kind": "interpreter", "name": "Herr Kaya",
                                     "csrf_token": csrf})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["label"] == "Dolmetscher/in" and body["name"] == "Herr Kaya"
    assert re.fullmatch(r"/g/[A-Za-z0-9_-]{43}", body["path"])
    assert r.headers["cache-control"] == "no-store"
    guest = await client.get(body["path"])
    assert guest.status_code == 200
    assert "Videogespräch als Dolmetscher/in" in guest.text
    assert "Eingeladen als: Herr Kaya" in guest.text
    assert body["path"].split("/")[-1] not in guest.text.split("<main", 1)[1].split(
        'id="call-messages"', 1)[1]  # the token is not in the script data
    status = (await client.get(url)).json()
    assert status["active"] is True and status["bound"] is False
    assert status["label"] == "Dolmetscher/in" and "path" not in status
    r = await client.post(url + "/revoke", data={"csrf_token": csrf})
    assert r.json() == {"revoked": 1}
    assert (await client.get(url)).json() == {"active": False}
    assert (await client.get(body["path"])).status_code == 410


async def test_a_clerk_of_another_office_cannot_invite(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.other_office_id])
    await login(client)
    csrf = form_token((await client.get("/staff")).text)
    for path in ("", "/revoke"):
        r = await client.post(f"/staff/call/{reference}/guest-link{path}",
                              data={"kind": "interpreter", "csrf_token": csrf})
        assert r.status_code == 403, path
        assert r.json()["error"]["code"]
