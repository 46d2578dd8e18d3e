"""The daemon's state table in the sandbox, as deploy/cloudformation/hub.yaml creates it in AWS:
one string partition key `pk`, on-demand, server-side encryption, point-in-time recovery and
TTL on `expires_at`. moto serves DynamoDB itself (conditional writes, BatchGetItem with
ConsistentRead, TTL settings stored; like AWS, TTL deletes lazily, so moto never deleting
expired items is within what AWS allows:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html)."""

from __future__ import annotations

from typing import Any

STATE_TABLE = "flink-remediator-state"
TTL_ATTRIBUTE = "expires_at"


def create_state_table(dynamodb: Any, name: str = STATE_TABLE) -> str:
    """Create the table (a boto3 DynamoDB client) unless it exists; its ARN."""
    try:
        return str(dynamodb.describe_table(TableName=name)["Table"]["TableArn"])
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    table = dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )["TableDescription"]
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    dynamodb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return str(table["TableArn"])
