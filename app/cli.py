"""The ``buergerbuero`` command: serve, worker, migrate, demo, create-user.

Every subcommand reads the settings from the environment (``BUERO_*``, also ``.env``). User
errors (bad settings, bad input, an unreachable database) end with a one-line message on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from app.heap import freeze_startup_heap
from app.settings import Settings, SettingsError

if TYPE_CHECKING:
    from alembic.config import Config
    from starlette.applications import Starlette

log = logging.getLogger("buergerbuero.cli")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL advisory lock held while migrating (see migrations/env.py).
MIGRATION_LOCK_KEY = 0x6275_6572_6F  # "buero"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class UserError(Exception):
    """Ends the command with this message and exit code 1 (no traceback)."""


# --- migrations --------------------------------------------------------------------------------


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for our migrations that needs no ``alembic.ini``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = database_url
    return cfg


def ensure_sqlite_dir(database_url: str) -> None:
    """SQLite creates the file but not its folder (``var/`` on a fresh clone)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (runs its own event loop: call it from sync code)."""
    from alembic import command

    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None when it has none)."""
    return asyncio.run(_current_revision(database_url))


async def _current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


# --- subcommands -------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    ensure_sqlite_dir(settings.database_url)
    before = current_revision(settings.database_url)
    migrate(settings.database_url)
    after = current_revision(settings.database_url)
    if before == after:
        print(f"Database is up to date (revision {after}).")
    else:
        print(f"Database migrated from revision {before or '(empty)'} to {after}.")
    return EXIT_OK


# Tells the processes of `serve --workers N` whether to run the job worker too.
_SERVE_RUN_WORKER = "_BUERO_SERVE_RUN_WORKER"


def serve_process_app() -> Starlette:
    """The app of one process under `serve --workers N` (uvicorn imports it by name)."""
    from app.logging_setup import configure
    from app.main import create_app

    settings = load_settings()
    configure(settings)
    application = create_app(settings, run_worker=os.environ.get(_SERVE_RUN_WORKER) == "1")
    _freeze_startup_heap()
    return application


def _freeze_startup_heap() -> None:
    frozen = freeze_startup_heap()
    log.info("%d objects from start-up kept out of garbage collection", frozen)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    workers = args.workers or settings.workers
    if workers > 1 and not settings.redis_url:
        raise UserError(
            "more than one worker process needs BUERO_REDIS_URL: calls, rate limits and caches "
            "must be shared between the processes"
        )
    migrate(settings.database_url)
    run_worker = not args.no_worker
    host = args.host or settings.host
    port = args.port or settings.port
    log.info(
        "serving on http://%s:%s (%d process%s, job worker %s)", host, port, workers,
        "es" if workers > 1 else "", "in-process" if run_worker else "off",
    )
    target: Starlette | str
    if workers > 1:
        os.environ[_SERVE_RUN_WORKER] = "1" if run_worker else "0"
        target = "app.cli:serve_process_app"
    else:
        target = create_app(settings, run_worker=run_worker)
        _freeze_startup_heap()
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_config=None,  # keep app/logging_setup.py's configuration
        proxy_headers=settings.proxy_headers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        lifespan="on",
        # Open agenda streams (server-sent events) would otherwise hold a restart for up to a
        # minute; browsers reconnect to the next instance on their own.
        timeout_graceful_shutdown=5,
        # Signalling frames are small; per-message deflate would cost ~40 KiB of zlib state per
        # socket (measured with bench/) for no gain.
        ws_per_message_deflate=False,
    )
    return EXIT_OK


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run_worker(settings))
    return EXIT_OK


async def _run_worker(settings: Settings) -> None:
    from app.main import build_context
    from app.worker import Worker

    state = build_context(settings)
    task = asyncio.create_task(Worker(state).run_forever(), name="worker")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # A stop signal cancels the loop between jobs' awaits; a job left half-done is retried
        # by another worker once its lease ends (the outbox never loses it).
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    log.info("worker started")
    try:
        await task
    except asyncio.CancelledError:
        log.info("worker stopped")
    finally:
        await state.db.dispose()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.demo import load_demo, print_logins

    if settings.env == "production" and not args.force:
        raise UserError(
            "refusing to load demo data (with printed passwords) into a production "
            "installation; pass --force if you really mean it"
        )
    migrate(settings.database_url)
    result = asyncio.run(load_demo(settings))
    print_logins(result, settings, sys.stdout)
    return EXIT_OK


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    password = read_password(sys.stdin)
    user_id = asyncio.run(
        _create_user(settings, args.email, password, args.role, args.office or [], args.name,
                     args.municipality)
    )
    print(f"Created {args.role} {args.email} (id {user_id}).")
    return EXIT_OK


