"""Log lines: request id on every line, no link tokens, no query strings, no client addresses."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.logging_setup import configure
from app.middleware import SecurityHeadersMiddleware
from app.settings import Settings
from core.log_lines import (
    AccessLogFilter,
    JsonFormatter,
    KeyValueFormatter,
    RequestIdFilter,
    ServerLogFilter,
    redact_path,
    redact_text,
)

TOKEN = "kQ8v1Xx_secret-link-token-2c5d0e7f9a1b3c4d5e6f7a8b9c0d1e2f"


def _access_record(path: str, client: str = "203.0.113.7:51234") -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        (client, "GET", path, "1.1", 200), None,
    )


def _format(record: logging.LogRecord, formatter: logging.Formatter | None = None) -> str:
    RequestIdFilter().filter(record)
    return (formatter or KeyValueFormatter()).format(record)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/t/{TOKEN}", "/t/[redacted]"),
        (f"/t/{TOKEN}/call", "/t/[redacted]/call"),
        (f"/t/{TOKEN}?lang=en", "/t/[redacted]"),
        ("/book?service=3&email=a@b.de", "/book"),
        ("/api/v1/me#x", "/api/v1/me"),
        ("/static/css/app.css", "/static/css/app.css"),
    ],
)
def test_redact_path(path: str, expected: str) -> None:
    assert redact_path(path) == expected


def test_redact_text_catches_links_and_bearer_tokens() -> None:
    text = f"mail to x: https://b.example/t/{TOKEN} header Authorization: Bearer {TOKEN}"
    cleaned = redact_text(text)
    assert TOKEN not in cleaned
    assert "https://b.example/t/[redacted]" in cleaned and "Bearer [redacted]" in cleaned


def test_access_filter_removes_token_query_and_client() -> None:
    record = _access_record(f"/t/{TOKEN}/call?code=QUERYSECRET")
    assert AccessLogFilter().filter(record)
    line = _format(record)
    assert TOKEN not in line and "QUERYSECRET" not in line and "203.0.113.7" not in line
    assert '\\"GET /t/[redacted]/call HTTP/1.1\\" 200' in line
    assert "logger=uvicorn.access" in line and "level=INFO" in line


def test_access_filter_may_keep_the_client_address() -> None:
    record = _access_record(f"/t/{TOKEN}")
    AccessLogFilter(log_client_ip=True).filter(record)
    line = _format(record)
    assert "203.0.113.7" in line and TOKEN not in line


def test_server_filter_cleans_websocket_paths() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("203.0.113.7:1", f"/ws/call?token={TOKEN}"), None,
    )
    ServerLogFilter().filter(record)
    line = _format(record)
    assert TOKEN not in line and "203.0.113.7" not in line
    assert '- \\"WebSocket /ws/call\\" [accepted]' in line


def test_server_filter_may_keep_the_client_address() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" 403',
        ("203.0.113.7:1", "/ws/call"), None,
    )
    ServerLogFilter(log_client_ip=True).filter(record)
    assert "203.0.113.7:1" in _format(record)


def test_server_filter_drops_the_websocket_frame_trace() -> None:
    """Below INFO the websockets library logs every frame through uvicorn's logger."""
    record = logging.LogRecord(
        "uvicorn.error", logging.DEBUG, __file__, 1, "< TEXT %s [%d bytes]",
        (f'\'{{"type": "hello", "token": "{TOKEN}"}}\'', 73), None,
    )
    assert ServerLogFilter().filter(record) is False


def test_formatter_is_a_second_net_for_any_logger() -> None:
    record = logging.LogRecord(
        "buergerbuero.anything", logging.WARNING, __file__, 1, "sent link %s", (
            f"http://x/t/{TOKEN}",), None,
    )
    record.appointment_id = 42  # ``extra=`` fields are printed too
    line = _format(record)
    assert TOKEN not in line and "appointment_id=42" in line


