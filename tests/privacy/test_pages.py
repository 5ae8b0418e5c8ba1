"""The admin page /admin/privacy (export download, erase with a confirmation step, CSRF), the
privacy notice and imprint with the office's fields."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette

from booking.models import Appointment, Office
from privacy.service import ANONYMISED_NAME
from tests.privacy.conftest import CITIZEN, World
from tests.staff.helpers import ADMIN_EMAIL, add_user, context, page_login, session_token


async def _login_admin(app: Starlette, client: httpx.AsyncClient) -> str:
    await add_user(app, ADMIN_EMAIL, "admin")
    r = await page_login(client, ADMIN_EMAIL)
    assert r.status_code in (302, 303), r.text
    return await session_token(client)


async def test_admin_page_exports_and_erases_after_confirmation(
    app: Starlette, client: httpx.AsyncClient, world: World,
) -> None:
    csrf = await _login_admin(app, client)
    page = await client.get("/admin/privacy")
    assert page.status_code == 200 and 'id="privacy-download"' in page.text
    assert 'href="/admin/privacy"' in (await client.get("/admin")).text

    r = await client.post("/admin/privacy",
                          data={"csrf_token": csrf, "email": CITIZEN, "action": "export"})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment")
    assert len(json.loads(r.text)["appointments"]) == 4

    r = await client.post("/admin/privacy",
                          data={"csrf_token": csrf, "email": CITIZEN, "action": "erase"})
    assert r.status_code == 200 and 'id="privacy-confirm"' in r.text
    assert world.old_done.reference in r.text
    async with context(app).db.transaction() as session:
        row = await session.get(Appointment, world.old_done.id)
        assert row is not None and row.given_name == "Erika"  # nothing erased yet

    r = await client.post("/admin/privacy/erase",
                          data={"csrf_token": csrf, "email": CITIZEN, "confirm": "yes"})
    assert r.status_code == 200 and 'id="privacy-retained"' in r.text
    assert world.old_open_fee.reference in r.text
    async with context(app).db.transaction() as session:
        row = await session.get(Appointment, world.old_done.id)
        assert row is not None and row.given_name == ANONYMISED_NAME


async def test_admin_page_needs_csrf_and_an_address(
    app: Starlette, client: httpx.AsyncClient, world: World,
) -> None:
    csrf = await _login_admin(app, client)
    r = await client.post("/admin/privacy/erase", data={"email": CITIZEN, "confirm": "yes"})
    assert r.status_code == 403
    r = await client.post("/admin/privacy", data={"csrf_token": csrf, "email": "nope"})
    assert r.status_code == 422 and "E-Mail-Adresse" in r.text
    async with context(app).db.transaction() as session:
        row = await session.get(Appointment, world.old_done.id)
        assert row is not None and row.given_name == "Erika"


async def test_admin_page_is_for_admins_only(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/privacy")
    assert r.status_code in (302, 303, 401)


async def test_privacy_notice_and_imprint_show_the_office_fields(
    app: Starlette, client: httpx.AsyncClient, world: World, admin_headers: dict[str, str],
) -> None:
    r = await client.patch(f"/api/v1/admin/offices/{world.office_id}", headers=admin_headers,
                           json={"privacy_contact": "Datenschutz Stadt\ndatenschutz@stadt.example",
                                 "data_protection_officer": "Dr. Petra Schutz",
                                 "imprint": "Stadt Ostfildern\nvertreten durch den Bürgermeister"})
    assert r.status_code == 200, r.text
    assert r.json()["imprint"].startswith("Stadt Ostfildern")
    privacy = await client.get("/privacy")
    assert "Dr. Petra Schutz" in privacy.text and "datenschutz@stadt.example" in privacy.text
    assert "Datenschutzbeauftragte Person" in privacy.text
    imprint = await client.get("/imprint")
    assert imprint.status_code == 200
    assert "Impressum" in imprint.text and "vertreten durch den Bürgermeister" in imprint.text
    english = await client.get("/imprint?lang=en")
    assert "Imprint" in english.text
    async with context(app).db.transaction() as session:
        office = await session.get(Office, world.office_id)
        assert office is not None and office.data_protection_officer == "Dr. Petra Schutz"
