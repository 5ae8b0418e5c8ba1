"""Refunds by an administrator: full by default, partial up to what is left, integer cents
that always add up, audited, with a corrected notice queued."""

from __future__ import annotations

import pytest

from postcall.payments.service import CORRECTED_NOTICE_JOB
from tests.postcall.payments.conftest import CaseRef, World


async def paid_case(world: World) -> tuple[CaseRef, str]:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id)
    await world.send("checkout.session.completed", session_id)
    intent = world.fake.sessions[session_id]["payment_intent"]
    assert isinstance(intent, str)
    return ref, intent


def refund_calls(world: World) -> list[dict[str, object]]:
    return [r.params for r in world.fake.requests if r.path == "/v1/refunds"]


async def test_a_full_refund(world: World) -> None:
    ref, intent = await paid_case(world)
    admin = await world.admin()
    r = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund", headers=admin,
                                json={"reason": "Antrag zurückgenommen"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert {k: out[k] for k in ("case_number", "payment_status", "amount_cents", "currency",
                                "paid_cents", "refunded_cents")} == {
        "case_number": ref.number, "payment_status": "refunded", "amount_cents": 2345,
        "currency": "EUR", "paid_cents": 2345, "refunded_cents": 2345}
    assert out["refund"]["amount_cents"] == 2345 and out["refund"]["status"] == "succeeded"
    assert out["refund"]["reason"] == "Antrag zurückgenommen"
    assert refund_calls(world) == [{"payment_intent": intent, "amount": "2345",
                                    "metadata": {"reason": "Antrag zurückgenommen"}}]
    assert world.fake.intents[intent]["amount_refunded"] == 2345
    [call] = [c for c in world.fake.requests if c.path == "/v1/refunds"]
    [row] = await world.refunds(ref)
    assert call.headers["idempotency-key"] == f"refund-{row.public_id}"
    assert row.provider_refund_id in world.fake.refunds and row.created_by_label == \
        "admin@stadt.example"

    assert (await world.case_row(ref)).payment_status == "refunded"
    assert await world.milestones(ref) == ["paid", "refunded"]
    [event] = await world.audit("payment.refund")
    assert event.actor_type == "staff" and '"full": true' in event.detail
    assert await world.jobs(CORRECTED_NOTICE_JOB) == [{"case_id": ref.id, "refund_id": row.id}]
    # Nothing is left to refund, and a refunded fee cannot be paid again.
    again = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund",
                                    headers=admin, json={"reason": "noch mal"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_refundable"
    assert (await world.start(ref)).status_code == 409


async def test_partial_refunds_add_up_in_cents(world: World) -> None:
    ref, intent = await paid_case(world)
    admin = await world.admin()
    url = f"/api/v1/admin/cases/{ref.number}/refund"
    r = await world.client.post(url, headers=admin,
                                json={"amount_cents": 345, "reason": "Beglaubigung entfällt"})
    assert r.status_code == 201
    assert (r.json()["payment_status"], r.json()["refunded_cents"]) == ("paid", 345)
    assert (await world.case_row(ref)).payment_status == "paid"
    assert await world.milestones(ref) == ["paid", "refunded"]

    r = await world.client.post(url, headers=admin,
                                json={"amount_cents": 2001, "reason": "zu viel"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "refund_too_large"
    assert "2000" in r.json()["error"]["message"]

    r = await world.client.post(url, headers=admin, json={"reason": "Rest"})
    assert r.status_code == 201
    assert (r.json()["payment_status"], r.json()["refunded_cents"]) == ("refunded", 2345)
    assert r.json()["refund"]["amount_cents"] == 2000
    assert [c["amount"] for c in refund_calls(world)] == ["345", "2000"]
    assert world.fake.intents[intent]["amount_refunded"] == 2345
    assert sum(row.amount_cents for row in await world.refunds(ref)) == 2345
    assert len(await world.jobs(CORRECTED_NOTICE_JOB)) == 2
    assert len(await world.audit("payment.refund")) == 2


async def test_only_a_fee_paid_online_can_be_refunded(world: World) -> None:
    admin = await world.admin()
    for status in ("open", "failed", "not_required"):
        ref = await world.case(status=status, payment="none" if status == "not_required"
                               else "online")
        r = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund", headers=admin,
                                    json={"reason": "x"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_refundable"
    # Paid, but not online (no attempt): nothing to refund through the provider.
    manual = await world.case(status="paid")
    r = await world.client.post(f"/api/v1/admin/cases/{manual.number}/refund", headers=admin,
                                json={"reason": "x"})
    assert r.status_code == 409
    r = await world.client.post("/api/v1/admin/cases/2099-999999/refund", headers=admin,
                                json={"reason": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found"
    assert refund_calls(world) == []


async def test_refunds_need_an_administrator(world: World) -> None:
    ref, _intent = await paid_case(world)
    url = f"/api/v1/admin/cases/{ref.number}/refund"
    assert (await world.client.post(url, json={"reason": "x"})).status_code == 401
    r = await world.client.post(url, json={"reason": "x"}, headers=ref.auth)
    assert r.status_code == 401  # a citizen's link is no staff token
    r = await world.client.post(url, json={"reason": "x"}, headers=await world.clerk())
    assert r.status_code == 403
    assert refund_calls(world) == [] and (await world.case_row(ref)).payment_status == "paid"


@pytest.mark.parametrize(("body", "status"), [
    (b'{"amount_cents": 10.5, "reason": "x"}', 422),
    (b'{"amount_cents": 100.0, "reason": "x"}', 422),
    (b'{"amount_cents": "100", "reason": "x"}', 422),
    (b'{"amount_cents": 0, "reason": "x"}', 422),
    (b'{"amount_cents": -5, "reason": "x"}', 422),
    (b'{"amount_cents": true, "reason": "x"}', 422),
    (b'{"amount_cents": 100}', 422),
    (b'{"reason": "   "}', 422),
    (b'{"reason": "x", "currency": "USD"}', 422),
    (b'[]', 422),
    (b'not json', 400),
    (b'{"reason": "' + b"x" * 301 + b'"}', 422),
])
async def test_bad_refund_bodies(world: World, body: bytes, status: int) -> None:
    ref, _intent = await paid_case(world)
    admin = await world.admin()
    r = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund",
                                headers={**admin, "Content-Type": "application/json"},
                                content=body)
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) >= {"code", "message"}
    assert refund_calls(world) == []


async def test_a_refund_stripe_refuses_is_recorded_as_failed(world: World) -> None:
    ref, intent = await paid_case(world)
    world.fake.intents[intent]["amount_refunded"] = 2345  # refunded in Stripe's dashboard
    admin = await world.admin()
    r = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund", headers=admin,
                                json={"reason": "Doppelt"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_provider_refused"
    [row] = await world.refunds(ref)
    assert row.status == "failed"
    assert (await world.case_row(ref)).payment_status == "paid"
    assert len(await world.audit("payment.refund_failed")) == 1
    assert await world.jobs(CORRECTED_NOTICE_JOB) == []
    # A failed refund does not count against what is left.
    world.fake.intents[intent]["amount_refunded"] = 0
    r = await world.client.post(f"/api/v1/admin/cases/{ref.number}/refund", headers=admin,
                                json={"reason": "Doppelt"})
    assert r.status_code == 201 and r.json()["refunded_cents"] == 2345
