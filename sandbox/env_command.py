"""`flink-remediator sandbox env`: shell lines that point AWS tools at a running sandbox.

    eval "$(flink-remediator sandbox env)"

It asks the sandbox itself (GET /_sandbox/info on 127.0.0.1, port 4566 or
FLINK_REMEDIATOR_SANDBOX_PORT, or --endpoint-url), so no state file can be stale: the keys are
those of the sandbox answering now. The principal: `--as daemon` (default) or `actor` of a
`serve --demo`; without --demo the `admin` of `--enforce-iam`, else any key (moto accepts all).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import urllib.error
import urllib.request
from typing import Any

from sandbox.defaults import DEFAULT_PORT, PORT_ENV

# Set by the shell, these would still steer a tool pointed at the sandbox: a profile's settings,
# a real session's token sent with the sandbox's keys.
UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
ANY_KEY = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


def register(commands: Any) -> None:
    env = commands.add_parser(
        "env",
        help='export lines for a running sandbox: eval "$(flink-remediator sandbox env)"',
    )
    env.add_argument(
        "--endpoint-url",
        default=f"http://127.0.0.1:{os.environ.get(PORT_ENV, DEFAULT_PORT)}",
        help=f"the sandbox (default http://127.0.0.1:{DEFAULT_PORT}, or ${PORT_ENV})",
    )
    env.add_argument(
        "--as",
        dest="principal",
        default="daemon",
        help="whose keys: daemon (default) or actor of `serve --demo`",
    )
    env.set_defaults(func=env_command)


def env_command(args: argparse.Namespace) -> int:
    url = args.endpoint_url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{url}/_sandbox/info", timeout=10) as response:
            info: dict[str, Any] = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        sys.stderr.write(
            f"error: no sandbox answers at {url} ({reason}); start one with "
            "`flink-remediator sandbox serve --demo` or pass --endpoint-url\n"
        )
        return 4
    keys = _keys(info, args.principal)
    if keys is None:
        known = ", ".join(sorted(info.get("principals", {}))) or "none: serve without --demo"
        sys.stderr.write(f"error: --as {args.principal}: no such principal (known: {known})\n")
        return 2
    print(render(info, keys), end="")
    return 0


def _keys(info: dict[str, Any], principal: str) -> dict[str, str] | None:
    principals: dict[str, dict[str, str]] = info.get("principals", {})
    if principals:
        return principals.get(principal)
    if principal != "daemon":
        return None
    admin: dict[str, str] = info.get("admin", ANY_KEY)
    return admin


def render(info: dict[str, Any], keys: dict[str, str]) -> str:
    values = {
        "AWS_ENDPOINT_URL": info["endpoint_url"],
        "AWS_REGION": info["region"],
        "AWS_DEFAULT_REGION": info["region"],
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        "FLINK_REMEDIATOR_QUEUE_URL": info["queue_url"],
    }
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join([*lines, f"unset {' '.join(UNSET)}"]) + "\n"
