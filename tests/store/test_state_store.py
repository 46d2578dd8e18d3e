"""The state store's contract, for both implementations: the in-memory one and the DynamoDB
one against the sandbox over HTTP (moto's DynamoDB: conditional writes, BatchGetItem)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from daemon.aws import Aws
from daemon.store import Item, StateStore, StoreUnavailable, VersionConflict, get
from daemon.store.dynamodb import DynamoStore
from daemon.store.memory import MemoryStore
from sandbox.server import Sandbox
from sandbox.state_table import create_state_table
from sandbox.testing import client

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


class Wall:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def dynamodb_endpoint(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's endpoint (boto3 reads AWS_ENDPOINT_URL_DYNAMODB for DynamoDB alone)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", sandbox.endpoint_url)


def sandbox_aws(sandbox: Sandbox) -> Aws:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=sandbox.region
    )
    return Aws(sandbox.region, session=session, max_attempts=2, max_backoff_seconds=0.1)


@pytest.fixture(params=["memory", "dynamodb"])
def store_and_wall(
    request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[tuple[StateStore, Wall]]:
    wall = Wall()
    if request.param == "memory":
        yield MemoryStore(wall), wall
        return
    create_state_table(client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "dynamodb"))
    yield DynamoStore(sandbox_aws(fresh_sandbox), "flink-remediator-state", wall), wall


def test_a_write_names_the_version_it_read(store_and_wall: tuple[StateStore, Wall]) -> None:
    store, _ = store_and_wall
    first = store.put(Item("app#a", {"n": 1}, LATER))
    assert first.version == 1
    with pytest.raises(VersionConflict):
        store.put(Item("app#a", {"n": 9}, LATER))  # "nothing stored" is no longer true
    second = store.put(Item("app#a", {"n": 2}, LATER, version=1))
    with pytest.raises(VersionConflict):  # a replica that read version 1 lost the race
        store.put(Item("app#a", {"n": 3}, LATER, version=1))
    assert get(store, "app#a") == second
    assert second.data == {"n": 2} and second.version == 2


def test_a_stored_record_is_a_copy_as_the_table_keeps_it(
    store_and_wall: tuple[StateStore, Wall],
) -> None:
    """The store keeps the data it was given (as JSON text), not the caller's objects: changing
    what was written or what was read changes nothing stored."""
    store, _ = store_and_wall
    written: dict[str, list[int]] = {"times": [1]}
    store.put(Item("app#a", written, LATER))
    written["times"].append(2)
    read = get(store, "app#a")
    assert read is not None and read.data == {"times": [1]}
    read.data["times"].append(3)
    again = get(store, "app#a")
    assert again is not None and again.data == {"times": [1]}


def test_many_keys_are_read_in_batches_and_expired_items_are_gone(
    store_and_wall: tuple[StateStore, Wall],
) -> None:
    store, wall = store_and_wall
    for n in range(130):
        store.put(Item(f"app#{n}", {"n": n}, LATER if n % 2 else NOW + timedelta(hours=1)))
    wall.now = NOW + timedelta(hours=2)  # the even ones expired (TTL deletes them later)
    found = store.get_many([f"app#{n}" for n in range(130)] + ["app#missing"])
    assert sorted(found) == sorted(f"app#{n}" for n in range(1, 130, 2))
    # An expired item may be replaced as if nothing were stored.
    assert store.put(Item("app#0", {"n": 0}, LATER)).data == {"n": 0}


def test_a_table_that_does_not_answer_is_unavailable(fresh_sandbox: Sandbox) -> None:
    store = DynamoStore(sandbox_aws(fresh_sandbox), "no-such-table")
    with pytest.raises(StoreUnavailable):
        store.get_many(["app#a"])
    with pytest.raises(StoreUnavailable):
        store.put(Item("app#a", {}, LATER))


def test_batch_reads_take_one_call_per_100_keys(fresh_sandbox: Sandbox) -> None:
    create_state_table(client(fresh_sandbox.endpoint_url, fresh_sandbox.region, "dynamodb"))
    store = DynamoStore(sandbox_aws(fresh_sandbox), "flink-remediator-state")
    before = len([c for c in fresh_sandbox.calls() if c.operation == "BatchGetItem"])
    store.get_many([f"app#{n}" for n in range(250)])
    after = len([c for c in fresh_sandbox.calls() if c.operation == "BatchGetItem"])
    assert after - before == 3
