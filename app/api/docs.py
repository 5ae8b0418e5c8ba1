"""``GET /api/v1/openapi.json``: the API's OpenAPI 3.1 document, generated from the routes."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.openapi import build_spec, operation
from app.context import ctx

_CACHE_KEY = "openapi_spec"


def _version() -> str:
    try:
        return metadata.version("buergerbuero")
    except metadata.PackageNotFoundError:
        return "0"


@operation("The OpenAPI 3.1 document of this API", tag="meta", responses={200: "application/json"})
async def openapi_json(request: Request) -> Response:
    state = ctx(request)
    spec: dict[str, Any] | None = state.extras.get(_CACHE_KEY)
    if spec is None:  # the routes do not change while the app runs
        spec = build_spec(
            request.app.routes, version=_version(), server_url=state.settings.base_url
        )
        state.extras[_CACHE_KEY] = spec
    return JSONResponse(spec, headers={"Cache-Control": "no-cache"})


routes: list[BaseRoute] = [Route("/api/v1/openapi.json", openapi_json, methods=["GET"])]
