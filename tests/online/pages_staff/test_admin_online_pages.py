"""The admin's online-service pages /admin/online-services without JavaScript: a service with
its fields made through the page, rows moved, a field retired (an earlier answer still shows,
marked), errors beside the service's fields and the table's cells, taking a service out of
service, and who may see these pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from booking.models import Service
from online.models import FormField
from tests.cases.conftest import ADMIN
from tests.online.conftest import ANSWERS, Portal
from tests.online.pages_staff.conftest import browser_of, page_forms, submit, text_of

FORM = "online-service-form"


@pytest.fixture
async def admin(clerk: Portal) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_of(clerk.desk.app, ADMIN) as client:
        yield client


def row_values(html: str) -> list[tuple[str, str]]:
    """(key, German label) of each row of the fields table, in order."""
    fields = dict(page_forms(html)[FORM]["fields"])
    rows = []
    for index in range(50):
        if f"fields.{index}.type" not in fields:
            break
        rows.append((fields[f"fields.{index}.key"] or "", fields[f"fields.{index}.label"] or ""))
    return rows


async def keys_of(portal: Portal, service_id: int) -> list[tuple[str, bool]]:
    found = sorted(await portal.desk.rows(FormField, service_id=service_id),
                   key=lambda f: f.position)
    return [(f.key, f.retired_at is not None) for f in found if f.retired_at is None] + \
        [(f.key, True) for f in found if f.retired_at is not None]


async def test_create_a_service_with_its_fields(clerk: Portal,
                                                admin: httpx.AsyncClient) -> None:
    desk = clerk.desk
    r = await admin.get("/admin")
    assert 'href="/admin/online-services" id="online-services-link"' in r.text
    r = await admin.get("/admin/online-services")
    assert r.status_code == 200 and "Hundesteuer-Anmeldung" in r.text
    # A new form has one empty row; "Add another row" gives one more, focused, unsaved.
    r = await admin.get("/admin/online-services/new")
    assert r.status_code == 200 and len(row_values(r.text)) == 1
    r = await submit(admin, "/admin/online-services/new", FORM, {
        "name": "Sondernutzung", "office_ids": [str(desk.office_a)], "fee_cents": "25,00",
        "processing_days": "20", "fields.0.key": "place", "fields.0.label": "Ort",
        "fields.0.label_en": "Place", "fields.0.type": "address",
        "fields.0.required": "yes"}, button=("add_row", "yes"))
    assert r.status_code == 200
    assert row_values(r.text) == [("place", "Ort"), ("", "")]
    assert 'id="fields-1-key" name="fields.1.key" value="" maxlength="40" autofocus' in r.text
    assert "Speichern Sie, um die Änderungen zu behalten." in r.text
    assert not await desk.rows(Service, name="Sondernutzung")
    # Fill the new row and save from the page shown (as a browser would send it).
    fields = dict(page_forms(r.text)[FORM]["fields"])
    fields.update({"fields.1.key": "kind", "fields.1.type": "choice",
                   "fields.1.label": "Art der Nutzung",
                   "fields.1.options": "stand|Infostand|Information stand\nGerüst"})
    r = await admin.post("/admin/online-services/new", data={
        k: v or "" for k, v in fields.items()})
    assert r.status_code == 303, text_of(r.text)
    assert r.headers["location"] == "/admin/online-services?done=created"
    [service] = await desk.rows(Service, name="Sondernutzung")
    assert service.fee_cents == 2500 and service.active
    r = await admin.get(f"/api/v1/admin/online-services/{service.id}",
                        headers=desk.admin)
    body = r.json()
    assert body["processing_days"] == 20 and body["office_ids"] == [desk.office_a]
    assert [(f["key"], f["type"], f["required"]) for f in body["fields"]] == [
        ("place", "address", True), ("kind", "choice", False)]
    assert body["fields"][1]["options"] == [
        {"value": "stand", "label": "Infostand", "label_en": "Information stand"},
        {"value": "Gerüst", "label": "Gerüst", "label_en": ""}]
    # The edit page shows them back the same way.
    r = await admin.get(f"/admin/online-services/{service.id}")
    assert "stand|Infostand|Information stand\nGerüst</textarea>" in r.text
    assert 'id="fields-0-key" name="fields.0.key" value="place" readonly' in r.text


async def test_move_retire_and_the_old_answer_stays(clerk: Portal,
                                                    admin: httpx.AsyncClient) -> None:
    reference, _ = await clerk.sent({**ANSWERS, "chip": "276098106543210"})
    page = f"/admin/online-services/{clerk.service_id}"
    r = await admin.get(page)
    assert [k for k, _ in row_values(r.text)] == [
        "breed", "acquired_on", "chip", "size", "proof", "consent", ""]
    # Move "size" up: shown, not saved, the pressed button keeps the focus.
    r = await submit(admin, page, FORM, button=("move", "3:up"))
    assert r.status_code == 200
    assert [k for k, _ in row_values(r.text)][:4] == ["breed", "acquired_on", "size", "chip"]
    assert re.search(r'id="move-2-up"[^>]*autofocus', r.text)
    # Retire "chip" (now row 3) on that page and save it.
    fields = dict(page_forms(r.text)[FORM]["fields"])
    fields["fields.3.retire"] = "yes"
    r = await admin.post(page, data={k: v or "" for k, v in fields.items()})
    assert r.status_code == 303, text_of(r.text)
    assert await keys_of(clerk, clerk.service_id) == [
        ("breed", False), ("acquired_on", False), ("size", False), ("proof", False),
        ("consent", False), ("chip", True)]
    # The citizens' form no longer asks it; the request's answer stays, labelled and marked.
    r = await admin.get("/api/v1/online-services")
    [offered] = [s for s in r.json() if s["id"] == clerk.service_id]
    assert "chip" not in [f["key"] for f in offered["fields"]]
    r = await clerk.client.get(f"/staff/requests/{reference}")
    words = text_of(r.text)
    assert "Chipnummer (Feld nicht mehr im Formular) 276098106543210" in words
    # The edit page shows it ticked as retired; unticking asks it again.
    r = await admin.get(page)
    chip = [k for k, _ in row_values(r.text)].index("chip")
    assert re.search(rf'id="fields-{chip}-retire" name="fields.{chip}.retire" value="yes" '
                     r'checked', r.text)
    assert "stillgelegt" in r.text
    r = await submit(admin, page, FORM, {f"fields.{chip}.retire": []})
    assert r.status_code == 303
    assert ("chip", False) in await keys_of(clerk, clerk.service_id)


async def test_errors_beside_fields_and_cells(clerk: Portal, admin: httpx.AsyncClient) -> None:
    page = f"/admin/online-services/{clerk.service_id}"
    r = await submit(admin, page, FORM, {
        "name": "", "processing_days": "999", "identity": "video",
        "fields.0.type": "number",  # a saved field's type cannot change
        "fields.3.options": "nur eine",  # "size" is a choice: two options at least
        "fields.4.max_mb": "viel",  # "proof" is a file
        "fields.6.key": "Neu Feld", "fields.6.label": "Neu"})
    assert r.status_code == 422
    html = r.text
    for cell in ("name", "processing_days", "fields-3-options", "fields-4-max_mb",
                 "fields-6-key"):
        assert f'id="{cell}-error"' in html, cell
        assert f'href="#{cell}"' in html, cell  # the summary leads to it
    assert 'aria-describedby="fields-3-options-error"' in html
    assert "Eine Auswahl braucht mindestens zwei Möglichkeiten." in html
    # What was typed stays on the page.
    assert 'value="Neu Feld"' in html and ">nur eine</textarea>" in html
    [service] = await clerk.desk.rows(Service, id=clerk.service_id)
    assert service.name == "Hundesteuer-Anmeldung"
    # With the service's fields right, the catalogue's own check (a type change) shows too.
    r = await submit(admin, page, FORM, {"fields.0.type": "number"})
    assert r.status_code == 422
    assert 'id="fields-0-type-error"' in r.text
    assert "Die Art eines Feldes kann nicht mehr geändert werden" in r.text
    # Two rows with one key: beside the second.
    r = await submit(admin, page, FORM, {"fields.6.key": "breed", "fields.6.label": "Noch mal"})
    assert r.status_code == 422 and 'id="fields-6-key-error"' in r.text


async def test_retire_or_delete_a_service(clerk: Portal, admin: httpx.AsyncClient) -> None:
    page = f"/admin/online-services/{clerk.service_id}/delete"
    await clerk.sent()
    r = await admin.get(page)
    assert r.status_code == 200 and "Außer Betrieb nehmen" in r.text
    # Requests were made: it cannot be deleted, the page says so.
    forms = page_forms(r.text)
    delete = next(f for f in forms.values() if f["action"].endswith("/delete"))
    token = dict(delete["fields"])["csrf_token"]
    r = await admin.post(page, data={"csrf_token": token})
    assert r.status_code == 409 and 'id="delete-alert"' in r.text
    r = await admin.post(f"/admin/online-services/{clerk.service_id}/deactivate",
                         data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("done=deactivated")
    [service] = await clerk.desk.rows(Service, id=clerk.service_id)
    assert service.active is False
    r = await admin.get("/api/v1/online-services")
    assert clerk.service_id not in [s["id"] for s in r.json()]
    # One nobody asked for is deleted.
    r = await admin.post("/api/v1/admin/online-services", headers=clerk.desk.admin,
                         json={"name": "Leer", "fields": []})
    unused = r.json()["id"]
    r = await admin.post(f"/admin/online-services/{unused}/delete", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("done=deleted")
    assert not await clerk.desk.rows(Service, id=unused)


async def test_admins_only_and_the_other_admin_pages_still_answer(
        clerk: Portal, admin: httpx.AsyncClient) -> None:
    for path in ("/admin/online-services", "/admin/online-services/new",
                 f"/admin/online-services/{clerk.service_id}"):
        assert (await clerk.client.get(path)).status_code == 403, path
    assert (await admin.get("/admin/online-services/999999")).status_code == 404
    for resource in ("offices", "services", "users"):
        assert (await admin.get(f"/admin/{resource}")).status_code == 200
    r = await admin.get("/admin/online-services?lang=en")
    assert "Online services" in r.text and "Retire or delete" in r.text
