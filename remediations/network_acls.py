"""Network ACLs, as DescribeNetworkAcls returns them: where a subnet's outbound traffic may go.

AWS evaluates a network ACL's rules in order, lowest rule number first, and the first rule that
matches the traffic decides; the last rule (`*`, 32767) denies what nothing else matched.
("processes the entries ... according to the rule numbers, in ascending order":
https://docs.aws.amazon.com/fms/2018-01-01/APIReference/API_NetworkAclEntry.html)
An address can receive some traffic when an allow entry (any protocol or port) covers it and no
lower-numbered entry denying all traffic (protocol -1) covers it first. A deny of one protocol
or port range decides nothing for the others, so it never narrows the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from remediations.address_space import Network, collapse, network, subtract

ALL_TRAFFIC = "-1"


def subnet_acl(subnet_id: str, acls: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The network ACL associated with the subnet (every subnet has exactly one)."""
    for acl in acls:
        if any(a.get("SubnetId") == subnet_id for a in acl.get("Associations") or []):
            return acl
    return None


def egress_reach(acl: Mapping[str, Any]) -> list[Network]:
    """The addresses to which the ACL lets some outbound traffic go."""
    outbound = [e for e in acl.get("Entries") or [] if e.get("Egress")]
    denied: list[Network] = []
    allowed: list[Network] = []
    for entry in sorted(outbound, key=lambda e: int(e.get("RuleNumber") or 0)):
        block = network(str(entry.get("CidrBlock") or entry.get("Ipv6CidrBlock") or ""))
        if block is None:
            continue
        if entry.get("RuleAction") == "allow":
            allowed.extend(subtract([block], denied))
        elif str(entry.get("Protocol")) == ALL_TRAFFIC:
            denied.append(block)
    return collapse(allowed)
