"""The call pages as HTML: what the citizen's page says in each phase, the clerk's page and its
access rules, the clerk's call token for the page's own WebSocket, the links that lead there,
and that every message id is translated."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import httpx
import pytest
from jinja2.ext import babel_extract
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.pages.call import citizen_phase
from booking.models import Appointment
from calls.models import CallEvent, CallToken
from core.i18n import I18n
from core.types import utcnow
from tests.app.pages.call_helpers import (
    CallSeed,
    add_appointment,
    add_clerk,
    login,
    quick_hashes,
    seed_offices,
)
from tests.app.pages.seed import app_ctx
from tests.conftest import live_server

__all__ = ["quick_hashes"]  # the fixture, used by name below
pytestmark = pytest.mark.usefixtures("quick_hashes")

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def seeded(app: Starlette) -> CallSeed:
    return await seed_offices(app)


def messages_of(html: str) -> dict[str, str]:
    match = re.search(r'<script type="application/json" id="call-messages">(.*?)</script>', html,
                      re.S)
    assert match, "no message block"
    data = json.loads(match.group(1))
    assert isinstance(data, dict)
    return data


# --- the phase rules -----------------------------------------------------------------------------


def _appointment(status: str, start: dt.datetime, minutes: int = 15) -> Appointment:
    return Appointment(reference="BB-TEST-0001", office_id=1, service_id=1, start_at=start,
                       end_at=start + dt.timedelta(minutes=minutes), status=status,
                       given_name="E", family_name="M", email="e@example.org",
                       email_norm="e@example.org", link_nonce="n", token_hash="h",
                       link_expires_at=start, ics_uid="u",
                       hold_expires_at=start - dt.timedelta(days=1))


@pytest.mark.parametrize(("status", "offset_minutes", "phase"), [
    ("confirmed", 16, "early"),  # opens 15 minutes before
    ("confirmed", 15, "open"),
    ("confirmed", 0, "open"),
    ("in_call", -10, "open"),
    ("confirmed", -44, "open"),  # 15 minutes long + 30 after
    ("confirmed", -45, "over"),
    ("completed", 0, "ended"),
    ("no_show", 0, "ended"),
    ("cancelled", 0, "unavailable"),
    ("expired", 0, "unavailable"),
])
def test_citizen_phase(status: str, offset_minutes: int, phase: str) -> None:
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    appointment = _appointment(status, now + dt.timedelta(minutes=offset_minutes))
    assert citizen_phase(appointment, now, before_minutes=15, after_minutes=30) == phase


def test_reserved_is_unconfirmed_until_the_hold_lapses() -> None:
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    appointment = _appointment("reserved", now)
    appointment.hold_expires_at = now + dt.timedelta(minutes=5)
    assert citizen_phase(appointment, now, before_minutes=15, after_minutes=30) == "unconfirmed"
    appointment.hold_expires_at = now
    assert citizen_phase(appointment, now, before_minutes=15, after_minutes=30) == "unavailable"


# --- the citizen's page --------------------------------------------------------------------------


async def test_citizen_page_inside_the_join_window(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, token = await add_appointment(app, seeded)
    r = await client.get(f"/t/{token}/call")
    assert r.status_code == 200
    html = r.text
    assert 'data-phase="open"' in html
    assert f'data-reference="{reference}"' in html
    # The stable hooks (CONTRACT §5) and what the browsers need for inline playback.
    assert re.search(r'<video id="local-video" muted playsinline autoplay', html)
    assert re.search(r'<video id="remote-video" playsinline autoplay', html)
    for hook in ('id="join"', 'id="leave"', 'id="mute" aria-pressed="false"',
                 'id="camera-off" aria-pressed="false"', 'id="camera"', 'id="microphone"'):
        assert hook in html, hook
    assert re.search(r'id="connection-state" role="status" aria-live="polite"', html)
    assert "Bitte warten Sie, die Sachbearbeitung lässt Sie gleich herein." in html
    assert '<script type="module" src="/static/js/citizen-call.js"></script>' in html
    # No inline script or style: only the JSON data block, which never runs.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)
    assert "style=" not in html
    texts = messages_of(html)
    assert texts["denied"].startswith("Sie haben den Zugriff auf Kamera und Mikrofon nicht")
    assert texts["state-waiting"] == "Im Warteraum"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # The token stays out of the page's script data (it is only in the page's own path).
    assert token not in json.dumps(texts)


async def test_citizen_page_in_english(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    _, token = await add_appointment(app, seeded)
    r = await client.get(f"/t/{token}/call?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert "Please wait, the member of staff will let you in shortly." in r.text
    assert messages_of(r.text)["state-waiting"] == "In the waiting room"


async def test_the_booking_language_is_the_default(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    _, token = await add_appointment(app, seeded, locale="en")
    r = await client.get(f"/t/{token}/call")
    assert "Join the video call" in r.text


async def test_before_the_window_the_page_says_when_it_opens(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    start = utcnow() + dt.timedelta(days=2)
    _, token = await add_appointment(app, seeded, start=start)
    r = await client.get(f"/t/{token}/call")
    assert r.status_code == 200
    assert 'data-phase="early"' in r.text
    assert "Der Videoraum ist noch nicht geöffnet" in r.text
    assert "Sie können den Warteraum ab" in r.text
    assert 'id="join"' not in r.text
    # The device check works already; the script reloads the page when the window opens.
    assert 'id="local-video"' in r.text
    opens = (start - dt.timedelta(minutes=15)).isoformat()
    assert f'data-opens-at="{opens}"' in r.text


@pytest.mark.parametrize(("status", "start_offset", "text"), [
    ("confirmed", dt.timedelta(hours=-3), "Die Zeit für diesen Termin ist vorbei"),
    ("completed", dt.timedelta(minutes=-5), "Dieser Termin ist beendet"),
    ("cancelled", dt.timedelta(minutes=5), "Zu diesem Termin gibt es kein Videogespräch"),
    ("reserved", dt.timedelta(minutes=5), "Bitte bestätigen Sie zuerst Ihren Termin"),
])
async def test_closed_phases(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed, status: str,
    start_offset: dt.timedelta, text: str,
) -> None:
    _, token = await add_appointment(app, seeded, start=utcnow() + start_offset, status=status)
    r = await client.get(f"/t/{token}/call")
    assert r.status_code == 200
    assert text in r.text
    assert 'id="join"' not in r.text
    assert "citizen-call.js" not in r.text
    assert f'href="/t/{token}"' in r.text  # back to the appointment page


async def test_after_the_clerk_ended_the_call(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, token = await add_appointment(app, seeded, status="in_call")
    r = await client.get(f"/t/{token}/call")
    assert 'data-phase="open"' in r.text
    async with app_ctx(app).db.transaction(write=True) as session:
        appointment = (await session.execute(
            select(Appointment).where(col(Appointment.reference) == reference))).scalar_one()
        assert appointment.id is not None
        session.add(CallEvent(appointment_id=appointment.id, event="ended", role="clerk"))
    r = await client.get(f"/t/{token}/call")
    assert 'data-phase="ended"' in r.text
    assert "Dieser Termin ist beendet" in r.text
    assert 'id="join"' not in r.text


async def test_unknown_link(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/t/{'A' * 43}/call")
    assert r.status_code == 404
    assert "id=\"join\"" not in r.text


# --- the clerk's page ----------------------------------------------------------------------------


async def test_clerk_page_needs_a_login(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    r = await client.get(f"/staff/call/{reference}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/staff/login?next=/staff/call/{reference}"


async def test_clerk_page_shows_the_booking_beside_the_video(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    r = await client.get(f"/staff/call/{reference}")
    assert r.status_code == 200
    html = r.text
    for hook in ('id="admit" disabled', 'id="end-call"', 'id="local-video" muted playsinline',
                 'id="remote-video" playsinline autoplay', 'id="waiting-indicator"',
                 'id="quality"', 'id="identity-check"',
                 'aria-labelledby="identity-check-title"'):
        assert hook in html, hook
    assert re.search(r'id="waiting-indicator"[^>]*aria-live="polite"', html)
    booking = html.split('id="booking-data"', 1)[1].split("</dl>", 1)[0]
    for value in (reference, "Erika Mustermann", "12. August 1964", "erika@example.org",
                  "Meldebescheinigung", "0711 123456"):
        assert value in booking, value
    assert f'data-token-url="/staff/call/{reference}/token"' in html
    assert '<script type="module" src="/static/js/clerk-call.js"></script>' in html
    assert messages_of(html)["waiting-yes"] == "Die Bürgerin oder der Bürger wartet im Warteraum."


async def test_clerk_of_another_office_is_refused(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.other_office_id])
    await login(client)
    r = await client.get(f"/staff/call/{reference}")
    assert r.status_code == 403
    assert "Erika" not in r.text
    r = await client.get("/staff/call/BB-NONE-0000")
    assert r.status_code == 404


async def test_admins_may_open_every_call(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded, date_of_birth=None)
    await add_clerk(app, [], email="admin@musterstadt.example", role="admin")
    await login(client, "admin@musterstadt.example")
    r = await client.get(f"/staff/call/{reference}?lang=en")
    assert r.status_code == 200
    assert "not given" in r.text.split('id="booking-data"', 1)[1]


# --- the clerk's call token ----------------------------------------------------------------------


async def _csrf(client: httpx.AsyncClient, reference: str) -> str:
    page = await client.get(f"/staff/call/{reference}")
    match = re.search(r'data-csrf="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def test_call_token_for_the_page(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    csrf = await _csrf(client, reference)
    r = await client.post(f"/staff/call/{reference}/token", data={"csrf_token": csrf})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"].startswith("ct-")
    assert dt.datetime.fromisoformat(body["expires_at"]) > utcnow()
    assert r.headers["cache-control"] == "no-store"
    async with app_ctx(app).db.transaction() as session:
        stored = (await session.execute(select(CallToken))).scalars().all()
    assert len(stored) == 1
    assert body["token"] not in stored[0].token_hash


async def test_call_token_needs_the_csrf_token(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    for data in ({}, {"csrf_token": "forged"}):
        r = await client.post(f"/staff/call/{reference}/token", data=data)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "csrf_failed"


async def test_call_token_refusals(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    foreign, _ = await add_appointment(app, seeded, office_id=seeded.other_office_id)
    cancelled, _ = await add_appointment(app, seeded, status="cancelled")
    r = await client.post(f"/staff/call/{reference}/token", data={"csrf_token": "x"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == (
        "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich neu an.")

    await add_clerk(app, [seeded.office_id])
    await login(client)
    csrf = await _csrf(client, reference)
    r = await client.post(f"/staff/call/{foreign}/token", data={"csrf_token": csrf})
    assert r.status_code == 403
    r = await client.post(f"/staff/call/{cancelled}/token", data={"csrf_token": csrf})
    assert r.status_code == 409
    r = await client.post("/staff/call/BB-NONE-0000/token", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    async with app_ctx(app).db.transaction() as session:
        assert (await session.execute(select(CallToken))).scalars().all() == []


async def test_the_page_token_opens_the_clerk_side_of_the_call(
    app: Starlette, seeded: CallSeed
) -> None:
    """The token the page gets is accepted by /ws/call as the clerk of this appointment."""
    import websockets

    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as client:
        await login(client)
        csrf = await _csrf(client, reference)
        token = (await client.post(f"/staff/call/{reference}/token",
                                   data={"csrf_token": csrf})).json()["token"]
        async with websockets.connect(base.replace("http", "ws") + "/ws/call") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome"
    assert welcome["role"] == "clerk"
    assert welcome["reference"] == reference


# --- links to the call ---------------------------------------------------------------------------


@pytest.mark.usefixtures("office_hours")  # today's agenda, whatever the hour of the run
async def test_agenda_links_to_the_call(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    reference, _ = await add_appointment(app, seeded)
    await add_clerk(app, [seeded.office_id])
    await login(client)
    r = await client.get("/staff")
    assert r.status_code == 200
    assert f'<a href="/staff/call/{reference}" class="call-link">' in r.text


async def test_appointment_page_offers_the_call_and_the_connection_test(
    app: Starlette, client: httpx.AsyncClient, seeded: CallSeed
) -> None:
    _, token = await add_appointment(app, seeded)
    r = await client.get(f"/t/{token}")
    assert r.status_code == 200
    assert f'href="/t/{token}/call"' in r.text
    assert 'id="connection-test-start"' in r.text
    assert "Verbindung testen" in r.text
    assert '<script type="module" src="/static/js/connection-test.js"></script>' in r.text

    _, cancelled = await add_appointment(app, seeded, status="cancelled")
    r = await client.get(f"/t/{cancelled}")
    assert "/call" not in r.text
    assert 'id="connection-test-start"' not in r.text


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    for path in ("js/call.js", "js/call-page.js", "js/citizen-call.js", "js/clerk-call.js",
                 "js/device-check.js", "js/connection-test.js", "css/call.css"):
        r = await client.get(f"/static/{path}")
        assert r.status_code == 200, path
        # Every asset is ours: no request to another host (no CDN, no public STUN server).
        assert not re.search(r"https?://|stun:|turn:", r.text), path


# --- translations --------------------------------------------------------------------------------


def call_msgids() -> set[str]:
    found: set[str] = set()
    # The call pages' own templates (the desk panels inside the clerk's page have their own).
    templates = [ROOT / "app/templates/call" / name
                 for name in ("citizen.html", "clerk.html", "_call_parts.html",
                              "_appointment_call.html")]
    for path in templates:
        with path.open("rb") as fh:
            for _line, _func, message, _comments in babel_extract(
                fh, ["_", "gettext", "ngettext"], [], {"trimmed": "false"}
            ):
                if isinstance(message, str):
                    found.add(message)
                elif isinstance(message, tuple):
                    found.update(m for m in message if isinstance(m, str))
    found.add("Video call")  # the agenda's call link
    tree = ast.parse((ROOT / "app/pages/call.py").read_text())
    positions = {"N_": 0, "gettext": 0, "_json_error": 3}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            index = positions.get(name)
            if index is not None and index < len(node.args):
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


# German words that are the same in English.
SAME_IN_GERMAN = {"%(date)s, %(time)s", "Name", "Status", "Video"}


def test_every_call_message_is_translated() -> None:
    ids = call_msgids()
    assert len(ids) > 80
    german = I18n().translator("de")
    missing = sorted(m for m in ids if german.gettext(m) == m and m not in SAME_IN_GERMAN)
    assert missing == []
