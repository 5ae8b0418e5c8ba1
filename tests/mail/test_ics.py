"""The calendar file, read back with an independent parser (vobject)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject

from booking.ics import build_ics, method_for
from booking.links import LinkKeys
from booking.models import AppointmentStatus

from . import factories

LINKS = LinkKeys(b"ics-test-key")
BERLIN = ZoneInfo("Europe/Berlin")


def _rows(start: datetime, **kwargs: object):  # type: ignore[no-untyped-def]
    office = factories.office(id=1)
    service = factories.service(id=2)
    appointment, _ = factories.appointment(
        office, service, LINKS, start=start, created_at=start - timedelta(days=3),
        updated_at=start - timedelta(days=3), **kwargs,
    )
    return appointment, office, service


def _parse(data: bytes) -> vobject.base.Component:
    return vobject.readOne(data.decode("utf-8"))


@pytest.mark.parametrize(
    ("utc_start", "local_hhmm"),
    [
        # Last Sunday of March 2026: clocks go from 02:00 CET to 03:00 CEST (UTC+2 after).
        (datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "20260329T100000"),
        # The Saturday before: still winter time (UTC+1).
        (datetime(2026, 3, 28, 9, 0, tzinfo=UTC), "20260328T100000"),
        # Last Sunday of October 2026: back from 03:00 CEST to 02:00 CET (UTC+1 after).
        (datetime(2026, 10, 25, 9, 0, tzinfo=UTC), "20261025T100000"),
        # The Saturday before: still summer time.
        (datetime(2026, 10, 24, 8, 0, tzinfo=UTC), "20261024T100000"),
        # An ordinary winter day and an ordinary summer day.
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "20261123T090000"),
        (datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "20260701T143000"),
    ],
)
def test_local_wall_time_with_tzid_on_dst_days(utc_start: datetime, local_hhmm: str) -> None:
    appointment, office, service = _rows(utc_start)
    data = build_ics(appointment, office, service, method="REQUEST",
                     link_url="https://buero.example/t/abc", lang="de")
    text = data.decode()
    assert f"DTSTART;TZID=Europe/Berlin:{local_hhmm}\r\n" in text

    cal = _parse(data)
    assert cal.method.value == "REQUEST"
    assert cal.vtimezone.tzid.value == "Europe/Berlin"
    event = cal.vevent
    start = event.dtstart.value
    end = event.dtend.value
    # vobject builds its own tzinfo from our VTIMEZONE: this checks the VTIMEZONE itself.
    assert start.tzinfo is not None
    assert start.strftime("%Y%m%dT%H%M%S") == local_hhmm
    assert start.astimezone(UTC) == utc_start
    assert end.astimezone(UTC) == utc_start + timedelta(minutes=15)
    assert start.utcoffset() == utc_start.astimezone(BERLIN).utcoffset()


def test_vtimezone_onsets_match_the_real_transitions() -> None:
    appointment, office, service = _rows(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    cal = _parse(build_ics(appointment, office, service, method="REQUEST", link_url=None,
                           lang="de"))
    tz = cal.vtimezone.gettzinfo()
    # Around both 2026 changes, every quarter hour, vobject's zone agrees with tzdata.
    for day in (datetime(2026, 3, 28, 22, tzinfo=UTC), datetime(2026, 10, 24, 22, tzinfo=UTC)):
        for quarter in range(4 * 8):
            instant = day + timedelta(minutes=15 * quarter)
            assert instant.astimezone(tz).utcoffset() == instant.astimezone(BERLIN).utcoffset(), (
                instant
            )


def test_content_uid_sequence_and_link() -> None:
    appointment, office, service = _rows(datetime(2026, 11, 23, 8, 0, tzinfo=UTC), sequence=0)
    link = "https://buero.example/t/TOKEN123"
    first = _parse(build_ics(appointment, office, service, method="REQUEST", link_url=link,
                             lang="de", organizer="buergerbuero@stadt.example"))
    event = first.vevent
    assert event.uid.value == appointment.ics_uid
    assert event.sequence.value == "0"
    assert event.status.value == "CONFIRMED"
    assert event.summary.value == "Video-Termin: Meldebescheinigung"
    assert link in event.description.value
    assert "Personalausweis" in event.description.value
    assert event.url.value == link
    assert event.location.value == link
    assert event.organizer.value == "mailto:buergerbuero@stadt.example"
    assert event.attendee.value == "mailto:erika.mustermann@example.org"
    assert event.dtstamp.value.tzinfo is not None

    # Rescheduled: same UID, higher SEQUENCE, new time.
    appointment.ics_sequence = 1
    appointment.start_at += timedelta(days=1, hours=2)
    appointment.end_at += timedelta(days=1, hours=2)
    moved = _parse(build_ics(appointment, office, service, method="REQUEST", link_url=link,
                             lang="en"))
    assert moved.vevent.uid.value == event.uid.value
    assert int(moved.vevent.sequence.value) > int(event.sequence.value)
    assert moved.vevent.dtstart.value.strftime("%H:%M") == "11:00"
    assert moved.vevent.summary.value == "Video appointment: Registration certificate"
    assert "ID card or passport" in moved.vevent.description.value

    # Cancelled: METHOD:CANCEL, STATUS:CANCELLED, same UID, SEQUENCE up again.
    appointment.ics_sequence = 2
    appointment.status = AppointmentStatus.cancelled
    cancel = _parse(build_ics(appointment, office, service, method=method_for(appointment),
                              link_url=link, lang="de"))
    assert cancel.method.value == "CANCEL"
    assert cancel.vevent.status.value == "CANCELLED"
    assert cancel.vevent.uid.value == event.uid.value
    assert cancel.vevent.sequence.value == "2"
    assert "abgesagt" in cancel.vevent.description.value
    assert not hasattr(cancel.vevent, "valarm")


def test_office_email_is_the_organizer_by_default_and_unknown_method_is_refused() -> None:
    appointment, office, service = _rows(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    cal = _parse(build_ics(appointment, office, service, method="REQUEST", link_url=None,
                           lang="de"))
    assert cal.vevent.organizer.value == f"mailto:{office.email}"
    assert "Video-Termin" in cal.vevent.location.value
    assert not hasattr(cal.vevent, "url")
    with pytest.raises(ValueError):
        build_ics(appointment, office, service, method="PUBLISH", link_url=None, lang="de")


def test_other_zone() -> None:
    appointment, office, service = _rows(datetime(2026, 3, 8, 15, 0, tzinfo=UTC))
    office.timezone = "America/New_York"  # DST starts 2026-03-08 at 02:00 EST
    data = build_ics(appointment, office, service, method="REQUEST", link_url=None, lang="en")
    assert b"DTSTART;TZID=America/New_York:20260308T110000" in data
    start = _parse(data).vevent.dtstart.value
    assert start.astimezone(UTC) == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)


def test_a_held_appointment_is_tentative_until_confirmed() -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    held_row, office, service = _rows(start, status=AppointmentStatus.reserved)
    held = _parse(build_ics(held_row, office, service, method="REQUEST", link_url=None,
                            lang="de"))
    assert held.vevent.status.value == "TENTATIVE"
    confirmed_row, office, service = _rows(start, status=AppointmentStatus.confirmed)
    confirmed = _parse(build_ics(confirmed_row, office, service, method="REQUEST",
                                 link_url=None, lang="de"))
    assert confirmed.vevent.status.value == "CONFIRMED"
