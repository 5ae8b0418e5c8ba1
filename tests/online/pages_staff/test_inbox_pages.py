"""The clerk's inbox /staff/requests and one request's page, as clerk A of office A uses them
without JavaScript: tabs and filters, replies first, nothing of office B, and each action's
form (take up, assign, ask with documents, complete, reject, invite to video) with its errors
beside the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from cases.models import Case
from core.types import utcnow
from online.models import OnlineRequest
from staff.models import StaffUser
from tests.cases.conftest import CLERK_B
from tests.online import samples
from tests.online.conftest import Portal
from tests.online.pages_staff.conftest import browser_of, submit, text_of
from tests.staff.helpers import add_user


def citizen(n: int) -> dict[str, str]:
    """A citizen of their own (the per-address limit counts open requests)."""
    return {"given_name": "Erika", "family_name": f"Muster{n}",
            "email": f"erika{n}@example.org"}


async def send(portal: Portal, n: int, **extra: Any) -> tuple[str, dict[str, str]]:
    return await portal.sent(citizen=citizen(n), **extra)


def shown_references(html: str) -> list[str]:
    return re.findall(r'<tr class="inbox-row[^"]*" id="row-([^"]+)"', html)


def row_of(html: str, reference: str) -> str:
    return html.split(f'id="row-{reference}"', 1)[1].split("</tr>", 1)[0]


async def set_request(portal: Portal, reference: str, **values: Any) -> None:
    [case] = await portal.desk.rows(Case, reference=reference)
    async with portal.desk.state.db.transaction(write=True) as session:
        await session.execute(update(OnlineRequest).where(
            col(OnlineRequest.case_id) == case.id).values(**values))


async def api(portal: Portal, reference: str, action: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> None:
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/{action}", json=body,
                                 headers=headers or portal.desk.clerk_a)
    assert r.status_code == 200, r.text


async def test_tabs_filters_and_replies_first(clerk: Portal) -> None:
    new, _ = await send(clerk, 1)
    mine, _ = await send(clerk, 2)
    await api(clerk, mine, "assign", {})
    waiting, _ = await send(clerk, 3)
    await api(clerk, waiting, "messages", {"text": "Bitte den Nachweis senden."})
    answered, link = await send(clerk, 4)
    await api(clerk, answered, "messages", {"text": "Welche Farbe hat der Hund?"})
    r = await clerk.client.post("/api/v1/me/messages", json={"text": "Braun."}, headers=link)
    assert r.status_code == 201, r.text
    late, _ = await send(clerk, 5)
    await set_request(clerk, late, due_at=utcnow() - dt.timedelta(days=1))
    closed, _ = await send(clerk, 6)
    await api(clerk, closed, "reject", {"reason": "Kein Hund in der Gemeinde gemeldet."})
    elsewhere, _ = await send(clerk, 7, office="b")

    r = await clerk.client.get("/staff/requests")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Online-Anträge</h1>" in html and 'lang="de"' in html
    # All open is the default view; the citizen's reply comes first and says so in words.
    open_refs = shown_references(html)
    assert open_refs[0] == answered
    assert set(open_refs) == {new, mine, waiting, answered, late}
    assert "Neue Antwort" in row_of(html, answered) and "has-reply" in html
    assert "überfällig" in row_of(html, late)
    assert "überfällig" not in row_of(html, new)
    assert "Wartet auf Rückmeldung" in row_of(html, waiting)
    assert "clerk.a@stadt.example" in row_of(html, mine)
    assert elsewhere not in html and closed not in html
    counts = dict(re.findall(r'data-count="(\w+)">\((\d+\+?)\)', html))
    assert counts == {"new": "2", "mine": "3", "waiting": "1", "overdue": "1", "open": "5",
                      "closed": "1"}
    assert 'aria-current="page">Alle offenen' in html

    expected = {"new": {new, late}, "mine": {mine, waiting, answered},
                "waiting": {waiting}, "overdue": {late}, "closed": {closed},
                "all": {new, mine, waiting, answered, late, closed}}
    for view, references in expected.items():
        r = await clerk.client.get("/staff/requests", params={"view": view})
        assert set(shown_references(r.text)) == references, view
    # The filters: a status, a service, an office (only one of clerk A's: B's is refused).
    r = await clerk.client.get("/staff/requests",
                               params={"view": "all", "status": "rejected"})
    assert shown_references(r.text) == [closed]
    assert '<option value="rejected" selected>' in r.text
    assert 'href="/staff/requests?view=new&amp;status=rejected"' in r.text  # tabs keep it
    other = await clerk.client.post("/api/v1/admin/online-services", headers=clerk.desk.admin,
                                     json={"name": "Lob und Kritik", "identity": "none",
                                           "office_ids": [clerk.desk.office_a],
                                           "fields": [{"key": "text", "label": "Ihr Anliegen",
                                                       "type": "textarea", "required": True}]})
    assert other.status_code == 201, other.text
    praise, _ = await clerk.sent({"text": "Danke!"}, service_id=other.json()["id"],
                                 citizen=citizen(8))
    r = await clerk.client.get("/staff/requests",
                               params={"service_id": str(other.json()["id"])})
    assert shown_references(r.text) == [praise]
    r = await clerk.client.get("/staff/requests",
                               params={"office_id": str(clerk.desk.office_a)})
    assert r.status_code == 200 and praise in r.text
    r = await clerk.client.get("/staff/requests",
                               params={"office_id": str(clerk.desk.office_b)})
    assert r.status_code == 403
    # Nonsense in the query falls back to the defaults instead of failing.
    r = await clerk.client.get("/staff/requests", params={"view": "x", "status": "y",
                                                         "service_id": "z"})
    assert r.status_code == 200 and len(shown_references(r.text)) == 6
    r = await clerk.client.get("/staff/requests?view=closed&lang=en")
    assert "Online requests" in r.text and "Rejected" in r.text


async def test_nothing_of_another_office(clerk: Portal) -> None:
    elsewhere, _ = await send(clerk, 1, office="b")
    mine, _ = await send(clerk, 2)
    base = f"/staff/requests/{elsewhere}"
    assert (await clerk.client.get(base)).status_code == 403
    assert (await clerk.client.get(f"{base}/documents/1")).status_code == 403
    r = await submit(clerk.client, f"/staff/requests/{mine}", "ask-form",
                     {"text": "Hallo"})
    assert r.status_code == 303
    page = await clerk.client.get(f"/staff/requests/{mine}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    for action in ("assign", "ask", "complete", "reject", "invite-video"):
        r = await clerk.client.post(f"{base}/{action}",
                                    data={"csrf_token": token.group(1), "text": "x",
                                          "reason": "x", "confirm": "yes"})
        assert r.status_code == 403, action
    r = await clerk.client.get("/staff/requests/OA-XXXX-XXXX")
    assert r.status_code == 404
    [case] = await clerk.desk.rows(Case, reference=elsewhere)
    assert (await clerk.desk.rows(OnlineRequest, case_id=case.id))[0].status == "received"
    # Clerk B sees it, and nothing of A's.
    async with browser_of(clerk.desk.app, CLERK_B) as other:
        assert (await other.get(base)).status_code == 200
        assert (await other.get(f"/staff/requests/{mine}")).status_code == 403
        r = await other.get("/staff/requests")
        assert elsewhere in r.text and mine not in r.text


async def test_the_request_page_shows_what_the_citizen_sent(clerk: Portal) -> None:
    reference, link = await send(clerk, 1, answers={
        "breed": "Dackel", "acquired_on": "2026-11-01", "size": "large", "consent": True})
    await api(clerk, reference, "messages", {"text": "Bitte den Nachweis senden.",
                                              "documents_requested": ["proof"]})
    r = await clerk.client.post("/api/v1/me/messages", json={"text": "Kommt morgen."},
                                headers=link)
    assert r.status_code == 201
    r = await clerk.client.get(f"/staff/requests/{reference}")
    assert r.status_code == 200
    words = text_of(r.text)
    for shown in ("Antrag " + reference, "Erika Muster1", "erika1@example.org", "Rasse Dackel",
                  "1. November 2026", "Größe groß", "Ich bestätige die Angaben. ja",
                  "Angeforderte Unterlagen: Nachweis", "Kommt morgen.",
                  "Neue Antwort der Bürgerin / des Bürgers", "In Bearbeitung"):
        assert shown in words, shown
    assert words.index("Bitte den Nachweis senden.") < words.index("Kommt morgen.")
    assert 'id="request-messages"' in r.text and 'class="from-citizen"' in r.text


async def test_documents_are_downloads_for_the_office_only(clerk: Portal) -> None:
    reference, link = await send(clerk, 1)
    other, other_link = await send(clerk, 2)
    pdf = samples.pdf("Impfpass Waldi")
    r = await clerk.client.post("/api/v1/me/documents", headers=link, data={"field": "proof"},
                                files={"file": ("Impfpass Waldi.pdf", pdf)})
    assert r.status_code == 201, r.text
    document = r.json()["id"]
    r = await clerk.client.post("/api/v1/me/documents", headers=other_link,
                                data={"field": "proof"}, files={"file": ("b.pdf", pdf)})
    assert r.status_code == 201, r.text
    r = await clerk.client.get(f"/staff/requests/{reference}")
    url = f"/staff/requests/{reference}/documents/{document}"
    assert f'href="{url}"' in r.text
    words = text_of(r.text)
    assert "Nachweis Impfpass Waldi.pdf" in words
    assert "nicht auf Viren geprüft" in words  # the tests run without a scanner
    r = await clerk.client.get(url)
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "Impfpass%20Waldi.pdf" in r.headers["content-disposition"]
    assert r.headers["cache-control"] == "private, no-store"
    # Another request's document through this request's address: not found.
    assert (await clerk.client.get(f"/staff/requests/{other}/documents/{document}")
            ).status_code == 404
    async with browser_of(clerk.desk.app, CLERK_B) as stranger:
        assert (await stranger.get(url)).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=clerk.desk.app),
                                 base_url="http://testserver") as anonymous:
        r = await anonymous.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


@pytest.mark.parametrize("answer", ["a reply", "nothing"])
async def test_ask_with_documents_makes_the_request_wait(clerk: Portal, answer: str) -> None:
    reference, link = await send(clerk, 1)
    page = f"/staff/requests/{reference}"
    # An empty message is refused beside the field, and nothing changes.
    r = await submit(clerk.client, page, "ask-form", {"text": " ",
                                                      "documents_requested": ["proof"]})
    assert r.status_code == 422
    assert 'id="ask-text-error"' in r.text and 'aria-invalid="true"' in r.text
    assert 'href="#ask-text"' in r.text  # the summary leads to the field
    assert 'value="proof" checked' in r.text  # the ticked document stays ticked
    r = await submit(clerk.client, page, "ask-form", {
        "text": "Bitte laden Sie den Nachweis hoch.", "documents_requested": ["proof"]})
    assert r.status_code == 303
    assert r.headers["location"] == f"{page}?done=asked#request-ask"
    r = await clerk.client.get(r.headers["location"])
    assert "Ihre Nachricht wurde gesendet." in r.text and "Wartet auf Rückmeldung" in r.text
    [case] = await clerk.desk.rows(Case, reference=reference)
    [request] = await clerk.desk.rows(OnlineRequest, case_id=case.id)
    assert request.status == "waiting_for_citizen"
    assert request.assigned_label == "clerk.a@stadt.example"
    # The citizen's link shows the question and the document asked for.
    me = (await clerk.client.get("/api/v1/me", headers=link)).json()
    assert me["status"] == "waiting_for_citizen"
    assert me["messages"][-1]["text"] == "Bitte laden Sie den Nachweis hoch."
    assert me["documents_requested"] == ["proof"]
    if answer == "a reply":
        r = await clerk.client.post("/api/v1/me/messages", json={"text": "Erledigt."},
                                    headers=link)
        assert r.status_code == 201
        r = await clerk.client.get("/staff/requests")
        assert shown_references(r.text)[0] == reference
        assert "Neue Antwort" in row_of(r.text, reference)


async def test_complete_from_the_page_creates_the_case(clerk: Portal) -> None:
    reference, link = await send(clerk, 1)
    page = f"/staff/requests/{reference}"
    desk = clerk.desk
    # Missing choices come back beside their fields.
    r = await submit(clerk.client, page, "completion-form", {"payment": [], "delivery": []})
    assert r.status_code == 422
    assert 'id="payment-error"' in r.text and 'id="delivery-error"' in r.text
    r = await submit(clerk.client, page, "completion-form", {
        "item_service": [str(desk.certificate), "", "", ""],
        "item_quantity": ["2", "1", "1", "1"], "payment": "invoice", "delivery": "post"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?done=completed#request-case")
    [case] = await desk.rows(Case, reference=reference)
    assert case.case_number and case.amount_cents == 2000 and case.state == "completed"
    [request] = await desk.rows(OnlineRequest, case_id=case.id)
    assert request.status == "completed"
    r = await clerk.client.get(page)
    assert case.case_number in r.text and 'id="completion-form"' not in r.text
    assert "20,00" in r.text
    r = await clerk.client.get("/api/v1/me", headers=link)
    assert r.json()["case"]["case_number"] == case.case_number
    # Closed: a late post says so at the top of the page, not as a server error.
    r = await clerk.client.get(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert token is not None
    r = await clerk.client.post(f"{page}/ask", data={"csrf_token": token.group(1),
                                                     "text": "Noch eine Frage"})
    assert r.status_code == 409 and 'id="request-alert"' in r.text
    assert "Dieser Antrag ist abgeschlossen" in text_of(r.text)


async def test_completion_waits_for_a_verified_identity(clerk: Portal) -> None:
    desk = clerk.desk
    r = await clerk.client.patch(f"/api/v1/admin/online-services/{clerk.service_id}",
                                 json={"identity": "video"}, headers=desk.admin)
    assert r.status_code == 200
    reference, _ = await send(clerk, 1)
    page = f"/staff/requests/{reference}"
    r = await clerk.client.get(page)
    words = text_of(r.text)
    assert "muss die Identität in einem Videotermin geprüft werden" in words
    assert "Identität noch nicht bestätigt" in words
    # No video service configured: nothing to invite to, and the page says whom to ask.
    assert 'id="invite-form"' not in r.text and 'id="no-video-service"' in r.text
    r = await submit(clerk.client, page, "completion-form", {
        "item_service": [str(desk.life), "", "", ""], "payment": "none", "delivery": "email"})
    assert r.status_code == 409
    assert 'id="completion-general-error"' in r.text
    assert not [c for c in await desk.rows(Case, reference=reference) if c.case_number]

    # With a video service for the check, the clerk invites the citizen.
    video = await clerk.client.post("/api/v1/admin/services", headers=desk.admin, json={
        "name": "Identitätsprüfung per Video", "duration_minutes": 10, "fee_cents": 0,
        "video": True, "office_ids": [desk.office_a]})
    assert video.status_code == 201, video.text
    r = await clerk.client.patch(f"/api/v1/admin/online-services/{clerk.service_id}",
                                 json={"video_service_id": video.json()["id"]},
                                 headers=desk.admin)
    assert r.status_code == 200, r.text
    r = await submit(clerk.client, page, "invite-form")
    assert r.status_code == 303 and "done=invited" in r.headers["location"]
    r = await clerk.client.get(r.headers["location"])
    assert 'id="invited-note"' in r.text and "Erneut einladen" in r.text
    [case] = await desk.rows(Case, reference=reference)
    [request] = await desk.rows(OnlineRequest, case_id=case.id)
    assert request.video_invited_at is not None and request.status == "in_progress"


async def test_reject_with_reasons_after_confirming(clerk: Portal) -> None:
    reference, link = await send(clerk, 1)
    page = f"/staff/requests/{reference}"
    r = await submit(clerk.client, page, "reject-form", {"reason": ""})
    assert r.status_code == 422 and 'id="reject-reason-error"' in r.text
    r = await submit(clerk.client, page, "reject-form",
                     {"reason": "Der Hund ist nicht in unserer Gemeinde gemeldet."})
    assert r.status_code == 200  # the confirmation step, nothing rejected yet
    assert "Antrag " + reference + " ablehnen?" in text_of(r.text)
    assert "Der Hund ist nicht in unserer Gemeinde gemeldet." in r.text
    [case] = await clerk.desk.rows(Case, reference=reference)
    assert (await clerk.desk.rows(OnlineRequest, case_id=case.id))[0].status == "received"
    confirm_page = r.text
    assert 'id="reject-confirm-form"' in confirm_page
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm_page)
    assert token is not None
    r = await clerk.client.post(f"{page}/reject", data={
        "csrf_token": token.group(1), "confirm": "yes",
        "reason": "Der Hund ist nicht in unserer Gemeinde gemeldet."})
    assert r.status_code == 303 and "done=rejected" in r.headers["location"]
    [request] = await clerk.desk.rows(OnlineRequest, case_id=case.id)
    assert request.status == "rejected"
    assert request.rejection_reason == "Der Hund ist nicht in unserer Gemeinde gemeldet."
    r = await clerk.client.get(page)
    assert 'id="request-rejected"' in r.text and 'id="reject-form"' not in r.text
    me = (await clerk.client.get("/api/v1/me", headers=link)).json()
    assert me["status"] == "rejected"
    # A GET of the action's address leads back to the request.
    r = await clerk.client.get(f"{page}/reject")
    assert r.status_code == 303 and r.headers["location"] == page


async def test_take_up_and_assign_to_another_clerk(clerk: Portal) -> None:
    desk = clerk.desk
    colleague = await add_user(desk.app, "kollegin.a@stadt.example", "clerk",
                               office_ids=[desk.office_a])
    reference, _ = await send(clerk, 1)
    page = f"/staff/requests/{reference}"
    r = await clerk.client.get(page)
    assert f'<option value="{colleague}">kollegin.a@stadt.example</option>' in r.text
    assert "clerk.b@stadt.example" not in r.text  # not of this office
    r = await submit(clerk.client, page, "take-up-form")
    assert r.status_code == 303 and "done=assigned" in r.headers["location"]
    [case] = await desk.rows(Case, reference=reference)
    [request] = await desk.rows(OnlineRequest, case_id=case.id)
    assert request.status == "in_progress" and request.assigned_label == "clerk.a@stadt.example"
    r = await clerk.client.get(page)
    assert "Sie bearbeiten diesen Antrag." in r.text and 'id="take-up-form"' not in r.text
    r = await submit(clerk.client, page, "assign-form", {"staff_id": str(colleague)})
    assert r.status_code == 303
    [request] = await desk.rows(OnlineRequest, case_id=case.id)
    assert request.assigned_to_id == colleague
    assert request.assigned_label == "kollegin.a@stadt.example"
    # Someone of another office is refused beside the select.
    [clerk_b] = await desk.rows(StaffUser, email=CLERK_B)
    r = await submit(clerk.client, page, "assign-form", {"staff_id": str(clerk_b.id)})
    assert r.status_code == 422 and 'id="staff_id-error"' in r.text
    r = await submit(clerk.client, page, "assign-form", {"staff_id": "abc"})
    assert r.status_code == 422 and 'id="staff_id-error"' in r.text
    [request] = await desk.rows(OnlineRequest, case_id=case.id)
    assert request.assigned_to_id == colleague
