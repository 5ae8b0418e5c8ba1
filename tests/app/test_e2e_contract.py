"""The whole booking story by the CONTRACT alone, as an outside client sees it.

A real uvicorn with the in-process worker, a real SMTP server, the console script for the first
admin; then only HTTP: admin token, office/service/schedule through the API, availability,
booking, the e-mail's link and calendar file, confirm, cancel, the slot free again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import httpx
import vobject

from app.main import create_app
from app.settings import Settings
from tests.conftest import live_server
from tests.smtp_support import SmtpSink, wait_for

BERLIN = ZoneInfo("Europe/Berlin")
ADMIN_PASSWORD = "Kastanienallee-17-Rathaus"


def _create_admin(settings: Settings) -> None:
    env = {
        **os.environ,
        "BUERO_DATABASE_URL": settings.database_url,
        "BUERO_SECRET_KEY": settings.secret_key or "",
        "BUERO_VAR_DIR": str(settings.var_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-user", "--email", "admin@stadt.example",
         "--role", "admin"],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ADMIN_PASSWORD not in result.stdout + result.stderr


def _text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _ics(message: EmailMessage) -> vobject.base.Component:
    for attachment in message.iter_attachments():
        if attachment.get_content_type() == "text/calendar":
            payload = attachment.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return vobject.readOne(payload.decode())
    raise AssertionError("no calendar attachment")


def _next_weekday(after: date) -> date:
    day = after + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def test_booking_story_by_the_contract(
    settings_factory: Callable[..., Settings], smtp_sink: SmtpSink
) -> None:
    settings = settings_factory(
        smtp_host="127.0.0.1", smtp_port=smtp_sink.port, worker_poll_seconds=0.05,
        base_url="https://buero.example",
    )
    _create_admin(settings)
    app = create_app(settings, run_worker=True)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/token",
                            json={"email": "admin@stadt.example", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "bearer" and r.json()["role"] == "admin"
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}

        r = await http.post("/api/v1/admin/offices", headers=admin, json={
            "name": "Bürgerbüro Musterstadt", "timezone": "Europe/Berlin",
            "min_notice_minutes": 0, "horizon_days": 60, "authority": "Stadt Musterstadt",
            "address": "Marktplatz 1\n12345 Musterstadt",
        })
        assert r.status_code == 201, r.text
        office_id = r.json()["id"]
        r = await http.post("/api/v1/admin/services", headers=admin, json={
            "name": "Meldebescheinigung", "duration_minutes": 15, "fee_cents": 1000,
            "video": True, "office_ids": [office_id],
        })
        assert r.status_code == 201, r.text
        service_id = r.json()["id"]
        today = datetime.now(BERLIN).date()
        r = await http.post("/api/v1/admin/schedules", headers=admin, json={
            "office_id": office_id, "service_ids": [service_id], "weekdays": [0, 1, 2, 3, 4],
            "start_time": "09:00", "end_time": "10:00", "capacity": 1,
            "valid_from": today.isoformat(), "valid_until": None,
        })
        assert r.status_code == 201, r.text

        day = _next_weekday(today)
        query = {"service_id": service_id, "office_id": office_id,
                 "from": day.isoformat(), "to": day.isoformat()}
        r = await http.get("/api/v1/availability", params=query)
        assert r.status_code == 200, r.text
        slots = r.json()["slots"]
        assert [s["start"][11:16] for s in slots] == ["09:00", "09:15", "09:30", "09:45"]
        start = slots[0]["start"]
        assert re.search(r"[+-]0[12]:00$", start)  # wall time with the office's offset

        r = await http.post("/api/v1/appointments", json={
            "service_id": service_id, "office_id": office_id, "start": start, "locale": "de",
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": "Erika.Mustermann+termin@example.org"},
        })
        assert r.status_code == 201, r.text
        booked = r.json()
        assert booked["status"] == "reserved" and booked["hold_expires_at"]
        reference = booked["reference"]

        r = await http.post("/api/v1/appointments", json={
            "service_id": service_id, "office_id": office_id, "start": start,
            "citizen": {"given_name": "Max", "family_name": "Muster", "email": "max@example.org"},
        })
        assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken"

        await wait_for(lambda: len(smtp_sink.snapshot()) >= 1, what="the hold mail")
        hold_mail = smtp_sink.snapshot()[0]
        assert hold_mail["To"].addresses[0].addr_spec == "Erika.Mustermann+termin@example.org"
        links = re.findall(r"https://buero\.example/t/[A-Za-z0-9_-]{43}", _text_part(hold_mail))
        assert links, "the mail carries the citizen link"
        token = links[0].rsplit("/", 1)[1]
        ics = _ics(hold_mail)
        event_start = ics.vevent.dtstart.value
        assert event_start.isoformat() == datetime.fromisoformat(start).isoformat()
        uid = ics.vevent.uid.value

        citizen = {"Authorization": f"Bearer {token}"}
        page = await http.get(f"/t/{token}")
        assert page.status_code == 200 and reference in page.text
        r = await http.get("/api/v1/me", headers=citizen)
        assert r.json()["status"] == "reserved", "a GET of the link changes nothing"

        r = await http.post("/api/v1/me/confirm", headers=citizen)
        assert r.status_code == 200 and r.json()["status"] == "confirmed"
        await wait_for(lambda: len(smtp_sink.snapshot()) >= 2, what="the confirmation mail")
        confirmed_ics = _ics(smtp_sink.snapshot()[1])
        assert confirmed_ics.method.value == "REQUEST"
        assert confirmed_ics.vevent.uid.value == uid

        r = await http.get("/api/v1/me/calendar.ics", headers=citizen)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")

        r = await http.post("/api/v1/me/cancel", headers=citizen)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        await wait_for(lambda: len(smtp_sink.snapshot()) >= 3, what="the cancellation mail")
        cancel_ics = _ics(smtp_sink.snapshot()[2])
        assert cancel_ics.method.value == "CANCEL"
        assert cancel_ics.vevent.uid.value == uid
        assert int(cancel_ics.vevent.sequence.value) > int(confirmed_ics.vevent.sequence.value)

        r = await http.get("/api/v1/availability", params=query)
        assert start in [s["start"] for s in r.json()["slots"]], "the slot is free again"
        r = await http.post("/api/v1/appointments", json={
            "service_id": service_id, "office_id": office_id, "start": start,
            "citizen": {"given_name": "Max", "family_name": "Muster", "email": "max@example.org"},
        })
        assert r.status_code == 201, r.text

    ids = smtp_sink.message_ids()
    assert len(ids) == len(set(ids)), "no mail twice"
