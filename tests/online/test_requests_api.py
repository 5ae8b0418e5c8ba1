"""An online request through the API, as CONTRACT "Online services" describes it: the catalogue
an admin defines, the citizen's form checked against it, the link, the clerk's inbox, asking
back, answering, deciding, and who may see what."""

from __future__ import annotations

from typing import Any

from booking.models import Office
from cases.milestones import Milestone
from cases.models import Case
from core.audit import AuditEvent
from online.models import OnlineRequest
from tests.online.conftest import ANSWERS, DOG_TAX, Portal


async def test_the_catalogue_is_what_the_admin_defined(portal: Portal) -> None:
    r = await portal.client.get("/api/v1/online-services")
    assert r.status_code == 200
    [service] = [s for s in r.json() if s["id"] == portal.service_id]
    assert service["name"] == "Hundesteuer-Anmeldung" and service["identity"] == "none"
    assert [f["key"] for f in service["fields"]] == [f["key"] for f in DOG_TAX["fields"]]
    size = next(f for f in service["fields"] if f["key"] == "size")
    assert size["options"] == [{"value": "small", "label": "klein"},
                               {"value": "large", "label": "groß"}]
    r = await portal.client.get("/api/v1/online-services?lang=en")
    size = next(f for f in r.json()[0]["fields"] if f["key"] == "size")
    assert r.json()[0]["name"] == "Dog tax registration"
    assert size["options"][1]["label"] == "large"
    # Online services are not booked by video: the booking catalogue does not list them.
    r = await portal.client.get("/api/v1/services")
    assert portal.service_id not in [s["id"] for s in r.json()]


async def test_a_definition_a_form_cannot_be_built_from_is_refused(portal: Portal) -> None:
    bad: dict[str, Any] = {**DOG_TAX, "name": "Kaputt", "fields": [
        {"key": "Breed", "label": "Rasse", "type": "text"},
        {"key": "x", "label": "", "type": "text"},
        {"key": "c", "label": "Wahl", "type": "choice", "options": ["nur eine"]},
        {"key": "c", "label": "Doppelt", "type": "text"},
        {"key": "f", "label": "Datei", "type": "file", "max_bytes": 10},
    ]}
    r = await portal.client.post("/api/v1/admin/online-services", json=bad,
                                 headers=portal.desk.admin)
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"fields.0.key", "fields.1.label", "fields.2.options", "fields.3.key",
                      "fields.4.max_bytes"}
    # German by default, beside each field.
    assert any("Schlüssel" in d["message"] or "Key" not in d["message"]
               for d in r.json()["error"]["details"])
    r = await portal.client.post("/api/v1/admin/online-services",
                                 json={**DOG_TAX, "name": "X", "fields": [{"key": "a"}]},
                                 headers=portal.desk.admin)
    assert r.status_code == 422
    r = await portal.client.post("/api/v1/admin/online-services", json=DOG_TAX,
                                 headers=portal.desk.clerk_a)
    assert r.status_code == 403


async def test_answers_are_checked_against_the_form_field_by_field(portal: Portal) -> None:
    r = await portal.submit({"breed": "", "acquired_on": "1. Mai", "size": "medium",
                             "chip": "x" * 600, "unknown": 1})
    assert r.status_code == 422
    details = {d["field"]: d["message"] for d in r.json()["error"]["details"]}
    assert set(details) == {"answers.breed", "answers.acquired_on", "answers.size",
                            "answers.chip", "answers.consent", "answers.unknown"}
    assert details["answers.breed"] == "Bitte füllen Sie dieses Feld aus."
    assert not await portal.desk.rows(Case)  # nothing written
    r = await portal.submit({**ANSWERS, "proof": "bild.jpg"})
    assert r.status_code == 422  # files are uploaded as documents, not answered
    r = await portal.submit(ANSWERS, office="a", service_id=portal.desk.certificate)
    assert r.status_code == 404  # a video service is not an online service


