"""A municipality reached by its path prefix keeps its visitors there: every link, form, redirect,
script address and e-mail link of town B, reached as ``/zwiebelbach/...`` on town A's host,
carries the prefix, and following them reaches B, never A (the default town, which serves every
path without a prefix). Without a prefix every address is the site path, as before."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from app.pages import desk, inbox
from core.jobs import enqueue
from core.sealing import seal
from core.tenancy import acting_for
from core.types import utcnow
from idstatus.lookup import SEAL_PURPOSE
from idstatus.models import DocumentStatus
from idstatus.service import READY_MAIL_JOB
from tenants.links import root, safe_next, site_path, site_url
from tests.app.pages.helpers import csrf_of, details_form, walk_to_details
from tests.app.pages.seed import Seed
from tests.conftest import live_server
from tests.request_support import CLERK, drain
from tests.staff.helpers import PASSWORD, context, form_token
from tests.tenants.prefix_support import PREFIX, TOWN_B, addresses, outside, prefixed_world
from tests.tenants.world import ADMIN_B, HOST_A, TownA, TownB

# The links are made the same way on either database.
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PORTAL = f"http://{HOST_A}"
# Followed links that are files, not pages (no header to name the town in).
FILES = ("application/pdf", "text/calendar", "text/csv", "video/", "text/vtt", "text/css",
         "image/")


@pytest.fixture
async def towns(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> tuple[TownA, TownB]:
    monkeypatch.setattr(desk, "STREAM_SECONDS", 0.0)  # live streams end after their first event
    monkeypatch.setattr(inbox, "STREAM_SECONDS", 0.0)
    return await prefixed_world(app)


@pytest.fixture
async def portal(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on town A's host (the installation's portal), without following redirects."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PORTAL) as client:
        yield client


def _names_b(page: str) -> bool:
    return f"· {TOWN_B}</a>" in page  # the header's town


def _is_b(response: httpx.Response) -> bool:
    if response.headers.get("content-type", "").startswith(FILES):
        return True  # a file of B's: A would not have found its token or object
    return _names_b(response.text)


def _kind(url: str) -> tuple[str, frozenset[str]]:
    parts = urlsplit(url)
    return parts.path, frozenset(key for key, _ in parse_qsl(parts.query, keep_blank_values=True))


async def crawl(client: httpx.AsyncClient, seeds: list[str], *, limit: int = 400) -> list[str]:
    """Open ``seeds`` and every link (``href``, ``src``) of the pages reached under the prefix,
    following redirects; returns what went wrong: an address without the prefix, a redirect
    out of it, a page that is not B's or an answer other than 200 or 303. Language switches
    are checked, not followed (the same pages again); of links that differ only in their
    query's values (the next day, the next page) one is followed."""
    queue, seen, wrong = deque(seeds), {_kind(url) for url in seeds}, []
    opened = 0
    while queue and opened < limit:
        url = queue.popleft()
        response = await client.get(url)
        opened += 1
        if response.status_code == 303:
            location = response.headers["location"]
            if not location.startswith(PREFIX + "/"):
                wrong.append(f"{url} redirects to {location}")
            elif _kind(location) not in seen:
                seen.add(_kind(location))
                queue.append(location)
            continue
        if response.status_code != 200 or not _is_b(response):
            wrong.append(f"{url}: {response.status_code}, B's: {_is_b(response)}")
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        found = addresses(response.text)
        wrong.extend(f"{url}: {attribute}={value}" for attribute, value in outside(found))
        for attribute, value in found:
            follow = attribute in ("href", "src") and value.startswith(PREFIX + "/")
            if follow and "lang=" not in value and _kind(value) not in seen:
                seen.add(_kind(value))
                queue.append(value)
    assert opened < limit, "the crawl did not end"
    assert opened > len(seeds), "the crawl found no links"
    return wrong


async def _sign_in(client: httpx.AsyncClient, address: str) -> None:
    page = await client.get(f"{PREFIX}/staff/login")
    assert page.status_code == 200 and _is_b(page)
    r = await client.post(f"{PREFIX}/staff/login", data={
        "email": address, "password": PASSWORD, "csrf_token": form_token(page.text)})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{PREFIX}/staff"  # the redirect after the post keeps it


