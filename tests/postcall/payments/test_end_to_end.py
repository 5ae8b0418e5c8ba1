"""From the clerk's completion to the refund, through the public API only: the case is
completed for online payment, the citizen pays at (fake) Stripe, the signed webhook marks it
paid, and an administrator refunds it."""

from __future__ import annotations

from tests.cases.conftest import build_desk
from tests.postcall.payments.conftest import World
from tests.staff.helpers import bearer


async def test_complete_pay_and_refund(world: World) -> None:
    desk = await build_desk(world.app, world.client)
    reference, token = await desk.appointment(status="in_call")
    assert (await desk.verify(reference)).status_code == 200
    r = await desk.complete(reference, {
        "items": [{"service_id": desk.certificate, "quantity": 1},
                  {"service_id": desk.conduct, "quantity": 1}],
        "payment": "online", "delivery": "email"})
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert (case["amount_cents"], case["payment_status"]) == (2300, "open")

    r = await world.client.post("/api/v1/me/payment", headers=bearer(token))
    assert r.status_code == 200
    session_id = r.json()["redirect_url"].rsplit("/", 1)[1]
    sent = world.fake.created_sessions()[0].params
    assert sent["client_reference_id"] == case["case_number"]
    assert world.fake.sessions[session_id]["amount_total"] == 2300

    world.fake.complete(session_id)
    payload = world.fake.event("checkout.session.completed", session_id)
    for _ in range(3):
        assert (await world.deliver(payload)).status_code == 200
    me = (await world.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["case"]["payment_status"] == "paid"

    r = await world.client.post(f"/api/v1/admin/cases/{case['case_number']}/refund",
                                headers=desk.admin, json={"reason": "Gebühr erlassen"})
    assert r.status_code == 201, r.text
    assert (r.json()["refunded_cents"], r.json()["payment_status"]) == (2300, "refunded")
    me = (await world.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["case"]["payment_status"] == "refunded"
    page = await world.client.get(f"/t/{token}")
    assert "erstattet" in page.text and 'id="pay-now"' not in page.text


async def test_the_api_document_lists_the_payment_endpoints(world: World) -> None:
    spec = (await world.client.get("/api/v1/openapi.json")).json()
    pay = spec["paths"]["/api/v1/me/payment"]["post"]
    assert pay["security"] == [{"citizenLink": []}]
    assert "redirect_url" in str(spec["components"]["schemas"]["PaymentRedirectOut"])
    hook = spec["paths"]["/api/v1/webhooks/stripe"]["post"]
    assert hook["security"] == [{"stripeSignature": []}]
    refund = spec["paths"]["/api/v1/admin/cases/{case_number}/refund"]["post"]
    assert refund["security"] == [{"staffToken": []}] and "201" in refund["responses"]


async def test_no_reopening_while_a_payment_is_under_way(world: World) -> None:
    """A payment that lands after a reopening would be overwritten by the next completion."""
    desk = await build_desk(world.app, world.client)
    reference, token = await desk.appointment(status="in_call")
    assert (await desk.verify(reference)).status_code == 200
    r = await desk.complete(reference, {
        "items": [{"service_id": desk.certificate, "quantity": 1}],
        "payment": "online", "delivery": "email"})
    assert r.status_code == 200, r.text
    r = await world.client.post("/api/v1/me/payment", headers=bearer(token))
    assert r.status_code == 200

    r = await world.client.post(f"/api/v1/admin/appointments/{reference}/reopen",
                                headers=desk.admin, json={"reason": "falsche Gebühr"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "payment_in_progress"
    me = (await world.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["status"] == "completed" and me["case"]["payment_status"] == "open"
