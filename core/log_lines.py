"""Log lines: one per event, ``key=value`` or JSON, and what keeps secrets out of them.

Every line carries the request id (set per request by the security-headers middleware) so a
line in the log can be matched with the ``X-Request-ID`` a user reports. Nothing secret may
reach a log line: the citizen link token is the last path segment of ``/t/<token>``, so the
access log drops query strings and redacts that segment, and every formatted line passes
through the same redaction as a second net (``Bearer`` values included). Client addresses are
personal data and are left out of the access log unless ``BUERO_LOG_CLIENT_IP`` is set.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The current request's id; the middleware sets it, log records read it.
REQUEST_ID: ContextVar[str | None] = ContextVar("buergerbuero_request_id", default=None)

REDACTED = "[redacted]"
_TOKEN_SEGMENT = re.compile(r"(/t/)[^/?#\s\"'<>]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is printed.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "request_id", "color_message", "taskName"}

# One search says whether a text may hold a secret at all; most lines hold none, and then the
# two substitutions below are skipped (the access log writes a line per request).
_MAYBE_SECRET = re.compile(r"/t/|bearer\s", re.IGNORECASE)
_NEEDS_QUOTES = re.compile(r"[\s\"=]")


def redact_path(path: str) -> str:
    """A request path fit for a log line: no query string, no link token."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "/t/" not in path:
        return path
    return _TOKEN_SEGMENT.sub(r"\1" + REDACTED, path)


def redact_text(text: str) -> str:
    """Remove link tokens and bearer credentials from free text (the formatter's second net)."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    text = _TOKEN_SEGMENT.sub(r"\1" + REDACTED, text)
    return _BEARER.sub(r"\1" + REDACTED, text)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or ``-``) on every record as ``record.request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class AccessLogFilter(logging.Filter):
    """Cleans uvicorn's access records: ``(client, method, path, http_version, status)``."""

    def __init__(self, *, log_client_ip: bool = False) -> None:
        super().__init__()
        self.log_client_ip = log_client_ip

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            record.args = (
                client if self.log_client_ip else "-",
                method,
                redact_path(str(path)),
                version,
                status,
            )
        return True


class ServerLogFilter(logging.Filter):
    """Cleans uvicorn's error logger: WebSocket paths (with query strings) and the client's
    address are its arguments; below INFO it carries the websockets library's trace of every
    handshake header and frame (cookies, the ``hello`` token, SDP with addresses), dropped."""

    def __init__(self, *, log_client_ip: bool = False) -> None:
        super().__init__()
        self.log_client_ip = log_client_ip

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return False
        args = record.args
        if isinstance(args, tuple):
            args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in args
            )
            # '%s - "WebSocket %s" [accepted]' and its 403 siblings: the first is the client.
            if (not self.log_client_ip and args and isinstance(record.msg, str)
                    and record.msg.startswith('%s - "WebSocket ')):
                args = ("-", *args[1:])
            record.args = args
        return True


def _message(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text = f"{text}\n{logging.Formatter().formatException(record.exc_info)}"
    elif record.exc_text:
        text = f"{text}\n{record.exc_text}"
    return text


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    attrs = vars(record)
    if not attrs.keys() - _STANDARD_ATTRS:  # the common case, checked at C speed
        return {}
    return {
        key: value
        for key, value in attrs.items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def _timestamp(record: logging.LogRecord) -> str:
    """``2026-12-07T11:02:03.456+00:00``; the part up to the second is formatted once per
    second, not once per line."""
    global _second
    whole = int(record.created)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    millis = int((record.created - whole) * 1000)
    return f"{_second[1]}.{millis:03d}+00:00"


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """What every line says first, in both formats."""
    return {
        "ts": _timestamp(record),
        "level": record.levelname,
        "logger": record.name,
        "request_id": getattr(record, "request_id", "-"),
        "msg": redact_text(_message(record)),
    }


def _kv_value(value: object) -> str:
    text = redact_text(value if isinstance(value, str) else str(value))
    if text and _NEEDS_QUOTES.search(text) is None:
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=INFO logger=... request_id=... msg="..." key=value`` (logfmt)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        fields.update(_extras(record))
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        for key, value in _extras(record).items():
            fields[key] = (
                value if isinstance(value, int | float | bool) or value is None
                else redact_text(str(value))
            )
        return json.dumps(fields, ensure_ascii=False)
