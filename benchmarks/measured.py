"""Run the flink-remediator CLI in this process and print its wall time and max RSS as one
JSON line on stderr's last line (`python -m benchmarks.measured plan --config ...`)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

from benchmarks.rss import peak_rss_mb
from daemon.cli import main as cli_main


def main() -> None:
    started = time.perf_counter()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = cli_main(sys.argv[1:])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    figures = {
        "wall": time.perf_counter() - started,
        "exit": code,
        "rss_mb": peak_rss_mb(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
