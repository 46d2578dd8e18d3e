"""`flink-remediator validate FILE...` and `flink-remediator schema`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from daemon.commands import exits
from daemon.desired import config_json_schema, load_config
from daemon.errors import ConfigError


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check desired-state files; every problem is printed as FILE:LINE: PATH: MESSAGE",
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=run_validate)
    schema = subparsers.add_parser(
        "schema", help="print the JSON Schema of the desired-state file (all registered rules)"
    )
    schema.set_defaults(func=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    invalid = 0
    for file in args.files:
        try:
            load_config(file)
        except ConfigError as err:
            invalid += 1
            for problem in err.problems:
                print(problem, file=sys.stdout)
        else:
            print(f"{file}: valid")
    if invalid:  # the problems above are the report (stdout); the verdict is the error line
        return exits.fail(f"{invalid} of {len(args.files)} files invalid (problems listed above)")
    return exits.OK


def run_schema(args: argparse.Namespace) -> int:
    json.dump(config_json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
