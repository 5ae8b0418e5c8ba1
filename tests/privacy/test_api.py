"""The admin privacy API: export everything about one e-mail address, erase it (except what a
legal duty keeps), both audited; only admins."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from booking.models import Appointment
from privacy.service import ANONYMISED_NAME
from tests.privacy.conftest import CITIZEN, World
from tests.staff.helpers import ADMIN_EMAIL, audit_events, context, error_code

EXPORT = "/api/v1/admin/privacy/export"
ERASE = "/api/v1/admin/privacy/erase"


async def test_export_holds_everything_about_the_address(
    app: Starlette, client: httpx.AsyncClient, world: World, admin_headers: dict[str, str],
) -> None:
    r = await client.get(EXPORT, params={"email": CITIZEN.upper()}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    data = r.json()
    refs = {a["reference"] for a in data["appointments"]}
    assert refs == {world.old_done.reference, world.old_open_fee.reference,
                    world.recent_done.reference, world.upcoming.reference}
    assert world.other.reference not in r.text and "Max" not in r.text
    first = next(a for a in data["appointments"] if a["reference"] == world.old_done.reference)
    assert first["phone"] == "+49 711 123456" and first["date_of_birth"] == "1980-05-17"
    assert "token_hash" not in first and "link_nonce" not in first
    assert len(data["postal_addresses"]) == 4
    assert {f["comment"] for f in data["feedback"]} == {"Sehr freundlich, Erika"}
    assert len(data["identity_checks"]) == 2 and len(data["call_events"]) == 2
    case = next(c for c in data["cases"] if c["id"] == world.old_done.case_id)
    assert case["amount_cents"] == 1250
    assert [i["name"] for i in case["items"]] == ["Meldebescheinigung"]
    assert [m["kind"] for m in case["milestones"]] == ["completed"]
    assert case["documents"][0]["kind"] == "fee_notice" and "pdf" not in case["documents"][0]
    actions = {e["action"] for e in data["audit_events"]}
    assert {"appointment.book", "case.complete"} <= actions

    exported = await audit_events(app, "privacy.export")
    assert len(exported) == 1 and exported[0].actor_label == ADMIN_EMAIL
    assert CITIZEN.lower() not in exported[0].detail.lower()


async def test_export_of_an_unknown_address_is_empty(
    client: httpx.AsyncClient, world: World, admin_headers: dict[str, str],
) -> None:
    r = await client.get(EXPORT, params={"email": "nobody@example.org"}, headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["appointments"] == [] and r.json()["cases"] == []


async def test_only_admins(
    client: httpx.AsyncClient, world: World, clerk_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    assert (await client.get(EXPORT, params={"email": CITIZEN})).status_code == 401
    r = await client.get(EXPORT, params={"email": CITIZEN}, headers=clerk_headers)
    assert r.status_code == 403
    r = await client.post(ERASE, json={"email": CITIZEN}, headers=clerk_headers)
    assert r.status_code == 403
    r = await client.get(EXPORT, params={"email": "not-an-address"}, headers=admin_headers)
    assert r.status_code == 422 and error_code(r) == "validation_error"
    r = await client.post(ERASE, content=b"{", headers=admin_headers)
    assert r.status_code == 400
    r = await client.post(ERASE, json={"email": 5}, headers=admin_headers)
    assert r.status_code == 422


async def test_erase_keeps_what_a_legal_duty_holds(
    app: Starlette, client: httpx.AsyncClient, world: World, admin_headers: dict[str, str],
) -> None:
    r = await client.post(ERASE, json={"email": CITIZEN}, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["erased"]) == sorted([world.old_done.reference,
                                             world.recent_done.reference])
    retained = {item["reference"]: item["reason_code"] for item in body["retained"]}
    assert retained == {world.old_open_fee.reference: "fee_open",
                        world.upcoming.reference: "active"}
    r_en = await client.post(ERASE, json={"email": CITIZEN},
                             headers={**admin_headers, "Accept-Language": "de"})
    assert "Gebühr" in r_en.text

    async with context(app).db.transaction() as session:
        erased = await session.get(Appointment, world.recent_done.id)
        kept = await session.get(Appointment, world.old_open_fee.id)
        other = await session.get(Appointment, world.other.id)
        assert erased is not None and kept is not None and other is not None
        assert erased.given_name == ANONYMISED_NAME and erased.email_norm != CITIZEN.lower()
        assert kept.given_name == "Erika"
        assert other.given_name == "Max"  # someone else's data is untouched
    events = await audit_events(app, "privacy.erase")
    assert len(events) == 2 and all(e.actor_label == ADMIN_EMAIL for e in events)
    assert len(await audit_events(app, "privacy.erase_request")) == 2

    # Afterwards the export finds only what is kept.
    r = await client.get(EXPORT, params={"email": CITIZEN}, headers=admin_headers)
    assert {a["reference"] for a in r.json()["appointments"]} == set(retained)


async def test_control_characters_are_refused_not_a_server_error(
    client: httpx.AsyncClient, world: World, admin_headers: dict[str, str],
) -> None:
    # NUL never reaches a handler: the app refuses it in any query string with 400.
    r = await client.get(EXPORT, params={"email": "a\x00b@example.org"}, headers=admin_headers)
    assert r.status_code == 400
    for bad in ("a\x00b@example.org", "a@exa\x01mple.org"):
        if "\x00" not in bad:
            r = await client.get(EXPORT, params={"email": bad}, headers=admin_headers)
            assert r.status_code == 422, bad
        r = await client.post(ERASE, json={"email": bad}, headers=admin_headers)
        assert r.status_code == 422, bad
