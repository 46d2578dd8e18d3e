"""Claims: a timer that every replica keeps fires in one of them only.

A claim is an item written only if none (or only an expired one) is stored: the conditional
PutItem of the store (`attribute_not_exists(pk) OR expires_at < :now`), so of the replicas
that reach the same moment (a deferred fix's window opening, a waiver's expiry) exactly one
wins and acts; the others do nothing. The claim expires after `seconds`: if its holder died
before acting, the next check after that fires again.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from daemon.store import Item, StateStore, VersionConflict

# Who holds a claim (for a person reading the table): the pod's host name and process id.
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def claim(store: StateStore, key: str, now: datetime, seconds: float) -> bool:
    """True if this process now holds `key` for `seconds`; False if another holds it.
    Raises StoreUnavailable when the store does not answer."""
    item = Item(
        f"claim#{key}", {"holder": HOLDER, "at": now.isoformat()}, now + timedelta(seconds=seconds)
    )
    try:
        store.put(item)
    except VersionConflict:
        return False
    return True
