"""The Flink backend's view of the rest of the sandbox account, read from moto's backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MotoLookups:
    account_id: str
    region: str

    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account_id][self.region]

    def vpc_of_subnet(self, subnet_id: str) -> str | None:
        for subnets in list(self._ec2().subnets.values()):
            subnet = subnets.get(subnet_id)
            if subnet is not None:
                return str(subnet.vpc_id)
        return None

    def security_group_exists(self, group_id: str) -> bool:
        return self._ec2().get_security_group_from_id(group_id) is not None

    def log_stream_exists(self, group: str, stream: str) -> bool:
        from moto.logs.models import logs_backends

        log_group = logs_backends[self.account_id][self.region].groups.get(group)
        return log_group is not None and stream in log_group.streams
