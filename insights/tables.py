"""The figures laid out as named tables: what the page shows (formatted in the reader's
language), what each CSV file holds and what the admin API answers, so all three agree.

A cell is machine-readable: counts and seconds are integers, shares are fractions (0.125 for
12.5 %) rounded to four places, amounts of money are integer cents (as everywhere in the
API), labels are stable codes (``video``, ``no_show``) that the page translates.
Metric tables (``key_figures``) name each row's unit in a column of their own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from core.messages import N_
from insights.figures import BOOKED, CHANNELS, OUTCOMES, Figures, Spread

Cell = int | float | str | None


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # label | text | count | share | seconds | cents | rating | value (by the unit)
    title: str  # message id


@dataclass(frozen=True)
class Table:
    key: str
    title: str  # message id
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]

    def records(self) -> list[dict[str, Cell]]:
        names = [c.name for c in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def csv(self) -> str:
        """A header row of the column names, then the rows (ISO dates, dot decimals)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.name for c in self.columns])
        writer.writerows(["" if cell is None else cell for cell in row] for row in self.rows)
        return out.getvalue()


LABELS: dict[str, str] = {
    "video": N_("By video"), "onsite": N_("On site at the office"), "phone": N_("By phone"),
    "attended": N_("Attended"), "open": N_("Booked, not yet held"), "no_show": N_("Missed"),
    "cancelled": N_("Cancelled"), "lapsed": N_("Reservation lapsed"),
    "direct": N_("Connected directly"), "relay": N_("Connected through the relay (TURN)"),
    "never_connected": N_("Never connected"),
    "waiting": N_("From waiting to admitted"), "call": N_("Duration of the call"),
    "processing": N_("Processing of online requests (received to decided)"),
    "received": N_("Received"), "completed": N_("Completed"), "rejected": N_("Rejected"),
    "still_open": N_("Not decided yet"), "overdue": N_("Overdue"),
    "charged": N_("Charged"), "paid": N_("Paid"), "refunded": N_("Refunded"),
    "appointments": N_("Appointments"), "booked": N_("Booked appointments"),
    "cancelled_share": N_("Booked appointments cancelled"),
    "no_show_share": N_("Booked appointments missed"),
    "calls_started": N_("Video calls started"),
    "setup_failure_share": N_("Calls with a failed connection set-up"),
    "relay_share": N_("Connected calls through the relay (TURN)"),
    "setup_median_ms": N_("Connection set-up time (median)"),
    "wait_median_seconds": N_("Waiting until admitted (median)"),
    "wait_p90_seconds": N_("Waiting until admitted (90 % within)"),
    "call_median_seconds": N_("Duration of the call (median)"),
    "requests_received": N_("Online requests received"),
    "requests_decided": N_("Online requests decided"),
    "requests_overdue": N_("Online requests overdue"),
    "fees_charged_cents": N_("Fees charged"), "fees_paid_cents": N_("Fees paid"),
    "feedback_count": N_("Ratings"), "feedback_average": N_("Average rating (1 to 5)"),
}

# The tables in the page's order; the CSV paths are /admin/insights/<key>.csv.
TABLE_KEYS = ("key_figures", "outcomes", "channels", "services", "connections", "durations",
              "requests", "fees", "feedback")


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _key_figures(f: Figures) -> Table:
    c, r = f.calls, f.requests
    connected = sum(c.connected.values())
    ratings = sum(f.ratings.values())
    average = (round(sum(k * n for k, n in f.ratings.items()) / ratings, 2) if ratings
               else None)
    rows: list[tuple[Cell, ...]] = [
        ("appointments", f.appointments, "count"),
        ("booked", f.booked, "count"),
        ("cancelled_share", share(f.outcomes["cancelled"], f.booked), "share"),
        ("no_show_share", share(f.outcomes["no_show"], f.booked), "share"),
        ("calls_started", c.started, "count"),
        ("setup_failure_share", share(c.setup_failed, c.reported), "share"),
        ("relay_share", share(c.connected["relay"], connected), "share"),
        ("setup_median_ms", c.setup.median, "milliseconds"),
        ("wait_median_seconds", c.waiting.median, "seconds"),
        ("wait_p90_seconds", c.waiting.p90, "seconds"),
        ("call_median_seconds", c.duration.median, "seconds"),
        ("requests_received", r.received, "count"),
        ("requests_decided", sum(r.decided.values()), "count"),
        ("requests_overdue", r.overdue, "count"),
        ("fees_charged_cents", f.fees["charged"][1], "cents"),
        ("fees_paid_cents", f.fees["paid"][1], "cents"),
        ("feedback_count", ratings, "count"),
        ("feedback_average", average, "number"),
    ]
    return Table("key_figures", N_("Key figures"), (
        Column("metric", "label", N_("Figure")), Column("value", "value", N_("Value")),
        Column("unit", "unit", N_("Unit"))), rows)


