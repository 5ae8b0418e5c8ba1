"""Who may do what with online requests, for every staff endpoint of a request (as
tests/cases/test_authz_matrix.py does for appointments):

* a clerk of office B gets 403 for office A's request everywhere, its documents included, and
  nothing changes;
* an unknown reference is 404 for every clerk;
* a citizen's link token and no token reach no staff endpoint (401);
* the admin catalogue endpoints are 403 for clerks;
* a clerk of office A and an admin may do each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.audit import AuditEvent
from online.models import OnlineRequest, RequestMessage
from tests.online import samples
from tests.online.conftest import Portal


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # "{ref}" and "{doc}" are filled in
    body: Any = None


def calls(portal: Portal) -> list[Call]:
    base = "/api/v1/clerk/requests/{ref}"
    complete = {"items": [{"service_id": portal.desk.life}], "payment": "none",
                "delivery": "email"}
    return [
        Call("open", "GET", base),
        Call("document", "GET", base + "/documents/{doc}"),
        Call("ask", "POST", base + "/messages", {"text": "Bitte Nachweis."}),
        Call("assign", "POST", base + "/assign", {}),
        Call("invite video", "POST", base + "/invite-video"),
        Call("reject", "POST", base + "/reject", {"reason": "Nein."}),
        Call("complete", "POST", base + "/complete", complete),
    ]


async def send(client: httpx.AsyncClient, call: Call, ref: str, doc: int,
               headers: dict[str, str]) -> int:
    path = call.path.format(ref=ref, doc=doc)
    if call.method == "GET":
        r = await client.get(path, headers=headers)
    else:
        r = await client.post(path, json=call.body, headers=headers)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/json"), (call.name, r.text)
        assert set(r.json()["error"]) >= {"code", "message"}
    return r.status_code


async def _request_with_document(portal: Portal) -> tuple[str, int, dict[str, str]]:
    reference, link = await portal.sent()
    r = await portal.client.post("/api/v1/me/documents", headers=link, data={"field": "proof"},
                                 files={"file": ("a.pdf", samples.pdf())})
    assert r.status_code == 201, r.text
    return reference, int(r.json()["id"]), link


async def test_other_offices_unknown_references_and_citizens_are_refused(
    portal: Portal,
) -> None:
    desk = portal.desk
    reference, doc, link = await _request_with_document(portal)
    before = (await desk.rows(OnlineRequest))[0].model_dump()
    events = len(await desk.rows(AuditEvent))
    for call in calls(portal):
        assert await send(desk.client, call, reference, doc, desk.clerk_b) == 403, call.name
        assert await send(desk.client, call, "OA-ZZZZ-ZZZZ", doc, desk.clerk_a) == 404, \
            call.name
        assert await send(desk.client, call, reference, doc, link) == 401, call.name
        assert await send(desk.client, call, reference, doc, {}) == 401, call.name
    assert (await desk.rows(OnlineRequest))[0].model_dump() == before
    assert await desk.rows(RequestMessage) == []
    assert len(await desk.rows(AuditEvent)) == events
    r = await desk.client.get(f"/api/v1/clerk/requests?office_id={desk.office_a}",
                              headers=desk.clerk_b)
    assert r.status_code == 403
    r = await desk.client.get("/api/v1/clerk/requests", headers=desk.clerk_b)
    assert r.status_code == 200 and r.json() == []


async def test_the_catalogue_is_the_admins(portal: Portal) -> None:
    desk = portal.desk
    base = "/api/v1/admin/online-services"
    for method, path in (("GET", base), ("POST", base), ("GET", f"{base}/{portal.service_id}"),
                         ("PATCH", f"{base}/{portal.service_id}"),
                         ("DELETE", f"{base}/{portal.service_id}")):
        r = await desk.client.request(method, path, json={} if method in ("POST", "PATCH")
                                      else None, headers=desk.clerk_a)
        assert r.status_code == 403, (method, path)
        r = await desk.client.request(method, path, headers={})
        assert r.status_code == 401, (method, path)


async def test_the_office_and_the_admin_may(portal: Portal) -> None:
    desk = portal.desk
    for headers in (desk.clerk_a, desk.admin):
        reference, doc, _ = await _request_with_document(portal)
        wanted = {"open": 200, "document": 200, "ask": 200, "assign": 200,
                  "invite video": 409,  # no video service configured: a clear refusal
                  "reject": 200, "complete": 409}  # already rejected
        for call in calls(portal):
            got = await send(desk.client, call, reference, doc, headers)
            assert got == wanted[call.name], (call.name, got)
