"""The Stripe webhook: verified on the raw body, each event id handled once, outcomes applied
only forward — so a case is paid exactly once however often and in whatever order Stripe
reports it, and a forged or stale delivery changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.main import create_app
from app.settings import Settings
from cases.milestones import MAIL_JOB
from postcall.payments.models import PaymentAttempt, ProcessedWebhookEvent
from postcall.payments.service import RECEIPT_JOB
from tests.conftest import running
from tests.postcall.payments.conftest import CaseRef, World
from tests.postcall.payments.fake_stripe import WEBHOOK_SECRET


async def paid_session(world: World, ref: CaseRef | None = None) -> tuple[CaseRef, str]:
    ref = ref or await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id)
    return ref, session_id


async def assert_paid_once(world: World, ref: CaseRef) -> None:
    assert (await world.case_row(ref)).payment_status == "paid"
    assert await world.milestones(ref) == ["paid"]
    assert await world.jobs(RECEIPT_JOB) == [
        {"case_id": ref.id, "attempt_id": (await world.attempts(ref))[0].id}]
    assert len(await world.audit("payment.paid")) == 1


async def test_the_same_event_five_times_pays_once(world: World) -> None:
    ref, session_id = await paid_session(world)
    payload = world.fake.event("checkout.session.completed", session_id)
    outcomes = []
    for _ in range(5):
        r = await world.deliver(payload)
        assert r.status_code == 200
        outcomes.append(r.json()["outcome"])
    assert outcomes == ["paid"] + ["duplicate"] * 4
    await assert_paid_once(world, ref)
    [attempt] = await world.attempts(ref)
    assert attempt.status == "paid" and attempt.paid_at is not None
    assert attempt.payment_intent == world.fake.sessions[session_id]["payment_intent"]
    [event] = await world.audit("payment.paid")
    assert event.actor_label == "stripe webhook" and session_id in event.detail
    # The paid milestone is recorded without its own mail: the receipt job tells the citizen.
    assert await world.jobs(MAIL_JOB) == []


async def test_different_events_for_the_same_session_pay_once(world: World) -> None:
    ref, session_id = await paid_session(world)
    outcomes = [
        (await world.send("checkout.session.completed", session_id)).json()["outcome"]
        for _ in range(3)
    ]
    outcomes.append(
        (await world.send("checkout.session.async_payment_succeeded", session_id))
        .json()["outcome"])
    assert outcomes == ["paid", "unchanged", "unchanged", "unchanged"]
    await assert_paid_once(world, ref)
    assert await world.count(ProcessedWebhookEvent) == 4


async def test_simultaneous_deliveries_pay_once(world: World) -> None:
    ref, session_id = await paid_session(world)
    payload = world.fake.event("checkout.session.completed", session_id)
    others = [world.fake.event("checkout.session.completed", session_id) for _ in range(3)]
    results = await asyncio.gather(*(world.deliver(p) for p in [payload] * 4 + others))
    assert [r.status_code for r in results] == [200] * 7
    assert sorted(r.json()["outcome"] for r in results).count("paid") == 1
    await assert_paid_once(world, ref)


def _tampered(payload: bytes) -> bytes:
    return payload.replace(b'"payment_status": "paid"', b'"payment_status": "paid" ')


BAD_SIGNATURES: dict[str, Callable[[World, bytes], dict[str, Any]]] = {
    "missing": lambda w, p: {"signature": None},
    "empty": lambda w, p: {"signature": ""},
    "garbage": lambda w, p: {"signature": "hello"},
    "no v1": lambda w, p: {"signature": f"t={int(time.time())}"},
    "bad timestamp": lambda w, p: {"signature": "t=abc,v1=" + "0" * 64},
    "forged": lambda w, p: {"signature": f"t={int(time.time())},v1={'ab' * 32}"},
    "wrong secret": lambda w, p: {"secret": "whsec_someone_else"},
    "stale": lambda w, p: {"timestamp": int(time.time()) - 301},
    "from the future": lambda w, p: {"timestamp": int(time.time()) + 3600},
    "v0 only": lambda w, p: {"signature": w.fake.sign(p).replace("v1=", "v0=")},
}


@pytest.mark.parametrize("case", sorted(BAD_SIGNATURES))
async def test_a_bad_signature_is_400_and_changes_nothing(world: World, case: str) -> None:
    _ref, session_id = await paid_session(world)
    payload = world.fake.event("checkout.session.completed", session_id)
    before = await world.snapshot()
    r = await world.deliver(payload, **BAD_SIGNATURES[case](world, payload))
    assert r.status_code == 400, r.text
    assert r.json() == {"error": {
        "code": "invalid_signature",
        "message": "Die Webhook-Signatur fehlt, ist ungültig oder zu alt.",
    }}
    assert await world.snapshot() == before


async def test_a_body_changed_after_signing_is_refused(world: World) -> None:
    _ref, session_id = await paid_session(world)
    payload = world.fake.event("checkout.session.completed", session_id)
    signature = world.fake.sign(payload)
    before = await world.snapshot()
    r = await world.deliver(_tampered(payload), signature=signature)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    assert await world.snapshot() == before


async def test_a_fresh_timestamp_within_tolerance_is_accepted(world: World) -> None:
    ref, session_id = await paid_session(world)
    r = await world.deliver(world.fake.event("checkout.session.completed", session_id),
                            timestamp=int(time.time()) - 240)
    assert r.status_code == 200 and r.json()["outcome"] == "paid"
    await assert_paid_once(world, ref)


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b"null", b'{"id": "evt_1"}', b'{"id": 5, "type": "x", "data": {}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": []}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"a": 1}}}',
    b'{"id": "", "type": "x", "data": {"object": {}}}',
])
async def test_garbage_with_a_valid_signature_is_400_never_500(world: World,
                                                               body: bytes) -> None:
    await world.case()
    before = await world.snapshot()
    r = await world.deliver(body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_event"
    assert await world.snapshot() == before


async def test_bytes_that_are_not_text_and_oversized_bodies(world: World) -> None:
    r = await world.deliver(b"\xff\xfe\x00garbage", signature=f"t={int(time.time())},v1=00")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    big = json.dumps({"id": "evt_big", "pad": "x" * (1024 * 1024)}).encode()
    r = await world.deliver(big)
    assert r.status_code == 413
    assert await world.count(ProcessedWebhookEvent) == 0


async def test_without_a_webhook_secret_every_delivery_is_refused(
    settings_factory: Callable[..., Settings],
) -> None:
    app = create_app(settings_factory(stripe_secret_key="sk_test_x"))
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver",
    ) as client:
        from tests.postcall.payments.fake_stripe import FakeStripe

        fake = FakeStripe()
        payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed",
                              "data": {"object": {"object": "checkout.session",
                                                  "id": "cs_test_1"}}}).encode()
        for secret in (WEBHOOK_SECRET, ""):
            r = await client.post("/api/v1/webhooks/stripe", content=payload, headers={
                "Stripe-Signature": fake.sign(payload, secret=secret or "x")})
            assert r.status_code == 400
            assert r.json()["error"]["code"] == "invalid_signature"


async def test_sepa_debit_pending_then_succeeded(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    r = await world.send("checkout.session.completed", session_id)
    assert r.json()["outcome"] == "pending"
    [attempt] = await world.attempts(ref)
    assert attempt.status == "pending"
    assert (await world.case_row(ref)).payment_status == "open"  # the money is not there yet
    assert await world.milestones(ref) == []

    world.fake.succeed(session_id)
    r = await world.send("checkout.session.async_payment_succeeded", session_id)
    assert r.json()["outcome"] == "paid"
    await assert_paid_once(world, ref)


async def test_sepa_debit_failed(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    await world.send("checkout.session.completed", session_id)
    world.fake.fail(session_id)
    for expected in ("failed", "unchanged"):
        r = await world.send("checkout.session.async_payment_failed", session_id)
        assert r.json()["outcome"] == expected
    [attempt] = await world.attempts(ref)
    assert attempt.status == "failed"
    assert (await world.case_row(ref)).payment_status == "failed"
    assert await world.milestones(ref) == ["payment_failed"]
    assert await world.jobs(MAIL_JOB) == [{"case_id": ref.id, "milestone": "payment_failed"}]
    assert await world.jobs(RECEIPT_JOB) == []
    assert len(await world.audit("payment.failed")) == 1
    # The citizen may try again, and this time it works.
    second = await world.start_session(ref)
    world.fake.complete(second)
    assert (await world.send("checkout.session.completed", second)).json()["outcome"] == "paid"
    assert (await world.case_row(ref)).payment_status == "paid"


async def test_success_before_completion_and_failure_after_payment(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    completed_unpaid = world.fake.event("checkout.session.completed", session_id)
    world.fake.succeed(session_id)
    # Stripe does not promise order: the success overtakes the completion ...
    r = await world.send("checkout.session.async_payment_succeeded", session_id)
    assert r.json()["outcome"] == "paid"
    r = await world.deliver(completed_unpaid)
    assert r.json()["outcome"] == "unchanged"  # ... which must not make it "pending" again
    # ... and a failure reported after the payment must not un-pay it.
    r = await world.send("checkout.session.async_payment_failed", session_id)
    assert r.json()["outcome"] == "unchanged"
    r = await world.send("checkout.session.expired", session_id)
    assert r.json()["outcome"] == "unchanged"
    await assert_paid_once(world, ref)
    assert (await world.attempts(ref))[0].status == "paid"


async def test_failure_before_completion_stays_failed(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    completed_unpaid = world.fake.event("checkout.session.completed", session_id)
    world.fake.fail(session_id)
    await world.send("checkout.session.async_payment_failed", session_id)
    assert (await world.deliver(completed_unpaid)).json()["outcome"] == "unchanged"
    assert (await world.attempts(ref))[0].status == "failed"
    assert (await world.case_row(ref)).payment_status == "failed"


async def test_an_expired_session_leaves_the_fee_open(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.expire(session_id)
    r = await world.send("checkout.session.expired", session_id)
    assert r.json()["outcome"] == "expired"
    assert (await world.attempts(ref))[0].status == "expired"
    assert (await world.case_row(ref)).payment_status == "open"
    assert await world.milestones(ref) == []


async def test_an_old_session_paid_after_a_new_one_started_still_counts(world: World) -> None:
    ref = await world.case()
    first = await world.start_session(ref)
    second = await world.start_session(ref)
    world.fake.sessions[first]["status"] = "open"  # paid in the old tab before it expired
    world.fake.complete(first)
    r = await world.send("checkout.session.completed", first)
    assert r.json()["outcome"] == "paid"
    assert (await world.case_row(ref)).payment_status == "paid"
    assert [(a.session_id, a.status) for a in await world.attempts(ref)] == [
        (first, "paid"), (second, "open")]


async def test_a_debit_started_in_a_replaced_tab_is_still_followed(world: World) -> None:
    ref = await world.case()
    first = await world.start_session(ref)
    await world.start_session(ref)
    world.fake.sessions[first]["status"] = "open"  # the old tab, used before it expired
    world.fake.complete(first, method="sepa_debit")
    r = await world.send("checkout.session.completed", first)
    assert r.json()["outcome"] == "pending"
    assert (await world.start(ref)).json()["error"]["code"] == "payment_pending"
    world.fake.succeed(first)
    r = await world.send("checkout.session.async_payment_succeeded", first)
    assert r.json()["outcome"] == "paid"
    await assert_paid_once(world, ref)


async def test_paid_twice_is_recorded_for_a_refund_not_counted_twice(world: World) -> None:
    ref = await world.case()
    first = await world.start_session(ref)
    second = await world.start_session(ref)
    world.fake.sessions[first]["status"] = "open"  # expired by us, but paid in an old tab
    world.fake.complete(first)
    world.fake.complete(second)
    assert (await world.send("checkout.session.completed", second)).json()["outcome"] == "paid"
    r = await world.send("checkout.session.completed", first)
    assert r.json()["outcome"] == "duplicate_payment"
    await assert_paid_once_with(world, ref)
    [duplicate] = await world.audit("payment.duplicate")
    assert first in duplicate.detail


async def assert_paid_once_with(world: World, ref: CaseRef) -> None:
    assert (await world.case_row(ref)).payment_status == "paid"
    assert await world.milestones(ref) == ["paid"]
    assert len(await world.jobs(RECEIPT_JOB)) == 1


async def test_a_session_that_does_not_match_its_attempt_is_not_fulfilled(
    world: World,
) -> None:
    ref, session_id = await paid_session(world)
    forged = {**world.fake.sessions[session_id], "amount_total": 1}
    r = await world.send("checkout.session.completed", session_id, session=forged)
    assert r.json()["outcome"] == "mismatch"
    assert (await world.case_row(ref)).payment_status == "open"
    assert len(await world.audit("payment.mismatch")) == 1
    # The true report still pays.
    assert (await world.send("checkout.session.completed", session_id)).json()["outcome"] == \
        "paid"


async def test_unknown_sessions_and_other_events_are_acknowledged(world: World) -> None:
    ref, session_id = await paid_session(world)
    stranger = {**world.fake.sessions[session_id], "id": "cs_test_elsewhere", "metadata": {}}
    r = await world.send("checkout.session.completed", session_id, session=stranger)
    assert r.json()["outcome"] == "unknown_session"
    payload = json.dumps({"id": "evt_pi", "object": "event", "type": "payment_intent.succeeded",
                          "created": int(time.time()),
                          "data": {"object": {"object": "payment_intent", "id": "pi_1"}}})
    r = await world.deliver(payload.encode())
    assert r.status_code == 200 and r.json()["outcome"] == "ignored"
    assert (await world.case_row(ref)).payment_status == "open"


async def test_an_event_that_overtakes_the_session_id_is_matched_by_metadata(
    world: World,
) -> None:
    ref, session_id = await paid_session(world)
    async with world.state.db.transaction(write=True) as session:
        await session.execute(update(PaymentAttempt)
                              .where(col(PaymentAttempt.case_id) == ref.id)
                              .values(session_id=None, status="creating"))
    r = await world.send("checkout.session.completed", session_id)
    assert r.json()["outcome"] == "paid"
    [attempt] = await world.attempts(ref)
    assert attempt.session_id == session_id
    await assert_paid_once(world, ref)


async def test_the_citizen_api_shows_the_case_paid(world: World) -> None:
    ref, session_id = await paid_session(world)
    await world.send("checkout.session.completed", session_id)
    me = await world.client.get("/api/v1/me", headers=ref.auth)
    assert me.status_code == 200
    assert me.json()["case"]["payment_status"] == "paid"
    # Nothing left to pay.
    r = await world.start(ref)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_paid"
