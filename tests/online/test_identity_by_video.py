"""A service that needs the person identified: the clerk invites from the request, the citizen
books a short video appointment from the request's link (nothing typed twice), the identity
check in that call and the request are one case."""

from __future__ import annotations

import datetime as dt

from booking.models import Appointment
from cases.models import Case, IdentityCheck
from online.models import OnlineRequest
from tests.online.conftest import Portal


async def _video_service(portal: Portal) -> int:
    desk = portal.desk
    r = await portal.client.post("/api/v1/admin/services", json={
        "name": "Identitätsprüfung per Video", "duration_minutes": 10, "fee_cents": 0,
        "video": True, "requires_identity": True, "office_ids": [desk.office_a]},
        headers=desk.admin)
    assert r.status_code == 201, r.text
    service_id = int(r.json()["id"])
    r = await portal.client.post("/api/v1/admin/schedules", json={
        "office_id": desk.office_a, "service_ids": [service_id],
        "weekdays": [0, 1, 2, 3, 4, 5, 6], "start_time": "00:00", "end_time": "23:50",
        "slot_minutes": 10, "capacity": 1, "valid_from": dt.date.today().isoformat()},
        headers=desk.admin)
    assert r.status_code == 201, r.text
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}",
                                  json={"identity": "video", "video_service_id": service_id},
                                  headers=desk.admin)
    assert r.status_code == 200, r.text
    return service_id


async def _slots(portal: Portal, video: int) -> list[dict[str, str]]:
    first = dt.date.today() + dt.timedelta(days=1)
    r = await portal.client.get("/api/v1/availability", params={
        "service_id": video, "office_id": portal.desk.office_a, "from": first.isoformat(),
        "to": (first + dt.timedelta(days=2)).isoformat()})
    assert r.status_code == 200, r.text
    slots: list[dict[str, str]] = r.json()["slots"]
    assert slots
    return slots


async def test_the_identity_call_belongs_to_the_request(portal: Portal) -> None:
    desk = portal.desk
    video = await _video_service(portal)
    reference, link = await portal.sent()
    r = await portal.client.post("/api/v1/me/video-appointment", headers=link,
                                 json={"start": "2030-01-07T10:00:00+01:00"})
    assert r.status_code == 409  # not invited yet
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/invite-video",
                                 headers=desk.clerk_a)
    assert r.status_code == 200 and r.json()["video_invited"] is True
    r = await portal.client.get("/api/v1/me", headers=link)
    assert r.json()["video_invited"] is True
    slots = await _slots(portal, video)
    r = await portal.client.post("/api/v1/me/video-appointment", headers=link,
                                 json={"start": slots[0]["start"]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed"  # the link already proved the address
    r = await portal.client.post("/api/v1/me/video-appointment", headers=link,
                                 json={"start": slots[1]["start"]})
    assert r.status_code == 409  # one identity call at a time
    [appointment] = await desk.rows(Appointment)
    [case] = await desk.rows(Case, reference=reference)
    assert appointment.case_id == case.id and appointment.service_id == video
    assert (appointment.given_name, appointment.email) == ("Erika", "erika@example.org")

    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.life}], "payment": "none", "delivery": "email"},
        headers=desk.clerk_a)
    assert r.status_code == 409 and r.json()["error"]["code"] == "identity_required"
    r = await desk.verify(appointment.reference)
    assert r.status_code == 200, r.text
    [check] = await desk.rows(IdentityCheck)
    assert check.case_id == case.id and check.appointment_id == appointment.id
    r = await portal.client.get(f"/api/v1/clerk/requests/{reference}", headers=desk.clerk_a)
    assert r.json()["identity_verified"] is True
    assert [a["reference"] for a in r.json()["appointments"]] == [appointment.reference]
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.life}], "payment": "none", "delivery": "email"},
        headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"


async def test_completing_the_identity_call_completes_the_request(portal: Portal) -> None:
    desk = portal.desk
    video = await _video_service(portal)
    reference, link = await portal.sent()
    await portal.client.post(f"/api/v1/clerk/requests/{reference}/invite-video",
                             headers=desk.clerk_a)
    slots = await _slots(portal, video)
    r = await portal.client.post("/api/v1/me/video-appointment", headers=link,
                                 json={"start": slots[0]["start"]})
    appointment = r.json()["reference"]
    assert (await desk.verify(appointment)).status_code == 200
    r = await desk.complete(appointment, {"items": [{"service_id": desk.life}],
                                          "payment": "none", "delivery": "email"})
    assert r.status_code == 200, r.text
    [request] = await desk.rows(OnlineRequest)
    assert request.status == "completed"
    r = await portal.client.get("/api/v1/me", headers=link)
    assert r.json()["status"] == "completed" and r.json()["case"]["case_number"]
