"""Which applications exist: ListApplications over the configured regions."""

from __future__ import annotations

from daemon.apply.aws import Aws
from daemon.state import AppRef


def list_applications(aws: Aws, account: str) -> tuple[AppRef, ...]:
    """Every application in the client's region (ListApplications, all pages)."""
    apps: list[AppRef] = []
    token: str | None = None
    while True:
        page = aws.call(
            "kinesisanalyticsv2", "ListApplications", **({"NextToken": token} if token else {})
        )
        apps.extend(
            AppRef(account, aws.region, s["ApplicationName"])
            for s in page.get("ApplicationSummaries", [])
        )
        token = page.get("NextToken")
        if not token:
            return tuple(sorted(apps))
