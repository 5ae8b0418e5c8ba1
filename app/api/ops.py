"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.context import AppContext, ctx
from core.outage import DATABASE, REDIS, Outage, OutageLog, outage_of
from monitoring.metrics import Metrics

log = logging.getLogger("buergerbuero.ops")


def _outages(state: AppContext) -> OutageLog:
    """The readiness checks' log: a probe every few seconds during an outage logs one line."""
    found = state.extras.get("readiness_outages")
    if not isinstance(found, OutageLog):
        found = state.extras["readiness_outages"] = OutageLog(log)
    return found


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says; the pages name the SVG."""
    return RedirectResponse("/static/img/favicon.svg", status_code=301)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = ctx(request)
    checks: dict[str, str] = {}
    outages = _outages(state)
    pings: dict[str, Callable[[], Awaitable[Any]]] = {DATABASE: state.db.ping}
    redis = state.extras.get("redis")
    if redis is not None:
        pings[REDIS] = redis.ping
    for name, ping in pings.items():
        try:
            await ping()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready
            outages.failed(outage_of(exc) or Outage(name, type(exc).__name__), "readiness check")
            checks[name] = "unavailable"
    ok = all(value == "ok" for value in checks.values())
    if ok:
        outages.succeeded()
    retry = {"Retry-After": str(state.settings.retry_after_seconds)}
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503, headers=None if ok else retry)


async def metrics(request: Request) -> Response:
    state = ctx(request)
    found = state.extras.get("metrics")
    if isinstance(found, Metrics):
        data, media_type = await found.render(state)
        return Response(data, media_type=media_type)
    registry = state.extras.get("metrics_registry")
    data = generate_latest(registry) if registry is not None else generate_latest()
    return Response(data, media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz),
    Route("/favicon.ico", favicon),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
