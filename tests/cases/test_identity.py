"""The identity check: the rules for "verified", failed checks with a reason, the abort for
poor image quality, and what is stored (and refused)."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import pytest

from app.api.case_schemas import CheckName
from cases.identity import (
    ALL_CHECKS,
    VerificationInput,
    validate_verification,
)
from cases.models import IdentityCheck
from core.document_numbers import looks_like_document_number
from core.errors import Invalid
from tests.cases.conftest import VERIFIED, Desk

TODAY = dt.date(2026, 11, 23)


def _input(**changes: Any) -> VerificationInput:
    values: dict[str, Any] = {**VERIFIED, **changes}
    values["checks"] = frozenset(values["checks"])
    return VerificationInput(**values)


def test_the_api_lists_exactly_the_checks_of_the_rules() -> None:
    assert set(get_args(CheckName)) == set(ALL_CHECKS)


def test_a_complete_checklist_is_verified() -> None:
    checked = validate_verification(_input(valid_until=TODAY), TODAY)
    assert checked.outcome == "verified"
    assert checked.reason_code == ""
    # Stored in the checklist's order, whatever order they came in.
    assert checked.checks[:4] == ("photo_matches", "name_matches", "birth_date_matches",
                                  "document_valid")


@pytest.mark.parametrize("missing", ["photo_matches", "name_matches", "birth_date_matches",
                                     "document_valid", "security_questions"])
def test_verified_needs_every_confirmation(missing: str) -> None:
    checks = [c for c in VERIFIED["checks"] if c != missing]
    with pytest.raises(Invalid) as caught:
        validate_verification(_input(checks=checks), TODAY)
    assert caught.value.field == "checks"
    assert missing in caught.value.params["missing"]


def test_verified_needs_three_security_features() -> None:
    checks = [c for c in VERIFIED["checks"] if c not in ("tactile_relief",)]
    with pytest.raises(Invalid) as caught:
        validate_verification(_input(checks=checks), TODAY)
    assert caught.value.params == {"count": 3}
    for document_type in ("passport", "residence_permit", "other"):
        checked = validate_verification(_input(document_type=document_type), TODAY)
        assert len([c for c in checked.checks if c in ("hologram", "colour_shift",
                                                        "tactile_relief")]) == 3


def test_an_expired_document_is_not_verified() -> None:
    with pytest.raises(Invalid) as caught:
        validate_verification(_input(valid_until=TODAY - dt.timedelta(days=1)), TODAY)
    assert caught.value.field == "valid_until"
    # Valid until today is still valid; a failed check may note an expired document.
    validate_verification(_input(valid_until=TODAY), TODAY)
    failed = validate_verification(
        _input(outcome="failed", reason_code="document_expired",
               valid_until=TODAY - dt.timedelta(days=1)), TODAY)
    assert failed.reason_code == "document_expired"


def test_failed_needs_a_reason() -> None:
    with pytest.raises(Invalid) as caught:
        validate_verification(_input(outcome="failed", checks=[]), TODAY)
    assert caught.value.field == "reason"
    with_text = validate_verification(
        _input(outcome="failed", checks=["photo_matches"], reason="Foto passt nicht"), TODAY)
    assert (with_text.reason_code, with_text.reason) == ("other", "Foto passt nicht")
    aborted = validate_verification(
        _input(outcome="failed", checks=[], reason_code="poor_image_quality"), TODAY)
    assert (aborted.outcome, aborted.reason_code, aborted.checks) == (
        "failed", "poor_image_quality", ())


def test_verified_takes_no_reason() -> None:
    with pytest.raises(Invalid):
        validate_verification(_input(reason="weil"), TODAY)


@pytest.mark.parametrize("text", [
    "Ausweisnummer L01X00T47",
    "T22000129",
    "IDD<<T220001293<<<<<<<<<<<<<<<",
    "Nr. 1234567890",
    "c01x00t47 geprüft",
])
def test_document_numbers_are_recognised(text: str) -> None:
    assert looks_like_document_number(text)


@pytest.mark.parametrize("text", [
    "Ausweis gut lesbar, Foto passt",
    "gültig bis 31.12.2030",
    "Hologramm bei Kippen deutlich sichtbar",
    "",
])
def test_ordinary_notes_pass(text: str) -> None:
    assert not looks_like_document_number(text)


async def test_recording_a_verified_check(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await desk.verify(reference, valid_until="2031-05-01", note="Foto passt gut")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["identity_verified"] is True
    assert body["verification"]["outcome"] == "verified"
    assert body["verification"]["security_features"] == ["hologram", "colour_shift",
                                                         "tactile_relief"]
    assert body["verification"]["checked_by"] == "clerk.a@stadt.example"
    rows = await desk.rows(IdentityCheck)
    assert len(rows) == 1
    row = rows[0]
    assert row.document_type == "id_card"
    assert row.valid_until == dt.date(2031, 5, 1)
    assert row.checked_by_id is not None
    assert "security_questions" in row.check_list()
    events = await desk.audit("identity.check")
    assert len(events) == 1
    assert events[0].actor_label == "clerk.a@stadt.example"
    assert reference in events[0].detail and '"outcome": "verified"' in events[0].detail


async def test_aborting_for_poor_image_quality(desk: Desk) -> None:
    reference, _ = await desk.appointment(status="in_call")
    r = await desk.verify(reference, outcome="failed", checks=[],
                          reason_code="poor_image_quality")
    assert r.status_code == 200, r.text
    assert r.json()["identity_verified"] is False
    assert r.json()["verification"]["reason_code"] == "poor_image_quality"


async def test_the_latest_check_counts(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    assert (await desk.verify(reference)).status_code == 200
    r = await desk.verify(reference, outcome="failed", reason="Foto passt nicht",
                          checks=["name_matches"])
    assert r.status_code == 200
    details = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/case",
                                    headers=desk.clerk_a)
    assert details.status_code == 200
    body = details.json()
    assert body["identity_verified"] is False
    assert body["verification"]["outcome"] == "failed"
    assert [v["outcome"] for v in body["verifications"]] == ["failed", "verified"]
    assert body["requires_identity"] is True
    # ... so completing needs another, verified check.
    assert (await desk.complete(reference)).status_code == 409
    assert (await desk.verify(reference)).status_code == 200
    assert (await desk.complete(reference)).status_code == 200


@pytest.mark.parametrize("extra", [
    {"document_number": "L01X00T47"},
    {"image": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="},
    {"photo": "x"},
    {"mrz": "IDD<<T22000129"},
])
async def test_unknown_fields_are_refused_and_nothing_is_stored(
    desk: Desk, extra: dict[str, str]
) -> None:
    reference, _ = await desk.appointment()
    r = await desk.client.post(f"/api/v1/clerk/appointments/{reference}/verification",
                               json={**VERIFIED, **extra}, headers=desk.clerk_a)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert next(iter(extra)) in r.json()["error"]["message"]
    assert await desk.rows(IdentityCheck) == []


@pytest.mark.parametrize("field", ["note", "reason"])
async def test_a_document_number_in_free_text_is_refused(desk: Desk, field: str) -> None:
    reference, _ = await desk.appointment()
    changes: dict[str, Any] = {field: "Nummer L01X00T47 notiert"}
    if field == "reason":
        changes.update(outcome="failed", checks=[])
    r = await desk.verify(reference, **changes)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert "Dokumentennummer" in r.json()["error"]["message"]
    assert await desk.rows(IdentityCheck) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"document_type": "driving_licence"}, "document_type"),
    ({"checks": ["photo_matches", "retina_scan"]}, "checks"),
    ({"outcome": "maybe"}, "outcome"),
    ({"valid_until": "31.12.2030"}, "valid_until"),
    ({"note": "x" * 501}, "note"),
])
async def test_bad_values_are_422_naming_the_field(
    desk: Desk, body: dict[str, Any], field: str
) -> None:
    reference, _ = await desk.appointment()
    r = await desk.verify(reference, **body)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["message"]


async def test_rule_errors_are_translated(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    r = await desk.verify(reference, checks=["photo_matches"])
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("Für eine bestätigte Identität")
    r = await desk.client.post(
        f"/api/v1/clerk/appointments/{reference}/verification",
        json={**VERIFIED, "checks": ["photo_matches"]},
        headers={**desk.clerk_a, "Accept-Language": "en"},
    )
    assert r.json()["error"]["message"].startswith("A verified identity needs")


@pytest.mark.parametrize("status", ["reserved", "completed", "no_show", "cancelled", "expired"])
async def test_only_confirmed_or_in_call(desk: Desk, status: str) -> None:
    reference, _ = await desk.appointment(status=status)
    r = await desk.verify(reference)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "wrong_state"
    assert await desk.rows(IdentityCheck) == []
