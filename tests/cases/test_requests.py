"""The request at the centre, at the clerk's desk: identity checks belong to the request and to
one person of it, a request may be reached through several appointments, and an online request
(no appointment) is a request like any other."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from booking.models import Appointment
from cases.intake import appointments_of
from cases.models import Case, IdentityCheck
from core.types import utcnow
from tests.cases.conftest import Desk


async def request_of(desk: Desk, reference: str) -> Case:
    appointment = await desk.appointment_row(reference)
    [request] = await desk.rows(Case, id=appointment.case_id)
    assert isinstance(request, Case)
    return request


async def test_checks_are_per_person_and_completion_needs_the_applicant(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    # A family member's document is verified, the applicant's check failed.
    r = await desk.verify(reference, person=2)
    assert r.status_code == 200, r.text
    assert r.json()["verification"]["person"] == 2
    assert r.json()["identity_verified"] is False  # the applicant is not verified yet
    r = await desk.verify(reference, outcome="failed", checks=[], reason_code="data_mismatch")
    assert r.status_code == 200 and r.json()["identity_verified"] is False
    r = await desk.complete(reference)
    assert r.status_code == 409 and r.json()["error"]["code"] == "identity_required"

    r = await desk.client.get(f"/api/v1/clerk/appointments/{reference}/case",
                              headers=desk.clerk_a)
    assert r.status_code == 200, r.text
    assert [v["person"] for v in r.json()["verifications"]] == [1, 2]  # newest first
    assert r.json()["verification"]["person"] == 1 and r.json()["identity_verified"] is False

    r = await desk.verify(reference)  # the applicant, now verified
    assert r.status_code == 200 and r.json()["identity_verified"] is True
    r = await desk.complete(reference)
    assert r.status_code == 200, r.text
    request = await request_of(desk, reference)
    checks = await desk.rows(IdentityCheck, case_id=request.id)
    assert sorted(c.person for c in checks) == [1, 1, 2]
    applicant = max((c for c in checks if c.person == 1), key=lambda c: c.id or 0)
    assert request.identity_check_id == applicant.id and request.state == "completed"


@pytest.mark.parametrize("person", [0, 21, "2", None])
async def test_a_bad_person_is_422_in_german(desk: Desk, person: object) -> None:
    reference, _ = await desk.appointment()
    r = await desk.verify(reference, person=person)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and "person" in error["message"]
    assert await desk.rows(IdentityCheck) == []


async def test_a_request_reached_through_two_appointments(desk: Desk) -> None:
    """Identity checked in a first call; the request is completed in a later one."""
    first, _ = await desk.appointment(start_in=dt.timedelta(minutes=-40))
    assert (await desk.verify(first)).status_code == 200
    second, _ = await desk.appointment()
    request = await request_of(desk, first)
    later = await desk.appointment_row(second)
    async with desk.state.db.transaction(write=True) as session:
        row = await session.get(Appointment, later.id)
        assert row is not None
        previous = row.case_id
        row.case_id = request.id  # the office attaches the follow-up call to the request
        stray = await session.get(Case, previous)
        assert stray is not None
        await session.delete(stray)

    r = await desk.complete(second)
    assert r.status_code == 200, r.text  # the check of the first call counts
    decided = await request_of(desk, first)
    assert decided.state == "completed" and decided.case_number == r.json()["case"]["case_number"]
    async with desk.state.db.transaction() as session:
        channels = await appointments_of(session, decided.id or 0)
    assert [a.reference for a in channels] == [first, second]
    assert [c.appointment_id for c in await desk.rows(IdentityCheck, case_id=decided.id)] \
        == [(await desk.appointment_row(first)).id]


async def test_an_online_request_needs_no_appointment(desk: Desk) -> None:
    async with desk.state.db.transaction(write=True) as session:
        session.add(Case(reference="ON-TEST-0001", channel="online", office_id=desk.office_a,
                         service_id=desk.life, given_name="Max", family_name="Muster",
                         email="max@example.org"))
    [request] = await desk.rows(Case, reference="ON-TEST-0001")
    assert request.state == "open" and request.case_number is None
    async with desk.state.db.transaction() as session:
        assert await appointments_of(session, request.id or 0) == []
    # Decided means decided in full: the database refuses a completed request without its
    # number and decision.
    with pytest.raises(IntegrityError):
        async with desk.state.db.transaction(write=True) as session:
            row = await session.get(Case, request.id)
            assert row is not None
            row.state, row.revision, row.completed_at = "completed", 1, utcnow()
            await session.flush()
