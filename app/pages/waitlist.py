"""The waitlist's pages: the form ``/waitlist?service=&office=`` (reached from the booking's day
step when no time fits), the wish's link page (``/t/{token}`` of a wish: status, and on an offer
the buttons to accept or decline), and the admin's ``/admin/waitlist`` (length per service).

GETs only read; accepting, declining and leaving are POSTs with the CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.links import policy_from
from app.api.proof import proof_required, require_proof
from app.auth import require_page_user
from app.context import ctx
from app.pages.citizen_http import limit, prefer_language
from app.pages.forms import Form, read_form
from app.pages.staff_http import redirect
from app.templating import render, translator
from booking import channels, waitlist
from booking.availability import zone
from booking.catalog import service_name
from booking.models import Appointment, Office, Service
from booking.service import CitizenInput
from booking.waitlist import WaitlistWish, Window, WishStatus
from cases import waitlist_offers
from core.errors import DomainError, Unauthorized
from core.i18n import Translator
from postcall.intake import address_for

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIELDS = ("from_date", "to_date", "from_time", "to_time", "given_name", "family_name", "email",
          "phone", "channel", "postal_address")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


async def _names(request: Request, service_id: int | None,
                 office_id: int | None) -> tuple[Service, Office] | None:
    if service_id is None or office_id is None:
        return None
    async with ctx(request).db.transaction() as session:
        service = await session.get(Service, service_id)
        office = await session.get(Office, office_id)
    if service is None or office is None or not service.active:
        return None
    return service, office


def _form_page(request: Request, service: Service, office: Office, values: dict[str, Any],
               errors: dict[str, str], status: int = 200) -> Response:
    t = translator(request)
    offers = channels.offered(service)
    if values.get("channel") not in offers:
        values["channel"] = channels.default_channel(service)
    return render(request, "waitlist/form.html", {
        "channel_options": [{"value": c, "title": t.gettext(channels.CHANNEL_LABELS[c])}
                            for c in offers] if len(offers) > 1 else [],
        "by_post": service.delivers_by_post,
        "service_name": service_name(service, t.lang), "office_name": office.name,
        "service_id": service.id, "office_id": office.id, "values": values, "errors": errors,
        "weekdays": [(str(i), t.gettext(name)) for i, name in enumerate(WEEKDAYS)],
        "back_href": f"/book?service={service.id}&office={office.id}",
        "proof_of_work": proof_required(ctx(request)),
    }, status)


async def form_page(request: Request) -> Response:
    found = await _names(request, _int(request.query_params.get("service")),
                         _int(request.query_params.get("office")))
    if found is None:
        return redirect("/book")
    today = dt.date.today()
    values = {"from_date": today.isoformat(),
              "to_date": (today + dt.timedelta(days=28)).isoformat(), "weekday": [],
              "channel": request.query_params.get("channel", "")}
    return _form_page(request, *found, values, {})


def _parse(form: Form, t: Translator) -> tuple[Window | None, dict[str, str]]:
    errors: dict[str, str] = {}
    dates: dict[str, dt.date] = {}
    for name in ("from_date", "to_date"):
        try:
            dates[name] = dt.date.fromisoformat(form.get(name, "").strip())
        except ValueError:
            errors[name] = t.gettext("Please enter a date.")
    times: dict[str, dt.time | None] = {}
    for name in ("from_time", "to_time"):
        text = form.get(name, "").strip()
        try:
            times[name] = dt.time.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = t.gettext("Please enter a time as HH:MM.")
    days = tuple(sorted({int(d) for d in form.getlist("weekday") if d in "0123456"
                         and len(d) == 1}))
    if errors:
        return None, errors
    return Window(from_date=dates["from_date"], to_date=dates["to_date"], weekdays=days,
                  from_time=times["from_time"], to_time=times["to_time"]), errors


async def form_submit(request: Request) -> Response:
    form = await read_form(request)
    await limit(request, "booking")
    state = ctx(request)
    t = translator(request)
    found = await _names(request, _int(form.get("service")), _int(form.get("office")))
    if found is None:
        return redirect("/book")
    service, office = found
    values: dict[str, Any] = {name: form.get(name, "")[:254] for name in FIELDS}
    values["postal_address"] = form.get("postal_address", "")[:1000]
    values["weekday"] = form.getlist("weekday")
    window, errors = _parse(form, t)
    for name in ("given_name", "family_name", "email"):
        if not values[name].strip():
            errors.setdefault(name, t.gettext("Please fill in this field."))
    if window is not None and not errors:
        try:
            await require_proof(request, form.get("altcha"))
            async with state.db.transaction(write=True) as session:
                address = await address_for(session, [service.id or 0],
                                            values["postal_address"].splitlines())
                await waitlist.join(
                    session, state.links, office_id=office.id or 0, service_id=service.id or 0,
                    channel=values["channel"] or channels.default_channel(service),
                    windows=[window], postal_address=address,
                    citizen=CitizenInput(given_name=values["given_name"],
                                         family_name=values["family_name"],
                                         email=values["email"], phone=values["phone"]),
                    locale=t.lang,
                    max_open=state.settings.waitlist_max_open_per_email,
                    link_grace_days=state.settings.link_grace_days)
            return redirect("/waitlist/done")
        except DomainError as exc:
            errors.update(_errors(exc, t))
    return _form_page(request, service, office, values, errors, 422)


def _errors(exc: DomainError, t: Translator) -> dict[str, str]:
    """A domain error's problems by the form's field names (``windows[0].to_date``: ``to_date``)."""
    found = {field.rsplit(".", 1)[-1].replace("citizen.", ""): t.gettext(msgid, **params)
             for field, msgid, params in exc.problems}
    if not found:
        field = (exc.field or "").rsplit(".", 1)[-1]
        field = field if field in FIELDS else "waitlist-form"  # the summary links to the form
        found[field] = t.gettext(exc.msgid, **exc.params)
    return found


async def done_page(request: Request) -> Response:
    return render(request, "waitlist/done.html", {})


# --- the wish's link page ----------------------------------------------------------------------


async def _view(request: Request, wish: WaitlistWish) -> dict[str, Any]:
    t = translator(request)
    state = ctx(request)
    async with state.db.transaction() as session:
        office = await session.get(Office, wish.office_id)
        service = await session.get(Service, wish.service_id)
        appointment = (await session.get(Appointment, wish.appointment_id)
                       if wish.appointment_id is not None else None)
    assert office is not None and service is not None
    tz = zone(office.timezone)

    def when(value: dt.datetime) -> str:
        return f"{t.date(value.astimezone(tz).date(), 'full')}, {t.time(value, office.timezone)}"

    view: dict[str, Any] = {
        "reference": wish.reference, "status": wish.status,
        "service_name": service_name(service, t.lang), "office_name": office.name,
        "windows": [_window_text(w, t) for w in wish.window_list()], "base": _base(request),
        "offer": None, "appointment_href": None,
    }
    if appointment is not None and wish.status == WishStatus.offered \
            and wish.offer_expires_at is not None:
        view["offer"] = {"when": when(appointment.start_at), "until": when(wish.offer_expires_at)}
    if appointment is not None and wish.status == WishStatus.booked:
        view["appointment_href"] = f"/t/{state.links.token_for(appointment.link_nonce)}"
        view["appointment_when"] = when(appointment.start_at)
    return view


def _window_text(window: Window, t: Translator) -> str:
    text = f"{t.date(window.from_date, 'medium')} – {t.date(window.to_date, 'medium')}"
    if window.weekdays:
        text += ", " + ", ".join(t.gettext(WEEKDAYS[d]) for d in window.weekdays)
    if window.from_time or window.to_time:
        start = window.from_time.strftime("%H:%M") if window.from_time else "00:00"
        end = window.to_time.strftime("%H:%M") if window.to_time else "24:00"
        text += f", {start}–{end}"
    return text


def _base(request: Request) -> str:
    return f"/t/{request.path_params['token']}"


async def _wish(request: Request) -> WaitlistWish | None:
    async with ctx(request).db.transaction() as session:
        wish = await waitlist.find_wish(session, ctx(request).links,
                                        request.path_params["token"])
        if wish is not None:
            session.expunge(wish)
    return wish


async def page_of(request: Request, notice: str = "", error: str = "") -> Response | None:
    """``GET /t/{token}`` for a wish; None when the token is not a wish's."""
    try:
        wish = await _wish(request)
    except Unauthorized:
        return render(request, "citizen/link_invalid.html", {}, 404)
    if wish is None:
        return None
    prefer_language(request, wish.locale)
    return render(request, "waitlist/wish.html", {
        **await _view(request, wish), "notice": notice or request.query_params.get("done", ""),
        "error": error}, 409 if error else 200)


