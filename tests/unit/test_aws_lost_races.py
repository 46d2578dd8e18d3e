"""classify: a create that finds its resource there, or a removal that finds it gone, lost a
race with another writer (a second replica): re-read and re-plan, like a stale version token.
The same codes on other operations keep their meaning (tests/e2e/test_two_replicas.py shows the
race itself)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from daemon import errors
from daemon.aws import classify


def client_error(code: str, operation: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ("CreateLogGroup", "ResourceAlreadyExistsException"),
        ("CreateLogStream", "ResourceAlreadyExistsException"),
        ("DetachRolePolicy", "NoSuchEntity"),
        ("DeleteRolePolicy", "NoSuchEntity"),
        ("DeleteRolePermissionsBoundary", "NoSuchEntity"),
    ],
)
def test_lost_create_or_removal_is_a_concurrent_modification(operation: str, code: str) -> None:
    mapped = classify(operation, client_error(code, operation))
    assert isinstance(mapped, errors.ConcurrentModification)
    assert mapped.code == code and mapped.operation == operation


@pytest.mark.parametrize(
    ("operation", "code", "kind"),
    [
        ("GetRole", "NoSuchEntity", errors.ResourceNotFound),
        ("DescribeApplication", "ResourceNotFoundException", errors.ResourceNotFound),
        ("PutRolePermissionsBoundary", "NoSuchEntity", errors.ResourceNotFound),
        ("UpdateApplication", "ResourceNotFoundException", errors.ResourceNotFound),
        ("TagResource", "ResourceAlreadyExistsException", errors.PermanentAwsError),
    ],
)
def test_same_codes_elsewhere_keep_their_meaning(
    operation: str, code: str, kind: type[errors.AwsError]
) -> None:
    mapped = classify(operation, client_error(code, operation))
    assert type(mapped) is kind
