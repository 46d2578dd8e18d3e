"""The daemon process of benchmarks/memory.py: `flink-remediator run` in this process, with its
own memory reported on stdout as JSON lines starting with `MEMORY `.

It imports the CLI (noting VmRSS after the imports), then runs `daemon.cli.main`. A line on
stdin asks for a report: `rss` (VmRSS, VmHWM, threads) or `snapshot` (with BENCH_TRACE=1,
tracemalloc's live memory grouped by package and its top lines). Only the standard library is
imported before the daemon, so the figures are the daemon's own.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import tracemalloc

TRACE = os.environ.get("BENCH_TRACE") == "1"
FRAMES = int(os.environ.get("BENCH_TRACE_FRAMES", "1"))  # >1: also the top tracebacks
if TRACE:
    tracemalloc.start(FRAMES)


def status() -> dict[str, float]:
    fields = {"VmRSS": "rss_mb", "VmHWM": "hwm_mb", "Threads": "threads"}
    out: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as lines:
        for line in lines:
            key, _, value = line.partition(":")
            if key in fields:
                number = int(value.split()[0])
                out[fields[key]] = number / 1024 if key.startswith("Vm") else number
    return out


def report(phase: str, **extra: object) -> None:
    print("MEMORY " + json.dumps({"phase": phase, **status(), **extra}), flush=True)


def package_of(filename: str) -> str:
    """`.../site-packages/botocore/x.py` -> botocore; `<frozen ...>` and stdlib by module."""
    parts = filename.replace("\\", "/").split("/")
    for anchor in ("site-packages", "python3.11"):
        if anchor in parts:
            rest = parts[parts.index(anchor) + 1 :]
            return rest[0].removesuffix(".py") if rest else filename
    for root in ("daemon", "remediations", "sandbox", "benchmarks"):
        if root in parts:
            return root + "/" + "/".join(parts[parts.index(root) + 1 :])
    return filename


def snapshot(top: int = 25) -> dict[str, object]:
    snap = tracemalloc.take_snapshot()
    by_package: dict[str, int] = {}
    for stat in snap.statistics("filename"):
        name = package_of(stat.traceback[0].filename)
        by_package[name] = by_package.get(name, 0) + stat.size
    lines = [
        (f"{package_of(s.traceback[0].filename)}:{s.traceback[0].lineno}", s.size)
        for s in snap.statistics("lineno")[:top]
    ]
    if FRAMES > 1:  # where the top allocations were made from, callers included
        for stat in snap.statistics("traceback")[:top]:
            where = " < ".join(
                f"{package_of(f.filename)}:{f.lineno}" for f in reversed(stat.traceback)
            )
            lines.append((where, stat.size))
    current, peak = tracemalloc.get_traced_memory()
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return {
        "traced_mb": current / 2**20,
        "traced_peak_mb": peak / 2**20,
        "by_package": ranked,
        "by_line": lines,
    }


def listen() -> None:
    for line in sys.stdin:
        command = line.strip()
        if command == "snapshot" and TRACE:
            report("snapshot", **snapshot())
        elif command:
            report(command)


def main() -> int:
    from daemon import cli

    cli.build_parser()  # imports every command module, as `main` does
    report("imports")
    threading.Thread(target=listen, name="memory-probe", daemon=True).start()
    return cli.main(["run", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
