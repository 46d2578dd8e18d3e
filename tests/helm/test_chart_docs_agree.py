"""The install docs and the chart say the same thing: the IRSA value, Pod Identity, and how to
get an image for the placeholder repository."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from tests.helm.chart import CHART_DIR, REPO, render

README = (REPO / "README.md").read_text()
INSTALL = (REPO / "docs" / "install-eks.md").read_text()
ROLE = "arn:aws:iam::123456789012:role/flink-remediator"


def test_the_documented_irsa_value_writes_the_irsa_annotation() -> None:
    for doc in (README, INSTALL):
        assert "`serviceAccount.roleArn`" in doc
        assert 'annotations."eks.amazonaws.com/role-arn"' not in doc
    account = render({"serviceAccount": {"roleArn": ROLE}}).one("ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}


def test_the_role_cannot_be_given_twice() -> None:
    values = {
        "serviceAccount": {
            "roleArn": ROLE,
            "annotations": {"eks.amazonaws.com/role-arn": ROLE},
        }
    }
    with pytest.raises(Exception, match="set the IRSA role once"):
        render(values)


def test_both_docs_describe_pod_identity_the_same_way() -> None:
    for doc in (README, INSTALL):
        assert "Pod Identity" in doc
        assert "allowPodIdentityAgent" in doc
    assert "create-pod-identity-association" in INSTALL


def test_the_placeholder_repository_comes_with_build_and_push_instructions() -> None:
    values_text = (CHART_DIR / "values.yaml").read_text()
    assert YAML(typ="safe", pure=True).load(values_text)["image"]["repository"]
    comment = values_text[: values_text.index("image:\n")].rsplit("\n\n", 1)[-1]
    assert "build and push your own" in comment and "README" in comment
    for doc in (README, INSTALL):
        assert re.search(r"docker build -t \"\$REPO:[^\"]+\"", doc)
        assert 'docker push "$REPO:' in doc
        for arg in ("VERSION", "REVISION", "CREATED"):
            assert f"--build-arg {arg}=" in doc