async def _act(request: Request, action: str) -> Response:
    await read_form(request)
    await limit(request, "token")
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            wish = await waitlist.find_wish(session, state.links, request.path_params["token"])
            if wish is None:
                raise Unauthorized()
            if action == "accept":
                await waitlist_offers.accept(session, policy_from(state.settings), wish)
            elif action == "decline":
                await waitlist.decline(session, wish)
            else:
                await waitlist.withdraw(session, wish)
    except Unauthorized:
        return render(request, "citizen/link_invalid.html", {}, 404)
    except DomainError as exc:
        page = await page_of(request, error=translator(request).gettext(exc.msgid, **exc.params))
        assert page is not None
        return page
    return redirect(f"{_base(request)}?done={action}")


async def accept(request: Request) -> Response:
    return await _act(request, "accept")


async def decline(request: Request) -> Response:
    return await _act(request, "decline")


async def withdraw(request: Request) -> Response:
    return await _act(request, "withdraw")


# --- admin -------------------------------------------------------------------------------------


async def admin_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    async with ctx(request).db.transaction() as session:
        counts = await waitlist.queue_lengths(session)
        services = list((await session.execute(
            select(Service).order_by(col(Service.sort_order), col(Service.id)))).scalars())
    t = translator(request)
    rows = [(service_name(s, t.lang), counts.get(s.id or 0, 0)) for s in services]
    return render(request, "waitlist/admin.html", {"rows": rows})


routes: list[BaseRoute] = [
    Route("/waitlist", form_page, methods=["GET"]),
    Route("/waitlist", form_submit, methods=["POST"]),
    Route("/waitlist/done", done_page, methods=["GET"]),
    Route("/t/{token}/accept", accept, methods=["POST"]),
    Route("/t/{token}/decline", decline, methods=["POST"]),
    # Not /withdraw: that is an online request's (app/pages/request_link.py).
    Route("/t/{token}/leave-waitlist", withdraw, methods=["POST"]),
    Route("/admin/waitlist", admin_page, methods=["GET"]),
]
