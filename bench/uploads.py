"""Uploads: sealing at rest, removing a photo's metadata, virus scanning through clamd.

    python -m bench.uploads        (or python -m bench.run --only uploads)

Pure function calls in this process, except the scan, which goes to a clamd: the one at
BUERO_BENCH_CLAMD_ADDRESS (e.g. unix:/run/clamav/clamd.ctl, with the full signature database:
the figure a city sees), else one started here when clamd is installed, with a database of one
signature (EICAR): that measures the protocol and clamd's own handling of a stream, not the
signature matching, which grows with the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import ExifTags, Image

from bench.common import Figure, Report
from core.sealing import seal, unseal
from online.scanner import ClamdScanner, NoScanner
from online.uploads import prepare_upload, strip_metadata

MB = 1024 * 1024
SEAL_BYTES = 10 * MB
SEAL_RUNS = 20
PHOTO_SIZE = (4000, 3000)  # 12 megapixels, what most phones save
PHOTO_RUNS = 5
SCAN_BYTES = 10 * MB
SCAN_RUNS = 10
PARALLEL_SCANS = 8
KEY = b"bench-secret-key-not-for-production-0123456789abcdef"


def _median_seconds(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of ``runs`` calls, in seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
    return statistics.median(walls), statistics.median(cpus)


def phone_photo() -> bytes:
    """A 12-megapixel JPEG of about 4 MB, as phones save them: coarse shapes and fine grain
    (noise at two scales), EXIF with GPS and the orientation tag of a phone held upright (so the
    picture is turned as well)."""
    width, height = PHOTO_SIZE
    coarse = Image.merge("RGB", [Image.effect_noise((width // 8, height // 8), sigma)
                                 for sigma in (60, 70, 80)])
    fine = Image.merge("RGB", [Image.effect_noise(PHOTO_SIZE, 12) for _ in range(3)])
    picture = Image.blend(coarse.resize(PHOTO_SIZE, Image.Resampling.BICUBIC), fine, 0.3)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Bench"
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (48.0, 43.0, 12.5)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def run_sealing(report: Report) -> None:
    data = os.urandom(SEAL_BYTES)
    aad = b"case:1"
    sealed = seal(KEY, b"online-upload", data, aad=aad)
    wall, _cpu = _median_seconds(lambda: seal(KEY, b"online-upload", data, aad=aad), SEAL_RUNS)
    rate = SEAL_BYTES / MB / wall
    report.add(Figure("seal (AES-GCM), 10 MB", rate, "MB/s", target=">= 100 MB/s",
                      passed=rate >= 100, note=f"median of {SEAL_RUNS}"))
    wall, _cpu = _median_seconds(lambda: unseal(KEY, b"online-upload", sealed, aad=aad),
                                 SEAL_RUNS)
    rate = SEAL_BYTES / MB / wall
    report.add(Figure("unseal (AES-GCM), 10 MB", rate, "MB/s", target=">= 100 MB/s",
                      passed=rate >= 100, note=f"median of {SEAL_RUNS}"))


def run_stripping(report: Report, photo: bytes) -> None:
    strip_metadata(photo, "image/jpeg")  # warm-up
    wall, cpu = _median_seconds(lambda: strip_metadata(photo, "image/jpeg"), PHOTO_RUNS)
    report.add(Figure("strip_metadata, 4000x3000 JPEG", wall * 1000, "ms",
                      target="<= 1500 ms", passed=wall <= 1.5,
                      note=f"median of {PHOTO_RUNS}, CPU {cpu * 1000:.0f} ms, "
                           f"{len(photo) // 1024} KiB in, turned upright"))
    wall, _cpu = _median_seconds(
        lambda: asyncio.run(prepare_upload(photo, "IMG_0001.jpg", 50 * MB, NoScanner())),
        PHOTO_RUNS)
    report.add(Figure("prepare_upload, that JPEG, no scanner", wall * 1000, "ms",
                      note=f"median of {PHOTO_RUNS}: size, type, strip in a thread, filename"))


@contextlib.contextmanager
def own_clamd() -> Iterator[str | None]:
    """A clamd address: the configured one, one started here, or None without clamd."""
    configured = os.environ.get("BUERO_BENCH_CLAMD_ADDRESS")
    if configured:
        yield configured
        return
    binary = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="buero-bench-clamd-"))
    test_file = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    (root / "eicar.hdb").write_text(
        f"{hashlib.md5(test_file).hexdigest()}:{len(test_file)}:Eicar-Test-Signature\n")
    (root / "clamd.conf").write_text(
        f"Foreground yes\nLocalSocket {root / 'clamd.sock'}\nDatabaseDirectory {root}\n"
        f"TemporaryDirectory {root}\nLogFile {root / 'clamd.log'}\nStreamMaxLength 64M\n"
        "Bytecode no\n")
    process = subprocess.Popen([binary, f"--config-file={root / 'clamd.conf'}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(root / "clamd.sock"))
                probe.sendall(b"zPING\0")
                if probe.recv(16).startswith(b"PONG"):
                    break
            time.sleep(0.05)
        yield f"unix:{root / 'clamd.sock'}"
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


async def _scan_figures(report: Report, address: str, origin: str) -> None:
    scanner = ClamdScanner(address, timeout=120)
    if not await scanner.ping():
        report.add(Figure("clamd scan", None, "MB/s", note=f"no PONG from {address}"))
        return
    data = b"%PDF-1.4\n" + os.urandom(SCAN_BYTES - 9)
    await scanner.scan(data)  # warm-up
    walls = []
    for _ in range(SCAN_RUNS):
        began = time.perf_counter()
        await scanner.scan(data)
        walls.append(time.perf_counter() - began)
    wall = statistics.median(walls)
    report.add(Figure("clamd scan, 10 MB, one at a time", SCAN_BYTES / MB / wall, "MB/s",
                      note=f"median of {SCAN_RUNS}, {origin}"))
    small = [b"%PDF-1.4\n" + os.urandom(MB) for _ in range(PARALLEL_SCANS * 4)]
    began = time.perf_counter()
    await asyncio.gather(*(scanner.scan(item) for item in small))
    elapsed = time.perf_counter() - began
    report.add(Figure(f"clamd scan, 1 MB files, {PARALLEL_SCANS} at once",
                      len(small) / elapsed, "files/s",
                      note=f"{len(small)} files in {elapsed:.2f} s, {origin}"))


def run_scanning(report: Report) -> None:
    with own_clamd() as address:
        if address is None:
            report.add(Figure("clamd scan", None, "MB/s", note="clamd not installed"))
            return
        origin = ("BUERO_BENCH_CLAMD_ADDRESS" if os.environ.get("BUERO_BENCH_CLAMD_ADDRESS")
                  else "own clamd, one signature")
        asyncio.run(_scan_figures(report, address, origin))


def run(report: Report) -> None:
    run_sealing(report)
    run_stripping(report, phone_photo())
    run_scanning(report)


if __name__ == "__main__":
    run(Report())
