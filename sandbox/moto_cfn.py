"""CloudFormation resources moto 5.2.5 skips but the project's stacks rely on.

AWS::SQS::QueuePolicy (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queuepolicy.html):
moto ignores it (with a warning), so a stack's queue would have no policy, and EventBridge,
which needs the queue policy's Allow, could deliver nothing to it. This sets the document as
the `Policy` attribute of every queue in `Queues` (URLs), as SetQueueAttributes would.

AWS::IAM::Role `Policies`: moto keeps a stack's inline policy documents as parsed objects, and
its GetAccountAuthorizationDetails then fails (a 500) quoting them. IAM stores and returns an
inline policy as a JSON string whoever wrote it
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html):
documents are kept as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel


class QueuePolicy(CloudFormationModel):
    def __init__(self, queues: list[Any], document: dict[str, Any]) -> None:
        self.queues, self.document = queues, document

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> QueuePolicy:
        from moto.sqs.models import sqs_backends

        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        queues = []
        for url in properties.get("Queues") or []:
            owner, name = str(url).rstrip("/").split("/")[-2:]
            queue = sqs_backends[owner][region_name].queues.get(name)
            if queue is not None:
                queue.policy = json.dumps(document)
                queues.append(queue)
        return cls(queues, document)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> QueuePolicy:
        cls._clear(original_resource)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        return None

    @staticmethod
    def _clear(resource: Any) -> None:
        for queue in getattr(resource, "queues", []):
            queue.policy = None

    @property
    def physical_resource_id(self) -> str:
        return f"queue-policy-{id(self)}"

    def is_created(self) -> bool:
        return True


def _as_json_text(put_policy: Any) -> Any:
    def put(self: Any, policy_name: str, policy_json: Any) -> None:
        text = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)
        put_policy(self, policy_name, text)

    put.__wrapped_by_sandbox__ = True  # type: ignore[attr-defined]
    return put


def install() -> None:
    """Defining the class registered it; moto caches its model map, so forget that."""
    from moto.cloudformation import parsing
    from moto.iam.models import Role

    if not getattr(Role.put_policy, "__wrapped_by_sandbox__", False):
        Role.put_policy = _as_json_text(Role.put_policy)  # type: ignore[method-assign]

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
