"""The access log's cost per request: one line as uvicorn's access logger hands it to the
product's logging (app/logging_setup.py, core/log_lines.py), formatted and written to a file,
in both formats.

Pure function calls in this process. The figure to compare it with is the availability read's
time per request at full load (``availability throughput``: 1 / req/s); the benchmarks serve the
application with this log on, as ``buergerbuero serve`` does by default.
"""

from __future__ import annotations

import logging
import tempfile
import time

from app.logging_setup import configure
from app.settings import Settings
from bench.common import Figure, Report

LINES = 20_000
ROUNDS = 5
PATHS = ("/api/v1/availability?service_id=1&office_id=1&from=2026-12-08&to=2027-01-07",
         "/t/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/call")  # a link: redacted on every line


def per_line_us(log_format: str) -> float:
    """The fastest of ``ROUNDS`` rounds, in µs per line (other load only ever adds)."""
    settings = Settings(_env_file=None, secret_key="bench-secret-key-0123456789",
                        log_format=log_format, log_level="INFO")
    access = logging.getLogger("uvicorn.access")
    best = float("inf")
    root = logging.getLogger()
    others = list(root.handlers)  # the benchmark runner's own: not part of the figure
    for handler in others:
        root.removeHandler(handler)
    with tempfile.TemporaryFile("w") as sink:
        configure(settings, stream=sink)
        try:
            for _ in range(ROUNDS):
                started = time.perf_counter()
                for i in range(LINES):
                    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET",
                                PATHS[i % 10 == 0], "1.1", 200)
                best = min(best, (time.perf_counter() - started) / LINES * 1e6)
        finally:
            root.handlers.clear()
            for handler in others:
                root.addHandler(handler)
    return best


def run(report: Report) -> None:
    for log_format in ("text", "json"):
        report.add(Figure(f"access log line [{log_format}]", per_line_us(log_format), "us",
                          note=f"fastest of {ROUNDS} rounds of {LINES} lines, to a file; "
                               "one line in ten a redacted link"))
