"""Feedback after the call: once the call is over, once per appointment, a rating from 1 to 5
and an optional comment; admins read the results per office and month."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from calls.models import CallEvent
from tests.cases.conftest import ADMIN, Desk
from tests.postcall.notices.support import bearer, complete, configure_offices, state_of
from tests.smtp_support import SmtpSink
from tests.staff.helpers import form_token, page_login

URL = "/api/v1/me/feedback"


def this_month() -> str:
    return dt.datetime.now(ZoneInfo("Europe/Berlin")).strftime("%Y-%m")


async def test_feedback_opens_when_the_call_is_over_and_is_given_once(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    reference, token = await desk.appointment(status="confirmed",
                                              start_in=dt.timedelta(hours=2))
    r = await desk.client.post(URL, json={"rating": 5}, headers=bearer(token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "feedback_not_open"
    assert (await desk.client.get(URL, headers=bearer(token))).json() == {
        "open": False, "given": False, "rating": None, "comment": None, "created_at": None}

    reference, token = await desk.appointment(status="in_call")
    r = await desk.client.post(URL, json={"rating": 4}, headers=bearer(token))
    assert r.status_code == 409  # still in the call
    async with state_of(desk.app).db.transaction(write=True) as session:
        appointment = await desk.appointment_row(reference)
        session.add(CallEvent(appointment_id=appointment.id, event="ended", role="clerk"))
    assert (await desk.client.get(URL, headers=bearer(token))).json()["open"] is True
    for bad in ({"rating": 6}, {"rating": "5"}, {"rating": 0}, {"comment": "ohne Note"},
                {"rating": 3, "comment": "x" * 2001},
                {"rating": 5, "comment": "Mein Ausweis L01X 00T47 war abgelaufen"}):
        r = await desk.client.post(URL, json=bad, headers=bearer(token))
        assert r.status_code == 422, bad
    assert "Dokumentennummern" in r.json()["error"]["message"]
    r = await desk.client.post(URL, json={"rating": 4, "comment": "Sehr freundlich!\nDanke."},
                               headers=bearer(token))
    assert r.status_code == 201, r.text
    assert r.json()["given"] is True and r.json()["open"] is False
    assert r.json()["comment"] == "Sehr freundlich!\nDanke."
    again = await desk.client.post(URL, json={"rating": 1}, headers=bearer(token))
    assert again.status_code == 409 and again.json()["error"]["code"] == "feedback_given"
    assert (await desk.client.get(URL, headers=bearer(token))).json()["rating"] == 4


async def test_admins_see_results_per_office_and_month(desk: Desk, smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    for office, rating, comment in (("a", 5, "Toll"), ("a", 4, ""), ("b", 2, "Ton schlecht")):
        _, token, _ = await complete(desk, office=office)
        r = await desk.client.post(URL, json={"rating": rating, "comment": comment},
                                   headers=bearer(token))
        assert r.status_code == 201
    r = await desk.client.get("/api/v1/admin/feedback", headers=desk.admin)
    assert r.status_code == 200
    results = {row["office"]: row for row in r.json()}
    month = this_month()
    mitte, nord = results["Bürgerbüro Mitte"], results["Bürgerbüro Nord"]
    assert (mitte["month"], mitte["count"], mitte["average"]) == (month, 2, "4.5")
    assert mitte["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert [c["comment"] for c in mitte["comments"]] == ["Toll"]
    assert (nord["count"], nord["average"]) == (1, "2.0")
    only_a = await desk.client.get("/api/v1/admin/feedback", headers=desk.admin,
                                   params={"office_id": desk.office_a, "month": month})
    assert [row["office"] for row in only_a.json()] == ["Bürgerbüro Mitte"]
    empty = await desk.client.get("/api/v1/admin/feedback", headers=desk.admin,
                                  params={"month": "2001-01"})
    assert empty.json() == []
    bad = await desk.client.get("/api/v1/admin/feedback", headers=desk.admin,
                                params={"month": "Januar"})
    assert bad.status_code == 422
    assert (await desk.client.get("/api/v1/admin/feedback",
                                  headers=desk.clerk_a)).status_code == 403

    assert (await page_login(desk.client, ADMIN)).status_code == 303
    page = await desk.client.get("/admin/feedback")
    assert page.status_code == 200
    assert "Bürgerbüro Mitte" in page.text and "4,5 von 5" in page.text
    assert "Ton schlecht" in page.text
    assert 'href="/admin/feedback"' in (await desk.client.get("/admin")).text


async def test_the_appointment_page_asks_for_feedback(desk: Desk, smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, token, _ = await complete(desk)
    page = await desk.client.get(f"/t/{token}")
    assert 'id="feedback-form"' in page.text and "Wie war Ihr Videotermin?" in page.text
    csrf = form_token(page.text.split('id="feedback-form"', 1)[1])
    r = await desk.client.post(f"/t/{token}/feedback", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].endswith("?feedback=missing#feedback")
    assert "Bitte wählen Sie eine Bewertung." in (await desk.client.get(
        r.headers["location"])).text
    r = await desk.client.post(f"/t/{token}/feedback", data={
        "csrf_token": csrf, "rating": "5", "comment": "Prima"})
    assert r.headers["location"].endswith("?feedback=thanks#feedback")
    done = await desk.client.get(r.headers["location"])
    assert "Vielen Dank für Ihre Rückmeldung!" in done.text
    assert 'id="feedback-form"' not in done.text and "Ihre Bewertung: 5 von 5." in done.text
    r = await desk.client.post(f"/t/{token}/feedback", data={"csrf_token": "forged",
                                                            "rating": "1"})
    assert r.status_code == 403
