"""Logging for the processes the CLI starts: our handler on the root logger, uvicorn's loggers
routed through it. What a line looks like and what it leaves out is ``core/log_lines.py``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from app.settings import Settings
from core.log_lines import (
    AccessLogFilter,
    JsonFormatter,
    KeyValueFormatter,
    RequestIdFilter,
    ServerLogFilter,
)

_OUR_HANDLER = "_buergerbuero_handler"


def log_level(settings: Settings) -> int:
    """The numeric level of ``BUERO_LOG_LEVEL``; ValueError for an unknown name."""
    level = logging.getLevelName(settings.log_level.strip().upper())
    if not isinstance(level, int):
        raise ValueError(f"BUERO_LOG_LEVEL: unknown level {settings.log_level!r}")
    return level


def configure(settings: Settings, *, stream: Any = None) -> None:
    """Install our handler on the root logger and route uvicorn's loggers through it.

    Idempotent: a second call replaces the handler of the first. uvicorn must then be started
    with ``log_config=None`` so it keeps this configuration.
    """
    level = log_level(settings)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else KeyValueFormatter()
    )
    handler.addFilter(RequestIdFilter())
    setattr(handler, _OUR_HANDLER, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OUR_HANDLER, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
        for old_filter in [f for f in logger.filters if isinstance(
            f, AccessLogFilter | ServerLogFilter
        )]:
            logger.removeFilter(old_filter)
    logging.getLogger("uvicorn.access").addFilter(
        AccessLogFilter(log_client_ip=settings.log_client_ip)
    )
    logging.getLogger("uvicorn.error").addFilter(
        ServerLogFilter(log_client_ip=settings.log_client_ip)
    )
    # SQL statements carry personal data in their parameters, httpx logs every outgoing URL
    # with its query string, fontTools lists each PDF's glyphs (those of the recipient's
    # name): keep them quiet whatever the level.
    for noisy in ("sqlalchemy.engine", "httpx", "httpcore", "fontTools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # Alembic narrates its set-up at INFO; the CLI reports the revision itself.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
