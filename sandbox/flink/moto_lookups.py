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

    def kms_key(self, key_id: str) -> tuple[str, str] | None:
        from moto.kms.models import kms_backends

        kms = kms_backends[self.account_id][self.region]
        try:
            key = kms.keys[kms.any_id_to_key_id(key_id)]
        except Exception:  # moto raises KeyError or its own NotFound for unknown ids/aliases
            return None
        return str(key.key_state), str(key.policy)

    def role_trust_policy(self, role_arn: str) -> str | None:
        from moto.iam.models import iam_backends

        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = iam_backends[self.account_id]["global"].get_role(name)
        except Exception:  # moto's NoSuchEntity
            return None
        if role.arn != role_arn:
            return None
        return str(role.assume_role_policy_document)
