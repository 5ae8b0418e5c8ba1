"""HTTP ceiling: a bare Starlette endpoint returning a constant body of a given size.

Served by bench/serve.py with the same uvicorn flags as the application, so the ratio between
the two measures what the application adds on top of server and framework.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(body_size: int) -> Starlette:
    # A JSON-looking body of exactly ``body_size`` bytes, built once.
    filler = max(body_size - len('{"slots":""}'), 0)
    body = ('{"slots":"' + "x" * filler + '"}').encode()

    async def constant(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/api/v1/availability", constant, methods=["GET"]),
                             Route("/healthz", constant, methods=["GET"])])
