"""The sandbox's DynamoDB applies a conditional write as one step, as DynamoDB does
(sandbox/dynamodb_atomic.py): of writers that all read one version of an item, exactly one
stores the next. moto checks the condition and then stores without a lock; this test widens
that gap (a slow read of the stored item) so that without the sandbox's lock every writer wins,
a lost update of the daemon's state table (issue 26: a fix recorded applied twice)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from sandbox.server import Sandbox
from sandbox.state_table import create_state_table
from tests.conftest import AwsFactory

WRITERS = 4


def _item(key: str, version: int, data: str) -> dict[str, Any]:
    return {
        "pk": {"S": key},
        "version": {"N": str(version)},
        "data": {"S": data},
        "expires_at": {"N": "4102444800"},
    }


def test_of_writers_on_one_version_exactly_one_wins(
    fresh_sandbox: Sandbox, aws: AwsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = aws("dynamodb")
    table = create_state_table(dynamodb).rsplit("/", 1)[-1]
    dynamodb.put_item(TableName=table, Item=_item("app#x", 1, "{}"))
    read = Table.get_item

    def slow_read(self: Table, *args: Any, **kwargs: Any) -> Any:
        found = read(self, *args, **kwargs)
        time.sleep(0.3)  # every writer has read the item before any stores its own
        return found

    monkeypatch.setattr(Table, "get_item", slow_read)
    start = threading.Barrier(WRITERS)
    won: list[int] = []
    refused: list[str] = []

    def write(n: int) -> None:
        client = aws("dynamodb")  # one client per thread, as boto3 wants
        start.wait()
        try:
            client.put_item(
                TableName=table,
                Item=_item("app#x", 2, str(n)),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": "1"}},
            )
            won.append(n)
        except client.exceptions.ConditionalCheckFailedException:
            refused.append(str(n))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(won) == 1 and len(refused) == WRITERS - 1, (won, refused)
    stored = dynamodb.get_item(TableName=table, Key={"pk": {"S": "app#x"}}, ConsistentRead=True)
    assert stored["Item"]["data"]["S"] == str(won[0])  # the winner's item, not a later one
