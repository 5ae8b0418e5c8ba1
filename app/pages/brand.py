"""``/brand.css``: the municipality's accent colour (``tenants``) as the pages' primary and
link colour. A stylesheet of the site, since the content security policy allows no inline
styles; pages link it only when the municipality has a colour of its own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tenants.hosts import Place


async def brand_css(request: Request) -> Response:
    place = getattr(request.state, "municipality", None)
    colour = place.accent_colour if isinstance(place, Place) else ""
    body = f":root {{ --c-primary: {colour}; --c-link: {colour}; }}\n" if colour else ""
    return Response(body, media_type="text/css", headers={"Cache-Control": "max-age=300"})


routes: list[BaseRoute] = [Route("/brand.css", brand_css, methods=["GET"])]
