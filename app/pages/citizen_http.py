"""Request plumbing for the citizen pages: per-client rate limits, and the language of pages
reached from an e-mail link. Rendering, forms and CSRF are the same for every page
(``app/templating.py``, ``app/pages/forms.py``, ``app/csrf.py``)."""

from __future__ import annotations

from starlette.requests import Request

from app.api.http import client_key
from app.context import ctx
from app.middleware import LANG_COOKIE
from core.i18n import LANGUAGES


async def limit(request: Request, rule: str) -> None:
    await ctx(request).limiter.hit(rule, client_key(request))


def prefer_language(request: Request, lang: str) -> None:
    """Pages opened from an e-mail speak the booking's language unless the citizen chose one."""
    if "lang" in request.query_params or LANG_COOKIE in request.cookies:
        return
    if lang in LANGUAGES:
        request.state.lang = lang
