"""The `flink-remediator` command. Each subcommand lives in its own module and registers itself
here through `register(subparsers)`; this file only wires them together."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# Modules that each define `register(subparsers) -> None`; the parser they add sets `func`.
COMMAND_MODULES: tuple[str, ...] = (
    "sandbox.cli",
    "daemon.commands.config",
    "daemon.commands.plan_apply",
    "daemon.commands.run",
    "daemon.commands.replay",
    "daemon.commands.demo",
    "daemon.commands.iam_policy",
    "daemon.commands.report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flink-remediator",
        description="Event-driven remediation for Amazon Managed Service for Apache Flink.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
