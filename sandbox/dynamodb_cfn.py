"""AWS::DynamoDB::Table properties moto 5.2.5's CloudFormation drops, for the hub's state table.

moto passes `SSESpecification` on in the template's spelling (`SSEEnabled`), where its table
expects the API's (`Enabled`), and ignores `TimeToLiveSpecification` and
`PointInTimeRecoverySpecification`. As CloudFormation does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html),
the table is created with SSE, then TTL and point-in-time recovery are set on it.
"""

from __future__ import annotations

from typing import Any

_original: Any = None


def install() -> None:
    global _original
    from moto.dynamodb.models.table import Table

    if _original is not None:
        return
    _original = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        properties = dict(cloudformation_json["Properties"])
        sse = properties.get("SSESpecification")
        if sse is not None:
            properties["SSESpecification"] = {
                "Enabled": sse.get("SSEEnabled", False),
                **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
            }
        template = {**cloudformation_json, "Properties": properties}
        table = _original(cls, resource_name, template, account_id, region_name, **kwargs)
        backend = dynamodb_backends[account_id][region_name]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            backend.update_time_to_live(table.name, ttl)
        recovery = properties.get("PointInTimeRecoverySpecification")
        if recovery:
            backend.update_continuous_backups(table.name, recovery)
        return table

    Table.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
