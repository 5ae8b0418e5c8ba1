"""Availability reads under wrk at 50 connections against a same-size constant-body ceiling."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx

from bench.common import Figure, Report, Seed, bench_env, serve

CONNECTIONS = 50



class WrkResult:
    def __init__(self, rps: float, p50_ms: float, p99_ms: float, errors: int) -> None:
        self.rps, self.p50_ms, self.p99_ms, self.errors = rps, p50_ms, p99_ms, errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if not match:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: int) -> WrkResult:
    wrk_bin = shutil.which("wrk")
    if wrk_bin is None:
        raise RuntimeError("wrk is not installed (make bench installs it)")
    out = subprocess.run(
        [wrk_bin, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s", "--latency",
         url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return WrkResult(rps, p50, p99, errors)


def measure(url: str, seconds: int) -> WrkResult:
    wrk(url, 2)  # warm-up: connections, caches, JIT-free but allocator-warm
    return wrk(url, seconds)


def run(report: Report, database_url: str, seed: Seed, seconds: int, label: str) -> None:
    path = (f"/api/v1/availability?service_id={seed.service_id}&office_id={seed.office_id}"
            f"&from={seed.window_from.isoformat()}&to={seed.window_to.isoformat()}")
    with serve("app", bench_env(database_url)) as server:
        first = httpx.get(server.base_url + path, timeout=30)
        first.raise_for_status()
        body_size = len(first.content)
        slots = len(first.json()["slots"])
        app = measure(server.base_url + path, seconds)
    with serve("http-ceiling", extra_args=["--body-size", str(body_size)]) as ceiling_server:
        check = httpx.get(ceiling_server.base_url + path, timeout=30)
        assert len(check.content) == body_size
        ceiling = measure(ceiling_server.base_url + path, seconds)
    ratio = app.rps / ceiling.rps if ceiling.rps else 0.0
    note = f"{slots} slots, {body_size} B body"
    if app.errors:
        note += f", {app.errors} errors"
    report.add(Figure(f"availability throughput [{label}]", app.rps, "req/s",
                      ceiling=ceiling.rps, ratio=ratio, target=">= 0.5 x",
                      passed=ratio >= 0.5 and app.errors == 0, note=note))
    report.add(Figure(f"availability p99 [{label}]", app.p99_ms, "ms", ceiling=ceiling.p99_ms,
                      ratio=app.p99_ms / ceiling.p99_ms if ceiling.p99_ms else None,
                      target="<= 50 ms", passed=app.p99_ms <= 50,
                      note=f"p50 {app.p50_ms:.1f} ms"))
