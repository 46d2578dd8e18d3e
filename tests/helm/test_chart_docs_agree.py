"""The install docs and the chart say the same thing: the IRSA value, Pod Identity, and how to
get an image for the placeholder repository."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from tests.helm.chart import CHART_DIR, NAMESPACE, REPO, render

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


def test_no_image_repository_stops_the_install_with_how_to_get_one() -> None:
    values_text = (CHART_DIR / "values.yaml").read_text()
    assert YAML(typ="safe", pure=True).load(values_text)["image"]["repository"] == ""
    comment = values_text[: values_text.index("image:\n")].rsplit("\n\n", 1)[-1]
    assert "build and push your own" in comment and "README" in comment
    # What `helm install` without --set image.repository says (the chart has no default image).
    with pytest.raises(Exception, match=r"image.repository is not set: no public image") as no:
        render({}, ci=False)
    assert "build and push your own" in str(no.value)
    assert "--set image.repository=" in str(no.value)
    for doc in (README, INSTALL):
        assert "image.repository" in doc
    for doc in (README, INSTALL):
        assert re.search(r"docker build -t \"\$REPO:[^\"]+\"", doc)
        assert 'docker push "$REPO:' in doc
        for arg in ("VERSION", "REVISION", "CREATED"):
            assert f"--build-arg {arg}=" in doc


def test_docs_and_chart_notes_use_one_namespace() -> None:
    """The runbooks' and install guide's kubectl lines work as pasted after the documented
    `helm install --namespace flink-remediator`, the namespace the chart's notes show."""
    texts = {path.name: path.read_text() for path in (REPO / "docs").glob("*.md")}
    texts["README.md"] = README
    pattern = re.compile(r'(?:kubectl -n|--namespace)[ =]([a-z0-9-]+)|namespace="([a-z0-9-]+)"')
    used = {
        (name, first or second)
        for name, text in texts.items()
        for first, second in pattern.findall(text)
    }
    assert {name for name, _ in used} >= {"runbooks.md", "install-eks.md"}
    assert {namespace for _, namespace in used} == {NAMESPACE}
    assert f"kubectl -n {NAMESPACE} rollout status" in render().notes
