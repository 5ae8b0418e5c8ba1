"""A small, fully known month of one office (March 2026, Europe/Berlin) and a little of a second
office, written directly: appointments of every channel and outcome, call records, online
requests, decided requests with fees, and feedback. ``EXPECTED`` is what the insights must say."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from booking.models import Appointment, Office, Service
from calls.models import CallRecord
from cases.models import Case
from online.models import OnlineRequest
from postcall.dispatch_models import Feedback
from tests.staff.helpers import context

UTC = dt.UTC
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def at(day: int, hour: int = 9, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    office: int
    other_office: int


def _appointment(office: int, service: int, start: dt.datetime, status: str,
                 channel: str = "video") -> Appointment:
    return Appointment(
        reference="I-" + secrets.token_hex(5).upper(), office_id=office, service_id=service,
        start_at=start, end_at=start + dt.timedelta(minutes=15), status=status,
        channel=channel, given_name="Erika", family_name="Mustermann",
        email="erika@example.org", email_norm="erika@example.org",
        link_nonce=secrets.token_hex(16), token_hash=secrets.token_hex(32),
        link_expires_at=start + dt.timedelta(days=30), ics_uid=secrets.token_hex(8))


def _case(office: int, service: int, **fields: Any) -> Case:
    return Case(reference="C-" + secrets.token_hex(5).upper(), office_id=office,
                service_id=service, **fields)


def _decided(office: int, service: int, completed_at: dt.datetime, cents: int,
             payment_status: str) -> Case:
    return _case(office, service, state="completed", revision=1,
                 case_number=f"2026-{secrets.randbelow(10**9):09d}", completed_at=completed_at,
                 amount_cents=cents, payment="invoice" if cents else "none",
                 payment_status=payment_status, delivery="pickup",
                 dispatch_status="not_required")


def _request(case_id: int, status: str, received: dt.datetime | None,
             decided: dt.datetime | None, due: dt.datetime | None) -> OnlineRequest:
    return OnlineRequest(case_id=case_id, status=status, link_nonce=secrets.token_hex(16),
                         token_hash=secrets.token_hex(32), email_norm="max@example.org",
                         received_at=received, decided_at=decided, due_at=due)


async def seed_month(app: Starlette) -> Seeded:
    async with context(app).db.transaction(write=True) as session:
        a, b = Office(name="Bürgerbüro Mitte"), Office(name="Bürgerbüro Nord")
        s1, s2 = Service(name="Meldebescheinigung"), Service(name="Personalausweis")
        session.add_all([a, b, s1, s2])
        await session.flush()
        assert a.id and b.id and s1.id and s2.id
        o, s, t = a.id, s1.id, s2.id
        # Appointments of office A: video (S1) 3 completed, 1 no-show, 1 cancelled, 1 lapsed;
        # one completed at 00:30 on 1 March in Berlin (23:30 UTC the day before): in; on
        # site (S2) 1 completed, 1 confirmed; by phone (S1) 1 cancelled.
        video = [_appointment(o, s, at(day), "completed") for day in (10, 11, 12)]
        first = _appointment(o, s, dt.datetime(2026, 2, 28, 23, 30, tzinfo=UTC), "completed")
        onsite = _appointment(o, t, at(13), "completed", "onsite")
        rows = [*video, first, onsite,
                _appointment(o, s, at(14), "no_show"), _appointment(o, s, at(15), "cancelled"),
                _appointment(o, s, at(16), "expired"),
                _appointment(o, t, at(17), "confirmed", "onsite"),
                _appointment(o, s, at(18), "cancelled", "phone"),
                # Out: 1 April 00:30 in Berlin (summer time); another office; February.
                _appointment(o, s, dt.datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "completed"),
                _appointment(b.id, s, at(10), "completed"),
                _appointment(o, s, at(27, month=2), "completed")]
        session.add_all(rows)
        await session.flush()
        ids = [r.id for r in (*video, first)]
        assert all(ids)
        # Waits 30, 90, 600, 10 s; calls 600, 300, (not ended), 900 s; direct, relay, never.
        for appointment_id, wait, length, route, setup, failures in zip(ids, (
                30, 90, 600, 10), (600, 300, None, 900), ("direct", "relay", None, "direct"),
                (1200, 2500, None, 800), (0, 1, 2, 0), strict=True):
            session.add(CallRecord(appointment_id=appointment_id, waiting_at=at(10),
                                   admitted_at=at(10), started_at=at(10), wait_seconds=wait,
                                   call_seconds=length, route=route, setup_ms=setup,
                                   setup_failures=failures))
        for appointment, rating in zip((*video, first), (5, 5, 4, 2), strict=True):
            assert appointment.id is not None
            session.add(Feedback(appointment_id=appointment.id, office_id=o, rating=rating,
                                 created_at=appointment.start_at + dt.timedelta(hours=1)))
        other = rows[-2]  # office B's
        assert other.id is not None
        session.add(Feedback(appointment_id=other.id, office_id=b.id, rating=1,
                             created_at=at(10)))
        # Online requests: received 2, 5, 25, 28 March; decided 4 (completed), 20 (rejected,
        # after its due day), 3 March (received in February); one still open past its due day.
        requests = [
            ("completed", at(2), at(4), at(10)),
            ("rejected", at(5), at(20), at(15)),
            ("in_progress", at(25), None, at(27)),
            ("completed", at(20, month=2), at(3), at(6)),
            ("received", at(28), None, dt.datetime(2030, 1, 1, tzinfo=UTC)),
        ]
        cases = [_case(o, s, channel="online") for _ in requests]
        session.add_all(cases)
        await session.flush()
        for case, (status, received, decided, due) in zip(cases, requests, strict=True):
            assert case.id is not None
            session.add(_request(case.id, status, received, decided, due))
        # Fees of requests decided in March: 12.50 paid, 30.00 open, 5.00 refunded, one
        # without a fee; out: decided in April, another office.
        session.add_all([
            _decided(o, s, at(5), 1250, "paid"), _decided(o, s, at(6), 3000, "open"),
            _decided(o, s, at(7), 500, "refunded"), _decided(o, s, at(8), 0, "not_required"),
            _decided(o, s, at(2, month=4), 9999, "paid"), _decided(b.id, s, at(5), 700, "paid"),
        ])
        return Seeded(o, b.id)


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "outcomes": [
        {"outcome": "attended", "appointments": 5, "share": 0.5},
        {"outcome": "open", "appointments": 1, "share": 0.1},
        {"outcome": "no_show", "appointments": 1, "share": 0.1},
        {"outcome": "cancelled", "appointments": 2, "share": 0.2},
        {"outcome": "lapsed", "appointments": 1, "share": 0.1},
    ],
    "channels": [
        {"channel": "video", "booked": 6, "attended": 4, "cancelled": 1, "no_show": 1},
        {"channel": "onsite", "booked": 2, "attended": 1, "cancelled": 0, "no_show": 0},
        {"channel": "phone", "booked": 1, "attended": 0, "cancelled": 1, "no_show": 0},
    ],
    "services": [
        {"service": "Meldebescheinigung", "booked": 7, "attended": 4, "cancelled": 2,
         "no_show": 1},
        {"service": "Personalausweis", "booked": 2, "attended": 1, "cancelled": 0,
         "no_show": 0},
    ],
    "connections": [
        {"connection": "direct", "calls": 2, "share": 0.5},
        {"connection": "relay", "calls": 1, "share": 0.25},
        {"connection": "never_connected", "calls": 1, "share": 0.25},
    ],
    "durations": [
        {"measure": "waiting", "count": 4, "median_seconds": 30, "p90_seconds": 600},
        {"measure": "call", "count": 3, "median_seconds": 600, "p90_seconds": 900},
        {"measure": "processing", "count": 3, "median_seconds": 11 * 86400,
         "p90_seconds": 15 * 86400},
    ],
    "requests": [
        {"status": "received", "requests": 4}, {"status": "completed", "requests": 2},
        {"status": "rejected", "requests": 1}, {"status": "still_open", "requests": 2},
        {"status": "overdue", "requests": 2},
    ],
    "fees": [
        {"kind": "charged", "cases": 3, "amount_cents": 4750},
        {"kind": "paid", "cases": 1, "amount_cents": 1250},
        {"kind": "open", "cases": 1, "amount_cents": 3000},
        {"kind": "refunded", "cases": 1, "amount_cents": 500},
    ],
    "feedback": [
        {"rating": 5, "ratings": 2, "share": 0.5}, {"rating": 4, "ratings": 1, "share": 0.25},
        {"rating": 3, "ratings": 0, "share": 0.0}, {"rating": 2, "ratings": 1, "share": 0.25},
        {"rating": 1, "ratings": 0, "share": 0.0},
    ],
}

KEY_FIGURES = {
    "appointments": 10, "booked": 9, "cancelled_share": 0.2222, "no_show_share": 0.1111,
    "calls_started": 4, "setup_failure_share": 0.5,
    "relay_share": 0.3333, "setup_median_ms": 1200, "wait_median_seconds": 30,
    "wait_p90_seconds": 600, "call_median_seconds": 600, "requests_received": 4,
    "requests_decided": 3, "requests_overdue": 2, "fees_charged_cents": 4750,
    "fees_paid_cents": 1250, "feedback_count": 4, "feedback_average": 4.0,
}