def test_exceptions_are_redacted_too() -> None:
    try:
        raise ValueError(f"bad /t/{TOKEN}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "buergerbuero.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = _format(record)
    assert "ValueError" in line and TOKEN not in line


def test_json_lines() -> None:
    record = _access_record(f"/t/{TOKEN}?q=1")
    AccessLogFilter().filter(record)
    data = json.loads(_format(record, JsonFormatter()))
    assert data["logger"] == "uvicorn.access"
    assert data["msg"] == '- - "GET /t/[redacted] HTTP/1.1" 200'
    assert data["request_id"] == "-"
    assert set(data) >= {"ts", "level", "logger", "request_id", "msg"}


@pytest.mark.parametrize("formatter", [KeyValueFormatter(), JsonFormatter()])
def test_the_fast_paths_keep_every_secret_out(formatter: logging.Formatter) -> None:
    """Lines are searched once for anything like a secret; whatever the search lets through
    unchanged must really hold none: links and bearer credentials in any case and spacing,
    in the message, its arguments, ``extra=`` fields and the request id."""
    record = logging.LogRecord(
        "buergerbuero.x", logging.INFO, __file__, 1, "auth %s then %s",
        (f"BEARER\n{TOKEN}", f"https://x.example/T/../t/{TOKEN}"), None)
    record.header = f"bEaReR\t{TOKEN}"
    record.link = f"/t/{TOKEN}"
    line = _format(record, formatter)
    assert TOKEN not in line
    assert line.count("[redacted]") == 4
    plain = logging.LogRecord("buergerbuero.x", logging.INFO, __file__, 1, "booked %s",
                              ("/api/v1/appointments",), None)
    plain.note = "a=b c"  # quoted (logfmt) or a JSON string, never cut
    line = _format(plain, formatter)
    assert "/api/v1/appointments" in line and "[redacted]" not in line
    assert '"a=b c"' in line


@pytest.mark.parametrize("created", [1796641200.0, 1796641200.999, 1796641201.0004,
                                     1796641259.5])
def test_the_timestamp_is_the_records_to_the_millisecond(created: float) -> None:
    """The second is formatted once and reused: each line still carries its own time."""
    import datetime as dt

    lines = []
    for when in (created, created + 0.25, created + 1):
        record = _access_record("/healthz")
        record.created = when
        lines.append(json.loads(_format(record, JsonFormatter()))["ts"])
    expected = [dt.datetime.fromtimestamp(int(t), dt.UTC).replace(
        microsecond=int((t - int(t)) * 1000) * 1000).isoformat(timespec="milliseconds")
        for t in (created, created + 0.25, created + 1)]
    assert lines == expected


@pytest.fixture
def log_stream() -> Iterator[Callable[[Settings], io.StringIO]]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level

    def install(settings: Settings) -> io.StringIO:
        stream = io.StringIO()
        configure(settings, stream=stream)
        return stream

    yield install
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn.access", "uvicorn.error"):
        for filt in logging.getLogger(name).filters[:]:
            logging.getLogger(name).removeFilter(filt)


async def test_lines_written_while_serving_carry_the_request_id(
    log_stream: Callable[[Settings], io.StringIO]
) -> None:
    stream = log_stream(Settings(_env_file=None, log_format="json"))  # type: ignore[call-arg]

    async def handler(request: Request) -> PlainTextResponse:
        logging.getLogger("buergerbuero.test").info("handling")
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/x", handler)])
    wrapped = SecurityHeadersMiddleware(app, hsts=False)
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/x", headers={"X-Request-ID": "abc-123"})
        generated = (await client.get("/x")).headers["x-request-id"]
    assert r.headers["x-request-id"] == "abc-123"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    handled = [line for line in lines if line["msg"] == "handling"]
    assert [line["request_id"] for line in handled] == ["abc-123", generated]
    logging.getLogger("buergerbuero.test").info("outside")
    last = json.loads(stream.getvalue().splitlines()[-1])
    assert last["request_id"] == "-"


def test_configure_is_idempotent_and_checks_the_level(
    log_stream: Callable[[Settings], io.StringIO]
) -> None:
    log_stream(Settings(_env_file=None))  # type: ignore[call-arg]
    stream = log_stream(Settings(_env_file=None, log_level="warning"))  # type: ignore[call-arg]
    logging.getLogger("buergerbuero.test").info("quiet")
    logging.getLogger("buergerbuero.test").warning("loud")
    assert stream.getvalue().count("loud") == 1 and "quiet" not in stream.getvalue()
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, AccessLogFilter) for f in access.filters) == 1
    with pytest.raises(ValueError, match="BUERO_LOG_LEVEL"):
        configure(Settings(_env_file=None, log_level="chatty"))  # type: ignore[call-arg]
