"""Marking a missed appointment, and reopening (admins only) a completed or missed one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import update

from cases.models import Case, CaseItem
from tests.cases.conftest import Desk
from tests.staff.helpers import bearer


async def no_show(desk: Desk, reference: str, headers: dict[str, str] | None = None) -> int:
    r = await desk.client.post(f"/api/v1/clerk/appointments/{reference}/no-show",
                               headers=headers or desk.clerk_a)
    return r.status_code


async def reopen(desk: Desk, reference: str, headers: dict[str, str] | None = None,
                 **body: str) -> tuple[int, dict[str, Any]]:
    r = await desk.client.post(f"/api/v1/admin/appointments/{reference}/reopen",
                               json=body if body else None, headers=headers or desk.admin)
    return r.status_code, r.json()


async def test_no_show_after_the_start(desk: Desk) -> None:
    reference, token = await desk.appointment(start_in=dt.timedelta(minutes=-1))
    r = await desk.client.post(f"/api/v1/clerk/appointments/{reference}/no-show",
                               headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json() == {"reference": reference, "status": "no_show", "case": None}
    assert (await desk.appointment_row(reference)).status == "no_show"
    events = await desk.audit("appointment.no_show")
    assert len(events) == 1 and events[0].actor_label == "clerk.a@stadt.example"
    assert await no_show(desk, reference) == 409  # once
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["status"] == "no_show" and me["case"] is None


async def test_no_show_not_before_the_start(desk: Desk) -> None:
    reference, _ = await desk.appointment(start_in=dt.timedelta(minutes=10))
    r = await desk.client.post(f"/api/v1/clerk/appointments/{reference}/no-show",
                               headers=desk.clerk_a)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "not_started"
    assert (await desk.appointment_row(reference)).status == "confirmed"


@pytest.mark.parametrize("status", ["in_call", "completed", "reserved", "cancelled", "expired"])
async def test_no_show_only_when_confirmed(desk: Desk, status: str) -> None:
    reference, _ = await desk.appointment(status=status, start_in=dt.timedelta(hours=-1))
    assert await no_show(desk, reference) == 409
    assert (await desk.appointment_row(reference)).status == status


async def test_reopen_a_missed_appointment(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    assert await no_show(desk, reference) == 200
    code, out = await reopen(desk, reference, reason="Bürgerin war doch da")
    assert code == 200
    assert out == {"reference": reference, "status": "confirmed", "case": None}
    assert (await desk.appointment_row(reference)).status == "confirmed"
    events = await desk.audit("appointment.reopen")
    assert len(events) == 1 and '"from": "no_show"' in events[0].detail
    assert json.loads(events[0].detail)["reason"] == "Bürgerin war doch da"
    assert events[0].actor_label == "admin@stadt.example"


async def test_reopen_and_complete_again_keeps_the_number(desk: Desk) -> None:
    reference, token = await desk.appointment()
    await desk.verify(reference)
    first = (await desk.complete(reference)).json()["case"]
    r = await desk.client.post(f"/api/v1/admin/appointments/{reference}/reopen",
                               headers=desk.admin)  # no body at all
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["case"]["state"] == "reopened"
    # While reopened the citizen sees no case; the clerk does.
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["status"] == "confirmed" and me["case"] is None
    # The verified identity still counts; the new completion replaces the old one.
    second = await desk.complete(reference, {
        "items": [{"service_id": desk.conduct, "quantity": 1}], "payment": "invoice",
        "delivery": "external", "external_authority": "Bundesamt für Justiz",
    })
    assert second.status_code == 200, second.text
    case = second.json()["case"]
    assert case["case_number"] == first["case_number"]
    assert (case["revision"], case["state"], case["amount_cents"]) == (2, "completed", 1300)
    assert [i["name"] for i in case["items"]] == ["Führungszeugnis"]
    assert len(await desk.decided()) == 1
    assert len(await desk.rows(CaseItem)) == 1
    me = (await desk.client.get("/api/v1/me", headers=bearer(token))).json()
    assert me["case"]["case_number"] == first["case_number"]
    assert me["case"]["dispatch_status"] == "forwarded"


@pytest.mark.parametrize(("column", "value"), [
    ("payment_status", "paid"), ("dispatch_status", "printed"), ("dispatch_status", "posted"),
])
async def test_no_reopening_after_payment_or_dispatch(
    desk: Desk, column: str, value: str
) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    await desk.complete(reference)
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Case).values({column: value}))
    code, out = await reopen(desk, reference)
    assert code == 409
    assert out["error"]["code"] == "cannot_reopen"
    assert (await desk.appointment_row(reference)).status == "completed"


@pytest.mark.parametrize("status", ["confirmed", "in_call", "reserved", "cancelled"])
async def test_reopen_only_completed_or_missed(desk: Desk, status: str) -> None:
    reference, _ = await desk.appointment(status=status)
    code, out = await reopen(desk, reference)
    assert (code, out["error"]["code"]) == (409, "wrong_state")


async def test_reopen_is_for_admins(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await no_show(desk, reference)
    code, _ = await reopen(desk, reference, headers=desk.clerk_a)
    assert code == 403
    assert (await desk.appointment_row(reference)).status == "no_show"
    assert (await reopen(desk, "NOPE1234"))[0] == 404
    bad = await desk.client.post(f"/api/v1/admin/appointments/{reference}/reopen",
                                 content=b"{not json", headers=desk.admin)
    assert bad.status_code == 400


async def test_reopen_refuses_a_document_number_as_reason(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await no_show(desk, reference)
    code, _ = await reopen(desk, reference, reason="Ausweis L01X00T47")
    assert code == 422
    assert (await desk.appointment_row(reference)).status == "no_show"


async def test_reopen_sets_the_case_state(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    await desk.verify(reference)
    await desk.complete(reference)
    await reopen(desk, reference)
    rows = await desk.decided()
    assert rows[0].state == "reopened" and rows[0].reopened_at is not None
    assert rows[0].revision == 1
