"""A small network of the test's own, in Linux network namespaces: a citizen behind a home
router (NAT), and the office's side with the app, coturn and the clerk's browser.

    citizen ns (CIT_IP) --veth-- router ns (NAT, firewall, loss) --veth-- office ns (SRV_IP)

* The office namespace holds the server's listening socket (made there by this process, so the
  app still runs in the test's own event loop), coturn (``ip netns exec``) and the clerk's
  Chromium. The citizen's Chromium runs in the citizen namespace. Each browser is launched by
  Playwright through a wrapper that enters the namespace (the DevTools pipe is inherited).
* The router masquerades the citizen's traffic (a home NAT) and is where the tests break the
  network: a firewall that drops UDP (and TCP but to one port), random loss with nftables
  (``numgen random``), a bandwidth limit with ``tc tbf``, the citizen's cable pulled.
* No namespace has a route anywhere else: all traffic stays between the tests' own addresses.

The names carry the xdist worker, so workers do not meet; leftovers of a crashed earlier run of
the same worker are deleted first. Needs root, iproute2 (``ip``, ``tc``) and nftables (``nft``).
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright
from starlette.applications import Starlette

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, have_chromium
from tests.conftest import require, serve_on

CIT_IP = "10.231.1.2"  # the citizen's computer
CIT_GW = "10.231.1.1"  # the router, inside
RTR_OUT = "10.231.2.2"  # the router, outside (the citizen's public address)
SRV_IP = "10.231.2.1"  # the office: app, coturn, clerk
APP_PORT = 8080
TURN_PORT = 3478
TURNS_PORT = 5349
CLONE_NEWNET = 0x40000000


def worker_tag() -> str:
    """``gw3`` -> ``3``; a run without xdist is ``m``."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return worker[2:] if worker.startswith("gw") else "m"


def tools_missing() -> list[str]:
    tools = ("ip", "tc", "ss", "nft", "turnserver")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not have_chromium():
        missing.append("chromium")
    return missing


def require_lab() -> None:
    """Skip without root or the tools; under CI fail instead."""
    require(os.geteuid() == 0, "root (network namespaces)")
    missing = tools_missing()
    require(not missing, " ".join(missing))


