"""A family appointment at the desk: each person's identity check in the same call, and a
completion itemised per person that the case, the clerk and the citizen all show."""

from __future__ import annotations

import datetime as dt

from booking.party_models import AppointmentPerson
from cases.models import CaseItem, IdentityCheck
from tests.cases.conftest import Desk


async def family(desk: Desk, *names: str) -> tuple[str, str]:
    """A confirmed appointment, begun five minutes ago, for Erika and further persons."""
    reference, token = await desk.appointment()
    appointment = await desk.appointment_row(reference)
    async with desk.state.db.transaction(write=True) as session:
        for number, name in enumerate(names, start=2):
            session.add(AppointmentPerson(appointment_id=appointment.id, person=number,
                                          given_name=name, family_name="Mustermann",
                                          date_of_birth=dt.date(2015, 4, number)))
    return reference, token


async def test_each_person_is_checked_in_the_same_call(desk: Desk) -> None:
    reference, _ = await family(desk, "Max", "Mia")
    for person in (1, 2):
        r = await desk.verify(reference, person=person)
        assert r.status_code == 200, r.text
        assert r.json()["verification"]["person"] == person
    r = await desk.verify(reference, person=3, outcome="failed", checks=[],
                          reason_code="poor_image_quality")
    assert r.status_code == 200, r.text
    # Nobody beyond the three people of this appointment.
    r = await desk.verify(reference, person=4)
    assert r.status_code == 422, r.text
    assert "3 Personen" in r.json()["error"]["message"]

    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/case",
                              headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    latest = {v["person"]: v["outcome"] for v in reversed(r.json()["verifications"])}
    assert latest == {1: "verified", 2: "verified", 3: "failed"}
    checks = await desk.rows(IdentityCheck)
    assert sorted(c.person for c in checks) == [1, 2, 3]
    assert len({c.appointment_id for c in checks}) == 1

    # The agenda says how many people the appointment is for.
    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}", headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json()["persons"] == 3 and len(r.json()["services"]) == 1
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.clerk_a,
                              params={"date": r.json()["start"][:10]})
    [row] = [i for i in r.json() if i["reference"] == reference]
    assert row["persons"] == 3


async def test_completion_is_itemised_per_person(desk: Desk) -> None:
    reference, token = await family(desk, "Max")
    assert (await desk.verify(reference)).status_code == 200
    items = [{"service_id": desk.certificate, "quantity": 1, "person": 1},
             {"service_id": desk.certificate, "quantity": 1, "person": 2},
             {"service_id": desk.conduct, "quantity": 1, "person": 1}]
    body = {"items": items, "payment": "invoice", "delivery": "pickup"}
    # A person the appointment does not have, and one service twice for one person: 422.
    for bad in ([*items[:2], {"service_id": desk.conduct, "person": 3}],
                [*items[:2], {"service_id": desk.certificate, "person": 2}]):
        r = await desk.complete(reference, {**body, "items": bad})
        assert r.status_code == 422, r.text
    r = await desk.complete(reference, body)
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert case["amount_cents"] == 1000 + 1000 + 1300
    assert [(i["service_id"], i["person"]) for i in case["items"]] == [
        (desk.certificate, 1), (desk.certificate, 2), (desk.conduct, 1)]
    stored = await desk.rows(CaseItem)
    assert sorted((i.person, i.amount_cents) for i in stored) == [(1, 1000), (1, 1300),
                                                                  (2, 1000)]

    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/case",
                              headers=desk.clerk_a)
    assert [i["person"] for i in r.json()["case"]["items"]] == [1, 2, 1]
    r = await desk.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    me = r.json()
    assert [i["person"] for i in me["case"]["items"]] == [1, 2, 1]
    assert [p["given_name"] for p in me["persons"]] == ["Erika", "Max"]


async def test_a_plain_appointment_keeps_the_older_rule(desk: Desk) -> None:
    """No persons listed: items without a person, as before, and any person may be checked."""
    reference, _ = await desk.appointment()
    assert (await desk.verify(reference, person=5)).status_code == 200
    assert (await desk.verify(reference)).status_code == 200
    r = await desk.complete(reference)
    assert r.status_code == 200, r.text
    assert [i["person"] for i in r.json()["case"]["items"]] == [None]


async def test_an_admin_sets_what_each_further_person_adds(desk: Desk) -> None:
    path = f"/api/v1/admin/services/{desk.certificate}"
    r = await desk.client.patch(path, json={"extra_person_minutes": 10}, headers=desk.admin)
    assert r.status_code == 200, r.text
    assert r.json()["extra_person_minutes"] == 10
    r = await desk.client.patch(path, json={"extra_person_minutes": -1}, headers=desk.admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await desk.client.patch(path, json={"extra_person_minutes": None}, headers=desk.admin)
    assert r.status_code == 200 and r.json()["extra_person_minutes"] is None
