"""execution_role_trust, pure: check, fix and the trust-document rewrite (example and property
tests). The rewrite is judged semantically with `remediations.iam_documents`, and the property
test uses its own oracle: per-principal "atoms" of every statement."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.state import AppRef
from remediations import iam_documents as docs
from remediations.execution_role_trust import ExecutionRoleTrust, RoleTrust, Settings
from remediations.trust_policy import SERVICE, fixed_document, lets_flink_assume, wanted_for
from tests.contract.scenarios import Scenario, with_role
from tests.factories import flink_detail, observed

RULE = ExecutionRoleTrust()
ACCOUNT = "123456789012"
ORDERS = AppRef(ACCOUNT, "us-east-1", "orders")
LEDGER = AppRef(ACCOUNT, "eu-west-1", "ledger")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-role"
FLINK = {"Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": "sts:AssumeRole"}


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def seen(doc: Any, apps: list[AppRef] | None, app: AppRef = ORDERS) -> Any:
    facts = RoleTrust(
        ROLE, docs.load(doc), None if apps is None else tuple(sorted(a.arn for a in apps))
    )
    return observed(flink_detail(app), {RULE.id: facts}, app)


def fixed(doc: dict[str, Any], apps: list[AppRef], mode: str = "exact") -> dict[str, Any]:
    settings = Settings(source_arn=mode)  # type: ignore[arg-type]
    obs = seen(doc, apps)
    (call,) = RULE.fix(settings, obs, RULE.check(settings, obs))
    assert (call.service, call.operation, call.resource) == ("iam", "UpdateAssumeRolePolicy", ROLE)
    assert call.params["RoleName"] == "orders-role" and not call.versioned
    result: dict[str, Any] = json.loads(call.params["PolicyDocument"])
    return result


def test_a_shared_role_gets_both_conditions_naming_every_app_and_the_plan_says_so() -> None:
    (drift,) = RULE.check(Settings(), seen(trust(FLINK), [ORDERS, LEDGER]))
    assert drift.fixable and drift.resource == ROLE
    assert "ledger" in drift.message and "orders" in drift.message
    assert drift.desired["ArnEquals.aws:SourceArn"] == sorted([LEDGER.arn, ORDERS.arn])

    doc = fixed(trust(FLINK), [ORDERS, LEDGER])
    (statement,) = doc["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": sorted([LEDGER.arn, ORDERS.arn])},
    }
    assert RULE.check(Settings(), seen(doc, [ORDERS, LEDGER])) == ()


def test_the_inventory_of_role_users_is_completed_with_the_app_itself() -> None:
    doc = fixed(trust(FLINK), [LEDGER])  # a new app the inventory does not know yet
    assert doc["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == sorted(
        [LEDGER.arn, ORDERS.arn]
    )


def test_a_stale_app_list_is_drift() -> None:
    old = fixed(trust(FLINK), [ORDERS])
    (drift,) = RULE.check(Settings(), seen(old, [ORDERS, LEDGER]))
    assert drift.fixable
    assert RULE.check(Settings(), seen(old, [ORDERS])) == ()


def test_incomplete_inventory_reports_missing_conditions_but_never_fixes() -> None:
    (drift,) = RULE.check(Settings(), seen(trust(FLINK), None))
    assert not drift.fixable and "inventory" in drift.message
    assert RULE.fix(Settings(), seen(trust(FLINK), None), (drift,)) == ()
    # Conditions that cover this app are all that can be judged: no drift, no false alarm.
    shared = fixed(trust(FLINK), [ORDERS, LEDGER])
    assert RULE.check(Settings(), seen(shared, None)) == ()
    other = fixed(trust(FLINK), [LEDGER], "exact")
    other["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] = LEDGER.arn
    assert not RULE.check(Settings(), seen(other, None))[0].fixable


def test_wildcard_names_each_region_once_and_covers_later_apps() -> None:
    later = AppRef(ACCOUNT, "eu-west-1", "created-later")
    doc = fixed(trust(FLINK), [ORDERS, LEDGER], "wildcard")
    assert doc["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == [
        f"arn:aws:kinesisanalytics:eu-west-1:{ACCOUNT}:application/*",
        f"arn:aws:kinesisanalytics:us-east-1:{ACCOUNT}:application/*",
    ]
    wildcard = Settings(source_arn="wildcard")
    assert RULE.check(wildcard, seen(doc, [ORDERS, LEDGER, later])) == ()


def test_other_principals_in_the_statement_are_split_off_unconditioned() -> None:
    mixed = {
        **FLINK,
        "Sid": "Trust",
        "Principal": {
            "Service": [SERVICE, "ec2.amazonaws.com"],
            "AWS": f"arn:aws:iam::{ACCOUNT}:root",
        },
    }
    aws_only = {
        "Sid": "TrustFlinkManagedFlink",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
    }
    doc = fixed(trust(mixed, aws_only), [ORDERS])
    by_sid = {s.get("Sid"): s for s in doc["Statement"]}
    assert by_sid["Trust"]["Principal"] == {
        "Service": "ec2.amazonaws.com",
        "AWS": f"arn:aws:iam::{ACCOUNT}:root",
    }
    assert "Condition" not in by_sid["Trust"]
    assert by_sid["TrustFlinkManagedFlink"] == aws_only  # untouched, and its Sid is not reused
    (own,) = [s for s in doc["Statement"] if lets_flink_assume(s)]
    assert own["Principal"] == {"Service": SERVICE} and own["Sid"] == "TrustManagedFlink"
    assert set(own["Condition"]) == {"StringEquals", "ArnEquals"}


def test_existing_conditions_are_merged_in_their_own_spelling() -> None:
    statement = {
        **FLINK,
        "Condition": {
            "stringEquals": {"sts:ExternalId": "abc", "AWS:SourceAccount": "999999999999"},
            "ArnLike": {"aws:sourcearn": "arn:aws:kinesisanalytics:*:*:application/*"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    }
    (out,) = fixed(trust(statement), [ORDERS])["Statement"]
    assert out["Condition"] == {
        "stringEquals": {"sts:ExternalId": "abc", "aws:SourceAccount": ACCOUNT},
        "Bool": {"aws:SecureTransport": "true"},
        "ArnEquals": {"aws:SourceArn": ORDERS.arn},
    }


def test_statements_not_about_flink_assuming_the_role_are_ignored() -> None:
    ignored = [
        {**FLINK, "Effect": "Deny"},
        {**FLINK, "Effect": "Deny", "Principal": "*"},
        {**FLINK, "Action": "sts:AssumeRoleWithWebIdentity"},
    ]
    assert RULE.check(Settings(), seen(trust(*ignored), [ORDERS])) == ()
    assert lets_flink_assume({**FLINK, "Action": ["sts:TagSession", "sts:*"]})
    assert lets_flink_assume({**FLINK, "Principal": {"Service": [SERVICE.upper()]}})


def test_missing_role_or_no_role_is_no_drift() -> None:
    for facts in ({}, {RULE.id: None}):  # observe found no role, or was not run
        assert RULE.check(Settings(), observed(flink_detail(ORDERS), facts, ORDERS)) == ()
    assert RULE.check(Settings(), seen({}, [ORDERS])) == ()  # a role without a trust policy


def test_documents_load_from_json_and_url_encoded_strings() -> None:
    doc = trust(FLINK)
    text = json.dumps(doc)
    assert docs.load(text) == doc == docs.load(urllib.parse.quote(text))
    assert docs.equivalent(
        {"Version": "2012-10-17", "Statement": {**FLINK, "Action": ["STS:AssumeRole"]}},
        {"Version": "2012-10-17", "Statement": [{**FLINK, "Principal": {"Service": [SERVICE]}}]},
    )


# -- property: the rewrite keeps every unrelated part and adds exactly the two conditions ------

OTHER_PRINCIPALS = {
    "Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"],
    "AWS": [f"arn:aws:iam::{ACCOUNT}:root", "arn:aws:iam::999999999999:role/x"],
    "Federated": ["cognito-identity.amazonaws.com"],
}
OPERATORS = {
    "StringEquals": ["sts:ExternalId", "aws:PrincipalTag/team"],
    "StringLike": ["aws:RequestTag/env"],
    "Bool": ["aws:SecureTransport"],
    "IpAddress": ["aws:SourceIp"],
}


def _one_or_list(values: list[str]) -> Any:
    return st.sampled_from([values, values[0]] if len(values) == 1 else [values])


@st.composite
def statement_strategy(draw: st.DrawFn) -> dict[str, Any]:
    principal: dict[str, Any] = {}
    if draw(st.booleans()):
        principal["Service"] = [SERVICE]
    for kind, values in OTHER_PRINCIPALS.items():
        chosen = draw(st.lists(st.sampled_from(values), unique=True, max_size=2))
        if chosen:
            principal[kind] = [*principal.get(kind, []), *chosen]
    if not principal:
        principal["Service"] = [SERVICE]
    principal = {k: draw(_one_or_list(v)) for k, v in principal.items()}
    actions = draw(
        st.lists(
            st.sampled_from(
                ["sts:AssumeRole", "sts:TagSession", "sts:*", "sts:AssumeRoleWithWebIdentity"]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    out = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "Principal": principal,
        "Action": draw(_one_or_list(actions)),
    }
    operators = draw(st.lists(st.sampled_from(sorted(OPERATORS)), unique=True, max_size=3))
    if operators:
        out["Condition"] = {
            op: {
                key: draw(st.sampled_from(["a", "b", "true", "10.0.0.0/8"]))
                for key in draw(st.lists(st.sampled_from(OPERATORS[op]), min_size=1, unique=True))
            }
            for op in operators
        }
    return out


@st.composite
def document_strategy(draw: st.DrawFn) -> dict[str, Any]:
    statements = draw(st.lists(statement_strategy(), min_size=1, max_size=5))
    for i, statement in enumerate(statements):
        if draw(st.booleans()):
            statement["Sid"] = f"S{i}"
    return trust(*statements)


def atoms(doc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Each statement split into one statement per principal (a statement means the union of
    those), without Sids; (the atoms not about Flink, canonical) and (Flink's, canonical
    parsed back so their conditions can be compared)."""
    others, flink = [], []
    for statement in docs.statements(doc):
        rest = {k: v for k, v in statement.items() if k not in ("Sid", "Principal")}
        for kind, value in docs.principals(statement):
            atom = docs.canonical_statement({**rest, "Principal": {kind: value}}, with_sid=False)
            is_flink = (kind, value.lower()) == ("Service", SERVICE)
            if is_flink and lets_flink_assume(statement):
                flink.append(json.loads(atom))
            else:
                others.append(atom)
    return sorted(others), flink


