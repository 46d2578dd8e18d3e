"""EC2 routing as AWS reports it, where moto 5.2.5 differs; installed for the sandbox's process.

- Route states: "The blackhole state indicates that the route's target isn't available (for
  example, the specified gateway isn't attached to the VPC, or the specified NAT instance has
  been terminated)", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html.
  moto hard-codes every route as `active`: here a route to an internet gateway not attached to
  the table's VPC (after DetachInternetGateway), or to a NAT gateway that is deleted or failed
  ("deleted: ... no longer processing traffic"), is a `blackhole`.
- NAT gateways: `ConnectivityType` is `public` unless created `private` ("The default is
  public", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNatGateway.html);
  moto leaves it out of DescribeNatGateways when the caller did not pass it.
- ModifyManagedPrefixList without `PrefixListName` keeps the name (the parameter is optional,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyManagedPrefixList.html);
  moto sets it to None.
- DescribeRouteTables filter `route.destination-prefix-list-id` (listed in
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html), which
  moto rejects as not implemented; likewise DescribeNetworkAcls filter `network-acl-id`
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkAcls.html).
"""

from __future__ import annotations

from typing import Any

_DEAD_NAT_STATES = frozenset({"deleted", "failed"})


def _route_state(route: Any) -> str:
    gateway = route.gateway
    if gateway is not None and str(gateway.id).startswith("igw-"):
        attached = getattr(gateway, "vpc", None)
        if attached is None or attached.id != route.route_table.vpc_id:
            return "blackhole"
    nat = route.nat_gateway
    if nat is not None and nat.state in _DEAD_NAT_STATES:
        return "blackhole"
    return "active"


def _get_connectivity(nat: Any) -> str:
    return str(nat.__dict__.get("_connectivity_type") or "public")


def _set_connectivity(nat: Any, value: str | None) -> None:
    nat.__dict__["_connectivity_type"] = value


def install() -> None:
    from moto.ec2.models.managed_prefixes import ManagedPrefixListBackend
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.network_acls import NetworkAcl
    from moto.ec2.models.route_tables import Route, RouteTable

    Route.state = property(_route_state)  # type: ignore[method-assign,assignment]
    NatGateway.connectivity_type = property(_get_connectivity, _set_connectivity)  # type: ignore[assignment]
    moto_filter = RouteTable.get_filter_value

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "route.destination-prefix-list-id":
            return [
                r.destination_prefix_list.id
                for r in self._routes.values()
                if r.destination_prefix_list is not None
            ]
        return moto_filter(self, filter_name, method_name)

    RouteTable.get_filter_value = get_filter_value  # type: ignore[method-assign]
    moto_acl_filter = NetworkAcl.get_filter_value

    def acl_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "network-acl-id":
            return self.id
        return moto_acl_filter(self, filter_name, method_name)

    NetworkAcl.get_filter_value = acl_filter_value  # type: ignore[method-assign]
    moto_modify = ManagedPrefixListBackend.modify_managed_prefix_list

    def modify_managed_prefix_list(self: Any, *args: Any, **kwargs: Any) -> Any:
        listed = self.managed_prefix_lists.get(kwargs.get("prefix_list_id"))
        name = getattr(listed, "prefix_list_name", None)
        modified = moto_modify(self, *args, **kwargs)
        if kwargs.get("prefix_list_name") is None:
            modified.prefix_list_name = name
        return modified

    ManagedPrefixListBackend.modify_managed_prefix_list = modify_managed_prefix_list  # type: ignore[method-assign]