async def test_a_request_from_submission_to_completion(portal: Portal) -> None:
    desk = portal.desk
    r = await portal.submit()
    assert r.status_code == 201 and r.json()["status"] == "submitted"
    reference = r.json()["reference"]
    link = {"Authorization": f"Bearer {await portal.token(reference)}"}
    r = await portal.client.get("/api/v1/me", headers=link)
    assert r.status_code == 200 and r.json()["kind"] == "request"
    assert r.json()["status"] == "submitted"
    # Not in the inbox before the citizen confirmed the address.
    r = await portal.client.get("/api/v1/clerk/requests", headers=desk.clerk_a)
    assert reference not in [i["reference"] for i in r.json()]
    r = await portal.client.post("/api/v1/me/confirm", headers=link)
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert r.json()["answers"][0] == {"key": "breed", "label": "Rasse", "type": "text",
                                      "value": "Dackel", "retired": False}

    r = await portal.client.get("/api/v1/clerk/requests?view=new", headers=desk.clerk_a)
    assert [i["reference"] for i in r.json()] == [reference]
    assert r.json()[0]["citizen"]["family_name"] == "Mustermann"
    r = await portal.client.get(f"/api/v1/clerk/requests/{reference}", headers=desk.clerk_b)
    assert r.status_code == 403
    r = await portal.client.get("/api/v1/clerk/requests/OA-XXXX-XXXX", headers=desk.clerk_a)
    assert r.status_code == 404

    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/messages",
                                 json={"text": "Bitte reichen Sie den Nachweis nach.",
                                       "documents_requested": ["proof"]},
                                 headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting_for_citizen"
    assert r.json()["assigned_to"] == "clerk.a@stadt.example"
    r = await portal.client.get("/api/v1/me", headers=link)
    assert r.json()["documents_requested"] == ["proof"]
    assert r.json()["messages"][0]["text"] == "Bitte reichen Sie den Nachweis nach."
    r = await portal.client.post("/api/v1/me/messages", json={"text": "Kommt per Post."},
                                 headers=link)
    assert r.status_code == 201
    r = await portal.client.get("/api/v1/clerk/requests?view=mine", headers=desk.clerk_a)
    [item] = r.json()
    assert item["status"] == "in_progress" and item["needs_attention"] is True

    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.certificate, "quantity": 1}], "payment": "invoice",
        "delivery": "email"}, headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    assert r.json()["case"]["amount_cents"] == 1000
    r = await portal.client.get("/api/v1/me", headers=link)
    body = r.json()
    assert body["status"] == "completed" and body["case"]["case_number"]
    kinds = [m["kind"] for m in body["milestones"]]
    assert kinds[:5] == ["received", "in_progress", "question", "answered", "completed"]
    # Decided: no more messages, no withdrawal.
    r = await portal.client.post("/api/v1/me/withdraw", headers=link)
    assert r.status_code == 409
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/reject",
                                 json={"reason": "zu spät"}, headers=desk.clerk_a)
    assert r.status_code == 409
    actions = {e.action for e in await desk.rows(AuditEvent)}
    assert {"request.submit", "request.confirm", "request.ask", "request.message",
            "request.complete"} <= actions


async def test_rejecting_and_withdrawing(portal: Portal) -> None:
    desk = portal.desk
    reference, link = await portal.sent()
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/reject",
                                 json={"reason": " "}, headers=desk.clerk_a)
    assert r.status_code == 422
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/reject",
                                 json={"reason": "Der Hund ist bereits angemeldet."},
                                 headers=desk.clerk_a)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "Der Hund ist bereits angemeldet."
    # The notice the e-mail carries is also on the request's page (the offices of this
    # desk have no letterhead address: a clear 409, as for fee notices).
    r = await portal.client.get("/api/v1/me/rejection-notice.pdf", headers=link)
    assert r.status_code == 409 and r.json()["error"]["code"] == "document_unavailable"
    async with desk.state.db.transaction(write=True) as session:
        office = await session.get(Office, desk.office_a)
        assert office is not None
        office.address = "Stadt Musterstadt\nMarktplatz 1\n12345 Musterstadt"
    r = await portal.client.get("/api/v1/me/rejection-notice.pdf", headers=link)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["cache-control"] == "private, no-store"

    other, withdrawing = await portal.sent(citizen={"given_name": "Max", "family_name": "Muster",
                                             "email": "max@example.org"})
    r = await portal.client.get("/api/v1/me/rejection-notice.pdf", headers=withdrawing)
    assert r.status_code == 409
    r = await portal.client.post("/api/v1/me/withdraw", headers=withdrawing)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = await portal.client.post(f"/api/v1/clerk/requests/{other}/messages",
                                 json={"text": "Noch da?"}, headers=desk.clerk_a)
    assert r.status_code == 409
    r = await portal.client.get("/api/v1/clerk/requests?view=closed", headers=desk.admin)
    assert {i["reference"] for i in r.json()} == {reference, other}
    kinds = {m.kind for m in await desk.rows(Milestone)}
    assert {"rejected", "withdrawn"} <= kinds


