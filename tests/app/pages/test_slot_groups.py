"""The slot list of the booking flow: morning, afternoon and evening (from 18:00), office time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.pages.citizen_views import slot_groups
from booking.availability import Slot
from booking.models import Office
from core.i18n import I18n


def test_slots_fall_into_morning_afternoon_and_evening() -> None:
    office = Office(name="Bürgerbüro", timezone="Europe/Berlin")
    # 2026-12-07 is CET (UTC+1): 10:00, 14:00, 17:45, 18:00 and 19:15 office time.
    starts = [datetime(2026, 12, 7, h, m, tzinfo=UTC) for h, m in
              ((9, 0), (13, 0), (16, 45), (17, 0), (18, 15))]
    slots = [Slot(s, s + timedelta(minutes=15)) for s in starts]
    groups = slot_groups(I18n().translator("de"), slots, office)
    assert [(g["id"], g["label"], [o["title"] for o in g["options"]]) for g in groups] == [
        ("morning", "Vormittags", ["10:00"]),
        ("afternoon", "Nachmittags", ["14:00", "17:45"]),
        ("evening", "Abends", ["18:00", "19:15"]),
    ]
    assert [g["id"] for g in slot_groups(I18n().translator("de"), slots[:1], office)] == [
        "morning"]
