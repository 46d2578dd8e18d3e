"""Resource Groups Tagging API GetResources for Managed Flink applications (moto's tagging
backend does not know the sandbox's own Flink backend, so it would answer an empty list).

Modelled from https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
- "Returns all the tagged or previously tagged resources": an application never tagged is not
  listed. AWS lists a previously tagged application with an empty tag set; the sandbox omits
  every untagged one (the less forgiving reading: a client must treat "absent" as "no tags").
- ResourcesPerPage 1..100 (default 100 here: the docs give no default), PaginationToken opaque;
  an empty PaginationToken in the answer means the last page.
- ResourceTypeFilters `kinesisanalytics` or `kinesisanalytics:application` name the apps
  (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/supported-services.html).
Requests for other resource types go to moto (None from `answer`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.flink.backend import FlinkBackend

TARGET = "ResourceGroupsTaggingAPI_20170126.GetResources"
FLINK_TYPES = frozenset({"kinesisanalytics", "kinesisanalytics:application"})
MAX_PER_PAGE = 100


def answer(
    request: Mapping[str, Any], backend: Callable[[], FlinkBackend]
) -> tuple[int, dict[str, Any]] | None:
    """(status, body) for a GetResources of Flink applications only; None otherwise."""
    types = set(request.get("ResourceTypeFilters") or ())
    if not types or not types <= FLINK_TYPES:
        return None
    per_page = int(request.get("ResourcesPerPage") or MAX_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE or request.get("TagFilters"):
        message = (
            "TagFilters are not modelled by the sandbox"
            if request.get("TagFilters")
            else f"ResourcesPerPage must be between 1 and {MAX_PER_PAGE}"
        )
        return 400, {"__type": "InvalidParameterException", "Message": message}
    after = str(request.get("PaginationToken") or "") or None
    tagged: list[dict[str, Any]] = []
    while True:
        page, after = backend().list_page(MAX_PER_PAGE, after)
        tagged += [
            {"ResourceARN": app.arn, "Tags": [{"Key": k, "Value": v} for k, v in app.tags]}
            for app in page
            if app.tags
        ]
        if after is None or len(tagged) >= per_page:
            break
    # The token is the name after which the next page starts (opaque to the client).
    mapping = tagged[:per_page]
    more = len(tagged) > per_page or after is not None
    token = mapping[-1]["ResourceARN"].rsplit("/", 1)[-1] if more and mapping else ""
    return 200, {"ResourceTagMappingList": mapping, "PaginationToken": token}