async def test_identity_by_video_is_required_before_completion(portal: Portal) -> None:
    desk = portal.desk
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}",
                                  json={"identity": "video"}, headers=desk.admin)
    assert r.status_code == 200 and r.json()["identity"] == "video"
    reference, _ = await portal.sent()
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.life}], "payment": "none", "delivery": "email"},
        headers=desk.clerk_a)
    assert r.status_code == 409 and r.json()["error"]["code"] == "identity_required"
    # Without a video service configured there is nothing to invite to.
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/invite-video",
                                 headers=desk.clerk_a)
    assert r.status_code == 409


async def test_retired_fields_keep_their_answers(portal: Portal) -> None:
    desk = portal.desk
    _, link = await portal.sent({**ANSWERS, "chip": "276098106543210"})
    fields = [f for f in DOG_TAX["fields"] if f["key"] != "chip"]
    fields.insert(0, {"key": "name", "label": "Name des Hundes", "type": "text"})
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}",
                                  json={"fields": fields}, headers=desk.admin)
    assert r.status_code == 200, r.text
    keys = [(f["key"], f["retired"]) for f in r.json()["fields"]]
    assert ("chip", True) in keys and keys[0] == ("name", False)
    r = await portal.client.get("/api/v1/online-services")
    assert "chip" not in [f["key"] for f in r.json()[0]["fields"]]
    r = await portal.client.get("/api/v1/me", headers=link)
    chip = next(a for a in r.json()["answers"] if a["key"] == "chip")
    assert chip["value"] == "276098106543210" and chip["retired"] is True
    # A field's type stays: answers were given to it.
    changed = [{**f, "type": "number"} if f["key"] == "breed" else f for f in fields]
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}",
                                  json={"fields": changed}, headers=desk.admin)
    assert r.status_code == 422
    # In use: cannot be deleted, only set inactive.
    r = await portal.client.delete(f"/api/v1/admin/online-services/{portal.service_id}",
                                   headers=desk.admin)
    assert r.status_code == 409
    assert (await desk.rows(OnlineRequest))[0].answers


async def test_a_citizen_link_reaches_no_clerk_endpoint(portal: Portal) -> None:
    reference, link = await portal.sent()
    for path in ("/api/v1/clerk/requests", f"/api/v1/clerk/requests/{reference}"):
        assert (await portal.client.get(path, headers=link)).status_code == 401
    r = await portal.client.post("/api/v1/me/cancel", headers=link)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_an_appointment"


async def test_the_per_address_limit_counts_open_requests(portal: Portal) -> None:
    for _ in range(3):
        assert (await portal.submit()).status_code == 201
    r = await portal.submit(citizen={"given_name": "Erika", "family_name": "Mustermann",
                                     "email": "Erika+hund@EXAMPLE.org"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_requests"


async def test_the_status_lookup_finds_a_request_by_reference_and_date_of_birth(
    portal: Portal,
) -> None:
    desk = portal.desk
    citizen = {"given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.org",
               "date_of_birth": "1980-05-17"}
    r = await portal.submit(citizen=citizen)
    unconfirmed = r.json()["reference"]
    lookup = {"case_number": unconfirmed, "date_of_birth": "1980-05-17"}
    r = await portal.client.post("/api/v1/status", json=lookup)
    assert r.status_code == 404  # not the office's before the address is confirmed
    reference, _ = await portal.sent(citizen=citizen)
    r = await portal.client.post("/api/v1/status", json={**lookup, "case_number": reference})
    assert r.status_code == 200, r.text
    assert r.json()["request_status"] == "received" and r.json()["case_number"] == ""
    assert [m["kind"] for m in r.json()["milestones"]] == ["received"]
    r = await portal.client.post("/api/v1/status", json={"case_number": reference,
                                                         "date_of_birth": "1980-05-18"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "status_not_found"
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/complete", json={
        "items": [{"service_id": desk.life}], "payment": "none", "delivery": "email"},
        headers=desk.clerk_a)
    number = r.json()["case"]["case_number"]
    r = await portal.client.post("/api/v1/status", json={"case_number": number,
                                                         "date_of_birth": "1980-05-17"})
    assert r.status_code == 200
    assert r.json()["request_status"] == "completed" and r.json()["reference"] == reference
