"""Sets of IP addresses as CIDR lists, with the stdlib `ipaddress` doing the arithmetic, and the
address space that never leaves for the public internet.

CIDR blocks either nest or are disjoint, so subtracting one block from another is
`address_exclude` and an intersection is the smaller of two nested blocks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TypeAlias

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not internet address space, with the name a finding gives it. IPv4: RFC 1918 private, RFC 6598
# shared (carrier-grade NAT), link-local, and the reserved blocks no gateway forwards (RFC 6890:
# "this network", loopback, multicast, future use). IPv6 (RFC 6890): unspecified, loopback,
# unique-local (RFC 4193, IPv6's private space), link-local, multicast.
NOT_PUBLIC: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "reserved"),
    ("10.0.0.0/8", "RFC 1918"),
    ("100.64.0.0/10", "RFC 6598"),
    ("127.0.0.0/8", "reserved"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "RFC 1918"),
    ("192.168.0.0/16", "RFC 1918"),
    ("224.0.0.0/4", "reserved"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "reserved"),
    ("::1/128", "reserved"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "reserved"),
)
NOT_PUBLIC_NETWORKS: tuple[Network, ...] = tuple(ipaddress.ip_network(c) for c, _ in NOT_PUBLIC)


def network(cidr: str) -> Network | None:
    """The block a CIDR names, None when it is not one (AWS normalises, so strict=False)."""
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def subtract(blocks: Iterable[Network], holes: Iterable[Network]) -> list[Network]:
    """The addresses of `blocks` outside every hole (of the same IP version)."""
    remaining = list(blocks)
    for hole in holes:
        kept: list[Network] = []
        for block in remaining:
            if block.version != hole.version or not block.overlaps(hole):
                kept.append(block)
            elif block.prefixlen < hole.prefixlen:  # the hole is inside the block
                kept.extend(block.address_exclude(hole))  # type: ignore[arg-type]
            # else the block lies inside the hole: nothing of it remains
        remaining = kept
    return collapse(remaining)


def intersect(left: Iterable[Network], right: Iterable[Network]) -> list[Network]:
    """The addresses in both lists."""
    found = [
        a if a.prefixlen >= b.prefixlen else b
        for a in left
        for b in right
        if a.version == b.version and a.overlaps(b)
    ]
    return collapse(found)


def collapse(blocks: Iterable[Network]) -> list[Network]:
    """The fewest CIDR blocks covering `blocks`, IPv4 first."""
    v4 = [b for b in blocks if b.version == 4]
    v6 = [b for b in blocks if b.version == 6]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def public_part(block: Network, own: Iterable[Network] = ()) -> list[Network]:
    """The addresses of `block` in public internet space: outside `NOT_PUBLIC` and `own` (the
    VPC's own CIDRs, which its local route keeps inside the VPC)."""
    return subtract([block], (*NOT_PUBLIC_NETWORKS, *own))


def describe(blocks: list[Network], limit: int = 3) -> str:
    """`a, b, c and 4 more` for a message."""
    shown = ", ".join(str(b) for b in blocks[:limit])
    return shown + (f" and {len(blocks) - limit} more" if len(blocks) > limit else "")
