"""The audit trail for admins (``/admin/audit``): who did what, when, to which appointment.

A plain GET form filters by date range, actor, action and appointment reference (or case
number); the list is newest first, a page at a time, with previous/next links that keep the
filter. Times are shown in the first office's time zone, which is also how the dates filter.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.auth import require_page_user
from app.context import ctx
from app.templating import render, translator
from core.audit import AuditEvent
from core.i18n import Translator
from core.messages import N_
from core.types import parse_day
from privacy.audit_log import (
    AuditFilter,
    bound,
    detail_of,
    display_zone,
    known_actions,
    reference_of,
    search_audit,
)

PER_PAGE = 50
FILTER_FIELDS = ("from", "to", "actor", "action", "reference")


ACTION_LABELS: dict[str, str] = {
    "appointment.book": N_("Appointment booked"),
    "waitlist.join": N_("Joined the waitlist"),
    "waitlist.offer": N_("Waitlist: a place held and offered"),
    "waitlist.accept": N_("Waitlist: offer accepted"),
    "waitlist.decline": N_("Waitlist: offer declined"),
    "waitlist.lapse": N_("Waitlist: offer lapsed"),
    "waitlist.release": N_("Waitlist: held place released"),
    "waitlist.withdraw": N_("Left the waitlist"),
    "appointment.confirm": N_("Appointment confirmed"),
    "appointment.cancel": N_("Appointment cancelled"),
    "appointment.reschedule": N_("Appointment moved"),
    "appointment.expire": N_("Reservation lapsed"),
    "appointment.in_call": N_("Video call started"),
    "appointment.no_show": N_("Marked as missed"),
    "appointment.reopen": N_("Appointment reopened"),
    "call.token": N_("Call access issued to staff"),
    "call.join": N_("Staff joined the call"),
    "call.admit": N_("Citizen admitted to the call"),
    "call.end": N_("Call ended"),
    "call.guest_invite": N_("Interpreter invited to the call"),
    "call.guest_revoke": N_("Interpreter's link withdrawn"),
    "call.guest_bound": N_("Interpreter's link bound to a device"),
    "call.waiting_message": N_("Message sent to those waiting"),
    "identity.check": N_("Identity checked"),
    "case.complete": N_("Request completed"),
    "staff.login": N_("Signed in"),
    "staff.lockout": N_("Account locked after failed sign-ins"),
    "staff.login_failed": N_("Failed sign-in"),
    "staff.totp_enrolled": N_("Second factor set up"),
    "staff.totp_reset": N_("Second factor removed"),
    "staff.recovery_code_used": N_("Signed in with a recovery code"),
    "staff.recovery_codes_renewed": N_("New recovery codes made"),
    "staff.sso_account_created": N_("Signed in with single sign-on: account created"),
    "staff.sso_linked": N_("Single sign-on linked to the account"),
    "staff.sso_sync": N_("Role and offices taken from single sign-on"),
    "user.create": N_("Staff account created"),
    "user.update": N_("Staff account changed"),
    "user.delete": N_("Staff account deleted"),
    "office.create": N_("Office created"),
    "office.update": N_("Office changed"),
    "office.letter_template": N_("Letter template changed"),
    "office.delete": N_("Office deleted"),
    "service.create": N_("Service created"),
    "service.update": N_("Service changed"),
    "service.delete": N_("Service deleted"),
    "schedule.create": N_("Schedule created"),
    "schedule.update": N_("Schedule changed"),
    "schedule.delete": N_("Schedule deleted"),
    "closure.create": N_("Closure created"),
    "closure.update": N_("Closure changed"),
    "closure.delete": N_("Closure deleted"),
    "case.postal_address": N_("Postal address recorded"),
    "dispatch.queued": N_("Letter queued for the post"),
    "dispatch.status": N_("Letter's dispatch status changed"),
    "dispatch.withdrawn": N_("Letter taken out of the dispatch"),
    "dispatch.handed_over": N_("Letter handed to the mail service"),
    "job.retry": N_("Background job started again"),
    "payment.start": N_("Online payment started"),
    "payment.paid": N_("Payment received"),
    "payment.failed": N_("Payment failed"),
    "payment.duplicate": N_("Payment received twice"),
    "payment.mismatch": N_("Payment amount does not match"),
    "payment.refund": N_("Fee refunded"),
    "payment.refund_failed": N_("Refund failed"),
    "privacy.export": N_("Personal data exported"),
    "privacy.erase_request": N_("Erasure requested"),
    "privacy.erase": N_("Personal data erased"),
    "privacy.retention": N_("Personal data anonymised after the retention period"),
    "online_service.create": N_("Online service created"),
    "online_service.update": N_("Online service changed"),
    "request.submit": N_("Online request sent"),
    "request.confirm": N_("Online request confirmed"),
    "request.message": N_("Message from the citizen"),
    "request.document": N_("Document uploaded"),
    "request.withdraw": N_("Online request withdrawn"),
    "request.book_video": N_("Video appointment booked for the request"),
    "request.assign": N_("Online request taken up or assigned"),
    "request.ask": N_("Question to the citizen"),
    "request.complete": N_("Online request completed"),
    "request.reject": N_("Online request rejected"),
    "request.invite_video": N_("Invited to a video identification"),
    "document_status.push": N_("ID card and passport statuses reported"),
    "document_status.mapping": N_("Column mapping of the status export changed"),
    "links.resend": N_("Lost links sent again"),
    "municipality.create": N_("Municipality created"),
    "municipality.update": N_("Municipality changed"),
    "accessibility_statement.saved": N_("Accessibility statement saved"),
    "sign_video.added": N_("Sign-language video uploaded"),
    "sign_video.removed": N_("Sign-language video deleted"),
}

# What the trail's "object" column calls each kind of object (with its number).
OBJECT_LABELS: dict[str, str] = {
    "appointment": N_("Appointment %(id)s"),
    "waitlist_wish": N_("Waitlist entry %(id)s"),
    "case": N_("Request %(id)s"),
    "office": N_("Office %(id)s"),
    "service": N_("Service %(id)s"),
    "schedule": N_("Schedule %(id)s"),
    "closure": N_("Closure %(id)s"),
    "staff_user": N_("Staff account %(id)s"),
    "job": N_("Job %(id)s"),
    "dispatch": N_("Letter %(id)s"),
    "payment": N_("Payment %(id)s"),
    "subject": N_("Data subject"),  # a privacy request about one e-mail address
    "links": N_("Links of an e-mail address"),  # a lost-link request (the address not kept)
    "municipality": N_("Municipality %(id)s"),
    "accessibility_statement": N_("Accessibility statement %(id)s"),
    "sign_video": N_("Sign-language video %(id)s"),
}


def object_label(t: Translator, object_type: str, object_id: object) -> str:
    label = OBJECT_LABELS.get(object_type)
    if label is None:
        return f"{object_type} {object_id}".strip()
    return t.gettext(label, id=f"#{object_id}" if object_id not in (None, "") else "").strip()


def action_label(t: Translator, action: str) -> str:
    label = ACTION_LABELS.get(action)
    return t.gettext(label) if label else action


def _day(value: str) -> date | None:
    return parse_day(value)


def _read_filter(t: Translator, values: dict[str, str]) -> tuple[
    date | None, date | None, dict[str, str]
]:
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {"from": None, "to": None}
    for name in ("from", "to"):
        if values[name]:
            try:
                days[name] = _day(values[name])
            except ValueError:
                errors[name] = t.gettext("Enter a date, for example 23.11.2026.")
    start, end = days["from"], days["to"]
    if start and end and end < start:
        errors["to"] = t.gettext("The end date must not be before the start date.")
    return start, end, errors


def _detail_text(event: AuditEvent) -> str:
    parts = []
    for key, value in sorted(detail_of(event).items()):
        if key == "reference" or value in (None, "", [], {}):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def _row(t: Translator, event: AuditEvent, zone: str) -> dict[str, Any]:
    reference = reference_of(event)
    return {
        "time": t.datetime(event.at, zone, "medium"),
        "actor": event.actor_label or event.actor_type,
        "action": action_label(t, event.action),
        "action_code": event.action,
        "reference": reference,
        "object": reference or object_label(t, event.object_type, event.object_id),
        "detail": _detail_text(event),
    }


def _page_url(values: dict[str, str], page: int) -> str:
    query = {k: v for k, v in values.items() if v}
    if page > 1:
        query["page"] = str(page)
    return "/admin/audit" + (f"?{urlencode(query)}" if query else "")


async def audit_page(request: Request) -> Response:
    await require_page_user(request, role="admin")
    t = translator(request)
    params = request.query_params
    values = {name: params.get(name, "").strip()[:254] for name in FILTER_FIELDS}
    page_text = params.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 100_000 else 1
    start, end, errors = _read_filter(t, values)
    async with ctx(request).db.transaction() as session:
        zone = await display_zone(session)
        actions = await known_actions(session)
        found = None
        if not errors:
            found = await search_audit(session, AuditFilter(
                start=bound(start, zone, end=False), end=bound(end, zone, end=True),
                actor=values["actor"], action=values["action"][:60],
                reference=values["reference"][:40],
            ), page=page, per_page=PER_PAGE)
    choices = sorted(
        ((a, f"{action_label(t, a)} ({a})") for a in set(actions) | {values["action"]} if a),
        key=lambda option: option[1].lower(),
    )
    action_options = [("", t.gettext("All actions")), *choices]
    context: dict[str, Any] = {
        "section": "admin", "values": values, "errors": errors,
        "action_options": action_options, "zone": zone, "rows": [], "total": 0,
        "page": page, "pages": 1, "prev_url": None, "next_url": None,
    }
    if found is not None:
        context.update({
            "rows": [_row(t, e, zone) for e in found.events], "total": found.total,
            "pages": found.pages,
            "prev_url": _page_url(values, page - 1) if page > 1 else None,
            "next_url": _page_url(values, page + 1) if page < found.pages else None,
        })
    return render(request, "admin/audit.html", context, 422 if errors else 200)


routes: list[BaseRoute] = [
    Route("/admin/audit", audit_page, methods=["GET"]),
]
