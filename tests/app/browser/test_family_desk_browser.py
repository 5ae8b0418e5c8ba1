"""The clerk's panels for a family appointment in real Chromium: axe-core on the call page with
the people of the appointment, the person choice and the fee items per person, also with the
form's errors, in German and English."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from booking.models import Appointment
from booking.party_models import AppointmentPerson
from tests.app.browser.test_call_browser import (
    DESK,
    Browsers,
    Site,
    browsers,
    site,
)
from tests.app.browser.test_desk_browser import clerk_to_agenda
from tests.app.pages.call_helpers import quick_hashes
from tests.app.pages.seed import app_ctx
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]


async def add_child(site: Site) -> None:
    async with app_ctx(site.app).db.transaction(write=True) as session:
        appointment = (await session.execute(select(Appointment).where(
            Appointment.reference == site.reference))).scalar_one()  # type: ignore[arg-type]
        session.add(AppointmentPerson(appointment_id=appointment.id, person=2,
                                      given_name="Max", family_name="Mustermann"))


@RENDERED_ONLY
async def test_the_family_desk_panels_pass_axe(site: Site, browsers: Browsers) -> None:
    await add_child(site)
    clerk = await browsers.page("clerk", DESK)
    await clerk_to_agenda(clerk, site.base)
    failures: list[str] = []
    checked: list[str] = []

    async def check(name: str) -> None:
        violations: list[dict[str, Any]] = await axe_violations(clerk)
        checked.append(name)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")

    for lang in ("de", "en"):
        await clerk.goto(f"{site.base}/staff/call/{site.reference}?lang={lang}")
        assert await clerk.is_visible("#identity-person-2")
        assert await clerk.is_visible("#item-1-person")
        await check(f"call page with persons {lang}")
        await clerk.check("#person-2")
        await clerk.check("#outcome")
        await clerk.click("#record-check")
        await clerk.wait_for_selector("#identity-form [data-desk-errors]")
        await check(f"call page with errors {lang}")
    assert len(checked) == 4, checked
    assert not failures, "\n\n".join(failures)
