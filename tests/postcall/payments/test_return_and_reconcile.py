"""The other two ways a payment is learnt besides the webhook: the success page the citizen
returns to, and the worker's reconciliation that re-reads unfinished attempts — both
idempotent, and together with the webhook still one payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.main import create_app
from app.payments import reconcile_task
from app.settings import Settings
from app.worker import default_periodic
from postcall.payments.models import PaymentAttempt
from postcall.payments.service import RECEIPT_JOB
from tests.conftest import free_port, running
from tests.postcall.payments.conftest import CaseRef, World


def path_of(url: str) -> str:
    assert url.startswith("http://testserver/"), url
    return url.removeprefix("http://testserver")


async def backdate(world: World, ref: CaseRef, minutes: int = 11, *,
                   checked: bool = False) -> None:
    """Make the case's attempts (and their last re-read) ``minutes`` old."""
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    values: dict[str, object] = {"created_at": then}
    if checked:
        values["checked_at"] = then
    async with world.state.db.transaction(write=True) as session:
        await session.execute(update(PaymentAttempt)
                              .where(col(PaymentAttempt.case_id) == ref.id).values(**values))


async def test_the_success_page_records_the_payment_once(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id)
    url = path_of(world.fake.success_url(session_id))
    assert ref.token not in url
    for _ in range(3):
        page = await world.client.get(url)
        assert page.status_code == 200
        assert "Vielen Dank – Zahlung eingegangen" in page.text
        assert 'id="payment-result"' in page.text
        assert "Link in der E-Mail" in page.text
    assert (await world.case_row(ref)).payment_status == "paid"
    assert len(await world.jobs(RECEIPT_JOB)) == 1
    [event] = await world.audit("payment.paid")
    assert '"source": "return"' in event.detail
    # The webhook that arrives later finds it done.
    r = await world.send("checkout.session.completed", session_id)
    assert r.json()["outcome"] == "unchanged"
    assert len(await world.jobs(RECEIPT_JOB)) == 1
    english = await world.client.get(url + "&lang=en")
    assert "your payment has arrived" in english.text


async def test_the_success_page_before_payment_and_for_a_debit(world: World) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    url = path_of(world.fake.success_url(session_id))
    page = await world.client.get(url)
    assert page.status_code == 200 and "noch nicht bestätigt" in page.text
    assert (await world.case_row(ref)).payment_status == "open"

    world.fake.complete(session_id, method="sepa_debit")
    page = await world.client.get(url)
    assert "Ihre Zahlung wird bearbeitet" in page.text
    assert (await world.attempts(ref))[0].status == "pending"
    assert (await world.case_row(ref)).payment_status == "open"


async def test_a_session_id_in_the_address_cannot_pay_another_attempt(world: World) -> None:
    ref, other = await world.case(), await world.case()
    mine = await world.start_session(ref)
    theirs = await world.start_session(other)
    world.fake.complete(theirs)
    [attempt] = await world.attempts(ref)
    page = await world.client.get(f"/pay/return/{attempt.public_id}?session_id={theirs}")
    assert "noch nicht bestätigt" in page.text
    assert (await world.case_row(ref)).payment_status == "open"
    assert (await world.case_row(other)).payment_status == "open"  # only its own page or hook
    assert mine != theirs


async def test_unknown_attempts_and_the_cancel_page(world: World) -> None:
    for path in ("/pay/return/unknown-attempt-0000", "/pay/return/x",
                 "/pay/cancel/unknown-attempt-0000"):
        page = await world.client.get(path)
        assert page.status_code == 404 and "Wir finden diese Zahlung nicht" in page.text
    ref = await world.case()
    await world.start_session(ref)
    [attempt] = await world.attempts(ref)
    before = await world.snapshot()
    page = await world.client.get(f"/pay/cancel/{attempt.public_id}")
    assert page.status_code == 200 and "Zahlung abgebrochen" in page.text
    assert "Sie haben nichts bezahlt" in page.text
    assert await world.snapshot() == before


async def test_a_missed_webhook_is_caught_up_by_the_periodic_task(
    world: World, settings: Settings,
) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id)  # paid, but no webhook ever arrives
    [task] = [t for t in default_periodic(settings) if t.name == "payments.reconcile"]

    await task.run(world.state)  # too young: left alone, Stripe is not even asked
    assert not [r for r in world.fake.requests if r.method == "GET"]
    assert (await world.case_row(ref)).payment_status == "open"

    await backdate(world, ref)
    await task.run(world.state)
    assert (await world.case_row(ref)).payment_status == "paid"
    assert await world.milestones(ref) == ["paid"]
    assert len(await world.jobs(RECEIPT_JOB)) == 1
    [event] = await world.audit("payment.paid")
    assert '"source": "reconcile"' in event.detail and event.actor_type == "system"
    reads = [r for r in world.fake.requests if r.method == "GET"]
    assert [r.path for r in reads] == [f"/v1/checkout/sessions/{session_id}"]
    # Finished attempts are not read again; a late webhook changes nothing.
    await backdate(world, ref, checked=True)
    await task.run(world.state)
    assert len([r for r in world.fake.requests if r.method == "GET"]) == 1
    assert (await world.send("checkout.session.completed", session_id)).json()["outcome"] == \
        "unchanged"


async def test_reconciliation_follows_a_debit_and_an_expiry(world: World) -> None:
    debit, lapsed = await world.case(), await world.case()
    debit_session = await world.start_session(debit)
    lapsed_session = await world.start_session(lapsed)
    world.fake.complete(debit_session, method="sepa_debit")
    world.fake.expire(lapsed_session)
    await backdate(world, debit)
    await backdate(world, lapsed)
    await reconcile_task(world.state)
    assert (await world.attempts(debit))[0].status == "pending"
    assert (await world.attempts(lapsed))[0].status == "expired"
    assert (await world.case_row(lapsed)).payment_status == "open"

    world.fake.succeed(debit_session)
    await reconcile_task(world.state)  # re-read only after another interval
    assert (await world.attempts(debit))[0].status == "pending"
    await backdate(world, debit, checked=True)
    await reconcile_task(world.state)
    assert (await world.attempts(debit))[0].status == "paid"
    assert (await world.case_row(debit)).payment_status == "paid"


async def test_an_attempt_whose_creation_never_finished_is_closed(world: World) -> None:
    ref = await world.case()
    await world.start_session(ref)
    async with world.state.db.transaction(write=True) as session:
        await session.execute(update(PaymentAttempt).values(session_id=None, status="creating"))
    await backdate(world, ref)
    await reconcile_task(world.state)
    assert (await world.attempts(ref))[0].status == "error"
    await world.start_session(ref)  # and paying again works


async def test_reconciliation_with_stripe_unreachable_changes_nothing(
    settings_factory: Callable[..., Settings], world: World,
) -> None:
    ref = await world.case()
    session_id = await world.start_session(ref)
    world.fake.complete(session_id)
    await backdate(world, ref)
    down = settings_factory(stripe_secret_key="sk_test_x",
                            stripe_api_base=f"http://127.0.0.1:{free_port()}")
    app = create_app(down)
    async with running(app):
        await reconcile_task(app.state.ctx)
    assert (await world.case_row(ref)).payment_status == "open"
    assert (await world.attempts(ref))[0].checked_at is None  # tried again next round
    # Without Stripe configured the task does nothing at all.
    plain = create_app(settings_factory())
    async with running(plain), httpx.AsyncClient():
        await reconcile_task(plain.state.ctx)
    assert (await world.case_row(ref)).payment_status == "open"
