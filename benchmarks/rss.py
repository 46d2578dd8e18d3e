"""Peak RSS of this process."""

from __future__ import annotations


def peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss, it restarts at exec, so a child of a big parent reads true."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
