"""A lost link, for citizens: the form "Link erneut senden" (on the start page, the page of a
link that does not work, and ``/links/resend`` itself) posts here; the answer is the same page
with the same neutral message whether or not the address is known (``app.api.lost_links``)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.lost_links import resend
from app.pages.forms import read_form
from app.templating import render, translator


def _page(request: Request, *, email: str = "", error: str = "", sent: bool = False,
          status: int = 200) -> Response:
    errors = {"email": error} if error else {}
    return render(request, "citizen/lost_links.html", {
        "resend_email": email, "resend_errors": errors, "errors": errors, "heading_level": 1,
        "sent": sent, "switch_url": "/links/resend"}, status)


async def lost_links_page(request: Request) -> Response:
    return _page(request)


async def lost_links_submit(request: Request) -> Response:
    form = await read_form(request)
    email = form.get("email", "").strip()[:254]
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        message = translator(request).gettext("Please enter a valid e-mail address.")
        return _page(request, email=email, error=message, status=422)
    await resend(request, email)
    return _page(request, sent=True)


routes: list[BaseRoute] = [
    Route("/links/resend", lost_links_page, methods=["GET"]),
    Route("/links/resend", lost_links_submit, methods=["POST"]),
]
