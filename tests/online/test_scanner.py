"""Virus scanning against a real clamd of the tests' own (``tests/services.py`` ``OwnClamd``,
signatures made there): EICAR found over the unix socket and TCP, clean files pass, a stream
over clamd's limit is refused clearly, and a stopped, paused or absent clamd makes uploads wait
(503) instead of passing unscanned. clamd's replies are parsed without sockets too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from online.scanner import (
    Address,
    ClamdScanner,
    NoScanner,
    ScannerUnavailable,
    ScanResult,
    TooLargeToScan,
    parse_address,
    parse_reply,
    scanner_for,
)
from online.uploads import MalwareFound, prepare_upload
from tests.online import samples
from tests.services import OwnClamd, eicar

MB = 1024 * 1024


@pytest.fixture(params=["unix", "tcp"])
def scanner(request: pytest.FixtureRequest, own_clamd: OwnClamd) -> ClamdScanner:
    address = own_clamd.unix_address if request.param == "unix" else own_clamd.tcp_address
    return ClamdScanner(address, timeout=30)


@pytest.fixture
def clamd_to_break() -> Iterator[OwnClamd]:
    """A clamd of this test's own, to stop or pause (the shared one keeps serving the others)."""
    server = OwnClamd()
    try:
        server.start()
        yield server
    finally:
        server.remove()


# --- without sockets ---------------------------------------------------------------------------


def test_addresses() -> None:
    assert parse_address("unix:/run/clamav/clamd.ctl") == Address(path="/run/clamav/clamd.ctl")
    assert parse_address("tcp:127.0.0.1:3310") == Address(host="127.0.0.1", port=3310)
    assert parse_address("tcp:clamav:3310") == Address(host="clamav", port=3310)
    assert parse_address(" tcp:[::1]:3310 ") == Address(host="::1", port=3310)
    assert str(Address(host="::1", port=3310)) == "tcp:[::1]:3310"
    assert str(parse_address("unix:/x/clamd.sock")) == "unix:/x/clamd.sock"
    for wrong in ("", "clamd.ctl", "unix:relative.sock", "tcp:127.0.0.1", "tcp::3310",
                  "tcp:host:0", "tcp:host:99999", "http://clamav:3310"):
        with pytest.raises(ValueError):
            parse_address(wrong)


def test_replies() -> None:
    assert parse_reply(b"stream: OK") == ScanResult("clean")
    assert parse_reply(b"stream: Win.Test.EICAR_HDB-1 FOUND\0") == ScanResult(
        "infected", "Win.Test.EICAR_HDB-1")
    with pytest.raises(TooLargeToScan):
        parse_reply(b"INSTREAM size limit exceeded. ERROR")
    for other in (b"stream: Can't allocate memory ERROR", b"UNKNOWN COMMAND", b"", b"\xff\xfe"):
        with pytest.raises(ScannerUnavailable):
            parse_reply(other)


def test_the_setting_picks_the_scanner() -> None:
    assert isinstance(scanner_for(None), NoScanner) and isinstance(scanner_for(" "), NoScanner)
    chosen = scanner_for("tcp:127.0.0.1:3310", timeout=5)
    assert isinstance(chosen, ClamdScanner) and chosen.timeout == 5
    assert chosen.address == Address(host="127.0.0.1", port=3310)


# --- a real clamd ------------------------------------------------------------------------------


async def test_eicar_is_found(scanner: ClamdScanner) -> None:
    result = await scanner.scan(eicar())
    assert result.verdict == "infected"
    assert result.signature is not None and result.signature.startswith(OwnClamd.SIGNATURE)
    # Also inside a file, with something before and after it.
    inside = await scanner.scan(b"%PDF-1.4\n" + eicar() + b"\n%%EOF\n")
    assert inside.verdict == "infected"