def build(f: Figures) -> dict[str, Table]:
    """Every table of the figures, by key, in the page's order."""
    c, r = f.calls, f.requests
    total = f.appointments
    tables = [
        _key_figures(f),
        Table("outcomes", N_("What became of the appointments"), (
            Column("outcome", "label", N_("Outcome")),
            Column("appointments", "count", N_("Appointments")),
            Column("share", "share", N_("Share"))),
            [(o, f.outcomes[o], share(f.outcomes[o], total)) for o in OUTCOMES]),
        Table("channels", N_("Appointments by channel"), (
            Column("channel", "label", N_("Channel")), *_OUTCOME_COLUMNS),
            [(ch, *_counts(f.channels[ch].outcomes)) for ch in CHANNELS]),
        Table("services", N_("Appointments by service"), (
            Column("service", "text", N_("Service")), *_OUTCOME_COLUMNS),
            [(b.label, *_counts(b.outcomes)) for b in f.services]),
        Table("connections", N_("How the video calls connected"), (
            Column("connection", "label", N_("Connection")),
            Column("calls", "count", N_("Calls")), Column("share", "share", N_("Share"))),
            [(k, n, share(n, c.reported)) for k, n in (
                ("direct", c.connected["direct"]), ("relay", c.connected["relay"]),
                ("never_connected", c.never_connected))]),
        Table("durations", N_("How long it took"), (
            Column("measure", "label", N_("Measure")), Column("count", "count", N_("Count")),
            Column("median_seconds", "seconds", N_("Median")),
            Column("p90_seconds", "seconds", N_("90 % within"))),
            [_spread("waiting", c.waiting), _spread("call", c.duration),
             _spread("processing", r.processing)]),
        Table("requests", N_("Online requests"), (
            Column("status", "label", N_("Status")),
            Column("requests", "count", N_("Requests"))), [
            ("received", r.received), ("completed", r.decided["completed"]),
            ("rejected", r.decided["rejected"]), ("still_open", r.still_open),
            ("overdue", r.overdue)]),
        Table("fees", N_("Fees"), (
            Column("kind", "label", N_("Fees")), Column("cases", "count", N_("Requests")),
            Column("amount_cents", "cents", N_("Amount"))),
            [(k, f.fees[k][0], f.fees[k][1])
             for k in ("charged", "paid", "open", "refunded")]),
        Table("feedback", N_("Feedback ratings"), (
            Column("rating", "rating", N_("Rating")), Column("ratings", "count", N_("Ratings")),
            Column("share", "share", N_("Share"))),
            [(k, f.ratings[k], share(f.ratings[k], sum(f.ratings.values())))
             for k in range(5, 0, -1)]),
    ]
    return {t.key: t for t in tables}


_OUTCOME_COLUMNS = (
    Column("booked", "count", N_("Booked")), Column("attended", "count", N_("Attended")),
    Column("cancelled", "count", N_("Cancelled")), Column("no_show", "count", N_("Missed")),
)


def _counts(outcomes: dict[str, int]) -> tuple[int, ...]:
    booked = sum(n for o, n in outcomes.items() if o in BOOKED)
    return booked, outcomes.get("attended", 0), outcomes.get("cancelled", 0), \
        outcomes.get("no_show", 0)


def _spread(key: str, spread: Spread) -> tuple[Cell, ...]:
    return key, spread.count, spread.median, spread.p90


def as_json(f: Figures, tables: Sequence[Table]) -> dict[str, object]:
    p = f.period
    return {
        "office_id": p.office_id, "office": p.office_name, "timezone": p.timezone,
        "from": p.first.isoformat(), "to": p.last.isoformat(),
        "tables": {t.key: t.records() for t in tables},
    }
