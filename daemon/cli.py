"""The `flink-remediator` command. Each subcommand lives in its own module and registers itself
here through `register(subparsers)`; this file only wires them together and turns every
failure a command lets through (a config or settings error, an AWS error, a file that cannot be
written, `exits.Failure`, a closed pipe, an interrupt) into `error: ...` and a documented exit
code (`exits.exit_for`): commands raise, they need not print."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from daemon.commands import exits
from daemon.version import package_version

# Modules that each define `register(subparsers) -> None`; the parser they add sets `func`.
COMMAND_MODULES: tuple[str, ...] = (
    "sandbox.cli",
    "daemon.commands.config",
    "daemon.commands.plan_apply",
    "daemon.commands.approve",
    "daemon.commands.run",
    "daemon.commands.replay",
    "daemon.commands.demo",
    "daemon.commands.example",
    "daemon.commands.iam_policy",
    "daemon.commands.report",
    "daemon.commands.audit_manager",
    "daemon.commands.config_rule",
)


class Parser(argparse.ArgumentParser):
    """No prefix matching (`--queue` must not pass for `--queue-url`); subcommand parsers are
    made from the same class, so this holds at every level."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="flink-remediator",
        description="Event-driven remediation for Amazon Managed Service for Apache Flink.",
    )
    parser.add_argument(
        "--version", action="version", version=f"flink-remediator {package_version()}"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != "sandbox":  # the container image ships without the sandbox
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:
        # The reader went away (`schema | head`): say nothing, and keep the interpreter's final
        # flush from raising again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.BROKEN_PIPE
    except KeyboardInterrupt:
        return exits.fail("interrupted", exits.INTERRUPTED)
    except Exception as exc:
        code = exits.exit_for(exc)
        if code is None:  # a bug: its traceback is what a bug report needs
            raise
        return code


if __name__ == "__main__":
    sys.exit(main())
