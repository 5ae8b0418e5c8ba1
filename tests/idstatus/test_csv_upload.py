"""The clerks' CSV upload with the office's mapping (set by an admin on its page): readable
lines stored, the others listed with their line and reason, no number shown; CSRF, the size
limit and the office scope hold."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.audit import AuditEvent
from tests.cases.conftest import ADMIN, CLERK_A
from tests.idstatus.conftest import INTEGRATION, World
from tests.staff.helpers import form_token, page_login

EXPORT = """Art;Nummer;Stand;Datum
PA;l01x-00t47;Abholbereit;12.11.2026 09:30
RP;T22000129;In Herstellung;02.11.2026
PA;L01X00T4O;Abholbereit;12.11.2026
XX;C01X00T47;Abholbereit;12.11.2026
PA;C01X00T48;Verloren;12.11.2026
PA;C01X00T49;Ausgehändigt;31.02.2026
;;;
"""


def browser(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def set_mapping(app: Starlette, office_id: int) -> None:
    async with browser(app) as admin:
        assert (await page_login(admin, ADMIN)).status_code == 303
        page = await admin.get(f"/staff/document-status/mapping?office={office_id}")
        assert page.status_code == 200
        assert 'value="Dokumentart"' in page.text  # the defaults
        form = {"csrf_token": form_token(page.text), "type_column": "Art",
                "serial_column": "Nummer", "status_column": "Stand", "date_column": "4",
                "types": "PA = id_card\nRP = passport",
                "statuses": "In Herstellung = in_production\nVersendet = shipped\n"
                            "Abholbereit = ready\nAusgehändigt = collected"}
        r = await admin.post(f"/staff/document-status/mapping?office={office_id}", data=form)
        assert r.status_code == 303, r.text
        page = await admin.get(r.headers["location"])
        assert 'id="mapping-saved"' in page.text and "Abholbereit = ready" in page.text
        bad = {**form, "statuses": "Abholbereit = fertig", "serial_column": ""}
        r = await admin.post(f"/staff/document-status/mapping?office={office_id}", data=bad)
        assert r.status_code == 422
        assert "Zeile 1: Schreiben Sie ein Wort" in r.text


async def upload(clerk: httpx.AsyncClient, data: bytes, office_id: int | None = None,
                 token: str | None = None) -> httpx.Response:
    if token is None:
        token = form_token((await clerk.get("/staff/document-status")).text)
    fields = {"csrf_token": token}
    if office_id is not None:
        fields["office_id"] = str(office_id)
    return await clerk.post("/staff/document-status", data=fields,
                            files={"file": ("export.csv", data, "text/csv")})


async def test_upload_with_the_offices_mapping(world: World, app: Starlette) -> None:
    await set_mapping(app, world.desk.office_a)
    async with browser(app) as clerk:
        await page_login(clerk, CLERK_A)
        page = await clerk.get("/staff/document-status")
        assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
        assert "/staff/document-status/mapping" not in page.text  # admins only
        r = await upload(clerk, EXPORT.encode("cp1252"))  # as German office software writes
        assert r.status_code == 200, r.text
        assert "2 Zeilen gespeichert." in r.text
        assert "4 Zeilen waren nicht lesbar und wurden ausgelassen" in r.text
        for line, reason in ((4, "Keine Seriennummer"), (5, "Unbekannte Dokumentart."),
                             (6, "Unbekannter Status."), (7, "Kein Datum")):
            assert f"<tr><td>{line}</td>" in r.text and reason in r.text
        for number in ("L01X00T4O", "C01X00T47", "C01X00T48", "T22000129"):
            assert number not in r.text
        assert (await clerk.get("/staff/document-status/mapping?office=1")).status_code == 403
    body = (await world.lookup("L01X00T47")).json()
    assert (body["status"], body["updated_at"]) == ("ready", "2026-11-12T09:30:00+01:00")
    body = (await world.lookup("T22000129", "passport")).json()
    assert (body["status"], body["updated_at"]) == ("in_production", "2026-11-02T00:00:00+01:00")
    events = await world.desk.rows(AuditEvent, action="document_status.push")
    assert [e.detail for e in events] == ['{"accepted": 2, "source": "csv"}']


async def test_the_default_mapping_and_utf8(world: World, app: Starlette) -> None:
    export = ("\ufeffDokumentart,Seriennummer,Status,Datum\n"
              "Personalausweis,L01X00T47,Ausgehändigt,2026-11-20\n")
    async with browser(app) as clerk:
        await page_login(clerk, CLERK_A)
        r = await upload(clerk, export.encode("utf-8"))
        assert r.status_code == 200 and "1 Zeile gespeichert." in r.text
    assert (await world.lookup()).json()["status"] == "collected"


async def test_upload_refusals(world: World, app: Starlette) -> None:
    async with browser(app) as clerk:
        await page_login(clerk, CLERK_A)
        token = form_token((await clerk.get("/staff/document-status")).text)
        r = await upload(clerk, b"Art;Nummer\nPA;L01X00T47\n", token=token)
        assert r.status_code == 422
        assert "Die Spalte Dokumentart fehlt in der ersten Zeile." in r.text
        r = await upload(clerk, b"", token=token)
        assert r.status_code == 422 and "Bitte wählen Sie die CSV-Datei" in r.text
        r = await upload(clerk, b"x" * (2 * 1024 * 1024 + 1), token=token)
        assert r.status_code == 413
        r = await upload(clerk, EXPORT.encode(), office_id=world.desk.office_b, token=token)
        assert r.status_code == 403
        r = await upload(clerk, EXPORT.encode(), token="forged")
        assert r.status_code == 403
        r = await clerk.post("/staff/document-status", data={"csrf_token": token})
        assert r.status_code == 415
    assert await world.entries() == []
    async with browser(app) as stranger:
        r = await stranger.get("/staff/document-status")
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


async def test_an_admin_chooses_the_office(world: World, app: Starlette) -> None:
    async with browser(app) as admin:
        await page_login(admin, ADMIN)
        page = await admin.get("/staff/document-status")
        assert 'name="office_id"' in page.text and "/staff/document-status/mapping?office=" \
            in page.text
        r = await upload(admin, b"Dokumentart;Seriennummer;Status;Datum\n")
        assert r.status_code == 422 and "Bitte wählen Sie ein Bürgerbüro." in r.text
        r = await upload(admin, b"Dokumentart;Seriennummer;Status;Datum\n",
                         office_id=world.desk.office_b)
        assert r.status_code == 200 and "0 Zeilen gespeichert." in r.text


async def test_the_integration_account_has_no_pages(world: World, app: Starlette) -> None:
    async with browser(app) as machine:
        await page_login(machine, INTEGRATION)
        for path in ("/staff", "/staff/document-status", "/admin"):
            r = await machine.get(path)
            assert r.status_code == 403, path
