"""Availability reads under wrk at 50 connections against a same-size constant-body ceiling.

The application runs as configured by default, answer cache included, and is loaded in turns with
the ceiling (see ``alternate``); a third, informational figure repeats the load with the cache off
(``BUERO_AVAILABILITY_CACHE_SECONDS=0``).
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess

import httpx

from bench.common import Figure, Report, Seed, bench_env, serve

CONNECTIONS = 50
ROUNDS = 3



class WrkResult:
    def __init__(self, rps: float, p50_ms: float, p99_ms: float, errors: int) -> None:
        self.rps, self.p50_ms, self.p99_ms, self.errors = rps, p50_ms, p99_ms, errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if not match:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: int, connections: int = CONNECTIONS) -> WrkResult:
    wrk_bin = shutil.which("wrk")
    if wrk_bin is None:
        raise RuntimeError("wrk is not installed (make bench installs it)")
    out = subprocess.run(
        [wrk_bin, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s",
         "--timeout", "30s", "--latency", url],
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


def alternate(app_url: str, ceiling_url: str, seconds: int) -> tuple[WrkResult, WrkResult]:
    """Load the application and the ceiling in turns, ``ROUNDS`` times each.

    Other load on a shared machine comes and goes; measured in turns, both see the same share of
    it, so their ratio is steadier than from one long run after the other. Throughput is the mean
    over the rounds; p50 and p99 are the median round's (one round disturbed by a neighbour does
    not decide alone).
    """
    wrk(app_url, 2)  # warm-up: connections, caches, allocator
    wrk(ceiling_url, 2)
    chunk = max(2, round(seconds / ROUNDS))
    app_runs: list[WrkResult] = []
    ceiling_runs: list[WrkResult] = []
    for _ in range(ROUNDS):
        app_runs.append(wrk(app_url, chunk))
        ceiling_runs.append(wrk(ceiling_url, chunk))
    return combine(app_runs), combine(ceiling_runs)


def combine(runs: list[WrkResult]) -> WrkResult:
    return WrkResult(
        rps=statistics.fmean(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )


def run(report: Report, database_url: str, seed: Seed, seconds: int, label: str) -> None:
    path = (f"/api/v1/availability?service_id={seed.service_id}&office_id={seed.office_id}"
            f"&from={seed.window_from.isoformat()}&to={seed.window_to.isoformat()}")
    with serve("app", bench_env(database_url)) as server:
        first = httpx.get(server.base_url + path, timeout=30)
        first.raise_for_status()
        body_size = len(first.content)
        slots = len(first.json()["slots"])
        with serve("http-ceiling", extra_args=["--body-size", str(body_size)]) as ceiling_server:
            check = httpx.get(ceiling_server.base_url + path, timeout=30)
            assert len(check.content) == body_size
            app, ceiling = alternate(server.base_url + path, ceiling_server.base_url + path,
                                     seconds)
    # The same reads with the answer cache off: what a read right after a booking costs
    # (reported only; the target is for the application as configured by default).
    with serve("app", bench_env(database_url, BUERO_AVAILABILITY_CACHE_SECONDS="0")) as server:
        uncached = measure(server.base_url + path, max(2, seconds // 2))
        alone = wrk(server.base_url + path, max(2, seconds // 2), connections=1)
    ratio = app.rps / ceiling.rps if ceiling.rps else 0.0
    note = f"{slots} slots, {body_size} B body, {ROUNDS} rounds in turns with the ceiling"
    if app.errors:
        note += f", {app.errors} errors"
    report.add(Figure(f"availability throughput [{label}]", app.rps, "req/s",
                      ceiling=ceiling.rps, ratio=ratio, target=">= 0.5 x",
                      passed=ratio >= 0.5 and app.errors == 0, note=note))
    report.add(Figure(f"availability p99 [{label}]", app.p99_ms, "ms", ceiling=ceiling.p99_ms,
                      ratio=app.p99_ms / ceiling.p99_ms if ceiling.p99_ms else None,
                      target="<= 50 ms", passed=app.p99_ms <= 50,
                      note=f"p50 {app.p50_ms:.1f} ms, median of {ROUNDS} rounds"))
    note = f"cache off: p50 {uncached.p50_ms:.1f} ms, p99 {uncached.p99_ms:.1f} ms"
    if uncached.errors:
        note += f", {uncached.errors} errors"
    report.add(Figure(f"availability uncached [{label}]", uncached.rps, "req/s",
                      ceiling=ceiling.rps,
                      ratio=uncached.rps / ceiling.rps if ceiling.rps else None, note=note))
    # A busy month computed afresh (31 days, 10 seats, 5,000 bookings), one read at a time.
    report.add(Figure(f"availability uncached p99 [{label}]", alone.p99_ms, "ms",
                      target="<= 1000 ms", passed=alone.p99_ms <= 1000 and not alone.errors,
                      note=f"p50 {alone.p50_ms:.1f} ms, one connection, busy month"))
