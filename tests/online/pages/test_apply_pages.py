"""The online services for citizens without JavaScript: the list, a service's form with every
kind of field, errors beside the fields (German by default) with the entries kept, and a valid
submission that writes the request (and its files, in the same transaction)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from app.settings import Settings
from cases.models import Case
from core.jobs import Job
from online.models import OnlineRequest, RequestDocument
from tests.online import samples
from tests.online.conftest import Portal
from tests.online.pages.conftest import csrf_of, dog_tax_form, field_error, parts, send_form
from tests.services import OwnClamd, eicar, own_clamd  # noqa: F401 (a fixture)

EVERY_TYPE: dict[str, Any] = {
    "name": "Alles in einem", "name_en": "All in one", "description": "Ein Formular zum Testen.",
    "fee_cents": 1500, "identity": "video", "processing_days": 1, "anonymous_allowed": True,
    "fields": [
        {"key": "title", "label": "Titel", "label_en": "Title", "type": "text",
         "required": True, "hint": "Kurz und klar."},
        {"key": "story", "label": "Geschichte", "type": "textarea"},
        {"key": "day", "label": "Tag", "type": "date", "required": True},
        {"key": "count", "label": "Anzahl", "type": "number", "required": True},
        {"key": "contact", "label": "Andere E-Mail", "type": "email"},
        {"key": "colour", "label": "Farbe", "type": "choice", "required": True,
         "options": ["rot", "grün", "blau"]},
        {"key": "month", "label": "Monat", "type": "choice",
         "options": ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul"]},
        {"key": "agree", "label": "Ich stimme zu.", "type": "checkbox", "required": True},
        {"key": "home", "label": "Anschrift", "type": "address", "required": True},
        {"key": "main", "label": "Hauptfoto", "type": "file", "max_bytes": 1_048_576},
        {"key": "spot", "label": "Ort", "type": "location"},
    ],
}


async def every_type(portal: Portal) -> int:
    desk = portal.desk
    r = await portal.client.post("/api/v1/admin/online-services", headers=desk.admin, json={
        **EVERY_TYPE, "office_ids": [desk.office_a, desk.office_b]})
    assert r.status_code == 201, r.text
    service_id: int = r.json()["id"]
    return service_id


def tag(page: str, name: str) -> str:
    """The opening tag of the element named ``name``."""
    match = re.search(rf'<(input|textarea|select)[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert match, f"no element named {name}"
    return match.group(0)


def label_for(page: str, element_id: str) -> str:
    match = re.search(rf'<label for="{re.escape(element_id)}">(.*?)</label>', page, re.S)
    assert match, f"no label for {element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


async def test_the_list_offers_the_services_from_the_start_page(portal: Portal) -> None:
    r = await portal.client.get("/")
    assert 'href="/apply"' in r.text and 'id="start-apply"' in r.text
    r = await portal.client.get("/apply")
    assert r.status_code == 200
    assert f'href="/apply/{portal.service_id}">Hundesteuer-Anmeldung</a>' in r.text
    assert "Melden Sie Ihren Hund zur Hundesteuer an." in r.text
    assert "gebührenfrei" in r.text and "etwa 14 Tage" in r.text and "Nicht nötig" in r.text
    await every_type(portal)
    r = await portal.client.get("/apply")
    assert "15,00\xa0€" in r.text and "etwa ein Tag" in r.text
    assert "Ein kurzer Videotermin, in dem wir Ihren Personalausweis" in r.text
    r = await portal.client.get("/apply?lang=en")
    assert "Dog tax registration" in r.text and "about 14 days" in r.text


async def test_the_form_has_an_input_for_every_kind_of_field(portal: Portal) -> None:
    service_id = await every_type(portal)
    r = await portal.client.get(f"/apply/{service_id}")
    assert r.status_code == 200
    page = r.text
    form = re.search(r'<form method="post" action="/apply/\d+" enctype="multipart/form-data" '
                     r'class="form" id="request-form" novalidate>', page)
    assert form, "form#request-form is a multipart POST"
    assert 'name="csrf_token"' in page
    assert 'type="text"' in tag(page, "title") and "required" in tag(page, "title")
    assert label_for(page, "answer-title") == "Titel"
    assert 'id="answer-title-hint">Kurz und klar.' in page
    assert tag(page, "story").startswith("<textarea") and "required" not in tag(page, "story")
    assert label_for(page, "answer-story") == "Geschichte (freiwillig)"
    assert 'type="date"' in tag(page, "day")
    assert 'type="number"' in tag(page, "count")
    assert 'type="email"' in tag(page, "contact")
    radios = re.findall(r'<input type="radio" id="([^"]+)" name="colour" value="([^"]+)"', page)
    assert [v for _, v in radios] == ["rot", "grün", "blau"] and radios[0][0] == "answer-colour"
    assert "<legend class=\"field-label\">Farbe</legend>" in page
    assert tag(page, "month").startswith("<select")  # seven options: a list box
    assert 'type="checkbox"' in tag(page, "agree") and 'value="yes"' in tag(page, "agree")
    assert label_for(page, "answer-agree") == "Ich stimme zu."
    for part, text in (("street", "Straße und Hausnummer"), ("postcode", "Postleitzahl"),
                       ("city", "Ort")):
        assert 'type="text"' in tag(page, f"home.{part}")
        assert label_for(page, f"answer-home-{part}") == text
    main = tag(page, "main")
    assert 'type="file"' in main and 'id="answer-main"' in main
    assert 'accept="image/jpeg,image/png,image/webp,application/pdf' in main
    assert "höchstens 1 MB" in page
    assert label_for(page, "answer-spot-lat") == "Breitengrad"
    assert label_for(page, "answer-spot-lon") == "Längengrad"
    # The position button is there for the script to show; without it, it stays hidden.
    assert re.search(r'<div class="locate" data-locate="spot" hidden', page)
    assert '<script type="module" src="/static/js/locate.js"></script>' in page
    # Two offices: the citizen chooses; names are optional here (anonymous allowed).
    assert f'name="request.office" value="{portal.desk.office_b}"' in page
    assert label_for(page, "citizen-given-name") == "Vorname (freiwillig)"
    assert "required" in tag(page, "citizen.email")
    assert 'id="privacy-note"' in page and 'href="/privacy"' in page
    # Development without a virus scanner says so on a form with files.
    assert 'id="unscanned-notice"' in page
    assert len(re.findall(r"<h1[ >]", page)) == 1
    r = await portal.client.get(f"/apply/{service_id}?lang=en")
    assert label_for(r.text, "answer-title") == "Title"
    assert label_for(r.text, "answer-story") == "Geschichte (optional)"
    assert (await portal.client.get("/apply/999999")).status_code == 404
    assert (await portal.client.get(f"/apply/{portal.desk.certificate}")).status_code == 404


async def test_errors_stand_beside_their_fields_and_the_entries_stay(portal: Portal) -> None:
    r = await send_form(portal, dog_tax_form(
        breed="", acquired_on="1. Mai", size="", consent="", **{
            "citizen.email": "erika@", "citizen.given_name": "Erika"}))
    assert r.status_code == 422
    page = r.text
    assert field_error(page, "answer-breed") == "Bitte füllen Sie dieses Feld aus."
    assert field_error(page, "answer-acquired_on") == "Bitte geben Sie ein Datum ein."
    assert field_error(page, "answer-size") == "Bitte füllen Sie dieses Feld aus."
    assert field_error(page, "answer-consent") == "Bitte setzen Sie hier ein Häkchen."
    assert field_error(page, "citizen-email").startswith("Bitte geben Sie eine gültige E-Mail")
    assert field_error(page, "answer-chip") == ""
    # The summary at the top links to each field, in the form's order.
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a>', page)
    assert [target for target, _ in links] == [
        "answer-breed", "answer-acquired_on", "answer-size", "answer-consent", "citizen-email"]
    assert html.unescape(links[0][1]) == "Rasse: Bitte füllen Sie dieses Feld aus."
    assert "<title>Fehler:" in page
    assert 'value="276098106543210"' in tag(page, "chip")
    assert 'value="1. Mai"' in tag(page, "acquired_on")
    assert 'value="Erika"' in tag(page, "citizen.given_name")
    assert 'aria-invalid="true"' in tag(page, "breed")
    assert await portal.desk.rows(Case) == []


async def test_a_date_typed_the_german_way_and_a_decimal_comma_are_taken(
        portal: Portal) -> None:
    r = await send_form(portal, dog_tax_form(acquired_on="01.11.2026"))
    assert r.status_code == 303, r.text
    [request] = await portal.desk.rows(OnlineRequest)
    assert '"acquired_on": "2026-11-01"' in request.answers


async def test_a_valid_form_sends_the_request_for_confirmation(portal: Portal) -> None:
    proof = samples.pdf("Impfpass Waldi")
    r = await send_form(portal, dog_tax_form(), {"proof": ("Impfpass.pdf", proof,
                                                           "application/pdf")})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/apply/sent"
    r = await portal.client.get("/apply/sent")
    assert r.status_code == 200
    assert "Fast geschafft: Bitte bestätigen Sie Ihren Antrag" in r.text
    assert "erika@example.org" in r.text and "48 Stunden" in r.text
    [case] = await portal.desk.rows(Case)
    assert case.reference in r.text and case.channel == "online"
    assert case.office_id == portal.desk.office_a and case.locale == "de"
    [request] = await portal.desk.rows(OnlineRequest)
    assert request.status == "submitted"
    assert '"breed": "Dackel"' in request.answers and '"consent": true' in request.answers
    [document] = await portal.desk.rows(RequestDocument)
    assert document.case_id == case.id and document.field_key == "proof"
    assert document.filename == "Impfpass.pdf" and document.scanned == "unscanned"
    assert proof not in document.sealed
    assert [json.loads(j.payload) for j in await portal.desk.rows(Job, kind="mail.request")] == [
        {"case_id": case.id, "template": "submitted"}]
    # A reload of the "sent" page is harmless; another browser has nothing to see there.
    assert (await portal.client.get("/apply/sent")).status_code == 200
    portal.client.cookies.clear()
    r = await portal.client.get("/apply/sent")
    assert r.status_code == 303 and r.headers["location"] == "/apply"


async def test_a_file_of_another_kind_refuses_the_whole_request(portal: Portal) -> None:
    r = await send_form(portal, dog_tax_form(), {"proof": ("foto.jpg", b"#!/bin/sh\necho\n",
                                                           "image/jpeg")})
    assert r.status_code == 415
    assert field_error(r.text, "answer-proof") == (
        "Sie können nur Fotos (JPEG, PNG oder WebP) und PDF-Dateien hochladen.")
    assert 'id="files-dropped"' in r.text and 'value="Dackel"' in tag(r.text, "breed")
    assert await portal.desk.rows(Case) == [] and await portal.desk.rows(RequestDocument) == []


async def test_forms_without_their_token_or_too_big_are_refused(portal: Portal) -> None:
    path = f"/apply/{portal.service_id}"
    await portal.client.get(path)
    r = await portal.client.post(path, files=parts(dog_tax_form()))
    assert r.status_code == 403
    page = await portal.client.get(path)
    r = await portal.client.post(path, files=parts(
        {"csrf_token": csrf_of(page.text), **dog_tax_form()},
        {"proof": ("big.pdf", b"%PDF" + b"0" * 3_000_000, "application/pdf")}))
    assert r.status_code == 413
    r = await portal.client.post(path, data={"csrf_token": csrf_of(page.text), **dog_tax_form()})
    assert r.status_code == 415  # a form of ours is multipart
    assert await portal.desk.rows(Case) == []


class TestWithAVirusScanner:
    @pytest.fixture
    def settings(self, settings_factory: Callable[..., Settings],
                 own_clamd: OwnClamd) -> Settings:  # noqa: F811
        return settings_factory(clamd_address=own_clamd.unix_address)

    async def test_malware_refuses_the_request_and_says_so_beside_the_file(
            self, portal: Portal) -> None:
        r = await send_form(portal, dog_tax_form(), {
            "proof": ("nachweis.pdf", samples.pdf() + eicar(), "application/pdf")})
        assert r.status_code == 422
        assert "Schadsoftware" in field_error(r.text, "answer-proof")
        assert 'id="unscanned-notice"' not in r.text
        assert await portal.desk.rows(Case) == []
        assert await portal.desk.rows(RequestDocument) == []
        r = await send_form(portal, dog_tax_form(), {
            "proof": ("nachweis.png", samples.png(), "image/png")})
        assert r.status_code == 303
        [document] = await portal.desk.rows(RequestDocument)
        assert document.scanned == "clean" and document.content_type == "image/png"


class TestWithoutDoubleOptIn:
    @pytest.fixture
    def settings(self, settings_factory: Callable[..., Settings]) -> Settings:
        return settings_factory(require_email_confirmation=False)

    async def test_the_request_is_received_at_once(self, portal: Portal) -> None:
        r = await send_form(portal, dog_tax_form(), office="b")
        assert r.status_code == 303
        r = await portal.client.get("/apply/sent")
        assert "Ihr Antrag ist gesendet" in r.text and 'id="sent-notice"' in r.text
        assert "Bestätigen Sie Ihren Antrag" not in r.text
        [request] = await portal.desk.rows(OnlineRequest)
        assert request.status == "received"
