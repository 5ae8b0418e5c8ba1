"""Completing a request: items from the fee schedule, payment and delivery rules, the identity
requirement, the case and its number, and what the citizen then sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.main import create_app
from app.settings import Settings
from booking.models import Service
from cases.models import CaseItem
from tests.cases.conftest import Desk, build_desk, year
from tests.conftest import running
from tests.staff.helpers import bearer


def body(desk: Desk, **changes: Any) -> dict[str, Any]:
    return {"items": [{"service_id": desk.certificate, "quantity": 2},
                      {"service_id": desk.life, "quantity": 1}],
            "payment": "invoice", "delivery": "post",
            "postal_address": ["Marktplatz 3", "73760 Musterhausen"], **changes}


async def test_complete_creates_the_case(desk: Desk) -> None:
    reference, token = await desk.appointment(status="in_call")
    assert (await desk.verify(reference)).status_code == 200
    r = await desk.complete(reference, body(desk, note="Bitte zwei Exemplare"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "completed"
    case = out["case"]
    assert case["case_number"] == f"{year()}-000001"
    assert (case["amount_cents"], case["currency"]) == (2000, "EUR")
    assert (case["payment"], case["payment_status"]) == ("invoice", "open")
    assert (case["delivery"], case["dispatch_status"]) == ("post", "queued")
    assert case["state"] == "completed" and case["revision"] == 1
    assert case["external_authority"] is None
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert case["due_date"] == (today + dt.timedelta(days=14)).isoformat()
    assert case["note"] == "Bitte zwei Exemplare"
    assert [(i["name"], i["quantity"], i["unit_fee_cents"], i["amount_cents"],
             i["fee_schedule_ref"]) for i in case["items"]] == [
        ("Meldebescheinigung", 2, 1000, 2000, "GebVerz Nr. 1.2.3"),
        ("Lebensbescheinigung", 1, 0, 0, ""),
    ]
    appointment = await desk.appointment_row(reference)
    assert appointment.status == "completed"
    rows = await desk.decided()
    assert len(rows) == 1 and rows[0].identity_check_id is not None
    assert rows[0].completed_by_label == "clerk.a@stadt.example"
    events = await desk.audit("case.complete")
    assert len(events) == 1 and case["case_number"] in events[0].detail
    assert events[0].object_id == str(appointment.id)

    # The case is the citizen's too, in the API ...
    me = await desk.client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    mine = me.json()["case"]
    assert mine["case_number"] == case["case_number"]
    assert (mine["amount_cents"], mine["currency"]) == (2000, "EUR")
    assert (mine["payment_status"], mine["dispatch_status"]) == ("open", "queued")
    assert mine["delivery"] == "post" and mine["external_authority"] is None
    assert len(mine["items"]) == 2 and "note" not in mine
    # ... and on the appointment page, in plain words.
    page = await desk.client.get(f"/t/{token}")
    assert page.status_code == 200
    assert 'id="case-number">' + case["case_number"] in page.text
    assert "20,00\xa0€" in page.text
    # One fee on the page: the summary shows the fee charged, not the service's list fee too.
    summary = page.text.split('id="appointment-summary"', 1)[1].split("</dl>", 1)[0]
    assert "Erhobene Gebühr" in summary and "20,00\xa0€" in summary
    assert "10,00" not in summary
    assert "Kassenzeichen" in page.text and "Wir schicken Ihnen Ihr Dokument per Post." in page.text
    english = await desk.client.get(f"/t/{token}?lang=en")
    assert "Registration certificate" in english.text and "Case number" in english.text


async def test_fees_are_copied_at_completion(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    assert (await desk.complete(reference)).status_code == 200
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Service).where(col(Service.id) == desk.certificate)
                              .values(fee_cents=5000, fee_schedule_ref="neu"))
    details = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/case",
                                    headers=desk.clerk_a)
    case = details.json()["case"]
    assert case["amount_cents"] == 1000
    assert case["items"][0]["fee_schedule_ref"] == "GebVerz Nr. 1.2.3"


async def test_a_free_request_needs_no_payment_nor_identity(desk: Desk) -> None:
    reference, token = await desk.appointment(service_id=desk.life)
    r = await desk.complete(reference, {"items": [{"service_id": desk.life}],
                                        "payment": "invoice", "delivery": "email"})
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert (case["amount_cents"], case["payment"], case["payment_status"]) == (
        0, "none", "not_required")
    assert (case["dispatch_status"], case["due_date"]) == ("not_required", None)
    page = await desk.client.get(f"/t/{token}")
    assert "Sie müssen keine Gebühr bezahlen." in page.text
    assert "gebührenfrei" in page.text


async def test_external_delivery_names_the_authority(desk: Desk) -> None:
    reference, token = await desk.appointment(service_id=desk.conduct)
    await desk.verify(reference)
    missing = await desk.complete(reference, {"items": [{"service_id": desk.conduct}],
                                              "payment": "invoice", "delivery": "external"})
    assert missing.status_code == 422
    assert "external_authority" in missing.text or "Behörde" in missing.json()["error"]["message"]
    r = await desk.complete(reference, {
        "items": [{"service_id": desk.conduct}], "payment": "invoice", "delivery": "external",
        "external_authority": "  Bundesamt für   Justiz ",
    })
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert (case["dispatch_status"], case["external_authority"]) == (
        "forwarded", "Bundesamt für Justiz")
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["case"]["external_authority"] == "Bundesamt für Justiz"
    page = await desk.client.get(f"/t/{token}")
    assert "Ihr Antrag wurde weitergeleitet an: Bundesamt für Justiz." in page.text


@pytest.mark.parametrize(("delivery", "dispatch"), [
    ("post", "queued"), ("email", "not_required"), ("pickup", "not_required"),
])
async def test_dispatch_status_follows_the_delivery(
    desk: Desk, delivery: str, dispatch: str
) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    r = await desk.complete(reference, body(desk, delivery=delivery))
    assert r.status_code == 200, r.text
    assert r.json()["case"]["dispatch_status"] == dispatch


@pytest.mark.parametrize(("changes", "expected"), [
    ({"payment": "none"}, "Gebührenbescheid oder online"),
    ({"payment": "online"}, "Online-Zahlung ist nicht eingerichtet"),
    ({"payment": "cash"}, "payment"),
    ({"delivery": "pigeon"}, "delivery"),
    ({"delivery": "post", "external_authority": "Bundesamt für Justiz"}, "andere Behörde"),
    ({"items": []}, "items"),
    ({"items": [{"service_id": 999999}]}, "nicht im Gebührenverzeichnis"),
    ({"items": [{"service_id": 1, "quantity": 0}]}, "items.0.quantity"),
    ({"items": [{"service_id": 1, "quantity": 21}]}, "items.0.quantity"),
    ({"items": [{"service_id": "1"}]}, "items.0.service_id"),
    ({"note": "n" * 1001}, "note"),
    ({"note": "Ausweis L01X00T47"}, "Dokumentennummern"),
])
async def test_bad_completions_are_422(
    desk: Desk, changes: dict[str, Any], expected: str
) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    r = await desk.complete(reference, body(desk, **changes))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert expected in error["message"], error
    assert (await desk.appointment_row(reference)).status == "confirmed"
    assert await desk.decided() == []


async def test_each_service_once(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    r = await desk.complete(reference, body(desk, items=[
        {"service_id": desk.certificate}, {"service_id": desk.certificate}]))
    assert r.status_code == 422
    assert "Anzahl" in r.json()["error"]["message"]


async def test_identity_required(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await desk.complete(reference)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "identity_required"
    assert "Identität" in r.json()["error"]["message"]
    # A failed check is no better.
    await desk.verify(reference, outcome="failed", checks=[], reason_code="poor_image_quality")
    assert (await desk.complete(reference)).json()["error"]["code"] == "identity_required"
    assert (await desk.appointment_row(reference)).status == "confirmed"


async def test_completing_twice_is_409(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    assert (await desk.complete(reference)).status_code == 200
    again = await desk.complete(reference)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_completed"
    assert len(await desk.decided()) == 1


@pytest.mark.parametrize("status", ["reserved", "no_show", "cancelled", "expired"])
async def test_only_confirmed_or_in_call_can_complete(desk: Desk, status: str) -> None:
    reference, _ = await desk.appointment(status=status, service_id=desk.life)
    r = await desk.complete(reference, {"items": [{"service_id": desk.life}],
                                        "payment": "none", "delivery": "pickup"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "wrong_state"


async def test_numbers_count_up(desk: Desk) -> None:
    numbers = []
    for _ in range(3):
        reference, _ = await desk.appointment(service_id=desk.life)
        r = await desk.complete(reference, {"items": [{"service_id": desk.life}],
                                            "payment": "none", "delivery": "pickup"})
        numbers.append(r.json()["case"]["case_number"])
    assert numbers == [f"{year()}-00000{n}" for n in (1, 2, 3)]


async def test_online_payment_when_configured(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(stripe_secret_key="sk_test_x",
                                case_number_format="KZ/{year}/{office_id}/{seq:05d}",
                                fee_due_days=30)
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            desk = await build_desk(app, c)
            reference, _ = await desk.appointment()
            await desk.verify(reference)
            r = await desk.complete(reference, body(desk, payment="online"))
            assert r.status_code == 200, r.text
            case = r.json()["case"]
            assert case["case_number"] == f"KZ/{year()}/{desk.office_a}/00001"
            assert (case["payment"], case["payment_status"]) == ("online", "open")
            today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
            assert case["due_date"] == (today + dt.timedelta(days=30)).isoformat()


async def test_items_are_stored_with_their_copies(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    await desk.complete(reference, body(desk))
    items = sorted(await desk.rows(CaseItem), key=lambda i: i.position)
    assert [(i.name, i.quantity, i.unit_fee_cents, i.amount_cents) for i in items] == [
        ("Meldebescheinigung", 2, 1000, 2000), ("Lebensbescheinigung", 1, 0, 0)]
