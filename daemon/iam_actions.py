"""boto3 (service, operation) -> the IAM action that authorises it, e.g.
("kinesisanalyticsv2", "UpdateApplication") -> "kinesisanalytics:UpdateApplication".

Rules declare what they may read and write as IAM actions (the daemon's policy is generated
from them); the reader and the executor refuse a call whose action a rule did not declare.
"""

from __future__ import annotations

# boto3 service names whose IAM prefix differs (the API's signing name).
_PREFIXES = {
    "kinesisanalyticsv2": "kinesisanalytics",
    "elbv2": "elasticloadbalancing",
    "stepfunctions": "states",
}

# Operations authorised by an action of another name.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
_ACTIONS = {
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action of an API call; operation is the API name (PascalCase), as in a Call."""
    return _ACTIONS.get((service, operation)) or f"{_PREFIXES.get(service, service)}:{operation}"
