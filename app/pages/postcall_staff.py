"""Staff pages after the call: the print room's dispatch queue (``/staff/dispatch``) with the
day's batch (duplex PDF and CSV manifest), marking it printed and posted, moving single letters
on and taking down a postal address; and the admins' feedback results (``/admin/feedback``).

Downloads and marks name the highest letter id the page showed (``upto``): a letter queued
after the page was opened is neither printed nor marked unseen.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.routing import ID
from app.auth import require_page_user
from app.context import ctx, print_room_takes_all
from app.pages.forms import read_form
from app.pages.staff_http import error_message, redirect
from app.templating import render, translator
from booking.lookup import find_appointment
from booking.models import Office
from core.errors import DomainError
from core.types import parse_day
from postcall import dispatch as dispatching
from postcall import feedback as feedbacks
from postcall.dispatch_models import Dispatch, DispatchState
from postcall.print_room import batch_files, default_day, office_list
from staff.models import StaffUser
from staff.service import staff_actor, visible_office_ids

STATUS_LABELS = {
    "queued": "Queued",
    "printed": "Printed",
    "posted": "Handed to the post",
    "delivered": "Delivered",
    "returned": "Returned",
    "cancelled": "Cancelled",
}
STATUS_KINDS = {"queued": "warning", "printed": "info", "posted": "success",
                "delivered": "success", "returned": "danger", "cancelled": "neutral"}
NOTICES = ("printed", "posted", "status", "address")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _day(value: str | None) -> dt.date | None:
    try:
        return parse_day(value) if value else None
    except ValueError:
        return None


async def _scope(request: Request, user: StaffUser, params: Any) -> tuple[
    list[Office], list[int], int | None, dt.date
]:
    async with ctx(request).db.transaction() as session:
        visible = await visible_office_ids(session, user)
        offices = await office_list(session, visible)
    office_id = _int(params.get("office_id"))
    chosen = [office_id] if office_id in visible and office_id is not None else visible
    day = _day(params.get("date")) or default_day(offices)
    return offices, chosen, office_id if office_id in visible else None, day


def _query(day: dt.date, office_id: int | None, upto: int | None = None) -> str:
    params: dict[str, str] = {"date": day.isoformat()}
    if office_id is not None:
        params["office_id"] = str(office_id)
    if upto is not None:
        params["upto"] = str(upto)
    return urlencode(params)


async def dispatch_page(request: Request) -> Response:
    user = await require_page_user(request)
    t = translator(request)
    state = ctx(request)
    offices, office_ids, office_id, day = await _scope(request, user, request.query_params)
    async with state.db.transaction() as session:
        batch = await dispatching.batch_members(session, office_ids, day,
                                                unassigned=print_room_takes_all(state))
        queue = await dispatching.list_dispatches(session, office_ids, limit=200)
    upto = max((row.dispatch.id or 0 for row in batch), default=None)

    def row_view(row: dispatching.DispatchRow) -> dict[str, Any]:
        d = row.dispatch
        return {
            "id": d.id, "case_number": row.case_number, "reference": row.reference,
            "name": row.recipient_name, "address": ", ".join(row.address_lines),
            "complete": bool(row.address_lines), "status": d.status,
            "status_label": t.gettext(STATUS_LABELS.get(d.status, d.status)),
            "status_kind": STATUS_KINDS.get(d.status, "neutral"),
            "batch_date": t.date(d.batch_date, "medium"),
            "next": [(s, t.gettext(STATUS_LABELS[s]))
                     for s in ("printed", "posted", "delivered", "returned", "cancelled")
                     if s in dispatching.TRANSITIONS[d.status]],
            "provider": d.provider,
        }

    notice = request.query_params.get("done", "")
    return render(request, "staff/dispatch.html", {
        "section": "dispatch", "day": day, "day_label": t.date(day, "full"),
        "office_id": office_id, "office_options": [(str(o.id), o.name) for o in offices],
        "batch": [row_view(r) for r in batch], "queue": [row_view(r) for r in queue],
        "queued_in_batch": sum(r.dispatch.status == DispatchState.queued for r in batch),
        "printed_in_batch": sum(r.dispatch.status == DispatchState.printed for r in batch),
        "query": _query(day, office_id, upto), "upto": upto,
        "hybrid": state.settings.dispatch_provider == "hybrid",
        "done": notice if notice in NOTICES else "",
        "error": request.query_params.get("error", "") == "illegal",
        "prev_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat(),
    })


async def _download(request: Request, kind: str) -> Response:
    user = await require_page_user(request)
    _, office_ids, _, day = await _scope(request, user, request.query_params)
    files = await batch_files(ctx(request).db, office_ids, day,
                              takes_all=print_room_takes_all(ctx(request)),
                              upto=_int(request.query_params.get("upto")))
    name = f"druckstapel-{day.isoformat()}"
    if kind == "csv":
        return Response(files.manifest, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store"})
    if files.batch is None:
        return redirect(f"/staff/dispatch?{_query(day, None)}")
    return Response(files.batch.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}.pdf"', "Cache-Control": "no-store"})


async def batch_pdf(request: Request) -> Response:
    return await _download(request, "pdf")


async def batch_csv(request: Request) -> Response:
    return await _download(request, "csv")


async def batch_mark(request: Request) -> Response:
    user = await require_page_user(request)
    form = await read_form(request)
    _, office_ids, office_id, day = await _scope(request, user, form)
    target = form.get("status", "")
    if target not in ("printed", "posted"):
        return redirect(f"/staff/dispatch?{_query(day, office_id)}")
    async with ctx(request).db.transaction(write=True) as session:
        await dispatching.mark_batch(session, office_ids, day, target, staff_actor(user),
                                     upto=_int(form.get("upto")),
                                     unassigned=print_room_takes_all(ctx(request)))
    return redirect(f"/staff/dispatch?{_query(day, office_id)}&done={target}")


async def _own_dispatch(request: Request, user: StaffUser) -> Dispatch | None:
    async with ctx(request).db.transaction() as session:
        try:
            found = await dispatching.get_dispatch(session, request.path_params["id"])
        except DomainError:
            return None
        visible = await visible_office_ids(session, user)
    return found if found.office_id in visible else None


async def status_change(request: Request) -> Response:
    user = await require_page_user(request)
    form = await read_form(request)
    day = _day(form.get("date"))
    back = f"/staff/dispatch?{_query(day, None)}" if day else "/staff/dispatch?"
    found = await _own_dispatch(request, user)
    if found is None:
        return redirect(back)
    try:
        async with ctx(request).db.transaction(write=True) as session:
            row = await dispatching.get_dispatch(session, request.path_params["id"])
            await dispatching.set_status(session, row, form.get("status", ""),
                                         staff_actor(user))
    except DomainError:
        return redirect(f"{back}&error=illegal")
    return redirect(f"{back}&done=status")


async def _address_page(request: Request, user: StaffUser, *, lines: str | None = None,
                        error: str | None = None, status: int = 200) -> Response:
    found = await _own_dispatch(request, user)
    if found is None:
        return redirect("/staff/dispatch")
    async with ctx(request).db.transaction() as session:
        row = await dispatching.row_of(session, found)
    return render(request, "staff/dispatch_address.html", {
        "section": "dispatch", "row": row, "error": error,
        "lines": "\n".join(row.address_lines) if lines is None else lines,
        "locked": found.status in dispatching.HANDED_OVER,
    }, status)


async def address_page(request: Request) -> Response:
    user = await require_page_user(request)
    return await _address_page(request, user)


async def address_save(request: Request) -> Response:
    user = await require_page_user(request)
    form = await read_form(request)
    found = await _own_dispatch(request, user)
    if found is None:
        return redirect("/staff/dispatch")
    text = form.get("lines", "")
    try:
        async with ctx(request).db.transaction(write=True) as session:
            row = await dispatching.row_of(session, found)
            appointment = await find_appointment(session, row.reference)
            assert appointment is not None  # the letter's appointment (a foreign key)
            await dispatching.set_postal_address(session, appointment, text.splitlines(),
                                                 staff_actor(user))
    except DomainError as exc:
        return await _address_page(request, user, lines=text,
                                   error=error_message(translator(request), exc),
                                   status=exc.status)
    return redirect("/staff/dispatch?done=address")


# --- admin: feedback results -------------------------------------------------------------------


async def feedback_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    t = translator(request)
    month = request.query_params.get("month", "").strip()
    office_id = _int(request.query_params.get("office_id"))
    error = None
    async with ctx(request).db.transaction() as session:
        offices = list((await session.execute(select(Office).order_by(col(Office.name))))
                       .scalars())
        try:
            months = await feedbacks.results(
                session, [office_id] if office_id is not None else None, month or None)
        except DomainError as exc:
            error, months = error_message(t, exc), []
    views = [{
        "office": m.office_name, "month": m.month, "count": m.count,
        "average": format_decimal(Decimal(m.average_tenths) / 10, format="0.0",
                                  locale=t.locale),
        "distribution": [(k, m.distribution[k]) for k in sorted(m.distribution, reverse=True)],
        "comments": [(t.date(at.date(), "medium"), rating, comment)
                     for at, rating, comment in m.comments],
    } for m in months]
    return render(request, "admin/feedback.html", {
        "section": "admin", "months": views, "month": month, "error": error,
        "office_id": office_id, "office_options": [(str(o.id), o.name) for o in offices],
    })


routes: list[BaseRoute] = [
    Route("/staff/dispatch", dispatch_page, methods=["GET"]),
    Route("/staff/dispatch/batch.pdf", batch_pdf, methods=["GET"]),
    Route("/staff/dispatch/batch.csv", batch_csv, methods=["GET"]),
    Route("/staff/dispatch/batch", batch_mark, methods=["POST"]),
    Route(f"/staff/dispatch/{ID}/status", status_change, methods=["POST"]),
    Route(f"/staff/dispatch/{ID}/address", address_page, methods=["GET"]),
    Route(f"/staff/dispatch/{ID}/address", address_save, methods=["POST"]),
    Route("/admin/feedback", feedback_page, methods=["GET"]),
]
