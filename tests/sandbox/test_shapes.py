"""The shape validator used to check every response must itself catch what it claims to."""

from __future__ import annotations

from typing import Any

from sandbox.shapes import output_problems

VALID_SUMMARY = {
    "ApplicationName": "a",
    "ApplicationStatus": "READY",
    "ApplicationARN": "arn:aws:kinesisanalytics:eu-west-1:123456789012:application/a",
    "ApplicationVersionId": 1,
    "RuntimeEnvironment": "FLINK-1_20",
}


def listing(**summary: Any) -> dict[str, Any]:
    return {"ApplicationSummaries": [{**VALID_SUMMARY, **summary}]}


def test_a_valid_body_has_no_problems() -> None:
    assert output_problems("kinesisanalyticsv2", "ListApplications", listing()) == []


def test_missing_required_member_wrong_type_and_bad_enum_are_found() -> None:
    body = listing(ApplicationVersionId="1", ApplicationStatus="SLEEPING")
    del body["ApplicationSummaries"][0]["ApplicationARN"]
    found = " ".join(output_problems("kinesisanalyticsv2", "ListApplications", body))
    assert "ApplicationARN: required but missing" in found
    assert "ApplicationVersionId: expected long" in found
    assert "'SLEEPING' is not one of" in found


def test_unknown_members_and_bools_as_numbers_are_found() -> None:
    body = listing(ApplicationVersionId=True, Colour="blue")
    found = " ".join(output_problems("kinesisanalyticsv2", "ListApplications", body))
    assert "Colour: not a member" in found and "expected long, got bool" in found


def test_missing_top_level_required_member_is_found() -> None:
    assert output_problems("kinesisanalyticsv2", "DescribeApplication", {}) == [
        "$.ApplicationDetail: required but missing"
    ]
