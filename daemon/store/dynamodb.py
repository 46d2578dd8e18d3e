"""The state store on one Amazon DynamoDB table (deploy/cloudformation/hub.yaml creates it).

Item: `pk` (S, the key), `data` (S, the record as JSON), `version` (N), `expires_at` (N, epoch
seconds: the table's TTL attribute). Reads are strongly consistent BatchGetItem calls, at most
100 keys each (a sweep of 500 apps costs 5 calls). Writes are PutItem with a condition on the
version read, so a replica never overwrites a newer record:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
TTL deletes expired items only eventually ("typically within a few days"), so reads drop items
whose `expires_at` has passed and a write may replace one:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from daemon import errors
from daemon.aws import Aws
from daemon.store import BATCH_GET_LIMIT, Item, StoreUnavailable, VersionConflict

# The item operations the store makes: all the daemon's policy grants on the table.
ITEM_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:PutItem")
UNPROCESSED_ROUNDS = 3  # BatchGetItem may hand back keys it did not read (throttling)


class DynamoStore:
    def __init__(
        self, aws: Aws, table: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._aws = aws
        self.table = table
        self.name = f"dynamodb:{table}"
        self._clock = clock

    def get_many(self, keys: Sequence[str]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            for raw in self._batch_get(unique[start : start + BATCH_GET_LIMIT]):
                item = _item(raw)
                if item.expires > self._clock():
                    found[item.key] = item
        return found

    def put(self, item: Item) -> Item:
        stored = replace(item, version=item.version + 1)
        values: dict[str, Any] = {":v": {"N": str(item.version)}}
        if item.version == 0:  # nothing stored, or only an item TTL has not deleted yet
            condition = "attribute_not_exists(pk) OR expires_at < :now"
            values = {":now": {"N": str(int(self._clock().timestamp()))}}
        else:
            condition = "version = :v"
        try:
            self._call(
                "PutItem",
                TableName=self.table,
                Item=_attributes(stored),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except errors.PermanentAwsError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise VersionConflict(f"{item.key}: a newer version is stored") from exc
            raise StoreUnavailable(f"{self.name}: {exc}") from exc
        return stored

    def probe(self) -> None:
        """One read (of a key never written): raises StoreUnavailable if the table does not
        answer. /readyz follows it while the daemon is idle."""
        self.get_many(["probe"])

    def _batch_get(self, keys: Sequence[str]) -> list[Mapping[str, Any]]:
        request: dict[str, Any] = {
            self.table: {"Keys": [{"pk": {"S": k}} for k in keys], "ConsistentRead": True}
        }
        out: list[Mapping[str, Any]] = []
        for _ in range(UNPROCESSED_ROUNDS):
            reply = self._call("BatchGetItem", RequestItems=request)
            out += reply.get("Responses", {}).get(self.table, [])
            request = dict(reply.get("UnprocessedKeys") or {})
            if not request:
                return out
        raise StoreUnavailable(f"{self.name}: keys left unprocessed after {UNPROCESSED_ROUNDS}")

    def _call(self, operation: str, **params: Any) -> Mapping[str, Any]:
        try:
            return self._aws.call("dynamodb", operation, **params)
        except errors.PermanentAwsError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise
            raise StoreUnavailable(f"{self.name}: {exc}") from exc
        except errors.AwsError as exc:  # throttled, 5xx, unreachable, no such table
            raise StoreUnavailable(f"{self.name}: {exc}") from exc


def _attributes(item: Item) -> dict[str, Any]:
    return {
        "pk": {"S": item.key},
        "data": {"S": json.dumps(item.data, separators=(",", ":"), sort_keys=True)},
        "version": {"N": str(item.version)},
        "expires_at": {"N": str(int(item.expires.timestamp()))},
    }


def _item(raw: Mapping[str, Any]) -> Item:
    return Item(
        key=str(raw["pk"]["S"]),
        data=json.loads(raw["data"]["S"]),
        expires=datetime.fromtimestamp(int(raw["expires_at"]["N"]), UTC),
        version=int(raw["version"]["N"]),
    )
