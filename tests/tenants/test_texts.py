"""A municipality's imprint, privacy statement and accessibility statement: set through the
platform API, shown on its own host's /imprint, /privacy and /barrierefreiheit above what the
offices publish (escaped, line breaks kept), and on no other municipality's host; with one
municipality and no texts the pages stay as they were."""

from __future__ import annotations

import html
import re

import httpx
from starlette.applications import Starlette

from core.tenancy import acting_for
from tests.staff.helpers import PASSWORD, add_office, add_user

PLATFORM = "platform@betrieb.example"
IMPRINT = ("Stadt Zwiebelbach\nvertreten durch die Bürgermeisterin\n\nZwiebelplatz 1\n"
           "99999 Zwiebelbach <script>alert(1)</script>")
PRIVACY = "Verantwortlich: Stadt Zwiebelbach\nDatenschutz: dsb@zwiebelbach.example"
ACCESSIBILITY = "Die Stadt Zwiebelbach prüft ihre Seiten jährlich.\nKontakt: Zwiebeltelefon"
PAGES = {"/imprint": ("municipality-imprint", IMPRINT),
         "/privacy": ("municipality-privacy", PRIVACY),
         "/barrierefreiheit": ("municipality-accessibility", ACCESSIBILITY)}


def _client(app: Starlette, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


async def _platform(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"email": PLATFORM, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _own_text(page: str, element_id: str) -> str | None:
    """The text of the element ``element_id`` as the browser shows it (entities decoded)."""
    found = re.search(rf'<div class="prewrap own-text" lang="de" id="{element_id}">(.*?)</div>',
                      page, re.S)
    return html.unescape(found.group(1)) if found else None


async def test_each_host_shows_its_own_municipality_s_texts_above_the_offices(
    app: Starlette
) -> None:
    await add_user(app, PLATFORM, "platform_admin")
    async with _client(app, "b.example") as town_b, _client(app, "a.example") as town_a:
        platform = await _platform(town_a)
        r = await town_a.post("/api/v1/platform/municipalities", headers=platform,
                              json={"name": "Stadt Zwiebelbach", "hosts": ["b.example"],
                                    "imprint": "Erste Fassung"})
        assert r.status_code == 201, r.text
        b_id = r.json()["id"]
        assert r.json()["imprint"] == "Erste Fassung"
        r = await town_a.patch(f"/api/v1/platform/municipalities/{b_id}", headers=platform,
                               json={"imprint": IMPRINT.replace("\n", "\r\n"),
                                     "privacy_statement": PRIVACY,
                                     "accessibility_statement": ACCESSIBILITY})
        assert r.status_code == 200, r.text
        changed = r.json()
        assert (changed["imprint"], changed["privacy_statement"],
                changed["accessibility_statement"]) == (IMPRINT, PRIVACY, ACCESSIBILITY)
        assert changed["name"] == "Stadt Zwiebelbach" and changed["hosts"] == ["b.example"]
        listed = (await town_a.get("/api/v1/platform/municipalities", headers=platform)).json()
        assert [m["imprint"] for m in listed] == ["", IMPRINT]

        with acting_for(b_id):
            office_b = await add_office(app, "Bürgerbüro Zwiebelbach")
        office_a = await add_office(app, "Rathaus Aheim")
        assert office_a != office_b
        for path, (element_id, text) in PAGES.items():
            page = (await town_b.get(path)).text
            assert _own_text(page, element_id) == text, path
            # The offices' part stays, below the municipality's text.
            if path != "/barrierefreiheit":
                assert page.index(element_id) < page.index("Bürgerbüro Zwiebelbach"), path
            assert "Rathaus Aheim" not in page
            other = (await town_a.get(path)).text
            assert "own-text" not in other and "Zwiebelbach" not in other, path
        imprint = (await town_b.get("/imprint")).text
        assert "<script>alert(1)</script>" not in imprint
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in imprint
        statement = (await town_b.get("/barrierefreiheit")).text
        assert 'id="no-statement"' not in statement
        assert 'id="no-statement"' in (await town_a.get("/barrierefreiheit")).text


async def test_the_platform_checks_what_it_changes(app: Starlette) -> None:
    await add_user(app, PLATFORM, "platform_admin")
    await add_user(app, "admin@a.example", "admin")
    async with _client(app, "a.example") as client:
        platform = await _platform(client)
        for name, host in (("Stadt B", "b.example"), ("Stadt C", "c.example")):
            r = await client.post("/api/v1/platform/municipalities", headers=platform,
                                  json={"name": name, "hosts": [host]})
            assert r.status_code == 201, r.text
        c_id = r.json()["id"]
        url = f"/api/v1/platform/municipalities/{c_id}"
        # Its own host again is no clash; another's is.
        assert (await client.patch(url, headers=platform,
                                   json={"hosts": ["c.example"]})).status_code == 200
        clash = await client.patch(url, headers=platform, json={"hosts": ["b.example"]})
        assert clash.status_code == 409
        long = await client.patch(url, headers=platform, json={"imprint": "x" * 20_001})
        assert long.status_code == 422 and "20000" in long.text
        control = await client.patch(url, headers=platform, json={"imprint": "a\x07b"})
        assert control.status_code == 422
        unknown = await client.patch(url, headers=platform, json={"colour": "#000000"})
        assert unknown.status_code == 422
        assert (await client.patch("/api/v1/platform/municipalities/999", headers=platform,
                                   json={"imprint": "x"})).status_code == 404
        r = await client.post("/api/v1/auth/token",
                              json={"email": "admin@a.example", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await client.patch(url, headers=admin, json={"imprint": "x"})).status_code == 403
        listed = (await client.get("/api/v1/platform/municipalities", headers=platform)).json()
        assert [m["imprint"] for m in listed] == ["", "", ""]


async def test_one_municipality_without_texts_shows_its_pages_as_before(app: Starlette) -> None:
    async with _client(app, "anything.example") as client:
        imprint = (await client.get("/imprint")).text
        assert "own-text" not in imprint
        # No office yet: the page names the town hall, as it did.
        assert "Die Stadtverwaltung, die dieses Angebot betreibt." in imprint
        assert "own-text" not in (await client.get("/privacy")).text
        statement = (await client.get("/barrierefreiheit")).text
        assert "own-text" not in statement and 'id="no-statement"' in statement