def with_wanted(atom: dict[str, Any], arns: list[str]) -> str:
    condition = dict(atom.get("Condition", {}))
    condition["stringequals"] = {
        **condition.get("stringequals", {}),
        "aws:sourceaccount": [ACCOUNT],
    }
    condition["arnequals"] = {"aws:sourcearn": sorted(arns)}
    return json.dumps({**atom, "Condition": condition}, sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(document_strategy(), st.lists(st.sampled_from([ORDERS, LEDGER]), min_size=1, unique=True))
def test_the_fix_keeps_everything_unrelated_and_adds_exactly_the_conditions(
    doc: dict[str, Any], apps: list[AppRef]
) -> None:
    wanted = wanted_for(ACCOUNT, [a.arn for a in [*apps, ORDERS]], "exact")
    out = fixed_document(doc, wanted)

    others_before, flink_before = atoms(doc)
    others_after, flink_after = atoms(out)
    assert others_after == others_before
    expected = sorted(with_wanted(a, list(wanted.source_arns)) for a in flink_before)
    assert sorted(json.dumps(a, sort_keys=True) for a in flink_after) == expected

    sids = [s["Sid"] for s in docs.statements(out) if "Sid" in s]
    assert len(sids) == len(set(sids))
    assert {s["Sid"] for s in docs.statements(doc) if "Sid" in s} <= set(sids)
    assert docs.equivalent(fixed_document(out, wanted), out)  # idempotent
    # What is left is only the report of statements trusting others: never written.
    left = RULE.check(Settings(), seen(out, apps))
    assert all(not d.fixable and ".Statement[" in d.field for d in left)


SCENARIO = Scenario(lambda h: Settings(), with_role(True), with_role(False))


def test_an_absent_condition_is_shown_absent_and_several_statements_one_each() -> None:
    (drift,) = RULE.check(Settings(), seen(trust(FLINK), [ORDERS]))
    assert drift.current is None  # the plan shows `(none) -> {...}`, not `[{}] -> {...}`
    partial = {**FLINK, "Sid": "b", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    (drift,) = RULE.check(Settings(), seen(trust({**FLINK, "Sid": "a"}, partial), [ORDERS]))
    assert drift.current == [None, partial["Condition"]]


OUTSIDER = "arn:aws:iam::999999999999:root"
ENFORCED = {
    **FLINK,
    "Condition": {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": ORDERS.arn},
    },
}


def test_every_statement_trusting_anyone_but_flink_is_reported_never_fixed() -> None:
    backdoors: list[dict[str, Any]] = [
        {
            "Sid": "Vendor",
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER},
            "Action": "sts:AssumeRole",
        },
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "x"}},  # conditions do not excuse
        },
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"},
        {"Effect": "Allow", "NotPrincipal": {"AWS": OUTSIDER}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        },
    ]
    drifts = RULE.check(Settings(), seen(trust(ENFORCED, *backdoors), [ORDERS]))
    assert [d.field for d in drifts] == [
        f"AssumeRolePolicyDocument.Statement[{i}].Principal" for i in range(1, 7)
    ]
    assert all(not d.fixable and d.resource == ROLE for d in drifts)
    assert drifts[0].current == {"Sid": "Vendor", "Principal": {"AWS": [OUTSIDER]}}
    assert "Sid 'Vendor'" in drifts[0].message and OUTSIDER in drifts[0].message
    assert drifts[1].current == {"Sid": "", "Principal": {"*": ["*"]}}
    assert "statement 2" in drifts[1].message
    assert drifts[4].current["Principal"] == {"NotPrincipal": [json.dumps({"AWS": OUTSIDER})]}
    assert all(d.desired == {"Principal": {"Service": SERVICE}} for d in drifts)
    # Nothing to write: the outsider stays until the owner removes it.
    assert RULE.fix(Settings(), seen(trust(ENFORCED, *backdoors), [ORDERS]), drifts) == ()


def test_the_conditions_fix_keeps_the_foreign_principal_and_its_report() -> None:
    mixed = {**FLINK, "Sid": "Both", "Principal": {"Service": SERVICE, "AWS": OUTSIDER}}
    drifts = RULE.check(Settings(), seen(trust(mixed), [ORDERS]))
    assert [d.fixable for d in drifts] == [True, False]
    doc = fixed(trust(mixed), [ORDERS])
    (left,) = RULE.check(Settings(), seen(doc, [ORDERS]))
    assert not left.fixable and left.current == {"Sid": "Both", "Principal": {"AWS": [OUTSIDER]}}
    assert not lets_flink_assume(doc["Statement"][left_index(left.field)])


def left_index(field: str) -> int:
    return int(field.split("[", 1)[1].split("]", 1)[0])


def test_only_the_flink_service_principal_is_trusted_whatever_its_spelling() -> None:
    spelled = {**ENFORCED, "Principal": {"Service": [SERVICE.upper()]}}
    assert RULE.check(Settings(), seen(trust(spelled), [ORDERS])) == ()
