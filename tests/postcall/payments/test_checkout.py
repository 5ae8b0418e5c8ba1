"""Starting an online payment: one Checkout Session per attempt, created as Stripe expects,
only for a fee that is open, and never with the citizen's token in anything Stripe sees."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import free_port, running
from tests.postcall.payments.conftest import World
from tests.postcall.payments.fake_stripe import StripeFail, invalid
from tests.staff.helpers import add_appointment, add_office, add_service, bearer


async def test_a_checkout_session_is_created_as_stripe_expects(world: World) -> None:
    ref = await world.case()
    before = int(time.time())
    session_id = await world.start_session(ref)

    [sent] = world.fake.created_sessions()
    [attempt] = await world.attempts(ref)
    p = sent.params
    assert p["mode"] == "payment"
    assert p["client_reference_id"] == ref.number
    assert p["payment_method_types"] == ["card", "sepa_debit", "paypal"]
    assert p["line_items"] == [
        {"quantity": "2", "price_data": {"currency": "eur", "unit_amount": "1000",
                                         "product_data": {"name": "Meldebescheinigung"}}},
        {"quantity": "1", "price_data": {"currency": "eur", "unit_amount": "345",
                                         "product_data": {"name": "Beglaubigung"}}},
    ]
    assert p["metadata"] == {"case_number": ref.number, "attempt": attempt.public_id}
    assert p["success_url"] == (
        f"http://testserver/pay/return/{attempt.public_id}?session_id={{CHECKOUT_SESSION_ID}}")
    assert p["cancel_url"] == f"http://testserver/pay/cancel/{attempt.public_id}"
    assert p["locale"] == "de"
    assert before + 3600 - 5 <= int(p["expires_at"]) <= int(time.time()) + 3600 + 5
    assert sent.headers["idempotency-key"] == f"checkout-{attempt.public_id}"
    # The link token never travels to Stripe, in no parameter and no header.
    assert ref.token not in repr(sent.params) and ref.token not in repr(sent.headers)
    assert attempt.public_id != ref.token and len(attempt.public_id) >= 20

    assert world.fake.sessions[session_id]["amount_total"] == 2345
    assert (attempt.session_id, attempt.status, attempt.amount_cents, attempt.currency) == (
        session_id, "open", 2345, "EUR")
    assert attempt.url == f"{world.fake.base_url}/c/pay/{session_id}"
    assert attempt.expires_at is not None
    assert abs(attempt.expires_at.timestamp() - int(p["expires_at"])) < 1
    [event] = await world.audit("payment.start")
    assert ref.number in event.detail and event.actor_type == "citizen"
    assert (await world.case_row(ref)).payment_status == "open"
    # The hosted page the citizen is sent to exists.
    async with httpx.AsyncClient() as browser:
        page = await browser.get(attempt.url)
    assert page.status_code == 200 and "23,45 EUR" in page.text


async def test_free_items_stay_off_the_checkout_and_english_bookings_get_english(
    world: World,
) -> None:
    ref = await world.case(items=(("Führungszeugnis", 1300, 1), ("Lebensbescheinigung", 0, 1)),
                           locale="en")
    await world.start_session(ref)
    [sent] = world.fake.created_sessions()
    assert [i["price_data"]["product_data"]["name"] for i in sent.params["line_items"]] == [
        "Führungszeugnis"]
    assert sent.params["locale"] == "en"


async def test_a_new_attempt_replaces_the_open_one(world: World) -> None:
    ref = await world.case()
    first = await world.start_session(ref)
    second = await world.start_session(ref)
    assert first != second
    attempts = await world.attempts(ref)
    assert [(a.session_id, a.status) for a in attempts] == [
        (first, "expired"), (second, "open")]
    assert world.fake.sessions[first]["status"] == "expired"  # expired at Stripe as well
    assert world.fake.sessions[second]["status"] == "open"


@pytest.mark.parametrize(
    ("payment", "status", "code"),
    [("online", "paid", "already_paid"), ("online", "refunded", "not_payable"),
     ("none", "not_required", "nothing_to_pay")],
)
async def test_refused_when_nothing_is_open(world: World, payment: str, status: str,
                                            code: str) -> None:
    ref = await world.case(payment=payment, status=status)
    r = await world.start(ref)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == code
    assert world.fake.requests == [] and await world.attempts(ref) == []


@pytest.mark.parametrize(("payment", "status"), [("invoice", "open"), ("online", "failed")])
async def test_a_fee_notice_and_a_failed_payment_can_be_paid_online(
    world: World, payment: str, status: str,
) -> None:
    ref = await world.case(payment=payment, status=status)
    await world.start_session(ref)
    assert len(world.fake.created_sessions()) == 1


async def test_no_case_yet_is_409(world: World) -> None:
    office = await add_office(world.app)
    service = await add_service(world.app, [office])
    _id, token = await add_appointment(
        world.app, office_id=office, service_id=service,
        start=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    r = await world.client.post("/api/v1/me/payment", headers=bearer(token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_case"
    r = await world.client.post("/api/v1/me/payment", headers={**bearer(token),
                                                               "Accept-Language": "en"})
    assert r.json()["error"]["message"] == "There is nothing to pay for this appointment yet."


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"},
    {"Authorization": "Bearer " + "x" * 43}, {"Authorization": "Bearer ../../etc"},
])
async def test_a_bad_token_is_401(world: World, headers: dict[str, str]) -> None:
    await world.case()
    r = await world.client.post("/api/v1/me/payment", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert world.fake.requests == []


async def test_a_body_is_ignored_and_never_a_500(world: World) -> None:
    ref = await world.case()
    r = await world.client.post("/api/v1/me/payment", headers=ref.auth,
                                content=b"\xff\xfe not json")
    assert r.status_code == 200


async def test_without_a_stripe_key_online_payment_is_not_offered(
    settings_factory: Callable[..., Settings],
) -> None:
    app = create_app(settings_factory())
    async with running(app):
        world = World(app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://testserver"), None)  # type: ignore[arg-type]
        async with world.client:
            ref = await world.case()
            r = await world.start(ref)
            assert r.status_code == 409
            assert r.json()["error"]["code"] == "online_payment_unavailable"
            assert "Überweisung" in r.json()["error"]["message"] or \
                "überweisen" in r.json()["error"]["message"]
            assert await world.attempts(ref) == []


async def test_a_debit_in_progress_blocks_a_second_payment(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    await world.send("checkout.session.completed", session_id)
    r = await world.start(ref)
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_pending"
    assert len(world.fake.created_sessions()) == 1


async def test_stripe_refusing_is_409_and_the_attempt_is_marked(world: World) -> None:
    ref = await world.case()
    world.fake.failures.append(invalid("Invalid currency", "line_items"))
    r = await world.start(ref)
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_provider_refused"
    [attempt] = await world.attempts(ref)
    assert (attempt.status, attempt.session_id) == ("error", None)
    assert (await world.case_row(ref)).payment_status == "open"
    await world.start_session(ref)  # the next try works


async def test_a_stripe_hiccup_is_retried_with_the_same_idempotency_key(world: World) -> None:
    ref = await world.case()
    world.fake.retryable_failures = 1
    session_id = await world.start_session(ref)
    calls = world.fake.created_sessions()
    assert len(calls) == 2 and len(world.fake.sessions) == 1
    assert calls[0].headers["idempotency-key"] == calls[1].headers["idempotency-key"]
    [attempt] = await world.attempts(ref)
    assert attempt.session_id == session_id


async def test_stripe_down_is_503(settings_factory: Callable[..., Settings],
                                  fake_stripe: object) -> None:
    settings = settings_factory(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x",
                                stripe_api_base=f"http://127.0.0.1:{free_port()}")
    app = create_app(settings)
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver",
    ) as client:
        world = World(app, client, fake_stripe)  # type: ignore[arg-type]
        ref = await world.case()
        r = await world.start(ref)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "payment_provider_unavailable"
        [attempt] = await world.attempts(ref)
        assert attempt.status == "error"


async def test_an_internal_stripe_error_is_503(world: World) -> None:
    ref = await world.case()
    world.fake.failures.append(StripeFail(500, "api_error", "Something went wrong."))
    r = await world.start(ref)
    assert r.status_code == 503


async def test_pressing_pay_again_and_again_is_limited_per_link(
    settings_factory: Callable[..., Settings], fake_stripe: object,
) -> None:
    from tests.postcall.payments.fake_stripe import FakeStripe

    assert isinstance(fake_stripe, FakeStripe)
    settings = settings_factory(
        stripe_secret_key=fake_stripe.secret_key, stripe_api_base=fake_stripe.base_url,
        rate_limits_enabled=True, rate_limit_payment="2/minute", rate_limit_token="100/minute")
    app = create_app(settings)
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver",
    ) as client:
        world = World(app, client, fake_stripe)
        ref, other = await world.case(), await world.case()
        assert (await world.start(ref)).status_code == 200
        assert (await world.start(ref)).status_code == 200
        r = await world.start(ref)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert (await world.start(other)).status_code == 200  # another link is not affected
        assert len(fake_stripe.created_sessions()) == 3
