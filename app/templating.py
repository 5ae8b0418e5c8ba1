"""Jinja2 templates rendered with the request's language and security tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app import csrf
from app.context import ctx
from core.i18n import (
    LANGUAGE_NAMES,
    STAFF_LANGUAGES,
    I18n,
    Translator,
    base_language,
    is_staff_path,
    staff_language,
)
from core.rendering import Renderer
from tenants.links import root, site_path

TEMPLATES_DIR = Path(__file__).parent / "templates"


class Templates(Renderer):
    """The pages' templates, rendered into responses in the request's language."""

    def __init__(self, i18n: I18n, directory: Path = TEMPLATES_DIR) -> None:
        super().__init__(directory)
        self.i18n = i18n

    def response(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        translator = request_translator(request, self.i18n)
        html = self.render_string(
            name,
            translator,
            request=request,
            csrf_token=getattr(request.state, "csrf_token", ""),
            staff_user=getattr(request.state, "staff_user", None),
            town=getattr(request.state, "town", ""),
            brand=getattr(request.state, "municipality", None),
            root=root(request.scope),  # before every link to a site path (tenants.links)
            languages=menu_languages(request),
            **(context or {}),
        )
        return HTMLResponse(html, status_code=status)


def menu_languages(request: Request) -> list[tuple[str, str, str]]:
    """The language menu: (code for ``?lang=``, name in itself, its ``lang``/``hreflang``
    tag); staff pages offer German and English only."""
    staff = is_staff_path(site_path(request.scope))
    return [(code, name, base_language(code))
            for code, name in LANGUAGE_NAMES.items()
            if not staff or code in STAFF_LANGUAGES]


def request_language(request: Request) -> str:
    """The language chosen (``app.middleware``); staff pages speak German or English."""
    lang = getattr(request.state, "lang", None)
    lang = lang if isinstance(lang, str) else "de"
    return staff_language(lang) if is_staff_path(site_path(request.scope)) else lang


def request_translator(request: Request, i18n: I18n) -> Translator:
    return i18n.translator(request_language(request))


def translator(request: Request) -> Translator:
    """The request's language (``?lang=``, its cookie, or the browser's), for handlers."""
    return request_translator(request, ctx(request).i18n)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """A page in the request's language; its forms carry the CSRF token (``app/csrf.py``),
    and a browser seen for the first time gets the token's cookie with it."""
    fresh = csrf.prepare(request)
    response = ctx(request).templates.response(request, name, context, status)
    if fresh is not None:
        csrf.set_cookie(request, response, fresh)
    return response
