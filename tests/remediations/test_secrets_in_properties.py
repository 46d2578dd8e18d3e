"""secrets_in_properties: what counts as a literal secret, what is a reference, and that a
finding never carries the value (only group/key and a 4-hex-digit fingerprint)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.state import Observed
from remediations.secret_values import KINDS, fingerprint
from remediations.secrets_in_properties import SecretsInProperties, Settings
from tests.contract.scenarios import Scenario, plain
from tests.factories import flink_detail, observed

RULE = SecretsInProperties()
ACCESS_KEY = "AKIA" + "QWERTYUIOPASDFGH"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKq"  # 40 base64 characters


def with_properties(**groups: dict[str, str]) -> Observed:
    detail = flink_detail()
    detail["ApplicationConfigurationDescription"]["EnvironmentPropertyDescriptions"] = {
        "PropertyGroupDescriptions": [
            {"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()
        ]
    }
    return observed(detail)


DEFAULTS = Settings()


def findings(settings: Settings = DEFAULTS, **groups: dict[str, str]) -> dict[str, str]:
    return {d.field: d.current for d in RULE.check(settings, with_properties(**groups))}


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("aws.key", ACCESS_KEY, "aws_access_key_id"),
        ("creds", f"id={ACCESS_KEY}", "aws_access_key_id"),
        ("aws.secret", SECRET_KEY, "aws_secret_access_key"),
        (
            "tls",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            "private_key",
        ),
        ("sink.url", "postgresql://flink:hunter22@db.internal:5432/orders", "url_password"),
        (
            "jdbc",
            "jdbc:sqlserver://db:1433;user=flink;password=hunter22;",
            "connection_string_password",
        ),
        ("db.password", "hunter22", "secret_named_property"),
        ("apiKey", "k-123", "secret_named_property"),
        ("sasl.jaas.token", "abc", "secret_named_property"),
    ],
)
def test_each_kind_of_literal_secret_is_found(key: str, value: str, kind: str) -> None:
    (current,) = findings(app={key: value}).values()
    assert kind in current
    assert current.endswith(f"({fingerprint(value)})")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("db.password", "${DB_PASSWORD}"),
        ("db.password", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
        ("api.token", "arn:aws:ssm:eu-west-1:123456789012:parameter/flink/token"),
        ("sink.url", "postgresql://flink:${DB_PASSWORD}@db.internal:5432/orders"),
        ("jdbc", "jdbc:mysql://db/orders?user=flink&password=${DB_PASSWORD}"),
        ("db.password", ""),
        ("input.stream.name", "orders"),
        ("checksum", SECRET_KEY),  # 40 characters, but neither a secret name nor a key id nearby
    ],
)
def test_references_and_ordinary_values_are_not_secrets(key: str, value: str) -> None:
    assert findings(app={key: value}) == {}


def test_a_secret_key_shape_counts_next_to_an_access_key_id() -> None:
    found = findings(aws={"id": ACCESS_KEY, "k": SECRET_KEY})
    assert set(found) == {"EnvironmentProperties.aws.id", "EnvironmentProperties.aws.k"}
    assert "aws_secret_access_key" in found["EnvironmentProperties.aws.k"]


def test_allowlisted_keys_are_skipped() -> None:
    groups = {"app": {"db.password": "x1", "token": "y"}, "other": {"token": "z"}}
    settings = Settings(allowed_keys=["app/db.*", "token"])
    assert findings(settings, **groups) == {}
    assert set(findings(Settings(allowed_keys=["app/token"]), **groups)) == {
        "EnvironmentProperties.app.db.password",
        "EnvironmentProperties.other.token",
    }


def test_bad_reference_pattern_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        Settings(reference_patterns=["(unclosed"])


def test_no_properties_means_no_finding() -> None:
    assert RULE.check(Settings(), observed(flink_detail())) == ()


secret_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="${}"),
    min_size=8,
    max_size=60,
)


@given(secret_text)
def test_a_finding_never_carries_any_part_of_the_value(value: str) -> None:
    (drift,) = RULE.check(Settings(), with_properties(app={"password": value}))
    assert not drift.fixable
    said = f"{drift.field} {drift.current} {drift.desired} {drift.message}"
    parts = {value[i : i + 8] for i in range(len(value) - 7)}
    # The rule's own words (kind names, advice) may coincide with a piece of a random value.
    wording = f"{drift.field} {drift.desired} {' '.join(KINDS.values())} {' '.join(KINDS)}"
    wording += " property app/password holds literal store it in Secrets Manager"
    leaked = [p for p in parts if p in said and p not in wording]
    assert leaked == []


def _properties(value: str) -> dict[str, Any]:
    group = {"PropertyGroupId": "sink", "PropertyMap": {"db.password": value, "db.user": "flink"}}
    return {"EnvironmentProperties": {"PropertyGroups": [group]}}


SCENARIO = Scenario(
    lambda h: Settings(),
    plain(_properties("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")),
    plain(_properties("hunter2-literal")),
)
