"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.context import ctx
from app.metrics import Metrics

log = logging.getLogger("buergerbuero.ops")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = ctx(request)
    checks: dict[str, str] = {}
    ok = True
    try:
        await state.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        checks["database"] = "unavailable"
        ok = False
    redis = state.extras.get("redis")
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            log.warning("readiness: redis unavailable: %s", type(exc).__name__)
            checks["redis"] = "unavailable"
            ok = False
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503)


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
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
