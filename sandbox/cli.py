"""`flink-remediator sandbox serve`: run the local AWS account until SIGTERM or SIGINT.

stdout carries exactly one JSON line (endpoint_url, queue_url, dlq_url, region, account_id,
with --demo the principals and network, with --enforce-iam the admin's keys); everything else
goes to stderr.
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

from sandbox.defaults import DEFAULT_REGION, DEFAULT_TRANSITION_SECONDS

DEFAULT_PORT = 4566


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="a local AWS account (moto + Managed Flink + CloudTrail events)"
    )
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the sandbox on 127.0.0.1 until stopped")
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("FLINK_REMEDIATOR_SANDBOX_PORT", DEFAULT_PORT)),
        help=f"TCP port (0: any free port; default {DEFAULT_PORT})",
    )
    serve.add_argument("--region", default=os.environ.get("AWS_REGION", DEFAULT_REGION))
    serve.add_argument(
        "--demo", action="store_true", help="seed demo users, a VPC and Flink applications"
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
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from sandbox.demo import seed
    from sandbox.server import Sandbox

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    sandbox = Sandbox(
        port=args.port,
        region=args.region,
        transition_seconds=args.transition_seconds,
        enforce_iam=args.enforce_iam,
    ).start()
    try:
        info: dict[str, Any] = sandbox.info()
        if args.demo:
            info.update(
                seed(
                    sandbox.endpoint_url,
                    sandbox.region,
                    sandbox.account_id,
                    (sandbox.queue_url, sandbox.dlq_url),
                )
            )
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        while not stop.wait(timeout=1.0):
            pass
    finally:
        sandbox.stop()
    return 0
