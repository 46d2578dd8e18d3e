"""Every subcommand, found from the parser (a new command is covered, or this test fails until
it has cases), meets bad input as a real process: the documented exit code, stderr's last line
`error: ...` (argparse's own `PROG: error: ...` for usage mistakes), never a traceback."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from daemon.cli import build_parser
from daemon.commands import exits
from tests.unit.test_cli_errors import EXAMPLE, NO_AWS, cli

MISSING = "/nonexistent/missing.yaml"
ARGPARSE_ERROR = re.compile(r"^flink-remediator( [\w-]+)*: error: ")
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/events"


def leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*path, name))
            return
    yield path, parser


COMMANDS = dict(leaf_commands(build_parser()))


@dataclass(frozen=True)
class Bad:
    argv: tuple[str, ...]
    code: int
    says: str  # a fragment of the last stderr line


# At least one bad input per command: a missing file, a bad flag value, a missing option.
CASES: dict[tuple[str, ...], tuple[Bad, ...]] = {
    ("sandbox", "serve"): (
        Bad(("--accounts", "3"), exits.USAGE, "error: --accounts N needs --demo"),
        Bad(("--port", "eighty"), exits.USAGE, "--port: not a number: 'eighty'"),
        Bad(("--port", "99999"), exits.USAGE, "--port: 99999 is not a TCP port"),
    ),
    ("sandbox", "env"): (
        # port 1 on the loopback: nothing listens, refused at once
        Bad(("--endpoint-url", "http://127.0.0.1:1"), exits.UNAVAILABLE, "error: no sandbox"),
    ),
    ("validate",): (Bad((MISSING,), exits.ERROR, "error: 1 of 1 files invalid"),),
    ("schema",): (Bad(("extra",), exits.USAGE, "unrecognized arguments: extra"),),
    ("example-config",): (Bad(("extra",), exits.USAGE, "unrecognized arguments: extra"),),
    ("plan",): (
        Bad(("--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--config", EXAMPLE, "--output", "yaml"), exits.USAGE, "invalid choice: 'yaml'"),
        Bad((), exits.USAGE, "the following arguments are required: --config"),
        Bad(("--config", EXAMPLE, "--workers", "0"), exits.USAGE, "'0' is not a number of"),
    ),
    ("approve",): (
        Bad((MISSING, "--ticket", "T"), exits.USAGE, "arguments are required: --by"),
        Bad((MISSING, "--by", "jane", "--ticket", "T"), exits.USAGE, "needs --state-table"),
        Bad(
            (MISSING, "--by", "jane", "--ticket", "T", "--window", "Sat 2am UTC"),
            exits.USAGE,
            "is not a time like 02:00",
        ),
        Bad(
            (MISSING, "--by", "j", "--ticket", "T", "--state-table", "t", "--region", "eu-west-1"),
            exits.ERROR,
            f"error: {MISSING}: cannot read",
        ),
    ),
    ("apply",): (
        Bad((), exits.USAGE, "error: apply needs --config FILE or --plan-file FILE"),
        Bad(("--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--plan-file", MISSING), exits.ERROR, f"error: {MISSING}"),
        Bad(("--config", EXAMPLE, "--wait-seconds", "-1"), exits.USAGE, "is negative"),
    ),
    ("run",): (
        Bad(("--config", MISSING, "--queue-url", QUEUE_URL), exits.ERROR, f"error: {MISSING}"),
        Bad(("--queue-url", QUEUE_URL), exits.USAGE, "error: "),
    ),
    ("replay",): (
        Bad((MISSING, "--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad((MISSING, "--config", EXAMPLE), exits.ERROR, f"error: {MISSING}"),
    ),
    ("demo",): (
        Bad(("--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--port", "99999"), exits.USAGE, "--port: '99999' is not a TCP port"),
    ),
    ("iam-policy",): (
        Bad(("--config", EXAMPLE), exits.USAGE, "error: iam-policy: which event queue?"),
        Bad(("--config", MISSING, "--no-queue"), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--config", EXAMPLE, "--hub", "--no-queue"), exits.ERROR, "add a top-level"),
        Bad(("--config", EXAMPLE, "--member", "--no-queue"), exits.USAGE, "takes no queue"),
    ),
    ("report",): (
        Bad(("--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--config", EXAMPLE, "--format", "pdf"), exits.USAGE, "invalid choice: 'pdf'"),
        Bad(("--config", EXAMPLE, "--workers", "-2"), exits.USAGE, "'-2' is not a number of"),
        Bad(
            ("--config", EXAMPLE, "--output", "/nonexistent/dir/r.html"),
            exits.ERROR,
            "error: --output /nonexistent/dir/r.html: no such directory",
        ),
        Bad(("--config", EXAMPLE), exits.UNAVAILABLE, "error: no AWS credentials found"),
    ),
    ("audit-manager", "framework"): (
        Bad(("--config", MISSING), exits.ERROR, f"error: {MISSING}: cannot read"),
        Bad(("--config", EXAMPLE, "--create"), exits.UNAVAILABLE, "no AWS credentials found"),
    ),
    ("audit-manager", "import-report"): (
        Bad(
            (
                "--report",
                EXAMPLE,
                "--assessment",
                "a",
                "--control-set",
                "s",
                "--control",
                "c",
                "--region",
                "eu-west-1",
            ),
            exits.ERROR,
            f"error: --report {EXAMPLE}: Expecting value",
        ),
    ),
    ("config-rule", "package"): (
        Bad(("--config", MISSING, "--output", "f.zip"), exits.ERROR, "cannot read"),
        Bad(
            ("--config", EXAMPLE, "--output", "/nonexistent/dir/f.zip"),
            exits.ERROR,
            "error: --output /nonexistent/dir/f.zip: no such directory",
        ),
    ),
}


def assert_one_error(argv: tuple[str, ...], code: int, says: str) -> None:
    result = cli(*argv, env=NO_AWS | {"AWS_REGION": "eu-west-1"})
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    # argparse: "usage: ..." then "flink-remediator[ plan]: error: ..."
    argparse_error = code == exits.USAGE and ARGPARSE_ERROR.match(last) is not None
    assert last.startswith("error: ") or argparse_error, last
    assert says in last


def test_every_command_has_bad_input_cases() -> None:
    assert set(COMMANDS) == set(CASES), "add bad-input cases for a new command to CASES"


@pytest.mark.parametrize(
    ("command", "bad"),
    [(c, b) for c, bads in CASES.items() for b in bads],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else " ".join(v.argv) or "(none)",
)
def test_bad_input_gives_one_error_line_and_the_documented_code(
    command: tuple[str, ...], bad: Bad
) -> None:
    assert_one_error((*command, *bad.argv), bad.code, bad.says)


def required_argv(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """A value for every required option and positional, so argparse gets to the flag."""
    argv: list[str] = []
    for action in parser._actions:
        if action.required:
            argv += [action.option_strings[0], "x"] if action.option_strings else ["x"]
    return tuple(argv)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_an_unknown_flag_is_a_usage_error(command: tuple[str, ...]) -> None:
    argv = (*command, *required_argv(COMMANDS[command]), "--no-such-flag")
    assert_one_error(argv, exits.USAGE, "unrecognized arguments: --no-such-flag")


@pytest.mark.parametrize(
    "command", sorted(c for c, p in COMMANDS.items() if required_argv(p)), ids=" ".join
)
def test_a_missing_required_argument_is_a_usage_error(command: tuple[str, ...]) -> None:
    assert_one_error(command, exits.USAGE, "the following arguments are required")
