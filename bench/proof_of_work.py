"""What the proof of work costs: a browser solving it, the server creating and verifying it.

    python -m bench.proof_of_work [--runs 30] [--max-number 50000]

The browser figures come from Chromium (``/usr/bin/chromium``, a fresh profile) against the real
application served by uvicorn: each run fetches ``GET /api/v1/challenge`` and solves it with the
page's own Web Worker (``static/js/proof-of-work-worker.js``), exactly as the booking form does;
the time is the worker's, from the challenge to the number. A challenge's number is drawn at
random from 0 … max number, so the times spread; the median is about half the worst case.
The server figures time ``ProofOfWork.challenge`` and ``ProofOfWork.verify`` (one SHA-256, one
HMAC and the one-use check, in memory here) in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
import time
from datetime import UTC, datetime

from altcha.v1 import solve_challenge
from playwright.async_api import async_playwright

from bench.common import Figure, Report, bench_env, percentile, serve
from core.proof_of_work import ProofOfWork
from core.ratelimit import RateLimiter

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--no-first-run"]
# The page's solver, driven once: the worker's own measure of the time it took.
SOLVE = """async () => {
  const challenge = await (await fetch("/api/v1/challenge", {credentials: "omit"})).json();
  const worker = new Worker("/static/js/proof-of-work-worker.js");
  const result = await new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.postMessage({challenge: challenge.challenge, salt: challenge.salt,
                        maxNumber: challenge.maxNumber});
  });
  worker.terminate();
  return result;
}"""


async def browser_times(base: str, runs: int) -> list[float]:
    """Milliseconds per solve in Chromium."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = await context.new_page()
                await page.goto(base + "/healthz")  # any page of the origin may start the worker
                for _ in range(runs):
                    result = await page.evaluate(SOLVE)
                    if result.get("number") is None:
                        raise RuntimeError(f"not solved: {result}")
                    times.append(float(result["took"]))
            finally:
                await context.close()
    return times


async def server_costs(max_number: int, runs: int) -> tuple[float, float]:
    """Microseconds to create one challenge and to verify one solution."""
    limiter = RateLimiter(enabled=False, redis_url=None, rules={})
    pow_ = ProofOfWork.keyed(b"bench-secret-key-0123456789", max_number=max_number,
                             lifetime_seconds=600, limiter=limiter)
    now = datetime.now(UTC)
    started = time.perf_counter()
    challenges = [pow_.challenge(now) for _ in range(runs)]
    create_us = (time.perf_counter() - started) / runs * 1e6
    solutions = []
    for c in challenges:
        solved = solve_challenge(c["challenge"], c["salt"], "SHA-256", c["maxNumber"])
        assert solved is not None
        solutions.append(base64.b64encode(json.dumps({
            "algorithm": c["algorithm"], "challenge": c["challenge"], "number": solved.number,
            "salt": c["salt"], "signature": c["signature"]}).encode()).decode())
    started = time.perf_counter()
    for solution in solutions:
        await pow_.verify(solution, now)
    verify_us = (time.perf_counter() - started) / runs * 1e6
    return create_us, verify_us


def run(report: Report, runs: int, max_number: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pow-") as var:
        # No table is read: the challenge and the page's scripts need none.
        env = bench_env(f"sqlite+aiosqlite:///{var}/bench.db", BUERO_VAR_DIR=var,
                        BUERO_PROOF_OF_WORK="true", BUERO_PROOF_OF_WORK_MAX_NUMBER=str(max_number))
        with serve("app", env) as server:
            times = asyncio.run(browser_times(server.base_url, runs))
    note = f"{runs} challenges, max number {max_number}"
    report.add(Figure("proof of work: Chromium solve, median", percentile(times, 50), "ms",
                      note=note))
    report.add(Figure("proof of work: Chromium solve, p90", percentile(times, 90), "ms",
                      target="< 1000 ms", passed=percentile(times, 90) < 1000, note=note))
    report.add(Figure("proof of work: Chromium solve, max", max(times), "ms", note=note))
    create_us, verify_us = asyncio.run(server_costs(min(max_number, 5000), 200))
    report.add(Figure("proof of work: server creates one", create_us, "µs"))
    report.add(Figure("proof of work: server verifies one", verify_us, "µs"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--max-number", type=int, default=50_000)
    args = parser.parse_args()
    run(Report(), args.runs, args.max_number)


if __name__ == "__main__":
    main()
