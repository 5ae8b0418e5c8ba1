"""The ``buergerbuero`` command: subcommands, exit codes, clear errors without tracebacks."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import build_parser, main
from booking.models import Office
from core.jobs import Job, job_values
from core.types import utcnow
from staff.models import StaffOffice, StaffUser
from staff.passwords import verify
from tests.conftest import REDIS_URL, SHARED_REDIS, free_port, require

REPO = Path(__file__).resolve().parents[2]
enqueue_jobs = insert(Job.__table__)  # type: ignore[attr-defined]
GOOD_PASSWORD = "Stempel-Amt-Vier-7"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts in an empty folder with no BUERO_ settings and no .env."""
    for name in list(os.environ):
        if name.startswith("BUERO_") and not name.startswith("BUERO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    # main() installs its log handler on the root logger; take it off again.
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _use_db(monkeypatch: pytest.MonkeyPatch, url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("BUERO_DATABASE_URL", url)
    monkeypatch.setenv("BUERO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BUERO_LOG_LEVEL", "WARNING")


def _office(url: str) -> int:
    async def run() -> int:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(
                    Office.__table__.insert().values(  # type: ignore[attr-defined]
                        name="Rathaus", timezone="Europe/Berlin", min_notice_minutes=0,
                        horizon_days=30, authority="", address="", email="", phone="",
                        iban="", bic="", bank_name="",
                        created_at=utcnow(), updated_at=utcnow(),
                    ).returning(Office.__table__.c.id)  # type: ignore[attr-defined]
                )
                return int(result.scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _queue_job(url: str, kind: str) -> None:
    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(enqueue_jobs, [job_values(kind, {})])
        finally:
            await engine.dispose()

    asyncio.run(run())


def _user(url: str, email: str) -> tuple[StaffUser | None, list[int]]:
    async def run() -> tuple[StaffUser | None, list[int]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(select(StaffUser).where(StaffUser.email == email))
                ).first()
                if row is None:
                    return None, []
                user = StaffUser(**row._mapping)
                offices = (
                    await conn.execute(
                        select(StaffOffice.office_id).where(StaffOffice.user_id == user.id)
                    )
                ).scalars().all()
                return user, list(offices)
        finally:
            await engine.dispose()

    return asyncio.run(run())


# --- migrate -----------------------------------------------------------------------------------


def test_migrate_creates_var_and_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0  # all defaults: sqlite under ./var
    assert (tmp_path / "var" / "buergerbuero.db").is_file()
    assert "migrated from revision (empty) to" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_bad_settings_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUERO_PORT", "not-a-port")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert "BUERO_PORT" in err and "Traceback" not in err

    monkeypatch.delenv("BUERO_PORT")
    monkeypatch.setenv("BUERO_ENV", "production")
    assert main(["migrate"]) == 1
    assert "BUERO_SECRET_KEY" in capsys.readouterr().err

    monkeypatch.setenv("BUERO_ENV", "development")
    monkeypatch.setenv("BUERO_LOG_LEVEL", "LOUD")
    assert main(["migrate"]) == 1
    assert "BUERO_LOG_LEVEL" in capsys.readouterr().err


def test_unreachable_database_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("BUERO_DATABASE_URL", f"postgresql+asyncpg://nobody@127.0.0.1:{port}/x")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("buergerbuero migrate: ") and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["fly"], ["create-user", "--email", "a@b.de", "--role", "boss"],
                 ["serve", "--port", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_help_names_every_subcommand() -> None:
    text = build_parser().format_help()
    for command in ("serve", "worker", "migrate", "demo", "create-user"):
        assert command in text


# --- create-user -------------------------------------------------------------------------------


def test_create_user_reads_the_password_from_stdin(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_db(monkeypatch, db_url, tmp_path)
    office_id = _office(db_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD_PASSWORD + "\n"))
    code = main(["create-user", "--email", "Clerk@Example.org", "--role", "clerk",
                 "--office", str(office_id), "--name", "Frau Muster"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Created clerk" in out and GOOD_PASSWORD not in out + err

    user, offices = _user(db_url, "clerk@example.org")
    assert user is not None and user.role == "clerk" and user.display_name == "Frau Muster"
    assert offices == [office_id]
    assert user.password_hash != GOOD_PASSWORD
    assert asyncio.run(verify(user.password_hash, GOOD_PASSWORD))[0]

    # The same address again: refused, with the reason, without a traceback.
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD_PASSWORD + "\n"))
    assert main(["create-user", "--email", "clerk@example.org", "--role", "admin"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err


def test_create_user_makes_a_platform_admin_of_no_municipality(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_db(monkeypatch, db_url, tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD_PASSWORD + "\n"))
    code = main(["create-user", "--email", "platform@example.org", "--role", "platform_admin"])
    assert code == 0, capsys.readouterr().err
    user, offices = _user(db_url, "platform@example.org")
    assert user is not None and user.role == "platform_admin"
    assert user.municipality_id is None and offices == []
    # A municipality that does not exist: refused, without a traceback.
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD_PASSWORD + "\n"))
    assert main(["create-user", "--email", "c@example.org", "--role", "clerk",
                 "--municipality", "999"]) == 1
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stdin", "extra", "expected"),
    [
        ("", [], "no password"),
        ("\n", [], "no password"),
        ("kurz\n", [], "at least"),
        (GOOD_PASSWORD + "\n", ["--office", "999999"], "office_ids"),
    ],
)
def test_create_user_refuses_bad_input(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], stdin: str, extra: list[str], expected: str,
) -> None:
    _use_db(monkeypatch, db_url, tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["create-user", "--email", "admin@example.org", "--role", "admin", *extra])
    err = capsys.readouterr().err
    assert code == 1
    assert expected in err and "Traceback" not in err
    assert _user(db_url, "admin@example.org")[0] is None


def test_create_user_on_an_unmigrated_database_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use_db(monkeypatch, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD_PASSWORD + "\n"))
    assert main(["create-user", "--email", "a@example.org", "--role", "admin"]) == 1
    err = capsys.readouterr().err
    assert "buergerbuero migrate" in err and "Traceback" not in err and GOOD_PASSWORD not in err


# --- demo --------------------------------------------------------------------------------------


def test_demo_migrates_loads_and_prints_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUERO_LOG_LEVEL", "WARNING")
    assert main(["demo"]) == 0  # a fresh folder: migrates first
    first = capsys.readouterr().out
    assert "admin@ostfildern.example" in first and "sachbearbeitung@ostfildern.example" in first
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "nothing to add" in second
    logins = [line for line in first.splitlines() if "@ostfildern.example" in line]
    assert logins == [line for line in second.splitlines() if "@ostfildern.example" in line]


def test_demo_refuses_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUERO_ENV", "production")
    monkeypatch.setenv("BUERO_SECRET_KEY", secrets.token_urlsafe(32))
    monkeypatch.setenv("BUERO_BASE_URL", "https://buergerbuero.example")
    assert main(["demo"]) == 1
    assert "production" in capsys.readouterr().err
    assert not Path("var").exists()


# --- serve and worker as real processes --------------------------------------------------------


def _spawn(args: list[str], tmp_path: Path, log: Path,
           extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUERO_")}
    env |= {
        "BUERO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'app.db'}",
        "BUERO_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args], cwd=tmp_path, env=env,
            stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )


def _wait_for(predicate: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@pytest.mark.slow
def test_serve_answers_and_keeps_tokens_out_of_the_log(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _spawn(["serve", "--port", str(port)], tmp_path, log)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_for(up)
        assert httpx.get(f"{base}/readyz").json()["checks"]["database"] == "ok"
        secret = "Zk3-SECRET-link-token_0123456789abcdef"
        r = httpx.get(f"{base}/t/{secret}/call?lang=en&code=QUERYSECRET",
                      headers={"X-Request-ID": "req-4711"})
        assert r.headers["x-request-id"] == "req-4711"
    finally:
        code = _stop(proc)
    text = log.read_text()
    assert code == 0, text
    assert "serving on http://127.0.0.1:" in text and "in-process" in text
    frozen = re.findall(r"(\d+) objects from start-up kept out of garbage collection", text)
    assert len(frozen) == 1 and int(frozen[0]) > 100_000  # app/heap.py
    assert "/t/[redacted]/call" in text
    assert secret not in text and "QUERYSECRET" not in text
    assert "request_id=req-4711" in text
    access = [line for line in text.splitlines() if "logger=uvicorn.access" in line]
    assert len(access) >= 3
    assert all("127.0.0.1" not in line for line in access)  # no client addresses by default


@pytest.mark.slow
def test_worker_starts_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    migrate_proc = _spawn(["migrate"], tmp_path, tmp_path / "migrate.log")
    assert migrate_proc.wait(timeout=60) == 0, (tmp_path / "migrate.log").read_text()
    # A job no handler knows: the worker's first round over the outbox takes it and logs that
    # it put it back for a retry. That round is what the test waits for.
    _queue_job(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'app.db'}", "test.nobody")
    proc = _spawn(["worker"], tmp_path, log)
    try:
        _wait_for(lambda: "(test.nobody) failed on attempt 1" in log.read_text()
                  or proc.poll() is not None)
        assert proc.poll() is None, log.read_text()
        assert "worker started" in log.read_text()
    finally:
        code = _stop(proc, signal.SIGTERM)
    text = log.read_text()
    assert code == 0, text
    assert "worker stopped" in text and "Traceback" not in text


def test_several_workers_need_redis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "BUERO_REDIS_URL" in err and "Traceback" not in err


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@SHARED_REDIS
@pytest.mark.slow
def test_serve_with_two_worker_processes_shares_redis(tmp_path: Path) -> None:
    require(REDIS_URL is not None, "Redis (BUERO_TEST_REDIS_URL)")
    assert REDIS_URL is not None
    redis_url = REDIS_URL
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _spawn(["serve", "--port", str(port), "--workers", "2", "--no-worker"], tmp_path,
                  log, {"BUERO_REDIS_URL": redis_url,
                         "BUERO_REDIS_PREFIX": f"buero-test:{tmp_path.name}:"})
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_for(up, 60)
        # Two server processes under the supervisor, both answering with Redis ready.
        _wait_for(lambda: len(_children(proc.pid)) >= 2, 30)
        for _ in range(20):
            ready = httpx.get(f"{base}/readyz", timeout=5)
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    finally:
        code = _stop(proc)
    text = log.read_text()
    assert code == 0, text
    assert "2 processes" in text and "job worker off" in text
    frozen = re.findall(r"(\d+) objects from start-up kept out of garbage collection", text)
    assert len(frozen) == 2 and all(int(n) > 100_000 for n in frozen)  # in each process
    assert "Traceback" not in text
