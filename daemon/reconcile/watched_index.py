"""A sweep's listing step under list and watch (daemon/reconcile/list_watch.py): per account,
list every Region, read its side resources in pages, describe only what the watch says is due,
and record what those full reads saw.

The order keeps every change visible: side resources are read before the due apps are
described and reconciled, so a change made before that read is seen by the reconcile, and one
made after it changes a fingerprint the next sweep compares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from daemon.aws import Aws, AwsByRegion
from daemon.reconcile import side_reads
from daemon.reconcile.inventory import Inventory, describe_apps
from daemon.reconcile.list_watch import Links, Watch, list_region
from daemon.reconcile.pass_reads import PassReads
from daemon.reconcile.side_reads import Sides
from daemon.reconcile.workqueue import Ticket
from daemon.state import AppRef


@dataclass(frozen=True)
class Indexed:
    """One account's listing: every app found, and the apps a sweep must reconcile."""

    listed: tuple[AppRef, ...]
    due: tuple[AppRef, ...]


def index_changed(
    aws: AwsByRegion,
    account: str,
    regions: Iterable[str],
    inventory: Inventory,
    watch: Watch,
    full: bool,
    reads: PassReads | None = None,
    workers: int = 8,
    running_too: bool = False,
) -> Indexed:
    listed_all: list[AppRef] = []
    due_all: list[AppRef] = []
    roles: dict[str, str] | None = None
    for region in regions:
        client = aws.region(region)
        listed = list_region(client, account)
        if roles is None:  # IAM is global: one read per account
            roles = side_reads.read_roles(client)
        known = watch.links(entry.app for entry in listed)
        sides = _read_sides(client, known, Sides(roles=roles))
        due = watch.due(listed, sides, full, running_too)
        links = _describe(client, [e.app for e in due], inventory, reads, workers)
        # New apps may link to groups and VPCs not read yet: read those before recording.
        sides = _read_sides(client, links.values(), sides)
        for entry in due:
            watch.saw(entry, links[entry.app], sides)
        watch.retain(account, region, [e.app for e in listed])
        listed_all += [e.app for e in listed]
        due_all += [e.app for e in due]
    inventory.mark_indexed(account)
    return Indexed(tuple(listed_all), tuple(due_all))


def _describe(
    client: Aws, apps: list[AppRef], inventory: Inventory, reads: PassReads | None, workers: int
) -> dict[AppRef, Links]:
    links: dict[AppRef, Links] = {}

    def keep(app: AppRef, detail: Mapping[str, Any]) -> None:
        links[app] = Links.from_detail(detail)

    describe_apps(client, apps, inventory, reads, workers, on_detail=keep)
    return links


def _read_sides(client: Aws, links: Iterable[Links], sides: Sides) -> Sides:
    """`sides` with the tags (once), and the log groups and VPC route tables `links` name that
    it has not read yet."""
    links = tuple(links)
    groups = {lk.log_group for lk in links if lk.log_group} - set(sides.checked_groups)
    vpcs = {v for lk in links for v in lk.vpcs} - set(sides.checked_vpcs)
    return replace(
        sides,
        tags=sides.tags if sides.tags_read else side_reads.read_tags(client),
        tags_read=True,
        log_groups=sides.log_groups | side_reads.read_log_groups(client, groups),
        checked_groups=sides.checked_groups | frozenset(groups),
        routes={**sides.routes, **side_reads.read_routes(client, vpcs)},
        checked_vpcs=sides.checked_vpcs | frozenset(vpcs),
    )


class WatchedTicket(Ticket[AppRef]):
    """A sweep's ticket: an app whose reconcile failed is described again at the next sweep."""

    def __init__(self, keys: Iterable[AppRef], on_settled: Any, watch: Watch) -> None:
        super().__init__(keys, on_settled)
        self._watch = watch

    def done(self, key: AppRef, ok: bool) -> None:
        if not ok:
            self._watch.forget(key)
        super().done(key, ok)
