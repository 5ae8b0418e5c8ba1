"""Figures of calls over real networks: runs tests/calls/test_networks.py (Chromium citizen behind
a NAT in a network namespace, coturn, Chromium clerk) and prints the figures each scenario
measured: the path through coturn with UDP blocked, the seconds to video after 10 s without
network, and frames, bitrate and loss at 500 kbit/s with 5 % random loss.

    sudo .venv/bin/python -m bench.network_calls

Needs root (network namespaces), iproute2, nftables, coturn and Chromium; the tests' thresholds
(video within 5 s, frames at 5 % loss) decide the exit status.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", "-p", "no:cacheprovider",
         "tests/calls/test_networks.py"],
        capture_output=True, text=True, check=False,
    )
    lines = done.stdout.splitlines()
    for line in lines:
        if "[network]" in line:
            print(line[line.index("[network]"):])
    print(lines[-1] if lines else done.stderr[-2000:])
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
