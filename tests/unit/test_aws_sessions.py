"""Every boto3 session the daemon makes shares one botocore data loader (daemon/aws.py
`new_session`), so a service model is parsed once per process, while credentials stay per
session."""

from __future__ import annotations

import botocore.session

from daemon.botocore_data import new_session
from daemon.sessions import AccountAccess, assumed_role_session


def _core(key: str) -> botocore.session.Session:
    core = botocore.session.Session()
    core.set_credentials(key, "secret")
    return core


def test_sessions_share_parsed_models_but_not_credentials() -> None:
    first, second = new_session(_core("AKIDFIRST")), new_session(_core("AKIDSECOND"))
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    a = first.client("sts", region_name="us-east-1")
    b = second.client("sts", region_name="eu-west-1")
    assert a.meta.service_model._service_description is b.meta.service_model._service_description
    assert first.get_credentials().access_key == "AKIDFIRST"
    assert second.get_credentials().access_key == "AKIDSECOND"
    boto3_data = [p for p in loader.search_paths if p.endswith("boto3/data")]
    assert len(boto3_data) == 1  # boto3 appends it per session; kept once


def test_an_assumed_role_session_shares_the_loader_and_has_its_own_credentials() -> None:
    source = new_session(_core("AKIDSOURCE"), "us-east-1")
    access = AccountAccess("210987654321", "arn:aws:iam::210987654321:role/member")
    member = assumed_role_session(source, access, "us-east-1")
    loader = source._session.get_component("data_loader")
    assert member._session.get_component("data_loader") is loader
    assert member._session.get_credentials() is not source._session.get_credentials()


def test_models_parse_into_plain_dicts_with_documentation_emptied() -> None:
    model = new_session(_core("AKIDDOCS")).client("logs", region_name="us-east-1").meta
    service = model.service_model
    assert type(service._service_description) is dict
    assert service.documentation == ""
    operation = service.operation_model("DescribeLogGroups")
    assert operation.documentation == ""
    assert "logGroupNamePrefix" in operation.input_shape.members
    assert all(p.documentation == "" for p in service.client_context_parameters)
