"""The integration API: who may push (an admin's token, an integration account for its own
offices only), all-or-nothing checks with a message per item, the newest report winning."""

from __future__ import annotations

from core.audit import AuditEvent
from tests.idstatus.conftest import LOOKUP, PUSH, SERIAL, World, item


async def test_an_integration_account_pushes_for_its_office(world: World) -> None:
    r = await world.push(item(), item(serial="T22000129", document_type="passport",
                                       status="shipped"))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2}
    r = await world.lookup()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "in_production"
    assert body["updated_at"] == "2026-11-02T09:00:00+01:00"
    assert body["office"] == {"id": world.desk.office_a, "name": "Bürgerbüro Mitte",
                              "address": ""}
    events = await world.desk.rows(AuditEvent, action="document_status.push")
    assert [e.detail for e in events] == ['{"accepted": 2, "source": "api"}']


async def test_an_admin_pushes_for_any_office(world: World) -> None:
    r = await world.push(item(), office="b", headers=world.desk.admin)
    assert r.status_code == 200, r.text
    assert (await world.lookup()).json()["office"]["id"] == world.desk.office_b


async def test_other_office_clerks_and_strangers_are_refused(world: World) -> None:
    r = await world.push(item(), office="b")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    r = await world.push(item(), headers=world.desk.clerk_a)  # a clerk, even of office A
    assert r.status_code == 403
    r = await world.client.post(PUSH, json={"office_id": world.desk.office_a,
                                            "items": [item()]})
    assert r.status_code == 401
    r = await world.client.post(PUSH, json={"office_id": 999_999, "items": [item()]},
                                headers=world.desk.admin)
    assert r.status_code == 404
    assert await world.entries() == []


async def test_the_integration_account_opens_nothing_else(world: World) -> None:
    for path in ("/api/v1/clerk/appointments", "/api/v1/clerk/requests",
                 "/api/v1/admin/offices"):
        r = await world.client.get(path, headers=world.integration)
        assert r.status_code == 403, path
    r = await world.client.get("/api/v1/auth/me", headers=world.integration)
    assert r.status_code == 200
    assert r.json()["role"] == "integration"
    assert r.json()["office_ids"] == [world.desk.office_a]


async def test_items_are_checked_all_or_nothing_with_a_message_each(world: World) -> None:
    r = await world.push(item(), item(serial="L01X00T4O"), item(document_type="residence"),
                         item(status="lost"), item(at="2026-11-02 09:00"),
                         item(at="2999-01-01T00:00:00+00:00"),
                         headers={**world.integration, "Accept-Language": "de"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    details = {d["field"]: d["message"] for d in error["details"]}
    assert set(details) >= {"items.1.serial", "items.2.document_type", "items.3.status",
                            "items.4.at", "items.5.at"}
    assert "C, F, G, H, J, K, L, M, N, P, R, T, V, W, X, Y und Z" in details["items.1.serial"]
    assert "es gibt kein O" in details["items.1.serial"]
    assert details["items.5.at"] == "Diese Zeit liegt in der Zukunft."
    assert "nichts wurde gespeichert" in error["message"]
    assert await world.entries() == []  # the good first item was not stored either


async def test_limits_of_a_call(world: World) -> None:
    r = await world.push()
    assert r.status_code == 422
    many = [item(serial=f"L01X{n:05d}") for n in range(1001)]
    r = await world.push(*many)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "items"
    r = await world.push(*many[:1000])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1000}
    assert len(await world.entries()) == 1000
    r = await world.client.post(PUSH, content=b'{"office_id": 1, "items": "x"}',
                                headers={**world.integration,
                                         "Content-Type": "application/json"})
    assert r.status_code == 422
    r = await world.client.post(PUSH, content=b"[1,", headers=world.integration)
    assert r.status_code == 400


async def test_the_newest_report_wins_whoever_sends_it(world: World) -> None:
    await world.push(item("shipped", "2026-11-10T08:00:00+01:00"))
    # An older export sent again changes nothing.
    r = await world.push(item("in_production", "2026-11-02T08:00:00+01:00"))
    assert r.status_code == 200 and r.json() == {"accepted": 1}
    assert (await world.lookup()).json()["status"] == "shipped"
    # Two reports of one document in one call: the newer one counts.
    await world.push(item("collected", "2026-11-20T10:00:00+01:00"),
                     item("ready", "2026-11-12T10:00:00+01:00"))
    assert (await world.lookup()).json()["status"] == "collected"
    # A newer report of another office moves the document there (one entry per number).
    await world.push(item("ready", "2026-11-21T10:00:00+01:00"), office="b",
                     headers=world.desk.admin)
    body = (await world.lookup()).json()
    assert (body["status"], body["office"]["id"]) == ("ready", world.desk.office_b)
    assert len(await world.entries()) == 1
    # The same number as a passport is another document.
    await world.push(item(document_type="passport"))
    assert len(await world.entries()) == 2


async def test_the_public_lookup_tolerates_how_people_type(world: World) -> None:
    await world.push(item("ready"))
    for typed in ("l01x00t47", " L01X 00T47 ", "L01X-00T47", "l 0 1 x - 0 0 t 4 7"):
        r = await world.lookup(typed)
        assert r.status_code == 200, typed
        assert r.json()["status"] == "ready"
    r = await world.lookup(SERIAL, "passport")
    assert r.status_code == 404


async def test_bad_lookups_are_clear_422s(world: World) -> None:
    for serial in ("L01X00T4", "L01X00T470", "L01X00T4O", "L01X00T4ß", "", "x" * 500):
        r = await world.lookup(serial, **{"Accept-Language": "de"})
        assert r.status_code == 422, serial
        assert r.json()["error"]["code"] == "invalid_serial"
        assert "9-stellige Seriennummer" in r.json()["error"]["message"]
    r = await world.lookup(document_type="residence_permit")
    assert r.status_code == 422
    r = await world.client.post(LOOKUP, json={"document_type": "id_card", "serial": 123456789})
    assert r.status_code == 422
    r = await world.client.post(LOOKUP, json={"serial": SERIAL})
    assert r.status_code == 422
