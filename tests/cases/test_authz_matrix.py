"""Who may do what at the clerk's desk, for every staff endpoint of an appointment.

* A clerk of office A gets 403 for office B's appointments everywhere (list, open, call token,
  identity check, completion, no-show, case details) and nothing changes.
* An unknown reference is 404 for every clerk (references are random and only staff get this
  far, so "not there" and "not yours" are told apart, as in the call API).
* A citizen's link token reaches no staff endpoint (401), nor does a request without a token.
* Admin-only endpoints (reopen, audit) are 403 for clerks.
* An admin can do everything, in every office; a clerk everything in their own office.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cases.models import IdentityCheck
from core.audit import AuditEvent
from tests.cases.conftest import VERIFIED, Desk
from tests.staff.helpers import bearer


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # "{ref}" and "{office}" are filled in
    body: Any = None
    admin_only: bool = False


def calls(desk: Desk) -> list[Call]:
    complete = {"items": [{"service_id": desk.certificate}], "payment": "invoice",
                "delivery": "post"}
    base = "/api/v1/clerk/appointments/{ref}"
    return [
        Call("open", "GET", base),
        Call("call-token", "POST", base + "/call-token"),
        Call("case details", "GET", base + "/case"),
        Call("verify", "POST", base + "/verification", VERIFIED),
        Call("complete", "POST", base + "/complete", complete),
        Call("no-show", "POST", base + "/no-show"),
        Call("reopen", "POST", "/api/v1/admin/appointments/{ref}/reopen", {},
             admin_only=True),
    ]


async def send(desk: Desk, call: Call, ref: str, headers: dict[str, str]) -> int:
    path = call.path.format(ref=ref)
    if call.method == "GET":
        r = await desk.client.get(path, headers=headers)
    else:
        r = await desk.client.post(path, json=call.body, headers=headers)
    assert r.headers["content-type"].startswith("application/json"), (call.name, r.text)
    if r.status_code >= 400:
        assert set(r.json()["error"]) >= {"code", "message"}
    return r.status_code


async def nothing_changed(desk: Desk, reference: str, status: str = "confirmed") -> None:
    assert (await desk.appointment_row(reference)).status == status
    assert await desk.rows(IdentityCheck) == []
    assert await desk.decided() == []


async def test_a_clerk_cannot_touch_another_offices_appointments(desk: Desk) -> None:
    reference, _ = await desk.appointment(office="b")
    seen = {}
    for call in calls(desk):
        seen[call.name] = await send(desk, call, reference, desk.clerk_a)
    assert seen == {name: 403 for name in seen}, seen
    await nothing_changed(desk, reference)
    r = await desk.client.get(f"/api/v1/clerk/appointments?office_id={desk.office_b}",
                              headers=desk.clerk_a)
    assert r.status_code == 403
    # Their own agenda does not list it either.
    r = await desk.client.get("/api/v1/clerk/appointments", headers=desk.clerk_a)
    assert r.status_code == 200 and reference not in r.text
    # No completed or checked audit event was written for it.
    actions = {e.action for e in await desk.rows(AuditEvent)}
    assert not actions & {"identity.check", "case.complete", "appointment.no_show",
                          "call.token", "appointment.reopen"}


async def test_an_unknown_reference_is_404(desk: Desk) -> None:
    for call in calls(desk):
        for headers in (desk.clerk_a, desk.admin):
            code = await send(desk, call, "ZZZZZZZZ", headers)
            expected = 403 if call.admin_only and headers is desk.clerk_a else 404
            assert code == expected, (call.name, code)


@pytest.mark.parametrize("who", ["citizen", "nobody", "garbage"])
async def test_no_staff_endpoint_without_a_staff_token(desk: Desk, who: str) -> None:
    reference, token = await desk.appointment(office="a")
    headers = {"citizen": bearer(token), "nobody": {}, "garbage": bearer("x" * 43)}[who]
    for call in calls(desk):
        assert await send(desk, call, reference, headers) == 401, call.name
    for path in ("/api/v1/clerk/appointments", "/api/v1/admin/audit"):
        r = await desk.client.get(path, headers=headers)
        assert r.status_code == 401, path
    await nothing_changed(desk, reference)


async def test_clerks_have_no_admin_endpoints(desk: Desk) -> None:
    reference, _ = await desk.appointment(office="a", status="no_show")
    code = await send(desk, calls(desk)[-1], reference, desk.clerk_a)
    assert code == 403
    r = await desk.client.get("/api/v1/admin/audit", headers=desk.clerk_a)
    assert r.status_code == 403
    assert (await desk.appointment_row(reference)).status == "no_show"


@pytest.mark.usefixtures("office_hours")  # today's agenda, whatever the hour of the run
@pytest.mark.parametrize("who", ["admin", "own clerk"])
async def test_allowed_staff_can_do_everything(desk: Desk, who: str) -> None:
    headers = desk.admin if who == "admin" else desk.clerk_b
    reference, _ = await desk.appointment(office="b")
    missed, _ = await desk.appointment(office="b")
    base = f"/api/v1/clerk/appointments/{reference}"
    r = await desk.client.get(f"/api/v1/clerk/appointments?office_id={desk.office_b}",
                              headers=headers)
    assert r.status_code == 200 and reference in r.text
    for path in (base, base + "/case"):
        assert (await desk.client.get(path, headers=headers)).status_code == 200, path
    assert (await desk.client.post(base + "/call-token", headers=headers)).status_code == 200
    assert (await desk.verify(reference, headers=headers)).status_code == 200
    assert (await desk.complete(reference, headers=headers)).status_code == 200
    r = await desk.client.post(f"/api/v1/clerk/appointments/{missed}/no-show", headers=headers)
    assert r.status_code == 200
    r = await desk.client.post(f"/api/v1/admin/appointments/{missed}/reopen", headers=headers)
    assert r.status_code == (200 if who == "admin" else 403)
    r = await desk.client.get("/api/v1/admin/audit", headers=headers)
    assert r.status_code == (200 if who == "admin" else 403)
