"""The desk panels on the clerk's call page: what they show, and the page-session endpoints they
post to (fragment for the script, JSON, and plain form posts without JavaScript), on SQLite and
Postgres."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from cases.models import IdentityCheck
from core.audit import AuditEvent
from tests.cases.conftest import CLERK_B, Desk
from tests.cases.desk.conftest import csrf, other_client
from tests.conftest import running
from tests.staff.helpers import add_office, add_user, page_login

FRAGMENT = {"X-Requested-With": "desk"}
JSON = {"Accept": "application/json"}

# The identity form as a clerk fills it for a verified ID card.
VERIFIED: dict[str, Any] = {
    "document_type": "id_card",
    "checks": ["photo_matches", "name_matches", "birth_date_matches", "document_valid",
               "security_questions"],
    "features_id_card": ["hologram", "colour_shift", "tactile_relief"],
    "outcome": "verified",
}


async def post(desk: Desk, reference: str, action: str, data: dict[str, Any],
               headers: dict[str, str] | None = None,
               client: httpx.AsyncClient | None = None) -> httpx.Response:
    client = client or desk.client
    body = {"csrf_token": await csrf(client), **data}
    return await client.post(f"/staff/call/{reference}/{action}", data=body,
                             headers=headers or {})


async def checks_of(desk: Desk) -> list[IdentityCheck]:
    return await desk.rows(IdentityCheck)


# --- the page ------------------------------------------------------------------------------------


async def test_call_page_shows_the_panels(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await desk.client.get(f"/staff/call/{reference}")
    assert r.status_code == 200
    html = r.text
    # The call page itself is still there (the panels are included into it).
    assert 'id="remote-video"' in html and 'id="admit"' in html
    assert '<script type="module" src="/static/js/desk-panels.js"></script>' in html
    assert 'href="/static/css/desk.css"' in html
    # Identity check: document types, the booking's name beside its checkbox, every type's
    # security features (without JavaScript all groups show), the guidance, the abort button.
    for label in ("Personalausweis", "Reisepass", "Aufenthaltstitel", "Anderes Dokument"):
        assert label in html
    assert "Laut Buchung: Erika Mustermann" in html
    for kind in ("id_card", "passport", "residence_permit", "other"):
        assert f'name="features_{kind}" value="hologram"' in html
    assert "mindestens 3 Merkmale" in html
    assert 'id="abort-check"' in html and "Bildqualität zu schlecht" in html
    assert 'name="valid_until"' in html and 'type="date"' in html
    # Completion: the fee schedule with fees, the appointment's service preselected.
    assert f'<option value="{desk.certificate}" data-fee="1000" data-currency="EUR" selected>' \
        in html
    assert "Lebensbescheinigung (gebührenfrei)" in html
    assert "Führungszeugnis (13,00" in html
    assert 'value="invoice" checked' in html
    assert 'value="online"' not in html  # no payment provider configured
    assert 'value="post" checked' in html
    assert "Für diese Leistung muss die Identität bestätigt sein." in html
    # The appointment started five minutes ago: it can be marked as missed.
    assert 'id="no-show-form"' in html
    # English too.
    r = await desk.client.get(f"/staff/call/{reference}?lang=en")
    assert "Booking: Erika Mustermann" in r.text and "Complete the request" in r.text


async def test_certificate_of_good_conduct_defaults_to_the_federal_office(desk: Desk) -> None:
    reference, _ = await desk.appointment(service_id=desk.conduct)
    html = (await desk.client.get(f"/staff/call/{reference}")).text
    assert 'value="external" checked' in html
    assert 'name="external_authority" value="Bundesamt für Justiz"' in html


async def test_online_payment_is_offered_only_when_configured(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(stripe_secret_key="sk_test_desk"))
    async with running(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            from tests.cases.conftest import CLERK_A, build_desk

            desk = await build_desk(application, c)
            assert (await page_login(c, CLERK_A)).status_code == 303
            reference, _ = await desk.appointment()
            html = (await c.get(f"/staff/call/{reference}")).text
    assert 'value="online"' in html and "Online-Zahlung" in html


async def test_panels_of_another_office_are_refused(desk: Desk, app: Starlette) -> None:
    reference, _ = await desk.appointment(office="b")
    assert (await desk.client.get(f"/staff/call/{reference}")).status_code == 403
    r = await post(desk, reference, "verification", VERIFIED, FRAGMENT)
    assert r.status_code == 403
    r = await post(desk, reference, "complete", {"item_service": str(desk.certificate),
                                                 "item_quantity": "1", "payment": "invoice",
                                                 "delivery": "post"}, JSON)
    assert r.status_code == 403
    assert (await post(desk, reference, "no-show", {})).status_code == 403
    assert (await desk.client.get("/staff/call/NOPE-NOPE")).status_code == 404
    assert await checks_of(desk) == [] and await desk.decided() == []
    assert (await desk.appointment_row(reference)).status == "confirmed"
    # Clerk B may.
    async with other_client(app, CLERK_B) as clerk_b:
        r = await post(desk, reference, "verification", VERIFIED, FRAGMENT, client=clerk_b)
    assert r.status_code == 200


async def test_posts_need_the_session_and_its_csrf_token(desk: Desk, app: Starlette) -> None:
    reference, _ = await desk.appointment()
    r = await desk.client.post(f"/staff/call/{reference}/verification",
                               data={**VERIFIED, "csrf_token": "forged"}, headers=FRAGMENT)
    assert r.status_code == 403
    # The script shows the message of the one JSON error shape.
    assert r.json() == {"error": {
        "code": "csrf_failed",
        "message": "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen "
                   "Sie es noch einmal."}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as stranger:
        r = await stranger.post(f"/staff/call/{reference}/verification", data=VERIFIED,
                                headers=FRAGMENT)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        r = await stranger.post(f"/staff/call/{reference}/complete", data={})
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")
        # A citizen's link token is no way in either.
        _, token = await desk.appointment()
        r = await stranger.post(f"/staff/call/{reference}/no-show", data={},
                                headers={"Authorization": f"Bearer {token}", **JSON})
        assert r.status_code == 401
    assert await checks_of(desk) == []


# --- identity check ------------------------------------------------------------------------------


async def test_a_verified_check_from_the_panel(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    # Features of another document type on the page (no JavaScript) do not count.
    r = await post(desk, reference, "verification",
                   {**VERIFIED, "features_passport": ["micro_text", "laser_photo"],
                    "valid_until": "2031-05-31", "note": "Gute Beleuchtung"}, FRAGMENT)
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<div id="desk-fragment"')
    assert 'data-announce="Die Identitätsprüfung ist gespeichert: Identität bestätigt."' in r.text
    assert 'data-focus="desk-check-result"' in r.text
    assert 'id="desk-check-result"' in r.text and 'data-verified="yes"' in r.text
    assert "Hologramm (Identigram), Farbkippeffekt, Fühlbares Relief" in r.text
    # Both panels come back: the completion now says the identity is verified.
    assert 'id="desk-completion"' in r.text
    assert "Für diese Leistung muss die Identität bestätigt sein: bestätigt." in r.text
    [check] = await checks_of(desk)
    assert check.outcome == "verified" and check.document_type == "id_card"
    assert set(check.check_list()) == {*VERIFIED["checks"], *VERIFIED["features_id_card"]}
    assert check.valid_until == dt.date(2031, 5, 31)
    assert check.checked_by_label == "clerk.a@stadt.example"
    [event] = await desk.audit("identity.check")
    assert json.loads(event.detail)["outcome"] == "verified"


@pytest.mark.parametrize(("change", "field_id", "message"), [
    ({"document_type": ""}, "document_type", "Bitte wählen Sie die Art des Dokuments."),
    ({"outcome": ""}, "outcome", "Bitte wählen Sie das Ergebnis der Prüfung."),
    ({"checks": ["photo_matches", "security_questions"]}, "checklist",
     "Bitte bestätigen Sie: Der Name stimmt mit der Buchung überein, Das Geburtsdatum stimmt"),
    ({"features_id_card": ["hologram", "micro_text"]}, "features", "mindestens 3"),
    ({"valid_until": "31.05.2031"}, "valid_until", "Bitte geben Sie ein Datum"),
    ({"valid_until": "2001-01-01"}, "valid_until", "abgelaufen"),
    ({"note": "Ausweisnummer L01X00T47"}, "identity-note", "keine Dokumentennummern"),
    ({"outcome": "failed"}, "reason", "warum"),
])
async def test_identity_errors_show_beside_their_field(
    desk: Desk, change: dict[str, Any], field_id: str, message: str
) -> None:
    reference, _ = await desk.appointment()
    r = await post(desk, reference, "verification", {**VERIFIED, **change}, FRAGMENT)
    assert r.status_code == 422, r.text
    assert f'id="{field_id}-error"' in r.text
    error = r.text.split(f'id="{field_id}-error"', 1)[1].split("</span>", 2)[1]
    assert message in error, error
    assert 'data-desk-errors' in r.text  # the summary the script focuses
    assert 'id="desk-completion"' not in r.text  # only the identity part is re-rendered
    # The clerk's entries are kept.
    if "note" in change:
        assert "Ausweisnummer L01X00T47" in r.text
    assert await checks_of(desk) == []


async def test_a_failed_check_and_the_abort_button(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await post(desk, reference, "verification",
                   {"document_type": "passport", "outcome": "failed",
                    "reason_code": "photo_mismatch"}, FRAGMENT)
    assert r.status_code == 200, r.text
    assert "Identität nicht bestätigt" in r.text and "Lichtbild passt nicht zur Person" in r.text
    # Abort with nothing filled in: recorded as failed for poor image quality.
    r = await post(desk, reference, "verification", {"abort": "poor_image_quality"}, FRAGMENT)
    assert r.status_code == 200, r.text
    assert "Bildqualität zu schlecht" in r.text and "2 Prüfungen erfasst" in r.text
    latest = (await checks_of(desk))
    assert sorted((c.outcome, c.reason_code) for c in latest) == [
        ("failed", "photo_mismatch"), ("failed", "poor_image_quality")]


async def test_identity_form_without_javascript_and_as_json(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    # A plain form post: back to the call page on success ...
    r = await post(desk, reference, "verification", VERIFIED)
    assert r.status_code == 303
    assert r.headers["location"] == f"/staff/call/{reference}#identity-check"
    page = await desk.client.get(r.headers["location"])
    assert 'id="desk-check-result"' in page.text and "Identität bestätigt" in page.text
    # ... and the whole call page with the errors beside the fields otherwise.
    r = await post(desk, reference, "verification", {**VERIFIED, "outcome": ""})
    assert r.status_code == 422
    assert 'id="remote-video"' in r.text and 'id="outcome-error"' in r.text
    assert 'data-error-summary' in r.text
    # Its language link (a GET of the post's address) leads back to the call page.
    r = await desk.client.get(f"/staff/call/{reference}/verification?lang=en")
    assert r.status_code == 303 and r.headers["location"] == f"/staff/call/{reference}?lang=en"
    # JSON: the API's shapes.
    r = await post(desk, reference, "verification", VERIFIED, JSON)
    assert r.status_code == 200
    body = r.json()
    assert body["identity_verified"] is True
    assert body["verification"]["security_features"] == ["hologram", "colour_shift",
                                                         "tactile_relief"]
    r = await post(desk, reference, "verification", {**VERIFIED, "outcome": ""}, JSON)
    assert r.status_code == 422
    error = r.json()["error"]  # the one error shape of the API (app/errors.py)
    assert set(error) == {"code", "message", "details"} and error["code"] == "validation_error"
    assert error["details"][0]["field"] == "outcome"
    assert error["message"] == error["details"][0]["message"] != ""


# --- completion ----------------------------------------------------------------------------------


def completion(desk: Desk, **changes: Any) -> dict[str, Any]:
    return {"item_service": [str(desk.certificate), "", "", ""],
            "item_quantity": ["1", "1", "1", "1"], "payment": "invoice", "delivery": "post",
            "external_authority": "", "note": "",
            "postal_address": "Marktplatz 3\n73760 Musterhausen", **changes}


async def test_completion_needs_a_verified_identity_then_shows_the_case_number(
    desk: Desk,
) -> None:
    reference, _ = await desk.appointment()
    r = await post(desk, reference, "complete", completion(desk), FRAGMENT)
    assert r.status_code == 409
    assert "Für diese Leistung ist eine geprüfte Identität nötig" in r.text or \
        "Identität" in r.text.split('id="completion-general-error"', 1)[1][:400]
    assert 'id="desk-identity"' not in r.text
    assert await desk.decided() == []

    assert (await post(desk, reference, "verification", VERIFIED, FRAGMENT)).status_code == 200
    r = await post(desk, reference, "complete", completion(
        desk, item_service=[str(desk.certificate), str(desk.life), "", ""],
        item_quantity=["2", "1", "1", "1"], note="Zweimal für Arbeitgeber"), FRAGMENT)
    assert r.status_code == 200, r.text
    [case] = await desk.decided()
    assert case.amount_cents == 2000 and case.payment == "invoice" and case.delivery == "post"
    assert case.dispatch_status == "queued" and case.note == "Zweimal für Arbeitgeber"
    assert f'<p class="case-number" id="desk-case-number" aria-describedby="desk-case-number-label">{case.case_number}</p>' in r.text  # noqa: E501
    assert f'data-announce="Das Anliegen ist abgeschlossen. Kassenzeichen: {case.case_number}"' \
        in r.text
    assert 'data-focus="desk-case"' in r.text
    assert "20,00" in r.text and "2 × Meldebescheinigung" in r.text
    # The identity part comes back without its form: the appointment is completed.
    assert 'id="desk-identity"' in r.text and 'id="identity-form"' not in r.text
    assert (await desk.appointment_row(reference)).status == "completed"
    assert [json.loads(e.detail)["case_number"] for e in await desk.audit("case.complete")] == \
        [case.case_number]
    # The page shows the case from now on; a second completion is refused.
    page = await desk.client.get(f"/staff/call/{reference}")
    assert case.case_number in page.text and 'id="completion-form"' not in page.text
    r = await post(desk, reference, "complete", completion(desk), JSON)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_completed"


async def test_completion_errors_show_beside_their_field(desk: Desk) -> None:
    reference, _ = await desk.appointment(service_id=desk.life)  # no identity needed
    cases_: list[tuple[dict[str, Any], str, str]] = [
        ({"item_service": ["", "", "", ""]}, "item-1-service", "mindestens eine Leistung"),
        ({"item_quantity": ["zwei", "1", "1", "1"]}, "item-1-quantity", "ganze Zahl"),
        ({"item_quantity": ["21", "1", "1", "1"]}, "item-1-quantity", "zwischen 1 und 20"),
        ({"item_service": [str(desk.life), str(desk.life), "", ""]}, "item-2-service",
         "Anzahl"),
        ({"payment": ""}, "payment", "wie die Gebühr bezahlt wird"),
        ({"delivery": "external"}, "external_authority", "Behörde"),
        ({"payment": "online", "item_service": [str(desk.certificate), "", "", ""]}, "payment",
         "Online"),
    ]
    for change, field_id, message in cases_:
        body = {**completion(desk, item_service=[str(desk.life), "", "", ""]), **change}
        r = await post(desk, reference, "complete", body, FRAGMENT)
        assert r.status_code == 422, (change, r.text)
        assert f'id="{field_id}-error"' in r.text, (change, r.text)
        error = r.text.split(f'id="{field_id}-error"', 1)[1][:400]
        assert message in error, (change, error)
    assert await desk.decided() == []


async def test_free_service_external_authority_and_json(desk: Desk) -> None:
    reference, _ = await desk.appointment(service_id=desk.life)
    # An authority typed in but delivery by e-mail: the name does not count.
    r = await post(desk, reference, "complete", completion(
        desk, item_service=[str(desk.life), "", "", ""], payment="none", delivery="email",
        external_authority="Bundesamt für Justiz"), JSON)
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert case["amount_cents"] == 0 and case["payment_status"] == "not_required"
    assert case["delivery"] == "email" and case["external_authority"] is None

    reference, _ = await desk.appointment(service_id=desk.conduct)
    await post(desk, reference, "verification", VERIFIED)
    r = await post(desk, reference, "complete", completion(
        desk, item_service=[str(desk.conduct), "", "", ""], delivery="external",
        external_authority="Bundesamt für Justiz"))
    assert r.status_code == 303
    assert r.headers["location"] == f"/staff/call/{reference}#desk-completion"
    page = await desk.client.get(f"/staff/call/{reference}")
    assert "Versand durch eine andere Behörde: Bundesamt für Justiz" in page.text
    cases_ = {c.delivery: c for c in await desk.decided()}
    assert cases_["external"].dispatch_status == "forwarded"


# --- no-show -------------------------------------------------------------------------------------


async def test_no_show_from_the_agenda_and_from_the_panel(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await post(desk, reference, "no-show", {"next": "/staff?date=2026-01-05"})
    assert r.status_code == 303
    assert r.headers["location"] == "/staff?date=2026-01-05&done=no_show"
    assert (await desk.appointment_row(reference)).status == "no_show"
    # An offsite "next" is not followed.
    other, _ = await desk.appointment()
    r = await post(desk, other, "no-show", {"next": "https://evil.example/"})
    assert r.headers["location"] == "/staff?done=no_show"

    third, _ = await desk.appointment()
    r = await post(desk, third, "no-show", {}, FRAGMENT)
    assert r.status_code == 200
    assert 'id="desk-outcome"' in r.text and "nicht erschienen" in r.text
    assert len(await desk.audit("appointment.no_show")) == 3

    # Not before the start: 409 with the reason (an error page without JavaScript).
    later, _ = await desk.appointment(start_in=dt.timedelta(hours=2))
    r = await post(desk, later, "no-show", {}, FRAGMENT)
    assert r.status_code == 409 and "erst nach seinem Beginn" in r.text
    r = await post(desk, later, "no-show", {"next": "/staff"})
    assert r.status_code == 409
    assert (await desk.appointment_row(later)).status == "confirmed"
    page = await desk.client.get(f"/staff/call/{later}")
    assert 'id="no-show-form"' not in page.text


async def test_nothing_of_the_document_is_stored(desk: Desk) -> None:
    """Whatever the form carries beyond its fields (an image, a number) is not kept."""
    reference, _ = await desk.appointment()
    r = await post(desk, reference, "verification",
                   {**VERIFIED, "document_number": "L01X00T47",
                    "image": "data:image/png;base64,AAAA"}, FRAGMENT)
    assert r.status_code == 200
    async with desk.state.db.transaction() as session:
        from sqlalchemy import text

        dump: list[str] = []
        for table in ("identity_check", "audit_event"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            dump.extend(str(row) for row in rows)
    assert dump and not any("L01X00T47" in row or "base64" in row for row in dump)
    assert await desk.rows(AuditEvent, action="identity.check")


async def test_an_admin_sees_every_office(desk: Desk, admin_client: httpx.AsyncClient) -> None:
    reference, _ = await desk.appointment(office="b")
    r = await admin_client.get(f"/staff/call/{reference}")
    assert r.status_code == 200 and 'id="identity-form"' in r.text


async def test_a_clerk_without_the_office_is_refused(app: Starlette, desk: Desk) -> None:
    office = await add_office(app, "Bürgerbüro Süd")
    await add_user(app, "sued@stadt.example", office_ids=[office])
    reference, _ = await desk.appointment()
    async with other_client(app, "sued@stadt.example") as client:
        r = await post(desk, reference, "verification", VERIFIED, JSON, client=client)
    assert r.status_code == 403