def read_password(stdin: TextIO) -> str:
    """From a terminal: asked twice without echo. Otherwise: the first line of stdin."""
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise UserError("the passwords do not match")
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError("no password given (write it to standard input)")
    return password


async def _create_user(
    settings: Settings,
    email: str,
    password: str,
    role: str,
    office_ids: list[int],
    display_name: str,
    municipality_id: int | None = None,
) -> int:
    from app.db import Database
    from core.audit import Actor
    from core.tenancy import acting_for
    from staff.service import create_user
    from tenants.scope import install

    install()  # the offices named must be the municipality's
    db = Database(settings.database_url)
    try:
        with acting_for(municipality_id):
            async with db.transaction(write=True) as session:
                user = await create_user(
                    session, email=email, password=password, role=role, office_ids=office_ids,
                    actor=Actor("system", None, "cli"), display_name=display_name)
                await session.flush()
                assert user.id is not None
                return user.id
    finally:
        await db.dispose()


# --- parsing and dispatch ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buergerbuero",
        description="Bürgerbüro per Video: video appointments with the town hall.",
        epilog="Settings come from BUERO_* environment variables and .env (see README.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate, then serve the web app (uvicorn)")
    serve.add_argument("--host", help="address to bind (default: BUERO_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: BUERO_PORT, 8000)")
    serve.add_argument(
        "--no-worker", action="store_true",
        help="do not run background jobs in this process (run `buergerbuero worker` instead)",
    )
    serve.add_argument(
        "--workers", type=int, choices=range(1, 65), metavar="N",
        help="server processes (default: BUERO_WORKERS, 1); above 1 needs BUERO_REDIS_URL",
    )
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run background jobs only (several may run against PostgreSQL)"
    )
    worker.set_defaults(handler=cmd_worker)

    mig = sub.add_parser("migrate", help="apply the database migrations")
    mig.set_defaults(handler=cmd_migrate)

    demo = sub.add_parser(
        "demo", help="load a demo office, services, schedules and staff (idempotent)"
    )
    demo.add_argument("--force", action="store_true", help="allow it with BUERO_ENV=production")
    demo.set_defaults(handler=cmd_demo)

    user = sub.add_parser(
        "create-user", help="create a staff account; the password is read from stdin"
    )
    user.add_argument("--email", required=True)
    user.add_argument("--role", required=True,
                      choices=["clerk", "admin", "integration", "platform_admin"])
    user.add_argument(
        "--office", type=int, action="append", metavar="ID",
        help="office id the account works for (repeat for several)",
    )
    user.add_argument("--name", default="", help="display name")
    user.add_argument("--municipality", type=int, metavar="ID", default=None,
                      help="the municipality of the account (default: the first one)")
    user.set_defaults(handler=cmd_create_user)
    return parser


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            name = f"BUERO_{field.upper()}" if field else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise UserError("invalid configuration: " + "; ".join(problems)) from exc
    except SettingsError as exc:
        raise UserError(f"invalid configuration: {exc}") from exc


def _describe(exc: BaseException) -> str:
    """One line about an error, without SQL parameters (they may hold personal data)."""
    from core.errors import DomainError

    if isinstance(exc, DomainError):
        if exc.details:
            return "; ".join(f"{d['field']}: {d['message']}" for d in exc.details)
        text = exc.msgid % exc.params if exc.params else exc.msgid
        return f"{exc.field}: {text}" if exc.field else text
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    from core.errors import DomainError

    try:
        settings = load_settings()
        from app.logging_setup import configure

        try:
            configure(settings)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        return handler(settings, args)
    except UserError as exc:
        print(f"buergerbuero {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except DomainError as exc:
        print(f"buergerbuero {args.command}: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except (OSError, ConnectionError) as exc:
        print(f"buergerbuero {args.command}: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            text = _describe(exc)
            if "no such table" in text or "UndefinedTable" in text:
                text += " (is the database migrated? run `buergerbuero migrate`)"
            print(f"buergerbuero {args.command}: database error: {text}", file=sys.stderr)
            return EXIT_ERROR
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
