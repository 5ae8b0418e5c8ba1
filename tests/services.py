"""Backing services of a test's own, to break on purpose: a ``redis-server``, a PostgreSQL
cluster (``initdb`` + ``pg_ctl``) and a ClamAV daemon (``clamd``) on free loopback ports, in
temporary folders, started, killed, stopped and started again by the test. The machine's shared
PostgreSQL and Redis are never touched, nor a clamd the machine may run.

PostgreSQL refuses to run as root: when the tests run as root, the cluster belongs to the
``postgres`` system user (``runuser``), else to the current user.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, require


def _answers(port: int, probe: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(probe)
            return sock.recv(64).startswith(expect)
    except OSError:
        return False


def _answering(process: subprocess.Popen[bytes], name: str, port: int, probe: bytes,
               expect: bytes, log: Path | None = None) -> Callable[[], bool]:
    """A ``_wait`` condition: the server answers ``probe``; a server that exited fails at once
    (with its log, if it has one) instead of being waited for until the deadline."""

    def ready() -> bool:
        if process.poll() is not None:
            text = log.read_text() if log is not None and log.exists() else ""
            raise AssertionError(f"{name} exited with {process.returncode}: {text}")
        return _answers(port, probe, expect)

    return ready


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class OwnRedis:
    """A ``redis-server`` without persistence, as in ``deploy/docker-compose.yml``: a restart
    comes back empty."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server")
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tempfile.gettempdir()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(_answering(self.process, "redis-server", self.port, b"PING\r\n", b"+PONG"),
              "redis-server to answer")

    def kill(self) -> None:
        """The server dies at once (SIGKILL): every connection drops, nothing is kept."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (trust authentication, loopback only)."""

    def __init__(self) -> None:
        bindir = _postgres_bindir()
        require(bindir is not None, "PostgreSQL server binaries (initdb, pg_ctl)")
        assert bindir is not None
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp_path: the cluster's owner must be able to reach its folder.
        self.root = Path(tempfile.mkdtemp(prefix="buero-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.owner = "postgres" if os.geteuid() == 0 else None
        if self.owner:
            shutil.chown(self.root, self.owner)
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [*(["runuser", "-u", self.owner, "--"] if self.owner else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=120)
        assert result.returncode == 0, (args, result.stdout, result.stderr,
                                        self.log.read_text() if self.log.exists() else "")

    def init(self) -> None:
        self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories="
                   f"{self.root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_buffers=32MB -c max_connections=120")
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o",
                  options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown: open connections are ended, new ones refused until ``start``."""
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(AssertionError):
            self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w",
                      "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    async def scalar(self, query: str) -> object:
        import asyncpg

        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                     database="postgres")
        try:
            return await conn.fetchval(query)
        finally:
            await conn.close()

    async def rows(self, query: str) -> list[tuple[object, ...]]:
        import asyncpg

        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                     database="postgres")
        try:
            return [tuple(row) for row in await conn.fetch(query)]
        finally:
            await conn.close()


def eicar() -> bytes:
    """The EICAR anti-virus test file, which every scanner reports and which does no harm. Put
    together here from two halves, so that no file of the repository is the test file itself
    (scanners on developers' machines would quarantine it)."""
    return b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class OwnClamd:
    """A ``clamd`` with a signature database of its own, made here (no download, no
    ``freshclam``): the EICAR test file by its MD5 (``.hdb``, as ``sigtool --md5`` writes it)
    and as a byte pattern anywhere in a file (``.ndb``, so EICAR inside a PDF is found too).
    It listens on a unix socket in its folder and on a free loopback port, and refuses streams
    over ``STREAM_MAX_BYTES`` (clamd's ``StreamMaxLength``)."""

    STREAM_MAX_BYTES = 2 * 1024 * 1024
    SIGNATURE = "Eicar-Test-Signature"

    def __init__(self) -> None:
        # Debian puts clamd in /usr/sbin, which a user's PATH may lack.
        binary = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")
        require(binary is not None, "clamd (Debian package clamav-daemon)")
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        # Not under pytest's tmp_path: a unix socket's path must stay under 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="buero-clamd-"))
        self.socket = self.root / "clamd.sock"
        self.log = self.root / "clamd.log"
        self.unix_address = f"unix:{self.socket}"
        self.tcp_address = f"tcp:127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        (self.root / "db").mkdir()
        (self.root / "tmp").mkdir()
        test_file = eicar()
        (self.root / "db" / "eicar.hdb").write_text(
            f"{hashlib.md5(test_file).hexdigest()}:{len(test_file)}:{self.SIGNATURE}\n")
        (self.root / "db" / "eicar.ndb").write_text(f"{self.SIGNATURE}:0:*:{test_file.hex()}\n")
        self.config = self.root / "clamd.conf"
        self.config.write_text("\n".join([
            "Foreground yes",
            f"LocalSocket {self.socket}",
            f"TCPSocket {self.port}",
            "TCPAddr 127.0.0.1",
            f"DatabaseDirectory {self.root / 'db'}",
            f"TemporaryDirectory {self.root / 'tmp'}",
            f"LogFile {self.log}",
            f"PidFile {self.root / 'clamd.pid'}",
            f"StreamMaxLength {self.STREAM_MAX_BYTES}",
            "MaxThreads 4",
            "Bytecode no",
            "",
        ]))

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, f"--config-file={self.config}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(_answering(self.process, "clamd", self.port, b"zPING\0", b"PONG", self.log),
              "clamd to answer PING")

    def pause(self) -> None:
        """The daemon stops (SIGSTOP): connections are still accepted, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """The daemon dies at once (SIGKILL); its socket file stays, refusing connections."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_bindir() -> str | None:
    """Debian keeps the server's programs out of PATH, in /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return str(Path(os.path.realpath(found)).parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return str(Path(versions[-1]).parent) if versions else None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    try:  # a server that never answered is killed too, not left running past the test
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def own_clamd() -> Iterator[OwnClamd]:
    """One clamd per test process (pytest-xdist worker), shared by its tests, which only scan.
    A test that stops or pauses a clamd starts one of its own (``OwnClamd``)."""
    server = OwnClamd()
    try:
        server.start()
        yield server
    finally:
        server.remove()


# Tests that break real services and wait for real processes run in one pytest-xdist worker,
# one after another, so that they neither overload the machine nor time each other out.
FAULTS = pytest.mark.xdist_group("faults")