async def test_clean_files_pass(scanner: ClamdScanner) -> None:
    for data in (samples.pdf(), samples.jpeg(), samples.png(), b"", b"x" * (MB + 17)):
        assert await scanner.scan(data) == ScanResult("clean")
    assert await scanner.ping()


async def test_an_upload_with_eicar_is_refused(own_clamd: OwnClamd) -> None:
    scanner = ClamdScanner(own_clamd.unix_address)
    infected = b"%PDF-1.4\n" + eicar() + b"\n%%EOF\n"
    with pytest.raises(MalwareFound) as refused:
        await prepare_upload(infected, "Antrag.pdf", MB, scanner)
    assert refused.value.signature is not None
    assert refused.value.signature.startswith(OwnClamd.SIGNATURE)
    upload = await prepare_upload(samples.pdf(), "Antrag.pdf", MB, scanner)
    assert upload.scanned == "clean"


async def test_a_stream_over_clamds_limit_is_refused_clearly(
    scanner: ClamdScanner, caplog: pytest.LogCaptureFixture,
) -> None:
    for size in (OwnClamd.STREAM_MAX_BYTES + 1, 3 * OwnClamd.STREAM_MAX_BYTES):
        with caplog.at_level(logging.WARNING, "buergerbuero.scanner"), \
                pytest.raises(TooLargeToScan) as refused:
            await scanner.scan(b"%PDF-" + b"0" * (size - 5))
        assert refused.value.status == 413 and refused.value.code == "file_too_large"
    assert "StreamMaxLength" in caplog.text
    # Right at the limit it passes, and the scanner goes on working.
    assert (await scanner.scan(b"0" * OwnClamd.STREAM_MAX_BYTES)).verdict == "clean"


async def test_scans_run_side_by_side(scanner: ClamdScanner) -> None:
    files = [samples.pdf(f"Antrag {n}") if n % 3 else eicar() for n in range(24)]
    results = await asyncio.gather(*(scanner.scan(data) for data in files))
    assert [r.verdict for r in results] == [
        "clean" if n % 3 else "infected" for n in range(24)]


async def test_a_stopped_clamd_makes_uploads_wait(
    clamd_to_break: OwnClamd, caplog: pytest.LogCaptureFixture,
) -> None:
    unix = ClamdScanner(clamd_to_break.unix_address, timeout=5)
    tcp = ClamdScanner(clamd_to_break.tcp_address, timeout=5)
    assert (await unix.scan(samples.pdf())).verdict == "clean"
    clamd_to_break.kill()
    for scanner in (unix, tcp):
        with caplog.at_level(logging.WARNING, "buergerbuero.scanner"), \
                pytest.raises(ScannerUnavailable) as refused:
            await prepare_upload(samples.pdf(), "a.pdf", MB, scanner)
        assert refused.value.status == 503 and refused.value.code == "scanner_unavailable"
        assert not await scanner.ping()
    assert "cannot be reached" in caplog.text
    clamd_to_break.start()
    assert await unix.ping() and (await tcp.scan(eicar())).verdict == "infected"


async def test_a_clamd_that_does_not_answer_times_out(clamd_to_break: OwnClamd) -> None:
    clamd_to_break.pause()
    try:
        for address in (clamd_to_break.unix_address, clamd_to_break.tcp_address):
            scanner = ClamdScanner(address, timeout=0.3)
            with pytest.raises(ScannerUnavailable):
                await scanner.scan(samples.pdf())
            assert not await scanner.ping()
    finally:
        clamd_to_break.resume()
    assert await ClamdScanner(clamd_to_break.unix_address).ping()


async def test_no_clamd_at_the_address() -> None:
    for address in ("unix:/nonexistent/clamd.sock", "tcp:127.0.0.1:1",
                    "tcp:no-such-host.invalid:3310"):
        scanner = ClamdScanner(address, timeout=5)
        with pytest.raises(ScannerUnavailable):
            await scanner.scan(b"data")
        assert not await scanner.ping()
