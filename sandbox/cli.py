"""`flink-remediator sandbox serve`: run the local AWS account until SIGTERM or SIGINT.

stdout carries exactly one JSON line (endpoint_url, queue_url, dlq_url, region, account_id,
with --demo the principals and network, with --accounts N the member accounts with their role
ARNs and the central bus, with --enforce-iam the admin's keys); everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from sandbox import env_command
from sandbox.defaults import DEFAULT_PORT, DEFAULT_REGION, DEFAULT_TRANSITION_SECONDS, PORT_ENV


def tcp_port(text: str) -> int:
    """An argparse type: 0..65535 (a bigger number would wrap around to another port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0..65535)")
    return port


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="a local AWS account (moto + Managed Flink + CloudTrail events)"
    )
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the sandbox on 127.0.0.1 until stopped")
    serve.add_argument(
        "--port",
        type=tcp_port,
        default=int(os.environ.get(PORT_ENV, DEFAULT_PORT)),
        help=f"TCP port (0: any free port; default {DEFAULT_PORT})",
    )
    # Not the shell's AWS_REGION: the sandbox's Region must be one the example config covers,
    # whatever Region a user's shell happens to name (`sandbox env` hands the shell this one).
    serve.add_argument(
        "--region", default=DEFAULT_REGION, help=f"the sandbox's Region (default {DEFAULT_REGION})"
    )
    serve.add_argument(
        "--demo", action="store_true", help="seed demo users, a VPC and Flink applications"
    )
    serve.add_argument(
        "--accounts",
        type=int,
        default=0,
        metavar="N",
        help="with --demo: also N member accounts, reached by an assumed role, whose events "
        "reach the queue through a central bus (listed in the JSON line's `accounts`)",
    )
    serve.add_argument(
        "--transition-seconds",
        type=float,
        default=DEFAULT_TRANSITION_SECONDS,
        help="how long STARTING/UPDATING/STOPPING/DELETING last",
    )
    serve.add_argument(
        "--enforce-iam",
        action="store_true",
        help="check every request's signature and IAM policies (moto's enforcement, also for "
        "kinesisanalyticsv2); bootstrap keys: the 'admin' entry of the printed JSON",
    )
    late = serve.add_argument_group(
        "event delivery and consistency (AWS: CloudTrail events arrive best-effort, typically "
        "within minutes, at least once; IAM is eventually consistent)"
    )
    late.add_argument(
        "--delivery-delay-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="deliver each CloudTrail event S seconds after the call, on the sandbox clock "
        "(default 0: at once; `make run` uses 3)",
    )
    late.add_argument(
        "--delivery-jitter-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="plus a random 0..S seconds per event, so events arrive out of order",
    )
    late.add_argument(
        "--duplicate-probability",
        type=float,
        default=0.0,
        metavar="P",
        help="chance 0..1 that an event is delivered twice (same eventID)",
    )
    late.add_argument(
        "--duplicate-delay-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="a duplicate arrives S seconds (plus the jitter) after the first copy",
    )
    late.add_argument("--delivery-seed", type=int, default=0, help="seed of the above")
    late.add_argument(
        "--iam-read-lag-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="for S seconds after a role changes, reads of it may answer the previous state",
    )
    serve.add_argument(
        "--config-rules",
        action="store_true",
        help="with --demo: deploy the AWS Config rules (one per project rule) and evaluate on "
        "every Managed Flink change, as `make run` does (off by default: each evaluation runs "
        "the rule function in a child process)",
    )
    serve.add_argument(
        "--sweep-schedules",
        type=int,
        default=0,
        metavar="MINUTES",
        help="with --demo: EventBridge Scheduler schedules (one per account and Region) that "
        "put a sweep tick on the queue every MINUTES, for a daemon run with --sweep-source "
        "queue; the sandbox fires them on its clock",
    )
    serve.set_defaults(func=serve_command)
    env_command.register(commands)


def _sweep_schedules(sandbox: Any, info: dict[str, Any], minutes: int) -> list[str]:
    from sandbox.demo import Seeder
    from sandbox.scheduler import create_sweep_schedules

    hub = Seeder(sandbox.endpoint_url, sandbox.region, sandbox.account_id)
    queue_arn = (
        f"arn:aws:sqs:{sandbox.region}:{sandbox.account_id}:"
        + (sandbox.queue_url.rsplit("/", 1)[-1])
    )
    accounts = [sandbox.account_id, *(m["account_id"] for m in info.get("accounts", []))]
    places = [(account, sandbox.region) for account in accounts]
    return create_sweep_schedules(hub.client, queue_arn, places, minutes)


def serve_command(args: argparse.Namespace) -> int:
    from sandbox.accounts_demo import seed_members
    from sandbox.config_demo import deploy_config_rules
    from sandbox.delivery import DeliverySettings
    from sandbox.demo import Seeder, seed
    from sandbox.server import Sandbox

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.accounts and not args.demo:
        sys.stderr.write("error: --accounts N needs --demo\n")
        return 2
    if args.sweep_schedules and not args.demo:
        sys.stderr.write("error: --sweep-schedules MINUTES needs --demo\n")
        return 2
    if not 0 <= args.sweep_schedules <= 1440:
        sys.stderr.write(
            f"error: --sweep-schedules must be 1..1440 minutes, got {args.sweep_schedules}\n"
        )
        return 2
    if not 0 <= args.accounts <= 50:
        sys.stderr.write(f"error: --accounts must be 0..50, got {args.accounts}\n")
        return 2
    try:
        delivery = DeliverySettings(
            args.delivery_delay_seconds,
            args.delivery_jitter_seconds,
            args.duplicate_probability,
            args.duplicate_delay_seconds,
            args.delivery_seed,
        )
        if not 0 <= args.iam_read_lag_seconds <= 3600:
            raise ValueError(
                f"--iam-read-lag-seconds must be 0..3600, got {args.iam_read_lag_seconds}"
            )
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sandbox = Sandbox(
        port=args.port,
        region=args.region,
        transition_seconds=args.transition_seconds,
        enforce_iam=args.enforce_iam,
        delivery=delivery,
        iam_read_lag_seconds=args.iam_read_lag_seconds,
    ).start()
    try:
        info: dict[str, Any] = sandbox.info()
        if args.demo:
            queues = (sandbox.queue_url, sandbox.dlq_url)
            info.update(
                seed(
                    sandbox.endpoint_url,
                    sandbox.region,
                    sandbox.account_id,
                    queues,
                    forget=not args.accounts,
                )
            )
            if args.accounts:
                hub = Seeder(sandbox.endpoint_url, sandbox.region, sandbox.account_id)
                daemon_arn = info["principals"]["daemon"]["arn"]
                queue_arn = (
                    f"arn:aws:sqs:{sandbox.region}:{sandbox.account_id}:"
                    + (sandbox.queue_url.rsplit("/", 1)[-1])
                )
                info.update(seed_members(hub, args.accounts, queue_arn, daemon_arn))
                hub.forget_seeding(queues)
            if args.config_rules:
                seeder = Seeder(sandbox.endpoint_url, sandbox.region, sandbox.account_id)
                info["config_rules"] = deploy_config_rules(seeder.client)
                sandbox.middleware.config_rules.added(
                    sandbox.account_id, sandbox.region, info["config_rules"]
                )
            if args.sweep_schedules:
                info["sweep_schedules"] = _sweep_schedules(sandbox, info, args.sweep_schedules)
            sandbox.seeded = {k: v for k, v in info.items() if k not in sandbox.info()}
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        while not stop.wait(timeout=1.0):
            pass
    finally:
        sandbox.stop()
    return 0
