"""Delivery by post needs a postal address: the desk shows the address given at booking for the
clerk to confirm, takes a corrected or new one with the completion, and refuses a completion by
post without one (API and panel), keeping nothing of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cases.models import Case
from core.audit import Actor
from postcall.dispatch import postal_address, set_postal_address
from postcall.dispatch_models import PostalAddress
from tests.cases.conftest import Desk
from tests.cases.desk.test_panels import FRAGMENT, VERIFIED, completion, post

WITHOUT: dict[str, Any] = {"postal_address": ""}


async def lines_of(desk: Desk, reference: str) -> tuple[str, ...]:
    appointment = await desk.appointment_row(reference)
    async with desk.state.db.transaction() as session:
        return await postal_address(session, appointment.case_id)


async def test_completion_by_post_without_an_address_is_refused(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    assert (await desk.verify(reference)).status_code == 200
    body = {"items": [{"service_id": desk.certificate, "quantity": 1}],
            "payment": "invoice", "delivery": "post"}
    r = await desk.complete(reference, body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "postal_address_missing"
    assert "Postanschrift" in error["message"]
    assert await desk.decided() == [] and await desk.audit("case.complete") == []
    assert (await desk.appointment_row(reference)).status == "confirmed"
    # By e-mail it needs none; by post with the address given in the same request it works.
    r = await desk.complete(reference, {**body, "postal_address": ["Marktplatz 3",
                                                                   "73760 Musterhausen"]})
    assert r.status_code == 200, r.text
    assert r.json()["case"]["delivery"] == "post"
    assert await lines_of(desk, reference) == ("Marktplatz 3", "73760 Musterhausen")


async def test_the_panel_shows_the_booked_address_to_confirm(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    appointment = await desk.appointment_row(reference)
    async with desk.state.db.transaction(write=True) as session:
        await set_postal_address(session, appointment, ["Großer Anger 7", "73760 Musterhausen"],
                                 Actor.citizen())
    page = (await desk.client.get(f"/staff/call/{reference}")).text
    area = page.split('id="postal_address"', 1)[1].split("</textarea>", 1)[0]
    assert "Großer Anger 7\n73760 Musterhausen" in area
    assert "Bitte im Gespräch bestätigen lassen" in page
    # The clerk corrects it with the completion.
    assert (await post(desk, reference, "verification", VERIFIED, FRAGMENT)).status_code == 200
    r = await post(desk, reference, "complete",
                   completion(desk, postal_address="Großer Anger 9\n73760 Musterhausen"),
                   FRAGMENT)
    assert r.status_code == 200, r.text
    assert await lines_of(desk, reference) == ("Großer Anger 9", "73760 Musterhausen")


async def test_the_panel_says_what_is_missing_beside_the_address(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    page = (await desk.client.get(f"/staff/call/{reference}")).text
    assert "Nötig für den Versand per Post" in page
    assert (await post(desk, reference, "verification", VERIFIED, FRAGMENT)).status_code == 200
    r = await post(desk, reference, "complete", completion(desk, **WITHOUT), FRAGMENT)
    assert r.status_code == 422
    assert 'id="postal_address-error"' in r.text
    error = r.text.split('id="postal_address-error"', 1)[1][:400]
    assert "keine Postanschrift" in error
    r = await post(desk, reference, "complete",
                   completion(desk, postal_address="\n".join("abcdef")), FRAGMENT)
    assert r.status_code == 422
    assert "Höchstens 5 Zeilen" in r.text.split('id="postal_address-error"', 1)[1][:400]
    assert await desk.decided() == []
    async with desk.state.db.transaction() as session:
        assert list((await session.execute(select(PostalAddress))).scalars()) == []
        cases = list((await session.execute(
            select(Case).where(col(Case.state) != "open"))).scalars())
    assert cases == []
    # Delivery by e-mail needs no address.
    r = await post(desk, reference, "complete", completion(desk, delivery="email", **WITHOUT),
                   FRAGMENT)
    assert r.status_code == 200, r.text


async def test_the_address_api_reads_the_request_address(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    assert (await desk.verify(reference)).status_code == 200
    assert (await desk.complete(reference)).status_code == 200  # with the address
    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/postal-address",
                              headers=desk.clerk_a)
    assert r.status_code == 200
    assert r.json()["lines"] == ["Marktplatz 3", "73760 Musterhausen"]
