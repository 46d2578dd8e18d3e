"""DynamoDB item writes, one at a time, as DynamoDB applies them.

"Individual write operations such as UpdateItem are atomic and always operate on the most recent
version of the item, regardless of concurrency": a conditional PutItem is checked and applied as
one step, so of two writers that read one version exactly one wins.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BestPractices_ImplementingVersionControl.html
moto 5.2.5 checks the condition, then stores the item, without a lock; on the threaded server two
concurrent conditional puts on one version could both succeed (a lost update of the daemon's
state table). The middleware holds this lock around every item write it hands to moto.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

TARGET_PREFIX = "DynamoDB_20120810."
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_lock = threading.Lock()


def is_item_write(target: str) -> bool:
    """Is the X-Amz-Target `target` a DynamoDB item write?"""
    return target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX) :] in WRITES


@contextlib.contextmanager
def one_at_a_time() -> Iterator[None]:
    with _lock:
        yield
