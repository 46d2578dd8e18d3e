"""Rejections of a merged UpdateApplication, and how the rejected rule is found.

AWS documents the error codes of UpdateApplication but not the wording of their messages, and
does not promise that a message names the rejected field
(https://docs.aws.amazon.com/managed-flink/latest/apiv2/API_UpdateApplication.html#API_UpdateApplication_Errors).
So the culprit is found by the request alone: the executor bisects the merged call (each half
sent on its own, halves of a rejected half again) until the rule whose part is rejected is
alone; the other rules' parts land.
"""

from __future__ import annotations

# The request is wrong for this application: sending it again unchanged cannot help.
REJECTION_CODES = frozenset(
    {"InvalidArgumentException", "InvalidApplicationConfigurationException"}
)
