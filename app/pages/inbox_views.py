"""What the clerk's inbox of online requests shows (``/staff/requests``): its tabs with their
counts, the filters and one row per request, in plain words of the page's language.

The requests come from ``online.inbox`` (the same query as the API's
``GET /api/v1/clerk/requests``); this module only turns them into texts. A row's ``live()``
is what the inbox's event stream compares and sends (``app/pages/inbox.py``,
``static/js/inbox-live.js``). Message ids are English, translated in
``core/locales/de/LC_MESSAGES/inbox.po``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.catalog import service_name
from booking.models import Office
from core.i18n import Translator
from core.messages import N_
from online import catalogue
from online.inbox import PAGE, Entry, Filter, View, inbox
from online.models import OPEN_STATUSES, RequestStatus
from staff.models import StaffUser
from staff.service import visible_office_ids

STATUS_LABELS: dict[str, str] = {
    RequestStatus.submitted: N_("Not yet confirmed"),
    RequestStatus.received: N_("Received"),
    RequestStatus.in_progress: N_("In progress"),
    RequestStatus.waiting_for_citizen: N_("Waiting for the citizen"),
    RequestStatus.completed: N_("Completed"),
    RequestStatus.rejected: N_("Rejected"),
    RequestStatus.withdrawn: N_("Withdrawn by the citizen"),
    RequestStatus.expired: N_("Not confirmed in time"),
}
STATUS_KINDS: dict[str, str] = {
    RequestStatus.received: "info",
    RequestStatus.in_progress: "info",
    RequestStatus.waiting_for_citizen: "warning",
    RequestStatus.completed: "success",
    RequestStatus.rejected: "danger",
}
# The tabs, in the order shown.
TABS: tuple[tuple[View, str], ...] = (
    (View.new, N_("New")),
    (View.mine, N_("Mine")),
    (View.waiting, N_("Waiting for citizen")),
    (View.overdue, N_("Overdue")),
    (View.open, N_("All open")),
    (View.closed, N_("Closed")),
)
DEFAULT_VIEW = View.open


def status_label(t: Translator, status: str) -> str:
    return t.gettext(STATUS_LABELS.get(status, status))


def citizen_name(t: Translator, entry_case: Any, anonymous: bool) -> str:
    name = f"{entry_case.given_name} {entry_case.family_name}".strip()
    return name if name and not anonymous else t.gettext("Anonymous")


@dataclass(frozen=True)
class Row:
    reference: str
    service: str
    citizen: str
    office: str
    submitted: str
    due: str
    overdue: bool
    status: str
    label: str
    kind: str
    attention: bool
    assigned: str

    def live(self) -> dict[str, Any]:
        """What the event stream compares and sends of a row."""
        return {"reference": self.reference, "status": self.status, "label": self.label,
                "attention": self.attention, "overdue": self.overdue,
                "assigned": self.assigned, "citizen": self.citizen, "service": self.service}


def row_of(t: Translator, entry: Entry, now: datetime) -> Row:
    request, tz = entry.request, entry.office.timezone
    due = request.due_at
    return Row(
        reference=entry.case.reference,
        service=service_name(entry.service, t.lang),
        citizen=citizen_name(t, entry.case, request.anonymous),
        office=entry.office.name,
        submitted=t.datetime(request.submitted_at, tz, "short"),
        due=t.date(due.astimezone(ZoneInfo(tz)).date(), "medium") if due else "",
        overdue=due is not None and request.status in OPEN_STATUSES and due < now,
        status=request.status,
        label=status_label(t, request.status),
        kind=STATUS_KINDS.get(request.status, "neutral"),
        attention=request.needs_attention,
        assigned=request.assigned_label,
    )


@dataclass(frozen=True)
class Tab:
    view: str
    label: str
    count: str
    url: str
    current: bool


@dataclass
class InboxData:
    """One view of the inbox with its filters, as the page and the event stream show it."""

    view: View
    office_id: int | None
    service_id: int | None
    status: str | None
    office_options: list[tuple[str, str]]
    service_options: list[tuple[str, str]]
    status_options: list[tuple[str, str]]
    has_offices: bool
    counts: dict[str, str]
    rows: list[Row]

    def params(self, **extra: str) -> dict[str, str]:
        """The filters as query parameters (without the view), for links and the stream."""
        pairs = {"office_id": self.office_id, "service_id": self.service_id,
                 "status": self.status}
        return {**{k: str(v) for k, v in pairs.items() if v is not None}, **extra}

    def query(self, **extra: str) -> str:
        return urlencode({"view": self.view.value, **self.params(**extra)})

    def tabs(self, t: Translator) -> list[Tab]:
        return [Tab(view.value, t.gettext(label), self.counts.get(view.value, "0"),
                    "/staff/requests?" + urlencode({"view": view.value, **self.params()}),
                    view == self.view)
                for view, label in TABS]

    @property
    def show_office(self) -> bool:
        return len(self.office_options) > 1 and self.office_id is None

    def live(self) -> dict[str, Any]:
        return {"counts": self.counts, "rows": [r.live() for r in self.rows]}


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 9 else None


def _count(found: int) -> str:
    return f"{PAGE}+" if found >= PAGE else str(found)


async def load_inbox(session: AsyncSession, t: Translator, user: StaffUser,
                     query: dict[str, str], now: datetime) -> InboxData:
    """The view and filters ``query`` asks for (unknown values fall back to the defaults; an
    office of someone else's is 403, as in the API), with each tab's count."""
    if session.get_bind().dialect.name == "postgresql":
        # One snapshot for every tab's count and the rows (a request confirmed between two of
        # the queries would otherwise be counted in one tab and not yet in another).
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    views = {v.value: v for v in View}
    view = views.get(query.get("view", ""), DEFAULT_VIEW)
    office_id, service_id = _number(query.get("office_id")), _number(query.get("service_id"))
    status = query.get("status") or None
    if status not in {s.value for s in RequestStatus} - {RequestStatus.submitted.value}:
        status = None
    office_ids = await visible_office_ids(session, user)
    offices = [o for o in [await session.get(Office, i) for i in office_ids] if o]
    offered = [o for o in await catalogue.online_services(session)
               if set(o.office_ids) & set(office_ids)]
    if service_id is not None and service_id not in {o.service.id for o in offered}:
        service_id = None
    counts: dict[str, str] = {}
    rows: list[Row] = []
    for tab, _label in TABS:
        entries = await inbox(session, user, Filter(view=tab, office_id=office_id,
                                                     service_id=service_id), now)
        counts[tab.value] = _count(len(entries))
        if tab == view and status is None:
            rows = [row_of(t, e, now) for e in entries]
    if status is not None or view not in dict(TABS):
        entries = await inbox(session, user, Filter(view=view, status=status,
                                                    office_id=office_id,
                                                    service_id=service_id), now)
        rows = [row_of(t, e, now) for e in entries]
    return InboxData(
        view=view, office_id=office_id, service_id=service_id, status=status,
        office_options=[(str(o.id), o.name) for o in sorted(offices, key=lambda o: o.name)],
        service_options=[(str(o.service.id), service_name(o.service, t.lang))
                         for o in offered],
        status_options=[(s.value, status_label(t, s.value)) for s in RequestStatus
                        if s != RequestStatus.submitted],
        has_offices=bool(office_ids), counts=counts, rows=rows,
    )
