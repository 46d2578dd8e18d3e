"""Route states as AWS reports them: a route to an internet gateway that is not attached to the
route table's VPC (e.g. after DetachInternetGateway) is a `blackhole`. moto 5.2.5 hard-codes
every route as `active`; this replaces that property for the sandbox's process.
"""

from __future__ import annotations

from typing import Any


def _route_state(route: Any) -> str:
    gateway = route.gateway
    if gateway is not None and str(gateway.id).startswith("igw-"):
        attached = getattr(gateway, "vpc", None)
        if attached is None or attached.id != route.route_table.vpc_id:
            return "blackhole"
    return "active"


def install() -> None:
    from moto.ec2.models.route_tables import Route

    Route.state = property(_route_state)  # type: ignore[method-assign,assignment]