@SQLITE
async def test_every_citizen_page_under_the_prefix_links_within_it(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    _, b = towns
    seeds = [f"{PREFIX}{path}" for path in (
        "/", "/book", f"/book?service={b.service}", f"/t/{b.appointment_token}",
        f"/t/{b.appointment_token}/call", f"/t/{b.appointment_token}/cancel",
        f"/t/{b.request_token}", "/apply", f"/apply/{b.online_service}", "/links/resend",
        "/document-status", "/status", "/imprint", "/privacy", "/barrierefreiheit")]
    assert await crawl(portal, seeds) == []


@SQLITE
async def test_the_booking_steps_and_their_redirect_keep_the_prefix(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    _, b = towns
    # The client's base URL ends in the prefix: the steps' paths are the site's.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PORTAL + PREFIX) as citizen:
        day, slot, page = await walk_to_details(citizen, Seed(b.office, b.service, b.service))
        assert _names_b(page) and outside(addresses(page)) == []
        r = await citizen.post("/book", data=details_form(csrf_of(page), b.service, day, slot))
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{PREFIX}/book/done"
        # The cookie that shows the booking again is sent under the prefix.
        assert f"Path={PREFIX}/book" in r.headers["set-cookie"]
        done = await citizen.get(PORTAL + r.headers["location"])
    assert done.status_code == 200 and _is_b(done), done.text
    assert re.search(r"<dd>(BB-[A-Z0-9]{4}-[A-Z0-9]{4})</dd>", done.text)
    assert outside(addresses(done.text)) == []
    steps = [f"{PREFIX}/book?service={b.service}&day={day}",
             f"{PREFIX}/book?service={b.service}&day={day}&slot={slot}"]
    assert await crawl(portal, steps) == []

    # The e-mail's link, its calendar file and the link page's own calendar link open on B.
    await drain(app)
    mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
             for path in context(app).settings.mail_dir.glob("*.eml")]
    message = next(m for m in mails if m["To"].addresses[0].addr_spec == "erika@example.org")
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    token = re.search(rf"http://testserver{PREFIX}/t/([A-Za-z0-9_-]+)", body)
    assert token is not None, body
    assert not re.search(r"http://testserver/(?!zwiebelbach/)", body), body
    calendar = next(part for part in message.walk()
                    if part.get_content_type() == "text/calendar")
    assert f"http://testserver{PREFIX}/t/" in calendar.get_payload(decode=True).decode() \
        .replace("\r\n ", "")
    link_page = await portal.get(f"{PREFIX}/t/{token.group(1)}")
    assert link_page.status_code == 200 and _is_b(link_page)
    assert outside(addresses(link_page.text)) == []


@SQLITE
async def test_staff_and_admin_pages_under_the_prefix_link_within_it(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    _, b = towns
    # Signed out, a staff page sends to the sign-in under the prefix, to come back there.
    r = await portal.get(f"{PREFIX}/staff/requests")
    assert r.status_code == 303
    assert r.headers["location"] == f"{PREFIX}/staff/login?next=/staff/requests"
    desk = ["/staff", "/staff/requests", f"/staff/requests/{b.request}",
            f"/staff/call/{b.appointment}", "/staff/dispatch", "/staff/document-status",
            "/staff/totp"]
    admin = ["/admin", "/admin/jobs", "/admin/audit", "/admin/insights", "/admin/privacy",
             "/admin/accessibility", f"/admin/offices/{b.office}/letters"]
    for address, paths in ((CLERK, desk), (ADMIN_B, desk + admin)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PORTAL) as staff:
            await _sign_in(staff, address)
            assert await crawl(staff, [PREFIX + path for path in paths]) == [], address


@SQLITE
async def test_staff_posts_and_scripts_stay_within_the_prefix(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    _, b = towns
    await _sign_in(portal, ADMIN_B)
    page = await portal.get(f"{PREFIX}/admin/jobs")
    assert page.status_code == 200 and _is_b(page)
    retry = f"{PREFIX}/admin/jobs/{b.job}/retry"
    assert f'action="{retry}"' in page.text
    r = await portal.post(retry, data={"csrf_token": form_token(page.text)})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{PREFIX}/admin/jobs?retried={b.job}"
    # The guest link the clerk passes on opens on B: its URL carries the prefix, its path is
    # the site's (the page's script puts the root in front, static/js/site.js).
    call = await portal.get(f"{PREFIX}/staff/call/{b.appointment}")
    assert f'data-url="{PREFIX}/staff/call/{b.appointment}/guest-link"' in call.text
    r = await portal.post(f"{PREFIX}/staff/call/{b.appointment}/guest-link", data={
        "csrf_token": form_token(call.text), "kind": "interpreter", "name": ""})
    assert r.status_code == 201, r.text
    guest = r.json()
    assert guest["url"] == f"http://testserver{PREFIX}{guest['path']}"
    assert guest["path"].startswith("/g/")
    # A page's script asks under the prefix too: its errors come as JSON (the API's shape).
    r = await portal.get(f"{PREFIX}/api/v1/clerk/appointments?office_id=x")
    assert r.headers["content-type"].startswith("application/json"), r.text


@SQLITE
async def test_the_prefix_alone_leads_to_the_start_page(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    r = await portal.get(PREFIX)
    assert r.is_redirect and r.headers["location"].endswith(f"{PREFIX}/")
    page = await portal.get(f"{PREFIX}/")
    assert page.status_code == 200 and _is_b(page)
    assert f'<html lang="de" data-root="{PREFIX}">' in page.text
    # The installation's files are served under the prefix too, and without it.
    for path in ("/static/css/app.css", f"{PREFIX}/static/css/app.css"):
        assert (await portal.get(path)).status_code == 200, path


@SQLITE
async def test_without_a_prefix_every_address_is_the_site_path(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    """Town A, reached without a prefix, gives out the same addresses as before; B's pages are
    A's with the prefix in front of each site path, and nothing else changed."""
    for path in ("/imprint", "/privacy", "/document-status", "/links/resend", "/staff/login",
                 "/status"):
        plain = (await portal.get(path)).text
        assert "data-root" not in plain and "zwiebelbach" not in plain.lower()
        assert all(value.startswith("/") for _, value in addresses(plain)), path
        prefixed = (await portal.get(PREFIX + path)).text
        expected = [("data-root", PREFIX)] + [
            (attribute, value if value.startswith("/static/") else PREFIX + value)
            for attribute, value in addresses(plain)]
        assert addresses(prefixed) == expected, path
    r = await portal.get("/staff")
    assert r.headers["location"] == "/staff/login?next=/staff"


def test_site_paths_and_their_root() -> None:
    plain = {"path": "/book", "root_path": ""}
    assert (root(plain), site_path(plain), site_url(plain, "/t/x")) == ("", "/book", "/t/x")
    town = {"path": "/zwiebelbach/staff/login", "root_path": "/zwiebelbach"}
    assert root(town) == "/zwiebelbach" and site_path(town) == "/staff/login"
    assert site_url(town, "/book?service=1") == "/zwiebelbach/book?service=1"
    # Inside a mount (the static files) the app's root, not the mount's.
    mounted = {"path": "/zwiebelbach/static/a.css", "root_path": "/zwiebelbach/static",
               "app_root_path": "/zwiebelbach"}
    assert site_path(mounted) == "/static/a.css"
    for url in ("https://elsewhere.example/x", "//elsewhere.example", "/\\elsewhere", "#top"):
        assert site_url(town, url) == url
    assert safe_next("/staff/requests?view=new") == "/staff/requests?view=new"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil", "/a\r\nb"):
        assert safe_next(bad) == "/staff"


@SQLITE
async def test_the_mails_of_the_prefixed_town_link_under_its_prefix(
    app: Starlette, towns: tuple[TownA, TownB], portal: httpx.AsyncClient
) -> None:
    """Every mail of B's (here: the lost links and "your ID card is ready") links to B's pages
    under the prefix: the worker builds them from B's base URL (``HostMap.town``)."""
    _, b = towns
    page = await portal.get(f"{PREFIX}/links/resend")
    r = await portal.post(f"{PREFIX}/links/resend", data={
        "email": "erika@example.org", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and _is_b(r)
    state = context(app)
    with acting_for(b.id):
        async with state.db.transaction(write=True) as session:
            entry = DocumentStatus(office_id=b.office, document_type="id_card",
                                   serial_hash="0" * 64, status="ready", status_at=utcnow())
            session.add(entry)
            await session.flush()
            entry.notify_email = seal(state.secret_key, SEAL_PURPOSE, b"zora@b.example",
                                      aad=f"document-status:{entry.id}".encode())
            enqueue(session, READY_MAIL_JOB, {"document_status_id": entry.id})
    await drain(app)
    bodies = {}
    for path in state.settings.mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        bodies[message["Subject"]] = text.get_content()
    # With the request B's world sent: three mails, each with its links under the prefix.
    assert {"Ihr Ausweis liegt zur Abholung bereit",
            "Ihre Links zu Ihren Terminen und Anträgen"} <= set(bodies)
    for subject, body in bodies.items():
        links = re.findall(r"http://testserver[^\s>)\]]*", body)
        assert links, subject
        assert all(link.startswith(f"http://testserver{PREFIX}/") for link in links), body
    assert f"http://testserver{PREFIX}/document-status" in \
        bodies["Ihr Ausweis liegt zur Abholung bereit"]


@SQLITE
async def test_the_call_s_websocket_under_the_prefix_is_b_s(
    app: Starlette, towns: tuple[TownA, TownB]
) -> None:
    """The call page's script opens ``{root}/ws/call``: there B's link is let in (on the bare
    path it is A's, where B's link is refused: tests/tenants/test_isolation.py)."""
    import websockets

    _, b = towns
    async with live_server(app) as base, websockets.connect(
            base.replace("http", "ws") + f"{PREFIX}/ws/call") as ws:
        await ws.send(json.dumps({"type": "hello", "token": b.appointment_token}))
        answer = json.loads(await ws.recv())
    assert answer["type"] == "welcome" and answer["reference"] == b.appointment, answer
