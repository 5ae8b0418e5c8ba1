"""Run every benchmark and print one line per figure (``make bench``).

    python -m bench.run [--only availability,race,documents,signalling,uploads,insights,tenancy,...]
                        [--seconds 10] [--rooms 1000] [--letters 1000]

Postgres figures run when BUERO_BENCH_POSTGRES_URL is set (a server URL; a database is created
and dropped per run), e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; the
cross-instance figure when BUERO_BENCH_REDIS_URL is set, e.g. redis://127.0.0.1:6379/0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time

from bench.common import Report, fresh_database, seed

ALL = ("availability", "race", "documents", "signalling", "callsetup", "redis", "uploads",
       "accesslog", "rush", "insights", "tenancy")


async def with_database(postgres_url: str | None, report: Report, args: argparse.Namespace,
                        label: str) -> None:
    async with fresh_database(postgres_url) as url:
        seeded = await seed(url)
        if "availability" in args.only:
            from bench import availability

            await asyncio.to_thread(availability.run, report, url, seeded, args.seconds, label)
        if "race" in args.only:
            from bench import booking_race

            await booking_race.run(report, url, seeded, label, throughput=postgres_url is not None)
        if "signalling" in args.only and postgres_url is None:
            from bench import signalling

            await signalling.run(report, url, seeded, args.rooms)
        if "callsetup" in args.only and postgres_url is None:
            from bench import call_setup

            await call_setup.run(report, url, seeded)
        redis_url = os.environ.get("BUERO_BENCH_REDIS_URL")
        if "redis" in args.only and postgres_url is None and redis_url:
            from bench import cross_instance

            await cross_instance.run(report, url, seeded, redis_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(ALL))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--letters", type=int, default=1000,
                        help="letters in the print batch (fewer: the figure is extrapolated)")
    parser.add_argument("--fail-on-miss", action="store_true",
                        help="exit with status 1 when a figure misses its target")
    args = parser.parse_args()
    # No line per set-up request or ICE check: only the figures.
    for chatty in ("httpx", "aioice", "aiortc"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # A terminated run still stops the servers it started (the context managers' exits run).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args.only = set(args.only.split(","))
    unknown = args.only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    print(f"# {os.cpu_count()} CPUs, load average {' '.join(load)} at start", flush=True)
    started = time.monotonic()
    report = Report()
    if args.only & {"availability", "race", "signalling", "callsetup", "redis"}:
        asyncio.run(with_database(None, report, args, "sqlite"))
        postgres = os.environ.get("BUERO_BENCH_POSTGRES_URL")
        if postgres and args.only & {"availability", "race"}:
            args_pg = argparse.Namespace(**vars(args))
            args_pg.only = args.only - {"signalling", "callsetup", "redis"}
            asyncio.run(with_database(postgres, report, args_pg, "postgres"))
    if "documents" in args.only:
        from bench import documents

        documents.run(report, args.letters)
    if "uploads" in args.only:
        from bench import uploads

        uploads.run(report)
    if "rush" in args.only:
        from bench import rush

        rush.run(report)
    if "insights" in args.only:
        from bench import insights

        insights.run(report)
    if "tenancy" in args.only:
        from bench import tenancy

        tenancy.run(report)
    if "accesslog" in args.only:
        from bench import access_log

        access_log.run(report)
    print(f"# {len(report.figures)} figures in {time.monotonic() - started:.0f} s", flush=True)
    missed = [f for f in report.figures if f.passed is False]
    if missed:
        print(f"# {len(missed)} of {len(report.figures)} figures miss their target", flush=True)
    return 1 if missed and args.fail_on_miss else 0


if __name__ == "__main__":
    sys.exit(main())
