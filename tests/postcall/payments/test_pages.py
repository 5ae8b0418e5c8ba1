"""Paying from the citizen's pages: the appointment page links to our stable pay page, whose
button (a CSRF-checked POST) sends the browser to Stripe; a GET never starts anything."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from app import csrf as csrf_tokens
from app.main import create_app
from app.settings import Settings
from tests.app.pages.helpers import csrf_of
from tests.conftest import running
from tests.postcall.payments.conftest import World


def csrf(world: World) -> str:
    """The form token for the citizen cookie this client got with its last page."""
    return csrf_tokens.token(world.state.secret_key, world.client.cookies[csrf_tokens.COOKIE])


async def test_the_appointment_page_links_to_the_pay_page(world: World) -> None:
    ref = await world.case()
    page = await world.client.get(f"/t/{ref.token}")
    assert page.status_code == 200
    assert f'href="/t/{ref.token}/payment"' in page.text and 'id="pay-now"' in page.text
    assert "Jetzt online bezahlen" in page.text
    paid = await world.case(status="paid")
    page = await world.client.get(f"/t/{paid.token}")
    assert 'id="pay-now"' not in page.text


async def test_the_pay_page_shows_the_fee_and_changes_nothing(world: World) -> None:
    ref = await world.case()
    before = await world.snapshot()
    page = await world.client.get(f"/t/{ref.token}/payment")
    assert page.status_code == 200
    assert "23,45\xa0€" in page.text and ref.number in page.text
    assert 'id="pay-online"' in page.text and "Karte, SEPA-Lastschrift oder PayPal" in page.text
    # The form may lead to Stripe's checkout (browsers check form-action on the redirect too).
    csp = page.headers["content-security-policy"]
    assert f"form-action 'self' https://checkout.stripe.com {world.fake.base_url}" in csp
    assert "script-src 'self'" in csp
    assert await world.snapshot() == before and world.fake.requests == []
    english = await world.client.get(f"/t/{ref.token}/payment?lang=en")
    assert "Pay €23.45 now" in english.text


async def test_the_pay_button_redirects_to_stripe(world: World) -> None:
    ref = await world.case()
    page = await world.client.get(f"/t/{ref.token}/payment")
    r = await world.client.post(f"/t/{ref.token}/payment",
                                data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(re.escape(world.fake.base_url) + r"/c/pay/cs_test_\w+", location)
    [attempt] = await world.attempts(ref)
    assert attempt.url == location and attempt.status == "open"
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(location)).status_code == 200


async def test_the_pay_button_needs_the_csrf_token(world: World) -> None:
    ref = await world.case()
    await world.client.get(f"/t/{ref.token}/payment")
    r = await world.client.post(f"/t/{ref.token}/payment", data={"csrf_token": "forged"})
    assert r.status_code == 403
    r = await world.client.post(f"/t/{ref.token}/payment", content=b"{}",
                                headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    assert world.fake.requests == [] and await world.attempts(ref) == []


async def test_nothing_to_pay_is_explained_on_the_page(world: World) -> None:
    paid = await world.case(status="paid")
    page = await world.client.get(f"/t/{paid.token}/payment")
    assert page.status_code == 200 and 'id="pay-online"' not in page.text
    assert "bezahlt. Vielen Dank!" in page.text
    r = await world.client.post(f"/t/{paid.token}/payment", data={"csrf_token": csrf(world)})
    assert r.status_code == 409
    assert 'id="payment-error"' in r.text and "bereits bezahlt" in r.text
    assert world.fake.requests == []


async def test_a_debit_in_progress_is_shown(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id, method="sepa_debit")
    await world.send("checkout.session.completed", session_id)
    page = await world.client.get(f"/t/{ref.token}/payment")
    assert "Ihre Zahlung wird bearbeitet" in page.text and 'id="pay-online"' not in page.text


async def test_an_invalid_link_gets_the_friendly_page(world: World) -> None:
    bad = "A" * 43
    assert (await world.client.get(f"/t/{bad}/payment")).status_code == 404
    page = await world.client.get("/t/x/payment")
    assert page.status_code == 404 and "Dieser Link funktioniert nicht" in page.text


async def test_without_stripe_the_page_offers_bank_transfer(
    settings_factory: Callable[..., Settings],
) -> None:
    app = create_app(settings_factory())
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver",
    ) as client:
        world = World(app, client, None)  # type: ignore[arg-type]
        ref = await world.case()
        appointment = await client.get(f"/t/{ref.token}")
        assert appointment.status_code == 200 and 'id="pay-now"' not in appointment.text
        page = await client.get(f"/t/{ref.token}/payment")
        assert 'id="pay-online"' not in page.text
        assert "Online-Zahlung wird nicht angeboten" in page.text
        r = await client.post(f"/t/{ref.token}/payment", data={"csrf_token": csrf(world)})
        assert r.status_code == 409 and "Online-Zahlung wird nicht angeboten" in r.text
