"""Serve the application or a ceiling with one and the same set of uvicorn flags.

    python -m bench.serve app --port P            # create_app() from BUERO_* settings, no worker
    python -m bench.serve http-ceiling --port P --body-size N
    python -m bench.serve ws-ceiling --port P
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import uvicorn
from starlette.applications import Starlette

from app.heap import freeze_startup_heap

# The flags of ``buergerbuero serve`` (app/cli.py), minus what only matters behind a proxy.
# The access log is on, as ``serve`` has it by default (a line per request at INFO, written to
# the server's stderr, which bench.common.serve sends to a file); BUERO_BENCH_ACCESS_LOG=false
# turns it off for every target alike, to see what it costs.
FLAGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "log_config": None,
    "server_header": False,
    "lifespan": "on",
    "access_log": os.environ.get("BUERO_BENCH_ACCESS_LOG", "true") != "false",
    "timeout_graceful_shutdown": 5,
}


def build(target: str, body_size: int) -> Starlette:
    if target == "app":
        from app.cli import load_settings
        from app.logging_setup import configure
        from app.main import create_app

        settings = load_settings()
        configure(settings)
        return create_app(settings, run_worker=False)
    if target == "http-ceiling":
        from bench.ceiling_http import build as build_http

        return build_http(body_size)
    if target == "ws-ceiling":
        from bench.ceiling_ws import build as build_ws

        return build_ws()
    raise SystemExit(f"unknown target {target}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=["app", "http-ceiling", "ws-ceiling"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-size", type=int, default=0)
    args = parser.parse_args()
    application = build(args.target, args.body_size)
    freeze_startup_heap()  # as `buergerbuero serve` does, for every target alike
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    # For experiments only, applied to every target alike: another WebSocket implementation,
    # or permessage-deflate off (uvicorn negotiates it by default; each socket then holds zlib
    # state).
    ws = os.environ.get("BUERO_BENCH_UVICORN_WS", "auto")
    deflate = os.environ.get("BUERO_BENCH_UVICORN_WS_DEFLATE", "false") == "true"
    uvicorn.run(application, port=args.port, ws=ws, ws_per_message_deflate=deflate, **FLAGS)


if __name__ == "__main__":
    main()
