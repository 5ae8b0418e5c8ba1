"""The office head's insights (``/admin/insights``) and their CSV files
(``/admin/insights/<table>.csv``), for admins.

A GET form chooses the office and the period; the page shows each table of ``insights.tables``
in the reader's language (German numbers, dates and amounts through the ``Translator``), with
an SVG bar chart above the tables that have one. The CSV files hold the same rows
machine-readable (a header row, ISO dates, dot decimals), like the admin API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user
from app.context import ctx
from app.templating import render, translator
from core.errors import DomainError, NotFound
from core.i18n import Translator
from core.types import utcnow
from insights.charts import Chart, bar_chart
from insights.period import office_choices
from insights.service import Insights, insights_for
from insights.tables import LABELS, TABLE_KEYS, Cell, Column, Table
from staff.service import visible_office_ids

# The tables drawn as a bar chart, by the column that gives the bars' lengths.
CHARTED = {"outcomes": "appointments", "channels": "booked", "services": "booked",
           "connections": "calls", "requests": "requests", "fees": "amount_cents",
           "feedback": "ratings"}
FIELDS = ("office_id", "from", "to")


def duration(t: Translator, seconds: int) -> str:
    """Minutes and seconds below an hour, hours below two days, days beyond."""
    if seconds < 3600:
        return t.gettext("%(minutes)s:%(seconds)s min", minutes=seconds // 60,
                         seconds=f"{seconds % 60:02d}")
    if seconds < 48 * 3600:
        return t.gettext("%(hours)s h", hours=t.number(seconds / 3600, 1))
    return t.gettext("%(days)s days", days=t.number(seconds / 86400, 1))


def cell_text(t: Translator, kind: str, value: Cell, unit: Cell = None) -> str:
    if value is None:
        return "–"
    if kind == "value":
        return cell_text(t, str(unit), value)
    if kind == "label":
        return t.gettext(LABELS.get(str(value), str(value)))
    if kind == "share" and isinstance(value, float | int):
        return t.percent(value)
    if kind == "seconds" and isinstance(value, int):
        return duration(t, value)
    if kind == "milliseconds" and isinstance(value, int):
        return t.gettext("%(seconds)s s", seconds=t.number(value / 1000, 1))
    if kind == "cents" and isinstance(value, int):
        return t.money(value)
    if kind == "number" and isinstance(value, float | int):
        return t.number(value, 2)
    if kind == "count" and isinstance(value, int):
        return t.number(value)
    return str(value)


def _numeric(value: Cell) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _chart(t: Translator, table: Table, insights: Insights) -> Chart | None:
    column = CHARTED.get(table.key)
    if column is None:
        return None
    index = [c.name for c in table.columns].index(column)
    kind = table.columns[index].kind
    first = table.columns[0]
    rows = [(cell_text(t, first.kind, row[0]), _numeric(row[index]),
             cell_text(t, kind, row[index])) for row in table.rows]
    p = insights.period
    summary = t.gettext("Bar chart of %(what)s, %(office)s, %(first)s to %(last)s.",
                        what=t.gettext(table.columns[index].title), office=p.office_name,
                        first=t.date(p.first, "medium"), last=t.date(p.last, "medium"))
    return bar_chart(table.key, t.gettext(table.title), rows, summary)


def _view(t: Translator, table: Table, insights: Insights, query: str) -> dict[str, Any]:
    """The table as the reader sees it: each value formatted by its kind (or, in a metric
    table, by its row's unit; the unit column itself is for machines and not shown)."""
    unit_at = next((i for i, c in enumerate(table.columns) if c.kind == "unit"), None)
    shown_columns = [c for c in table.columns if c.kind != "unit"]

    def shown(row: tuple[Cell, ...]) -> list[str]:
        unit = row[unit_at] if unit_at is not None else None
        return [cell_text(t, c.kind, v, unit) for c, v in zip(table.columns, row, strict=True)
                if c.kind != "unit"]

    def numeric(column: Column) -> bool:
        return column.kind not in ("label", "text")

    return {
        "key": table.key, "title": t.gettext(table.title),
        "columns": [(t.gettext(c.title), "num" if numeric(c) else "") for c in shown_columns],
        "numeric": [numeric(c) for c in shown_columns],
        "rows": [shown(row) for row in table.rows],
        "csv_url": f"/admin/insights/{table.key}.csv?{query}",
        "chart": _chart(t, table, insights),
    }


def _query(insights: Insights) -> str:
    p = insights.period
    return urlencode({"office_id": p.office_id, "from": p.first.isoformat(),
                      "to": p.last.isoformat()})


async def insights_page(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    t = translator(request)
    params = {name: request.query_params.get(name, "")[:40] for name in FIELDS}
    state = ctx(request)
    errors: dict[str, str] = {}
    status = 200
    found: Insights | None = None
    async with state.db.transaction() as session:
        offices = await office_choices(session, await visible_office_ids(session, user))
        try:
            found = await insights_for(session, user, params,
                                       max_days=state.settings.insights_max_days, now=utcnow())
        except DomainError as error:
            errors[error.field or "office_id"] = t.gettext(error.msgid, **error.params)
            status = error.status
    context: dict[str, Any] = {
        "section": "admin", "errors": errors, "values": params, "tables": [],
        "office_options": [(str(i), name) for i, name in offices],
    }
    if found is not None:
        p = found.period
        query = _query(found)
        context.update({
            "values": {"office_id": str(p.office_id), "from": p.first.isoformat(),
                       "to": p.last.isoformat()},
            "period": t.gettext("%(office)s, %(first)s to %(last)s", office=p.office_name,
                                first=t.date(p.first, "medium"), last=t.date(p.last, "medium")),
            "timezone": p.timezone,
            "tables": [_view(t, found.tables[key], found, query) for key in TABLE_KEYS],
            "api_url": f"/api/v1/admin/insights?{query}",
        })
    return render(request, "admin/insights.html", context, status)


async def insights_csv(request: Request) -> Response:
    user = await require_page_user(request, role="admin")
    key = request.path_params["table"]
    if key not in TABLE_KEYS:
        raise NotFound()
    state = ctx(request)
    params = {name: request.query_params.get(name, "")[:40] for name in FIELDS}
    async with state.db.transaction() as session:
        found = await insights_for(session, user, params,
                                   max_days=state.settings.insights_max_days, now=utcnow())
    p = found.period
    name = f"insights-{key}-{p.office_id}-{p.first.isoformat()}-{p.last.isoformat()}.csv"
    return Response(found.tables[key].csv(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    })


routes: list[BaseRoute] = [
    Route("/admin/insights", insights_page, methods=["GET"]),
    Route("/admin/insights/{table}.csv", insights_csv, methods=["GET"]),
]
