"""Exit codes of every command (the table in docs/running.md), the one-line error helper, and
the one place that turns a command's failure into that line (`exit_for`, used by daemon/cli.py).
"""

from __future__ import annotations

import sys

from daemon import errors

OK = 0
ERROR = 1  # an AWS call, a reconcile or an input file failed
USAGE = 2  # a bad flag, environment variable or argument (argparse uses 2 too)
DRIFT = 2  # `plan --detailed-exitcode`: something drifted (as terraform does)
STALE_PLAN = 3  # `apply --plan-file`: an application changed since the plan was made
UNAVAILABLE = 4  # cannot start: metrics port busy, no AWS credentials, AWS unreachable
PENDING = 5  # `apply`: a restarting fix was still being applied when --wait-seconds ran out
INTERRUPTED = 130  # SIGINT or SIGTERM stopped `plan`/`apply`/`replay` part-way (128 + SIGINT)
BROKEN_PIPE = 141  # stdout was closed early (`... | head`), as for a process killed by SIGPIPE


class Failure(Exception):
    """Raised by a command that must stop: `message` becomes the `error:` line, `code` the
    exit code."""

    def __init__(self, message: str, code: int = ERROR) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = ERROR) -> int:
    """Print `error: message` as one line on stderr and return `code`."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return code


def exit_for(exc: Exception) -> int | None:
    """Print the `error:` line(s) for an expected failure and return its exit code; None for
    an exception that is a bug (the caller lets its traceback through).

    A config file's problems are one `error: FILE:LINE: PATH: MESSAGE` line each (every problem
    is worth fixing at once, as `validate` lists them)."""
    if isinstance(exc, Failure):
        return fail(str(exc), exc.code)
    if isinstance(exc, errors.ConfigError):
        for problem in exc.problems or [exc.path]:
            fail(problem)
        return ERROR
    if isinstance(exc, errors.SettingsError):
        return fail(str(exc), USAGE)
    if isinstance(exc, errors.RemediatorError):
        return fail(str(exc))
    if isinstance(exc, OSError):  # an output file that cannot be written, a directory...
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}")
    return None
