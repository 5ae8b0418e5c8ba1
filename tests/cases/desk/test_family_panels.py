"""The desk panels of a family appointment, without JavaScript: the clerk picks whose document
is checked and sees each person's state, and itemises the fees per person."""

from __future__ import annotations

from cases.models import CaseItem, IdentityCheck
from tests.cases.conftest import Desk
from tests.cases.desk.test_panels import VERIFIED, completion, post
from tests.cases.test_family_desk import family


async def test_each_person_is_picked_checked_and_itemised(desk: Desk) -> None:
    reference, _ = await family(desk, "Max")
    html = (await desk.client.get(f"/staff/call/{reference}")).text
    assert 'id="identity-persons"' in html and "Personen dieses Termins" in html
    assert 'type="radio" id="person" name="person" value="1" checked' in html
    assert 'name="person" value="2"' in html and "Max Mustermann" in html
    assert html.count("Noch nicht geprüft") == 2
    assert 'name="item_person"' in html

    r = await post(desk, reference, "verification", {**VERIFIED, "person": "2"})
    assert r.status_code in (200, 303), r.text
    html = (await desk.client.get(f"/staff/call/{reference}")).text
    person_2 = html.split('id="identity-person-2"', 1)[1].split("</li>", 1)[0]
    assert "Identität bestätigt" in person_2
    assert "Noch nicht geprüft" in html.split('id="identity-person-1"', 1)[1].split("</li>")[0]
    assert [c.person for c in await desk.rows(IdentityCheck)] == [2]

    assert (await post(desk, reference, "verification", VERIFIED)).status_code in (200, 303)
    r = await post(desk, reference, "complete", completion(
        desk, item_service=[str(desk.certificate), str(desk.certificate), "", ""],
        item_person=["1", "2", "", ""], delivery="pickup"))
    assert r.status_code in (200, 303), r.text
    items = await desk.rows(CaseItem)
    assert sorted((i.person, i.amount_cents) for i in items) == [(1, 1000), (2, 1000)]
    html = (await desk.client.get(f"/staff/call/{reference}")).text
    assert "1 × Meldebescheinigung (Max Mustermann)" in html


async def test_one_person_sees_no_person_choice(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    html = (await desk.client.get(f"/staff/call/{reference}")).text
    assert 'id="identity-persons"' not in html and 'name="item_person"' not in html
