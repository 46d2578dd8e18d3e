"""Which routes of a route table carry traffic to the public internet: pure path analysis over
a DescribeRouteTables entry, as AWS's Reachability Analyzer reasons (subnet -> route table ->
target -> internet), not one literal CIDR.

A route is an internet path when its target reaches the internet and some public address (see
`address_space.NOT_PUBLIC`, plus the VPC's own CIDRs) is routed by it, i.e. no more specific
route takes that address. Route priority, https://docs.aws.amazon.com/vpc/latest/userguide/route-tables-priority.html:
longest prefix first; at an equal prefix a static route beats a prefix-list route, which beats a
propagated one. A prefix-list destination stands for each of its entries
(GetManagedPrefixListEntries). Blackhole routes (their target is gone) are left out entirely.

Targets that reach the internet: an internet gateway `igw-` (IPv4 and IPv6), an egress-only
gateway `eigw-` (IPv6, optional), a carrier gateway `cagw-` (IPv4 to the carrier's network and
internet), and a public NAT gateway (`internet_egress`: outbound only, optional). A private NAT
gateway (ConnectivityType private) cannot reach the internet.
https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from remediations.address_space import Network, describe, network, public_part, subtract

INTERNET_ROUTE = "internet_route"  # a gateway that sends and receives internet traffic
INTERNET_EGRESS = "internet_egress"  # a public NAT gateway: outbound connections only
PROPAGATED = "EnableVgwRoutePropagation"  # a route's Origin when a VPN gateway propagated it


@dataclass(frozen=True)
class PrefixList:
    """A managed prefix list: DescribeManagedPrefixLists' name and owner, and its entries."""

    name: str
    owner: str
    cidrs: tuple[str, ...]

    @property
    def aws_managed(self) -> bool:
        # AWS-managed lists are owned by "AWS" and named com.amazonaws.<region>.<service>.
        return self.owner == "AWS" or self.name.startswith("com.amazonaws.")

    def label(self, list_id: str) -> str:
        if self.aws_managed:
            return f"prefix list {list_id} (AWS-managed {self.name or 'service list'})"
        return f"prefix list {list_id}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class Targets:
    """What a route's destination and target mean beyond the route table itself."""

    vpc_cidrs: tuple[str, ...] = ()
    prefix_lists: Mapping[str, PrefixList] | None = None  # unreadable lists are absent
    nat_connectivity: Mapping[str, str] | None = None  # live NAT gateway -> public | private


@dataclass(frozen=True, order=True)
class InternetPath:
    destination: str  # the route's CIDR or prefix list id
    target: str
    kind: str  # INTERNET_ROUTE | INTERNET_EGRESS
    reaches: tuple[str, ...]  # the public CIDRs this route carries
    why: str


@dataclass(frozen=True)
class _Entry:
    block: Network
    rank: int  # 0 static, 1 prefix list, 2 propagated: lower wins at an equal prefix
    route: int  # index into the table's routes


def destination(route: Mapping[str, Any]) -> str:
    return str(
        route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId")
        or ""
    )


def _entries(routes: list[Mapping[str, Any]], targets: Targets) -> list[_Entry]:
    entries: list[_Entry] = []
    for index, route in enumerate(routes):
        if route.get("State") == "blackhole":
            continue
        list_id = route.get("DestinationPrefixListId")
        if list_id:
            found = (targets.prefix_lists or {}).get(str(list_id))
            cidrs: Iterable[str] = found.cidrs if found else ()
            rank = 1
        else:
            cidrs = (destination(route),)
            rank = 2 if route.get("Origin") == PROPAGATED else 0
        for cidr in cidrs:
            block = network(cidr)
            if block is not None:
                entries.append(_Entry(block, rank, index))
    return entries


def internet_target(
    route: Mapping[str, Any],
    targets: Targets,
    *,
    egress_only_gateways: bool = True,
    nat_egress: bool = True,
) -> tuple[str, str] | None:
    """(target id, kind) when the route's target reaches the internet, else None."""
    gateway = str(route.get("GatewayId") or "")
    if gateway.startswith("igw-"):
        return gateway, INTERNET_ROUTE
    egress_only = str(route.get("EgressOnlyInternetGatewayId") or "")
    if egress_only.startswith("eigw-") and egress_only_gateways:
        # IPv6 only: AWS takes no IPv4 route to it.
        return None if route.get("DestinationCidrBlock") else (egress_only, INTERNET_ROUTE)
    carrier = str(route.get("CarrierGatewayId") or "")
    if carrier.startswith("cagw-"):
        return carrier, INTERNET_ROUTE
    nat = str(route.get("NatGatewayId") or "")
    if nat and nat_egress and (targets.nat_connectivity or {}).get(nat) == "public":
        return nat, INTERNET_EGRESS
    return None


def internet_paths(
    table: Mapping[str, Any],
    targets: Targets,
    *,
    egress_only_gateways: bool = True,
    nat_egress: bool = True,
) -> tuple[InternetPath, ...]:
    """The routes of a DescribeRouteTables entry that carry some public address to the
    internet, each with the public CIDRs it carries and why."""
    routes = list(table.get("Routes") or [])
    entries = _entries(routes, targets)
    own = [b for b in (network(c) for c in targets.vpc_cidrs) if b is not None]
    options = {"egress_only_gateways": egress_only_gateways, "nat_egress": nat_egress}
    reaching = {
        i: found for i, r in enumerate(routes) if (found := internet_target(r, targets, **options))
    }
    carried: dict[int, list[Network]] = {}
    for entry in entries:
        if entry.route not in reaching:
            continue
        if entry.block.version == 4 and reaching[entry.route][0].startswith("eigw-"):
            continue  # an egress-only gateway carries IPv6 only
        taken = [o.block for o in entries if _takes_over(o, entry)]
        carried.setdefault(entry.route, []).extend(subtract(public_part(entry.block, own), taken))
    paths: list[InternetPath] = []
    for index, blocks in carried.items():
        if not blocks:
            continue
        route, (target, kind) = routes[index], reaching[index]
        public = subtract(blocks, ())  # collapsed
        paths.append(
            InternetPath(
                destination(route),
                target,
                kind,
                tuple(str(b) for b in public),
                _why(route, target, kind, public, targets),
            )
        )
    return tuple(sorted(paths))


def _takes_over(other: _Entry, entry: _Entry) -> bool:
    """Whether `other` wins the addresses it covers inside `entry`'s block."""
    if other.block.version != entry.block.version or not other.block.subnet_of(entry.block):  # type: ignore[arg-type]
        return False
    if other.block.prefixlen != entry.block.prefixlen:
        return True
    return other.rank < entry.rank


def _why(
    route: Mapping[str, Any], target: str, kind: str, carried: list[Network], targets: Targets
) -> str:
    list_id = str(route.get("DestinationPrefixListId") or "")
    found = (targets.prefix_lists or {}).get(list_id)
    what = found.label(list_id) if found else destination(route)
    gateway = {
        "igw": "internet gateway",
        "eigw": "egress-only internet gateway",
        "cagw": "carrier gateway",
        "nat": "public NAT gateway",
    }[target.split("-", 1)[0]]
    reach = "outbound internet access" if kind == INTERNET_EGRESS else "internet access"
    return (
        f"{what} goes to {gateway} {target} ({reach}) and covers public addresses "
        f"{describe(carried)}: not private or reserved space, not the VPC's CIDRs, not taken "
        "by a more specific route"
    )