def run(*args: str, ns: str | None = None, stdin: str | None = None) -> str:
    command = list(args) if ns is None else ["ip", "netns", "exec", ns, *args]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Lab:
    prefix: str
    cit: str = ""
    rtr: str = ""
    srv: str = ""
    # The router's interfaces: towards the citizen, towards the office.
    rtr_in: str = ""
    rtr_out: str = ""
    cit_if: str = ""
    events: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cit, self.rtr, self.srv = (f"{self.prefix}{r}" for r in ("cit", "rtr", "srv"))
        self.cit_if, self.rtr_in = f"{self.prefix}c0", f"{self.prefix}r0"
        self.rtr_out, self.srv_if = f"{self.prefix}r1", f"{self.prefix}s0"

    # --- building and tearing down ---------------------------------------------------------

    def leftovers(self) -> list[str]:
        ours = {self.cit, self.rtr, self.srv}
        return [name for name in (line.split()[0] for line in
                                  run("ip", "netns", "list").splitlines() if line.strip())
                if name in ours]

    def remove(self) -> None:
        for name in self.leftovers():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)

    def build(self) -> None:
        self.remove()
        for ns in (self.cit, self.rtr, self.srv):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", self.cit_if, "netns", self.cit, "type", "veth",
            "peer", "name", self.rtr_in, "netns", self.rtr)
        run("ip", "link", "add", self.rtr_out, "netns", self.rtr, "type", "veth",
            "peer", "name", self.srv_if, "netns", self.srv)
        for ns, dev, address in ((self.cit, self.cit_if, f"{CIT_IP}/24"),
                                 (self.rtr, self.rtr_in, f"{CIT_GW}/24"),
                                 (self.rtr, self.rtr_out, f"{RTR_OUT}/24"),
                                 (self.srv, self.srv_if, f"{SRV_IP}/24")):
            run("ip", "-n", ns, "addr", "add", address, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        # The citizen's only way out is the router; the router knows only the office's net.
        run("ip", "-n", self.cit, "route", "add", "default", "via", CIT_GW)
        run("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward", ns=self.rtr)
        run("nft", "-f", "-", ns=self.rtr, stdin=f"""
table ip home {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{self.rtr_out}" masquerade
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
    }}
}}
""")

    # --- breaking the network --------------------------------------------------------------

    def firewall(self, *, allow_tcp_port: int | None = None) -> None:
        """Drop every UDP packet from the citizen (a network that lets no UDP out); with
        ``allow_tcp_port``, TCP only to that port of the office (besides the app's)."""
        rules = [f'iifname "{self.rtr_in}" meta l4proto udp drop']
        if allow_tcp_port is not None:
            rules.append(f'iifname "{self.rtr_in}" tcp dport != {{ {APP_PORT}, '
                         f'{allow_tcp_port} }} drop')
        for rule in rules:
            run("nft", "add", "rule", "ip", "home", "forward", *rule.split(), ns=self.rtr)

    def lossy(self, percent: int) -> None:
        """Drop ``percent`` % of the packets in each direction, at random."""
        run("nft", "insert", "rule", "ip", "home", "forward", "numgen", "random", "mod", "100",
            "<", str(percent), "counter", "drop", ns=self.rtr)
        run("nft", "insert", "rule", "ip", "home", "forward", "counter", ns=self.rtr)

    def loss_counts(self) -> tuple[int, int]:
        """(packets the router saw, packets it dropped at random) since ``lossy``."""
        counts = [int(n) for n in re.findall(r"counter packets (\d+)", self.counters())]
        assert len(counts) == 2, counts
        return counts[0], counts[1]

    def bandwidth(self, kbit: int) -> None:
        """A link of ``kbit`` kbit/s each way (tbf on both of the router's interfaces)."""
        for dev in (self.rtr_in, self.rtr_out):
            run("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
                "burst", "16kb", "latency", "200ms", ns=self.rtr)

    def cable(self, up: bool) -> None:
        """Pull (or plug back) the citizen's cable: the router's end of the link goes down, so
        the citizen's interface loses its carrier and keeps its address and routes."""
        run("ip", "-n", self.rtr, "link", "set", self.rtr_in, "up" if up else "down")

    def counters(self) -> str:
        return run("nft", "list", "table", "ip", "home", ns=self.rtr)

    def qdisc_stats(self) -> str:
        return run("tc", "-s", "qdisc", "show", "dev", self.rtr_in, ns=self.rtr)


@contextmanager
def lab() -> Iterator[Lab]:
    require_lab()
    built = Lab(prefix=f"bn{worker_tag()}")
    try:
        built.build()
        yield built
    finally:
        built.remove()


# --- a listening socket inside a namespace ------------------------------------------------------


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def socket_in(ns: str, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` in namespace ``ns``. Made by a thread that enters
    the namespace and ends: the socket stays in the namespace, the process does not."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            with open(f"/run/netns/{ns}") as target:
                _setns(target.fileno())
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            made.append(sock)
        except BaseException as error:  # reported in the caller's thread
            failed.append(error)

    thread = threading.Thread(target=make, name="netns-socket")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


@asynccontextmanager
async def serve_in(app: Starlette, ns: str) -> AsyncIterator[str]:
    """The app served by a real uvicorn in this process, listening in namespace ``ns``."""
    async with serve_on(app, socket_in(ns, SRV_IP, APP_PORT)) as url:
        yield url


# --- coturn with TLS ----------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for the office's address (and turn.buergerbuero.test), with its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "turn.buergerbuero.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("turn.buergerbuero.test"),
            x509.IPAddress(ipaddress.ip_address(SRV_IP))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "turn.crt", directory / "turn.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return cert_path, key_path


TURN_SECRET = "turn-network-secret-0123456789"
TURN_URLS = (f"turn:{SRV_IP}:{TURN_PORT}?transport=udp,"
             f"turn:{SRV_IP}:{TURN_PORT}?transport=tcp,"
             f"turns:{SRV_IP}:{TURNS_PORT}?transport=tcp")


@asynccontextmanager
async def coturn(ns: str, directory: Path) -> AsyncIterator[Path]:
    """coturn in namespace ``ns``: UDP and TCP on TURN_PORT, TLS on TURNS_PORT, the app's
    ``use-auth-secret`` credentials. Yields its log file."""
    cert, key = self_signed(directory)
    log = directory / "turn.log"
    process = subprocess.Popen(
        ["ip", "netns", "exec", ns, "turnserver", "-n", f"--listening-ip={SRV_IP}",
         f"--relay-ip={SRV_IP}", f"--listening-port={TURN_PORT}",
         f"--tls-listening-port={TURNS_PORT}", f"--cert={cert}", f"--pkey={key}",
         "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}",
         "--realm=buergerbuero.test", "--no-dtls", "--no-cli", "--no-multicast-peers",
         "--simple-log", f"--log-file={log}", f"--pidfile={directory / 'turn.pid'}",
         f"--userdb={directory / 'turndb'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            assert process.poll() is None, f"turnserver exited: {_tail(log)}"
            if f":{TURNS_PORT} " in run("ss", "-ltnH", ns=ns) and \
                    f":{TURN_PORT} " in run("ss", "-ltnH", ns=ns):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"turnserver did not listen: {_tail(log)}")
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spki_hash(cert_path: Path) -> str:
    """base64(SHA-256(public key)): what Chromium's --ignore-certificate-errors-spki-list
    takes to trust exactly this one (self-signed) key."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _tail(path: Path) -> str:
    for candidate in (path, *path.parent.glob(f"{path.stem}*.log")):
        if candidate.exists():
            return candidate.read_text()[-2000:]
    return "(no log)"


# --- Chromium inside a namespace ----------------------------------------------------------------


async def chromium_in(playwright: Playwright, ns: str, directory: Path,
                      extra: Sequence[str] = ()) -> Browser:
    spki = spki_hash(directory / "turn.crt") if (directory / "turn.crt").exists() else ""
    """A Chromium of its own in namespace ``ns``, with tests/chromium.py's flags; the office's
    plain-http address counts as a secure origin (camera and microphone are allowed there)."""
    wrapper = directory / f"chromium-{ns}"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return await playwright.chromium.launch(
        executable_path=str(wrapper), headless=True,
        args=[*CHROMIUM_ARGS,
              f"--unsafely-treat-insecure-origin-as-secure=http://{SRV_IP}:{APP_PORT}",
              *([f"--ignore-certificate-errors-spki-list={spki}"] if spki else []), *extra],
    )


# Every RTCPeerConnection a page makes is kept in window.__pcs (the last one is the call's).
RECORD_PCS = """(() => {
    const Native = window.RTCPeerConnection;
    if (!Native) return;
    window.__pcs = [];
    class Recorded extends Native {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
            // Each connection state with the moment it came (ms since the epoch).
            const states = window.__pcStates = window.__pcStates || [];
            this.addEventListener('connectionstatechange',
                () => states.push([Date.now(), this.connectionState]));
        }
    }
    window.RTCPeerConnection = Recorded;
})();"""

# The call's figures from getStats(): the video received, and the selected candidate pair.
STATS = """async () => {
    const pcs = window.__pcs || [];
    const pc = pcs[pcs.length - 1];
    if (!pc) return null;
    const report = await pc.getStats();
    const byId = new Map();
    let video = null, transport = null, outbound = null;
    report.forEach((s) => {
        byId.set(s.id, s);
        if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
        if (s.type === 'outbound-rtp' && s.kind === 'video') outbound = s;
        if (s.type === 'transport' && s.selectedCandidatePairId) transport = s;
    });
    const pair = transport ? byId.get(transport.selectedCandidatePairId) : null;
    const candidate = (id) => {
        const c = id ? byId.get(id) : null;
        return c ? { type: c.candidateType, protocol: c.protocol,
                     relayProtocol: c.relayProtocol || null, address: c.address } : null;
    };
    const ufrag = (d) => (d && /a=ice-ufrag:(\\S+)/.exec(d.sdp) || [])[1] || null;
    return {
        pcs: pcs.length,
        connectionState: pc.connectionState,
        localUfrag: ufrag(pc.localDescription),
        remoteUfrag: ufrag(pc.remoteDescription),
        framesDecoded: video ? video.framesDecoded || 0 : 0,
        frameWidth: video ? video.frameWidth || 0 : 0,
        frameHeight: video ? video.frameHeight || 0 : 0,
        framesPerSecond: video ? video.framesPerSecond || 0 : 0,
        bytesReceived: video ? video.bytesReceived || 0 : 0,
        packetsReceived: video ? video.packetsReceived || 0 : 0,
        packetsLost: video ? video.packetsLost || 0 : 0,
        nackCount: outbound ? outbound.nackCount || 0 : 0,
        sentWidth: outbound ? outbound.frameWidth || 0 : 0,
        pairState: pair ? pair.state : null,
        rtt: pair ? pair.currentRoundTripTime : null,
        local: candidate(pair && pair.localCandidateId),
        remote: candidate(pair && pair.remoteCandidateId),
    };
}"""


async def stats(page: Page) -> dict[str, Any]:
    found: dict[str, Any] | None = await page.evaluate(STATS)
    assert found is not None, "the page has no peer connection"
    return found
