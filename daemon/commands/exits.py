"""Exit codes of every command (the table in docs/running.md) and the one-line error helper."""

from __future__ import annotations

import sys

OK = 0
ERROR = 1  # an AWS call, a reconcile or an input file failed
USAGE = 2  # a bad flag, environment variable or argument (argparse uses 2 too)
DRIFT = 2  # `plan --detailed-exitcode`: something drifted (as terraform does)
STALE_PLAN = 3  # `apply --plan-file`: an application changed since the plan was made
UNAVAILABLE = 4  # cannot start: metrics port busy, no AWS credentials, AWS unreachable
PENDING = 5  # `apply`: a restarting fix was still being applied when --wait-seconds ran out
INTERRUPTED = 130  # SIGINT or SIGTERM stopped `plan`/`apply`/`replay` part-way (128 + SIGINT)
BROKEN_PIPE = 141  # stdout was closed early (`... | head`), as for a process killed by SIGPIPE


def fail(message: str, code: int = ERROR) -> int:
    """Print `error: message` as one line on stderr and return `code`."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return code
