"""The whole product in two real Chromiums (citizen and clerk) against a real uvicorn with its
worker, a real SMTP server and a real coturn, by keyboard alone: the citizen books from the
start page, opens the link from the e-mail, confirms, tests the connection, checks camera and
microphone and joins; the clerk logs in, joins from the agenda, admits, records the identity
check, completes the request and ends the call. Every request both browsers make is recorded:
all of them go to the site itself, and the ICE servers are only the configured STUN and TURN.

Then axe-core, in German and English, on every page no other browser test checks: the status
lookup, imprint, payment pages, call pages that cannot be joined, feedback, an expired link and
error pages; the login in English, the print room, feedback results, privacy requests, the user
and closure forms."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from signaling.turn import turn_credentials
from tests.app.browser.support import (
    BERLIN,
    LEAD,
    Axe,
    Traffic,
    choose_radio,
    first_bookable_start,
    is_focused,
    key_to,
    press_on,
    radio_values,
    seed_open_offices,
    space_on,
    text_of,
)
from tests.app.browser.test_call_browser import (
    DESK,
    PHONE,
    PLAY_TIMEOUT_MS,
    Browsers,
    browsers,
    wait_picture,
    wait_playing,
    wait_state,
)
from tests.app.pages.call_helpers import CLERK_EMAIL, PASSWORD, add_clerk, quick_hashes
from tests.app.pages.helpers import load
from tests.calls.test_turn import SECRET, Turn, turnserver
from tests.cases.conftest import ADMIN, CLERK_A, build_desk
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, bound_socket, live_server, require, serve_on
from tests.postcall.notices.support import bearer, complete, configure_offices, set_appointment
from tests.postcall.payments.fake_stripe import FakeStripe
from tests.smtp_support import SmtpSink, wait_for
from tests.staff.helpers import PASSWORD as STAFF_PASSWORD

__all__ = ["browsers", "quick_hashes", "turnserver"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

CITIZEN_EMAIL = "erika.mustermann@example.org"
BORN = dt.date(1980, 12, 31)


@dataclass
class Site:
    app: Starlette
    base: str
    settings: Settings


@pytest.fixture
async def site(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink,
               turnserver: Turn) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    sock = bound_socket()
    port = sock.getsockname()[1]
    settings = settings_factory(
        base_url=f"http://127.0.0.1:{port}", smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
        worker_poll_seconds=0.05, stun_urls=f"stun:127.0.0.1:{turnserver.port}",
        turn_urls=turnserver.url, turn_secret=SECRET)
    application = create_app(settings, run_worker=True)
    async with serve_on(application, sock) as base:
        office_ids = await seed_open_offices(application)
        await add_clerk(application, office_ids)
        yield Site(application, base, settings)


# --- the citizen ---------------------------------------------------------------------------------


async def book(citizen: Page, site: Site) -> tuple[str, dt.datetime]:
    """From the start page to "done" by keyboard; returns the reference and the start."""
    await citizen.goto(f"{site.base}/")
    await press_on(citizen, "#start-booking")
    await citizen.wait_for_url("**/book")
    await choose_radio(citizen, "service", "service", 0)
    await press_on(citizen, "#continue")
    await citizen.wait_for_selector("input[name=office]")
    await choose_radio(citizen, "office", "office", 0)
    await press_on(citizen, "#continue")
    await citizen.wait_for_selector("input[name=day]")

    target = first_bookable_start(dt.datetime.now(dt.UTC))
    days = await radio_values(citizen, "day")
    await choose_radio(citizen, "day", "day", days.index(target.date().isoformat()))
    await press_on(citizen, "#continue")
    await citizen.wait_for_selector("input[name=slot]")
    slots = [dt.datetime.fromisoformat(v) for v in await radio_values(citizen, "slot")]
    earliest = dt.datetime.now(dt.UTC) + LEAD
    pick = next(i for i, start in enumerate(slots) if start >= earliest)
    await choose_radio(citizen, "slot", "slot", pick)
    await press_on(citizen, "#continue")
    await citizen.wait_for_selector("#given_name")

    for selector, text in (("#given_name", "Erika"), ("#family_name", "Mustermann"),
                           ("#email", CITIZEN_EMAIL), ("#date_of_birth", "12.08.1964")):
        await key_to(citizen, selector)
        await citizen.keyboard.type(text)
    await space_on(citizen, "#consent")
    await press_on(citizen, "#book")
    await citizen.wait_for_url("**/book/done")
    reference = (await citizen.inner_text("#appointment-summary dd")).strip()
    return reference, slots[pick]


async def link_from_mail(site: Site, sink: SmtpSink) -> str:
    pattern = re.compile(re.escape(site.base) + r"/t/[A-Za-z0-9_-]{43}")

    def links() -> list[str]:
        return [link for m in sink.snapshot()
                if m["To"].addresses[0].addr_spec == CITIZEN_EMAIL
                for link in pattern.findall(text_of(m))]

    await wait_for(lambda: bool(links()), 60, "the mail with the appointment link")
    return links()[0]


@pytest.mark.turn
async def test_book_and_call_by_keyboard_only_on_the_own_origin(
    site: Site, browsers: Browsers, smtp_sink: SmtpSink
) -> None:
    traffic = Traffic()
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    await traffic.watch("citizen", citizen)
    await traffic.watch("clerk", clerk)

    # The citizen books; the worker mails the link; the citizen opens it and confirms.
    reference, start = await book(citizen, site)
    assert (await load(site.app, reference)).status == "reserved"
    link = await link_from_mail(site, smtp_sink)
    token = link.rsplit("/", 1)[1]
    await traffic.snapshot("citizen", citizen)
    await citizen.goto(link)
    await press_on(citizen, "#confirm")
    await citizen.wait_for_url("**?done=confirmed")
    assert (await load(site.app, reference)).status == "confirmed"

    # The connection test: the camera picture comes back from the server.
    await press_on(citizen, "#connection-test-start")
    await wait_picture(citizen, "#test-echo-video")
    await citizen.wait_for_function(
        "() => (document.querySelector('#connection-test-status').dataset.state || '')"
        ".startsWith('connected-')", timeout=PLAY_TIMEOUT_MS)
    await press_on(citizen, "#connection-test-stop", "Shift+Tab")
    await citizen.wait_for_selector("#connection-test-start", state="visible")

    # The call page: the device check shows the own picture and the microphone level (it
    # starts with the first key press), then the citizen joins the waiting room.
    await traffic.snapshot("citizen", citizen)
    await press_on(citizen, "#go-to-call", "Shift+Tab")
    await citizen.wait_for_url(f"{site.base}/t/{token}/call")
    assert dt.datetime.now(dt.UTC) >= start - dt.timedelta(minutes=15), "the room is open"
    await wait_picture(citizen, "#local-video")
    await key_to(citizen, "#join")
    await citizen.wait_for_function("""() => {
        const meter = document.querySelector('#mic-level');
        return !meter.closest('.mic-level').hidden && meter.value > 0;
    }""", timeout=PLAY_TIMEOUT_MS)
    assert await is_focused(citizen, "#join")
    await citizen.keyboard.press("Enter")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")

    # The clerk logs in and joins from the agenda (the next day's, just before midnight).
    await clerk.goto(f"{site.base}/staff/login")
    await key_to(clerk, "#email")
    await clerk.keyboard.type(CLERK_EMAIL)
    await key_to(clerk, "#password")
    await clerk.keyboard.type(PASSWORD)
    await press_on(clerk, "#login")
    await clerk.wait_for_url(f"{site.base}/staff")
    if start.astimezone(BERLIN).date() != dt.datetime.now(BERLIN).date():
        await press_on(clerk, f"a[href^='/staff?date={start.astimezone(BERLIN).date()}']")
        await clerk.wait_for_url("**/staff?date=*")
    row = f"tr[data-reference='{reference}']"
    await wait_state(clerk, row, "data-waiting", "yes")
    await traffic.snapshot("clerk", clerk)
    await press_on(clerk, f"{row} [data-join]")
    await clerk.wait_for_url(f"{site.base}/staff/call/{reference}")
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await press_on(clerk, "#admit")

    await wait_picture(citizen, "#remote-video")
    await wait_picture(clerk, "#remote-video")
    await wait_state(citizen, "#connection-state", "data-state", "connected")
    await wait_state(clerk, "#connection-state", "data-state", "connected")
    assert (await load(site.app, reference)).status == "in_call"

    # The identity check, by keyboard beside the running call.
    await space_on(clerk, "#document_type")  # ID card
    for box in ("#photo_matches", "#name_matches", "#birth_date_matches", "#document_valid"):
        await space_on(clerk, box)
    # Chromium orders a date field's parts by the browser's language (day or month first): a
    # date with day and month equal reads the same either way.
    await key_to(clerk, "#valid_until")
    await clerk.keyboard.type("05052031")
    assert await clerk.input_value("#valid_until") == "2031-05-05"
    for feature in ("hologram", "colour_shift", "tactile_relief"):
        await space_on(clerk, f"#feature-id_card-{feature}")
    await space_on(clerk, "#security_questions")
    await space_on(clerk, "#outcome")  # verified
    await press_on(clerk, "#record-check")
    await clerk.wait_for_selector("#desk-check-result[data-verified='yes']",
                                  timeout=PLAY_TIMEOUT_MS)

    # The completion: the booked service and fee notice are preset; delivery by post.
    await space_on(clerk, "#delivery")
    # Delivery by post needs the postal address, typed as the citizen says it.
    await key_to(clerk, "#postal_address")
    await clerk.keyboard.type("Großer Anger 7")
    await clerk.keyboard.press("Enter")
    await clerk.keyboard.type("73760 Musterhausen")
    await press_on(clerk, "#complete")
    await clerk.wait_for_selector("#desk-case-number", timeout=PLAY_TIMEOUT_MS)
    case_number = (await clerk.inner_text("#desk-case-number")).strip()
    assert (await load(site.app, reference)).status == "completed"
    await wait_playing(citizen, "#remote-video")

    # The clerk ends the call; the citizen's page says so, and the appointment page shows
    # the case.
    await press_on(clerk, "#end-call", "Shift+Tab")
    await citizen.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    await clerk.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    await traffic.snapshot("citizen", citizen)
    await press_on(citizen, "#back-to-appointment")
    await citizen.wait_for_url(f"{site.base}/t/{token}")
    assert (await citizen.inner_text("#case-number")).strip() == case_number
    await traffic.snapshot("citizen", citizen)
    await traffic.snapshot("clerk", clerk)

    # Nothing but the site itself, and the recording is not empty.
    assert traffic.foreign(site.base) == []
    requests = {(who, method, url.split("?")[0]) for who, method, url in traffic.requests}
    assert ("citizen", "POST", f"{site.base}/book") in requests
    assert ("citizen", "GET", f"{site.base}/t/{token}/call") in requests
    assert ("clerk", "POST", f"{site.base}/staff/login") in requests
    assert ("clerk", "GET", f"{site.base}/staff/call/{reference}") in requests
    ws = site.base.replace("http://", "ws://") + "/ws/call"
    assert {("citizen", ws), ("clerk", ws)} <= set(traffic.websockets)
    timeline = {url.split("?")[0] for _, _, url in traffic.timeline}
    assert {f"{site.base}/static/js/call.js", f"{site.base}/t/{token}/call"} <= timeline

    # The recorder does see a foreign origin (the same server under another host name), also
    # from a second tab of the context.
    tab = await citizen.context.new_page()
    await tab.goto(site.base.replace("127.0.0.1", "localhost") + "/imprint")
    await tab.close()
    assert traffic.foreign(site.base)[0].startswith("http://localhost:")

    # The ICE servers both sides were given: exactly the configured STUN and TURN, with a
    # coturn credential for this call.
    assert {who for who, _ in traffic.welcomes} == {"citizen", "clerk"}
    for who, welcome in traffic.welcomes:
        stun_entry, turn_entry = welcome["ice_servers"]
        assert stun_entry == {"urls": site.settings.stun_list()}
        assert turn_entry["urls"] == site.settings.turn_list()
        expiry, user = turn_entry["username"].split(":", 1)
        assert user == f"{who}-{reference}"
        expected = turn_credentials(SECRET, user, dt.datetime.fromtimestamp(int(expiry), dt.UTC))
        assert turn_entry["credential"] == expected.credential


# --- axe-core on the pages no other browser test covers ------------------------------------------
# (start, booking, link, cancel, reschedule: test_citizen_browser; call pages: test_call_browser;
# desk: test_desk_browser; staff and admin forms: tests/staff/test_accessibility; audit log and
# case: tests/cases/test_audit_browser)


@dataclass
class AxeSite:
    app: Starlette
    base: str
    client: httpx.AsyncClient
    stripe: FakeStripe


@pytest.fixture
async def axe_site(settings_factory: Callable[..., Settings]) -> AsyncIterator[AxeSite]:
    require(have_chromium(), "chromium")
    async with FakeStripe().running() as stripe:
        settings = settings_factory(stripe_secret_key=stripe.secret_key,
                                    stripe_webhook_secret=stripe.webhook_secret,
                                    stripe_api_base=stripe.base_url)
        application = create_app(settings)
        async with live_server(application) as base, \
                httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield AxeSite(application, base, client, stripe)


@RENDERED_ONLY
async def test_more_citizen_pages_pass_axe(axe_site: AxeSite, browsers: Browsers) -> None:
    site, base = axe_site, axe_site.base
    page = await browsers.page("citizen", PHONE)
    axe = Axe()
    for lang in ("de", "en"):  # before anything can be booked
        await axe.check(page, f"nothing to book {lang}", f"{base}/book?lang={lang}")

    desk = await build_desk(site.app, site.client)
    await configure_offices(desk)
    _, _, looked_up = await complete(desk, date_of_birth=BORN)
    _, feedback_token, _ = await complete(desk)
    unpaid, paid, pending, cancelled = [
        (await complete(desk, payment="online"))[1] for _ in range(4)]

    async def checkout(token: str) -> str:
        r = await site.client.post("/api/v1/me/payment", headers=bearer(token))
        assert r.status_code == 200, r.text
        return str(r.json()["redirect_url"]).rsplit("/", 1)[1]

    paid_session = await checkout(paid)
    site.stripe.complete(paid_session)
    pending_session = await checkout(pending)
    site.stripe.complete(pending_session, method="sepa_debit")
    cancel_session = await checkout(cancelled)

    def back_from_stripe(url: str) -> str:  # the app's base_url is the test default
        return url.replace("http://testserver", base) + ("&" if "?" in url else "?")

    paid_return = back_from_stripe(site.stripe.success_url(paid_session))
    pending_return = back_from_stripe(site.stripe.success_url(pending_session))
    cancel_return = back_from_stripe(site.stripe.sessions[cancel_session]["cancel_url"])

    soon = dt.timedelta(minutes=5)
    _, unconfirmed = await desk.appointment(status="reserved", start_in=soon)
    _, unavailable = await desk.appointment(status="cancelled", start_in=soon)
    _, over = await desk.appointment(status="confirmed", start_in=-dt.timedelta(hours=3))
    _, ended = await desk.appointment(status="completed")
    expired_ref, expired = await desk.appointment(status="completed",
                                                  start_in=-dt.timedelta(days=60))
    await set_appointment(site.app, expired_ref,
                          link_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))

    for lang in ("de", "en"):
        q = f"lang={lang}"
        await axe.check(page, f"imprint {lang}", f"{base}/imprint?{q}")
        await axe.check(page, f"status lookup {lang}", f"{base}/status?{q}")
        await axe.after_click(page, f"status lookup with errors {lang}", "#status-submit",
                              ".error-summary")
        await page.fill("#case_number", looked_up["case_number"])
        await page.fill("#date_of_birth", "01.01.1990")
        await axe.after_click(page, f"status lookup not found {lang}", "#status-submit",
                              "#lookup-not-found")
        await page.fill("#date_of_birth", BORN.strftime("%d.%m.%Y"))
        await axe.after_click(page, f"status lookup result {lang}", "#status-submit",
                              "#lookup-result")

        await axe.check(page, f"appointment with pay button {lang}", f"{base}/t/{unpaid}?{q}")
        await axe.check(page, f"payment page {lang}", f"{base}/t/{unpaid}/payment?{q}")
        await axe.check(page, f"payment return paid {lang}", paid_return + q)
        assert await page.locator("#payment-result.notice-success").count() == 1
        await axe.check(page, f"payment page paid {lang}", f"{base}/t/{paid}/payment?{q}")
        await axe.check(page, f"payment return pending {lang}", pending_return + q)
        assert await page.locator("#payment-result.notice-info").count() == 1
        await axe.check(page, f"payment cancelled {lang}", cancel_return + q)
        await axe.check(page, f"payment return unknown {lang}", f"{base}/pay/return/nope?{q}", 404)

        await axe.check(page, f"feedback form {lang}", f"{base}/t/{feedback_token}?{q}")
        await axe.check(page, f"feedback missing rating {lang}",
                        f"{base}/t/{feedback_token}?feedback=missing&{q}")
        for phase, token in (("unconfirmed", unconfirmed), ("unavailable", unavailable),
                             ("over", over), ("ended", ended)):
            await axe.check(page, f"call page {phase} {lang}", f"{base}/t/{token}/call?{q}")
            assert await page.get_attribute("#call", "data-phase") == phase
        await axe.check(page, f"expired link {lang}", f"{base}/t/{expired}?{q}", 404)
        await axe.check(page, f"method not allowed {lang}", f"{base}/staff/logout?{q}", 405)

    r = await site.client.post("/api/v1/me/feedback", json={"rating": 4},
                               headers=bearer(feedback_token))
    assert r.status_code == 201, r.text
    for lang in ("de", "en"):
        await axe.check(page, f"feedback thanks {lang}",
                        f"{base}/t/{feedback_token}?feedback=thanks&lang={lang}")
    assert len(axe.checked) == 2 + 2 * 20 + 2, axe.checked
    assert not axe.failures, "\n\n".join(axe.failures)


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/staff/login")
    await page.fill("#email", email)
    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/staff")


@RENDERED_ONLY
async def test_more_staff_pages_pass_axe(axe_site: AxeSite, browsers: Browsers) -> None:
    site, base = axe_site, axe_site.base
    clerk = await browsers.page("clerk", DESK)
    admin = await browsers.page("admin", DESK)
    axe = Axe()
    desk = await build_desk(site.app, site.client)
    await configure_offices(desk)
    _, feedback_token, _ = await complete(desk)
    _, _, posted = await complete(desk, delivery="post")
    r = await site.client.post("/api/v1/me/feedback", json={"rating": 5, "comment": "Prima"},
                               headers=bearer(feedback_token))
    assert r.status_code == 201, r.text
    r = await site.client.post("/api/v1/admin/closures", headers=desk.admin, json={
        "office_id": desk.office_a, "date": "2031-12-24", "reason": "Heiligabend"})
    assert r.status_code == 201, r.text
    closure_id = r.json()["id"]
    users = await site.client.get("/api/v1/admin/users", headers=desk.admin)
    user_id = next(u["id"] for u in users.json() if u["email"] == CLERK_A)
    dispatches = await site.client.get("/api/v1/clerk/dispatch", headers=desk.clerk_a)
    dispatch_id = dispatches.json()[0]["id"]

    for lang in ("de", "en"):
        await axe.check(clerk, f"login {lang}", f"{base}/staff/login?lang={lang}")
        await clerk.fill("#email", CLERK_A)
        await clerk.fill("#password", "not the password")
        await axe.after_click(clerk, f"login failed {lang}", "#login", "#password-error")
    await log_in(clerk, base, CLERK_A)
    await log_in(admin, base, ADMIN)

    for lang in ("de", "en"):
        q = f"lang={lang}"
        await axe.check(clerk, f"dispatch {lang}", f"{base}/staff/dispatch?{q}")
        assert posted["case_number"] in await clerk.inner_text("main")
        await axe.check(clerk, f"dispatch marked printed {lang}",
                        f"{base}/staff/dispatch?done=printed&{q}")
        await axe.check(clerk, f"dispatch empty day {lang}",
                        f"{base}/staff/dispatch?date=2001-01-01&{q}")
        await axe.check(clerk, f"postal address {lang}",
                        f"{base}/staff/dispatch/{dispatch_id}/address?{q}")
        await clerk.fill("#lines", "")
        await axe.after_click(clerk, f"postal address with error {lang}", "#address-save",
                              "#address-error")
        await axe.check(clerk, f"admin forbidden for a clerk {lang}", f"{base}/admin?{q}", 403)

        await axe.check(admin, f"feedback results {lang}", f"{base}/admin/feedback?{q}")
        assert "Prima" in await admin.inner_text("main")
        await axe.check(admin, f"feedback results empty {lang}",
                        f"{base}/admin/feedback?month=2001-01&{q}")
        await axe.check(admin, f"feedback results bad month {lang}",
                        f"{base}/admin/feedback?month=Januar&{q}")
        await axe.check(admin, f"edit user {lang}", f"{base}/admin/users/{user_id}?{q}")
        await axe.check(admin, f"edit closure {lang}", f"{base}/admin/closures/{closure_id}?{q}")
        await axe.check(admin, f"letter template {lang}",
                        f"{base}/admin/offices/{desk.office_a}/letters?{q}")
        await axe.check(admin, f"letter template saved {lang}",
                        f"{base}/admin/offices/{desk.office_a}/letters?done=saved&{q}")
        await axe.check(admin, f"privacy requests {lang}", f"{base}/admin/privacy?{q}")
        # The browser checks the address's form; the server refuses one that is too long.
        await admin.fill("#email", "a" * 250 + "@example.org")
        await axe.after_click(admin, f"privacy requests with error {lang}", "#privacy-erase",
                              "#email-error")
        await admin.fill("#email", "erika@example.org")
        await axe.after_click(admin, f"privacy erase confirmation {lang}", "#privacy-erase",
                              "#privacy-confirm")
        if lang == "en":  # the erasure itself, once
            await axe.after_click(admin, "privacy erased en", "#privacy-confirm",
                                  "#privacy-retained")
        await axe.check(admin, f"staff page not found {lang}", f"{base}/admin/nothing/1?{q}", 404)
    assert len(axe.checked) == 4 + 2 * 17 + 1, axe.checked
    assert not axe.failures, "\n\n".join(axe.failures)
