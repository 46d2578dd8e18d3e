"""Which rule's part of a merged UpdateApplication the service rejected.

The service names the rejected field at the start of its message, in the shape of the
application's description (`ApplicationEncryptionConfiguration.KeyId: ...`); the request names
the same fields with `Update` appended (`ApplicationEncryptionConfigurationUpdate.KeyIdUpdate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The request is wrong for this application: sending it again unchanged cannot help.
REJECTION_CODES = frozenset(
    {"InvalidArgumentException", "InvalidApplicationConfigurationException"}
)


def culprit(message: str, parts: Sequence[Mapping[str, Any]]) -> int | None:
    """The index of the one part whose fields the message names best, or None."""
    text = message.split(": ", 2)[-1]
    named = {_plain(t) for t in text.split(":", 1)[0].strip().split(".") if t}
    scores = [len(named & _fields(p)) for p in parts]
    best = max(scores, default=0)
    if best == 0 or scores.count(best) != 1:
        return None
    return scores.index(best)


def _plain(name: str) -> str:
    for suffix in ("Updates", "Update", "Description"):
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


def _fields(document: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(document, Mapping):
        for key, value in document.items():
            found.add(_plain(str(key)))
            found |= _fields(value)
    elif isinstance(document, list):
        for item in document:
            found |= _fields(item)
    return found
