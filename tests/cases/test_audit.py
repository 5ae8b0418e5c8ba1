"""The audit trail for admins: every clerk action is an event (who, what, when, which
appointment), and the API and the page filter it by date, actor, action and reference."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from core.audit import AuditEvent
from tests.cases.conftest import ADMIN, CLERK_A, Desk
from tests.staff.helpers import PASSWORD

AUDIT = "/api/v1/admin/audit"


async def audit(desk: Desk, **params: Any) -> dict[str, Any]:
    r = await desk.client.get(AUDIT, params=params, headers=desk.admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def run_a_day_at_the_desk(desk: Desk) -> tuple[str, str]:
    """One appointment verified and completed, one missed and reopened."""
    done, _ = await desk.appointment()
    assert (await desk.verify(done)).status_code == 200
    assert (await desk.complete(done)).status_code == 200
    missed, _ = await desk.appointment()
    r = await desk.client.post(f"/api/v1/clerk/appointments/{missed}/no-show",
                               headers=desk.clerk_a)
    assert r.status_code == 200
    r = await desk.client.post(f"/api/v1/admin/appointments/{missed}/reopen",
                               json={"reason": "Versehen"}, headers=desk.admin)
    assert r.status_code == 200
    return done, missed


async def test_every_clerk_action_is_an_event(desk: Desk) -> None:
    done, missed = await run_a_day_at_the_desk(desk)
    body = await audit(desk, reference=done)
    # Newest first: the postal address confirmed with the completion is recorded before it.
    assert [e["action"] for e in body["items"]] == [
        "case.complete", "case.postal_address", "identity.check"]
    for event in body["items"]:
        assert event["actor"] == "clerk.a@stadt.example"
        assert event["actor_type"] == "staff" and event["actor_id"] is not None
        assert event["reference"] == done and event["object_type"] == "appointment"
        assert dt.datetime.fromisoformat(event["at"]).tzinfo is not None
    complete = body["items"][0]["detail"]
    assert complete["case_number"] and complete["amount_cents"] == 1000
    body = await audit(desk, reference=missed)
    assert [(e["action"], e["actor"]) for e in body["items"]] == [
        ("appointment.reopen", "admin@stadt.example"),
        ("appointment.no_show", "clerk.a@stadt.example"),
    ]
    # The case number finds the same events as the reference.
    assert (await audit(desk, reference=complete["case_number"]))["total"] == 3


async def test_filters_and_pages(desk: Desk) -> None:
    await run_a_day_at_the_desk(desk)
    everything = await audit(desk)
    assert everything["total"] >= 8  # logins and user creation are there too
    assert everything["timezone"] == "Europe/Berlin"
    at = [e["at"] for e in everything["items"]]
    assert at == sorted(at, reverse=True)

    clerk = await audit(desk, actor="CLERK.A")
    assert clerk["total"] > 0 and {e["actor"] for e in clerk["items"]} == {
        "clerk.a@stadt.example"}
    assert (await audit(desk, actor="%"))["total"] == 0  # no wildcards
    checks = await audit(desk, action="identity.check")
    assert checks["total"] == 1
    prefix = await audit(desk, action="appointment.*")
    assert {e["action"] for e in prefix["items"]} == {"appointment.no_show",
                                                      "appointment.reopen"}
    assert (await audit(desk, reference="NOSUCHREF"))["total"] == 0

    page1 = await audit(desk, per_page=3)
    page2 = await audit(desk, per_page=3, page=2)
    assert page1["pages"] == -(-everything["total"] // 3)
    assert page1["items"][-1]["id"] != page2["items"][0]["id"]
    assert [e["id"] for e in page1["items"] + page2["items"]] == [
        e["id"] for e in everything["items"][:6]]
    r = await desk.client.get(AUDIT, params={"page": 999}, headers=desk.admin)
    assert r.status_code == 404

    # Date range: move one event to last year; a range of today leaves it out.
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(
            update(AuditEvent).where(col(AuditEvent.action) == "identity.check")
            .values(at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)))
    today = dt.datetime.now(dt.UTC).date()
    recent = await audit(desk, **{"from": (today - dt.timedelta(days=1)).isoformat(),
                                  "to": (today + dt.timedelta(days=1)).isoformat()})
    assert "identity.check" not in {e["action"] for e in recent["items"]}
    old = await audit(desk, **{"from": "2025-03-01", "to": "2025-03-01"})
    assert [e["action"] for e in old["items"]] == ["identity.check"]
    assert old["items"][0]["at"] == "2025-03-01T13:00:00+01:00"
    instant = await audit(desk, **{"from": "2025-03-01T12:00:00+00:00",
                                   "to": "2025-03-01T12:00:01+00:00"})
    assert instant["total"] == 1


async def test_bad_filters_are_422(desk: Desk) -> None:
    for params in ({"from": "gestern"}, {"page": "0"}, {"per_page": "500"},
                   {"action": "x" * 61}):
        r = await desk.client.get(AUDIT, params=params, headers=desk.admin)
        assert r.status_code == 422, params


async def login(desk: Desk, email: str = ADMIN) -> None:
    page = await desk.client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await desk.client.post("/staff/login", data={
        "email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.text


async def test_the_audit_page(desk: Desk) -> None:
    done, missed = await run_a_day_at_the_desk(desk)
    await login(desk)
    index = await desk.client.get("/admin")
    assert 'href="/admin/audit"' in index.text
    page = await desk.client.get("/admin/audit")
    assert page.status_code == 200
    assert "<h1>Protokoll</h1>" in page.text
    assert "Anliegen abgeschlossen" in page.text and "Identität geprüft" in page.text
    assert done in page.text and missed in page.text

    filtered = await desk.client.get("/admin/audit", params={"reference": missed})
    rows = re.findall(r"<tr>", filtered.text.split("<tbody>")[1])
    assert len(rows) == 2
    assert "Termin wieder geöffnet" in filtered.text and done not in filtered.text

    by_actor = await desk.client.get("/admin/audit", params={
        "actor": "admin@", "action": "appointment.reopen"})
    assert "Termin wieder geöffnet" in by_actor.text and "Als nicht erschienen" not in (
        by_actor.text.split("<tbody>")[1])

    english = await desk.client.get("/admin/audit", params={"lang": "en"})
    assert "<h1>Audit log</h1>" in english.text and "Request completed" in english.text

    empty = await desk.client.get("/admin/audit", params={"from": "2001-01-01",
                                                          "to": "2001-01-02"})
    assert 'id="audit-empty"' in empty.text

    bad = await desk.client.get("/admin/audit", params={"from": "31.12.", "to": "2020-01-01"})
    assert bad.status_code == 422
    assert 'id="from-error"' in bad.text

    backwards = await desk.client.get("/admin/audit", params={"from": "2026-02-01",
                                                              "to": "2026-01-01"})
    assert backwards.status_code == 422 and 'id="to-error"' in backwards.text


async def test_the_audit_page_pages(desk: Desk) -> None:
    async with desk.state.db.transaction(write=True) as session:
        for n in range(120):
            session.add(AuditEvent(actor_type="system", actor_label="system",
                                   action="test.event", object_type="test", object_id=str(n)))
    await login(desk)
    first = await desk.client.get("/admin/audit", params={"action": "test.event"})
    assert 'id="audit-next"' in first.text and 'id="audit-prev"' not in first.text
    assert "Seite 1 von 3" in first.text
    link = re.search(r'href="([^"]+)" id="audit-next"', first.text)
    assert link is not None
    second = await desk.client.get(link.group(1).replace("&amp;", "&"))
    assert "Seite 2 von 3" in second.text and 'id="audit-prev"' in second.text
    assert "test 70" in first.text or "test 119" in first.text


async def test_clerks_cannot_open_the_audit_page(desk: Desk) -> None:
    page = await desk.client.get("/admin/audit")
    assert page.status_code == 303 and "/staff/login" in page.headers["location"]
    await login(desk, CLERK_A)
    page = await desk.client.get("/admin/audit")
    assert page.status_code == 403
    assert "audit-events" not in page.text
