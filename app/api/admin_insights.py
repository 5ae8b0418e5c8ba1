"""The office's insights through the admin API: ``GET /api/v1/admin/insights``.

The same tables as the page and its CSV files (``insights.tables``), machine-readable: counts
and seconds as integers, shares as fractions, amounts in integer cents.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.openapi import operation
from app.api.schemas import QueryId
from app.auth import require_api_user
from app.context import ctx
from core.types import utcnow
from insights.service import insights_for
from insights.tables import TABLE_KEYS, as_json

Cell = int | float | str | None


class InsightsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    office_id: QueryId | None = Field(
        default=None, description="The office (default: the first one). 404 when unknown.")
    from_: dt.date | None = Field(
        default=None, alias="from",
        description="The first day (YYYY-MM-DD, the office's time zone; default: 1 January).")
    to: dt.date | None = Field(
        default=None, description="The last day, included (default: today). 400 when before "
        "`from` or when the period is longer than `BUERO_INSIGHTS_MAX_DAYS`.")


class InsightsOut(BaseModel):
    office_id: int
    office: str
    timezone: str
    from_: str = Field(alias="from", description="The first day, YYYY-MM-DD.")
    to: str = Field(description="The last day (included), YYYY-MM-DD.")
    tables: dict[str, list[dict[str, Cell]]] = Field(description=(
        "The tables by name (" + ", ".join(f"`{k}`" for k in TABLE_KEYS) + "), each a list "
        "of rows; the same rows as `/admin/insights/<name>.csv`. Counts and seconds are "
        "integers, shares fractions (0.125 is 12.5 %), amounts integer cents (EUR), "
        "labels stable codes; a figure without data is null."))


@operation(
    "An office's figures of a period: appointments by channel, service and outcome, video "
    "calls (waiting, set-up failures, relay share, duration), online requests, fees, feedback",
    tag="admin", auth="admin", query=InsightsQuery,
    responses={200: InsightsOut, 400: None, 401: None, 403: None, 404: None},
)
async def insights(request: Request) -> Response:
    user = await require_api_user(request, role="admin")
    state = ctx(request)
    params = {name: request.query_params.get(name, "")[:40] for name in ("office_id", "from",
                                                                         "to")}
    async with state.db.transaction() as session:
        found = await insights_for(session, user, params,
                                   max_days=state.settings.insights_max_days, now=utcnow())
    return JSONResponse(as_json(found.figures, list(found.tables.values())))


routes: list[BaseRoute] = [
    Route("/api/v1/admin/insights", insights, methods=["GET"]),
]
