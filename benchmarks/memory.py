"""The daemon's memory with an N-app fleet: `python -m benchmarks.memory --apps 5000`.

An in-process sandbox is seeded through its own backends (benchmarks/fleet.py
`seed_in_process`: seconds, not the suite's minutes), then `flink-remediator run` is started as
its own process (benchmarks/memory_probe.py: the CLI's `main`, plus a stdin listener that reads
/proc/self/status) with the suite's logging-only config (`--rules all`: every rule) and the
event queue. Printed: VmRSS after the imports, after the daemon started (identity, SQS, health
server), after its first sweep of the N apps (every app listed, described and reconciled) and a
few seconds later; VmHWM (the peak); threads. `--trace` runs the daemon under tracemalloc (its
RSS is then inflated by the tracing) and prints live Python memory by package and by line after
the sweep. Then /metrics is scraped five times as Prometheus scrapes (gzip): sizes, the first scrape
and the fastest and slowest of the others (HTTP GET on 127.0.0.1). The daemon's rate limits are off
here (`--rate-limits` with every family at 0): this measures memory and the scrape, and a paced
full resync of N apps would take the limiter's time (benchmarks/rate.py measures that).
Figures only: nothing here asserts a size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from benchmarks import fleet
from sandbox.server import Sandbox
from tests.harness import free_port

PHASES = ("imports", "started", "swept", "settled")
UNLIMITED = "kinesisanalyticsv2=0,logs=0,ec2=0,iam=0,sts=0,resourcegroupstaggingapi=0,*=0"


class Probe:
    """The daemon process and its MEMORY lines."""

    def __init__(self, sandbox: Sandbox, config: Path, log: Path, workers: int, trace: bool):
        env = {
            **fleet.client_env(sandbox),
            "FLINK_REMEDIATOR_QUEUE_URL": sandbox.queue_url,
            "BENCH_TRACE": "1" if trace else "0",
            # As the image sets it (Dockerfile); override with MALLOC_ARENA_MAX= to compare.
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
        }
        self.log, self.port = log, free_port()
        self._stderr = log.open("ab")
        argv = (
            *("--config", str(config), "--log-format", "json", "--workers", str(workers)),
            *("--metrics-host", "127.0.0.1", "--metrics-port", str(self.port)),
            *("--poll-wait-seconds", "1", "--sweep-interval-seconds", "3600"),
            *("--rate-limits", UNLIMITED),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.memory_probe", *argv],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            if line.startswith("MEMORY "):
                self.lines.put(json.loads(line[len("MEMORY ") :]))

    def next(self, timeout: float) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the daemon did not answer: {self.tail()}") from None

    def ask(self, phase: str, timeout: float = 120) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(phase + "\n")
        self.process.stdin.flush()
        return self.next(timeout)

    def wait_for(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited: {self.tail()}")
            for line in self.log.read_text().splitlines():
                if f'"{event}"' in line:
                    record: dict[str, Any] = json.loads(line)
                    if record.get("event") == event:
                        return record
            time.sleep(0.5)
        raise RuntimeError(f"no {event} within {timeout} s: {self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text().splitlines()[-20:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


def measure(sandbox: Sandbox, apps: int, rules: str, workers: int, trace: bool) -> dict[str, Any]:
    began = time.perf_counter()
    fleet.seed_in_process(sandbox, apps)
    seeded = time.perf_counter() - began
    print(f"seeded {apps} apps in process in {seeded:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "desired.yaml"
        if rules == "logging":
            config.write_text(fleet.logging_only_config(sandbox.account_id, sandbox.region))
        else:
            config.write_text(
                f'version: 1\naccounts: ["{sandbox.account_id}"]\nregions: [{sandbox.region}]\n'
            )
        probe = Probe(sandbox, config, Path(folder) / "daemon.log", workers, trace)
        try:
            figures: dict[str, Any] = {"seed_s": seeded, "imports": probe.next(120)}
            probe.wait_for("daemon_started", 120)
            figures["started"] = probe.ask("started")
            started = time.perf_counter()
            swept = probe.wait_for("sweep_finished", 3600)
            figures["sweep_s"] = time.perf_counter() - started
            figures["sweep_ok"] = swept.get("ok")
            figures["swept"] = probe.ask("swept")
            time.sleep(5)
            figures["settled"] = probe.ask("settled")
            figures["scrape"] = scrape(probe.port)
            if trace:
                figures["snapshot"] = probe.ask("snapshot", timeout=600)
        finally:
            probe.stop()
    return figures


def scrape(port: int, times: int = 5) -> dict[str, Any]:
    """`times` scrapes as Prometheus makes them (Accept-Encoding: gzip): the text's size and
    series, the bytes on the wire, the first scrape's ms (the per-app series formatted after
    the sweep changed them) and the fastest and slowest of the others (formatted text reused)."""
    walls, size, wire, series = [], 0, 0, 0
    asking = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"}
    )
    for _ in range(times):
        began = time.perf_counter()
        with urllib.request.urlopen(asking, timeout=30) as answer:
            sent = answer.read()
        walls.append((time.perf_counter() - began) * 1000)
        body = gzip.decompress(sent)
        size, wire = len(body), len(sent)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {"bytes": size, "gzip_bytes": wire, "series": series, "first_ms": walls[0],
            "min_ms": min(walls[1:]), "max_ms": max(walls[1:])}  # fmt: skip


def print_report(apps: int, rules: str, figures: dict[str, Any]) -> None:
    print(
        f"\n## Daemon memory, {apps} apps ({rules} rules; sweep {figures['sweep_s']:.1f} s, "
        f"ok={figures['sweep_ok']})\n"
    )
    print("| phase | VmRSS MB | VmHWM MB | threads |\n|---|---|---|---|")
    for phase in PHASES:
        row = figures[phase]
        print(f"| {phase} | {row['rss_mb']:.1f} | {row['hwm_mb']:.1f} | {row['threads']:.0f} |")
    scraped = figures["scrape"]
    print(
        f"\n/metrics: {scraped['bytes'] / 1024:.0f} KB of text, {scraped['series']} series, "
        f"{scraped['gzip_bytes'] / 1024:.0f} KB gzipped on the wire; first scrape after the "
        f"sweep {scraped['first_ms']:.0f} ms, then {scraped['min_ms']:.0f}-"
        f"{scraped['max_ms']:.0f} ms (4 scrapes)"
    )
    snap = figures.get("snapshot")
    if snap:
        print(
            f"\ntracemalloc after the sweep: {snap['traced_mb']:.1f} MB live "
            f"(peak {snap['traced_peak_mb']:.1f} MB); RSS under tracing {snap['rss_mb']:.1f}"
        )
        print("\n| package / module | MB |\n|---|---|")
        for name, size in snap["by_package"]:
            print(f"| {name} | {size / 2**20:.2f} |")
        print("\n| line | MB |\n|---|---|")
        for where, size in snap["by_line"]:
            print(f"| {where} | {size / 2**20:.2f} |")
    print(
        json.dumps(
            {
                "apps": apps,
                **{p: figures[p]["rss_mb"] for p in PHASES},
                "hwm": figures["settled"]["hwm_mb"],
                "scrape": figures["scrape"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--rules", choices=("logging", "all"), default="logging")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--trace", action="store_true", help="tracemalloc by package and line")
    args = parser.parse_args()
    sandbox = Sandbox(port=0).start()
    try:
        figures = measure(sandbox, args.apps, args.rules, args.workers, args.trace)
    finally:
        sandbox.stop()
    print_report(args.apps, args.rules, figures)


if __name__ == "__main__":
    main()
