"""Across instances: two app processes sharing Redis. Relay round trips with citizen and clerk on
different instances against both on one instance (same run, same Redis); target: the p50
overhead is at most 2 ms. Runs when BUERO_BENCH_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import secrets
import statistics

from bench.common import Figure, Report, Seed, bench_env, percentile, serve
from bench.signalling import (
    ROUNDS,
    StepTimeout,
    issue_clerk_tokens,
    join_app,
    relay_all,
    seed_rooms,
)

ROOMS = 50


async def run(report: Report, database_url: str, seed: Seed, redis_url: str) -> None:
    # Room state lives in Redis: fresh references per run keep earlier runs' rooms apart.
    run_id = secrets.token_hex(3).upper()
    same_rooms = await seed_rooms(database_url, seed, ROOMS, prefix=f"X{run_id}")
    cross_rooms = await seed_rooms(database_url, seed, ROOMS, prefix=f"Y{run_id}")
    env = bench_env(database_url, BUERO_REDIS_URL=redis_url)
    with serve("app", env) as first, serve("app", env) as second:
        await issue_clerk_tokens(first.base_url, same_rooms + cross_rooms)
        same_pairs = [await join_app(first.ws_url, room) for room in same_rooms]
        cross_pairs = [await join_app(first.ws_url, room, second.ws_url) for room in cross_rooms]
        same: list[float] = []
        cross: list[float] = []
        try:
            # Alternating rounds (ABBA...): drift on a shared machine hits both alike.
            for round_ in range(ROUNDS):
                order = [(same_pairs, same), (cross_pairs, cross)]
                for pairs, sink in order if round_ % 2 == 0 else reversed(order):
                    sink.extend(await relay_all(pairs))
        except (StepTimeout, TimeoutError) as exc:
            report.add(Figure(f"cross-instance relay p50 [{ROOMS} rooms]", None, "ms",
                              ceiling=statistics.median(same), target="<= +2 ms", passed=False,
                              note=f"a room stalled: {exc or 'relay timeout'}"))
            return
        finally:
            await asyncio.gather(*(ws.close() for pairs in (same_pairs, cross_pairs)
                                   for pair in pairs for ws in pair))
    p50_same, p50_cross = statistics.median(same), statistics.median(cross)
    overhead = p50_cross - p50_same
    report.add(Figure(f"cross-instance relay p50 [{ROOMS} rooms]", p50_cross, "ms",
                      ceiling=p50_same, ratio=p50_cross / p50_same,
                      target="<= +2 ms", passed=overhead <= 2,
                      note=f"overhead {overhead:+.2f} ms; p99 {percentile(cross, 99):.1f} vs "
                           f"{percentile(same, 99):.1f} ms"))
