"""The own-credential canary against the real ledger (Safeguards on an in-memory store): a write
found by request id is explained unless it carried sensitive parts no planned call sent; one not
found is looked at again after the grace, then reported; a store that does not answer reports
nothing. The sensitive parts of UpdateApplication and UpdateAssumeRolePolicy, pure."""

from __future__ import annotations

import json
import threading
from typing import Any

from daemon.apply.planned_writes import UnexplainedWrite, sensitive_parts
from daemon.ingest.events import Hint
from daemon.ingest.own_writes import OwnWriteCanary
from daemon.reconcile.safeguards import Safeguards
from daemon.state import Action, AppRef, Call, Cause
from daemon.telemetry import metrics

APP = AppRef("123456789012", "eu-west-1", "orders")
FLINK = {"Service": "kinesisanalytics.amazonaws.com"}
OUTSIDER = "arn:aws:iam::999999999999:root"


def trust(*principals: dict[str, Any]) -> str:
    statements = [
        {"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_sensitive_parts_of_an_update_in_either_case() -> None:
    planned: dict[str, Any] = {
        "ApplicationConfigurationUpdate": {"ApplicationSnapshotConfigurationUpdate": {}}
    }
    assert sensitive_parts("UpdateApplication", planned) == frozenset()
    event = {
        "applicationConfigurationUpdate": {
            "applicationCodeConfigurationUpdate": {
                "codeContentUpdate": {"zipFileContentUpdate": "x"}
            },
            "environmentPropertyUpdates": {"propertyGroups": [{"propertyGroupId": "g"}]},
            "applicationEncryptionConfigurationUpdate": {"keyTypeUpdate": "AWS_OWNED_KEY"},
        },
        "serviceExecutionRoleUpdate": "arn:aws:iam::123456789012:role/admin",
    }
    assert sensitive_parts("UpdateApplication", event) == {
        "application code",
        "environment properties",
        "encryption configuration",
        "execution role",
    }


def test_trust_principals_other_than_the_service() -> None:
    assert (
        sensitive_parts("UpdateAssumeRolePolicy", {"PolicyDocument": trust(FLINK)}) == frozenset()
    )
    outside = {"policyDocument": trust(FLINK, {"AWS": [OUTSIDER]})}
    assert sensitive_parts("UpdateAssumeRolePolicy", outside) == {f"principal AWS:{OUTSIDER}"}
    everyone = {"policyDocument": json.dumps({"Statement": {"Effect": "Allow", "Principal": "*"}})}
    assert sensitive_parts("UpdateAssumeRolePolicy", everyone) == {"principal *"}
    assert sensitive_parts("UpdateAssumeRolePolicy", {"policyDocument": "{not json"}) == {
        "principal unreadable document"
    }


def hint(name: str, request_id: str, parameters: dict[str, Any]) -> tuple[Hint, str]:
    body = {
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": name,
            "requestID": request_id,
            "sourceIPAddress": "203.0.113.9",
            "userAgent": "curl/8",
            "requestParameters": parameters,
        },
    }
    found = Hint(
        event_id=f"ev-{request_id}",
        event_name=name,
        source="aws.kinesisanalytics",
        account=APP.account,
        region=APP.region,
        event_time=None,
        actor="arn:aws:iam::123456789012:user/flink-remediator",
        actor_type="IAMUser",
        app_names=(APP.name,),
    )
    return found, json.dumps(body)


class Reports:
    """What the canary reported; `done` is set once `expected` reports came."""

    def __init__(self, expected: int = 1) -> None:
        self.found: list[UnexplainedWrite] = []
        self.done = threading.Event()
        self._expected = expected

    def __call__(self, unexplained: UnexplainedWrite) -> None:
        self.found.append(unexplained)
        if len(self.found) >= self._expected:
            self.done.set()


def ledgered(safeguards: Safeguards, request_id: str, update: dict[str, Any]) -> None:
    call = Call("kinesisanalyticsv2", "UpdateApplication", update, versioned=True)
    action = Action(APP, ("snapshots",), "enforce", (), (call,))
    write_id = safeguards.record_write(action, Cause("sweep"), 3)
    safeguards.record_sent(action, write_id, (request_id,), None, 4)


def counted(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_a_planned_write_is_explained_and_an_added_part_is_not() -> None:
    safeguards, reports = Safeguards(), Reports()
    snapshots: dict[str, Any] = {
        "ApplicationConfigurationUpdate": {"ApplicationSnapshotConfigurationUpdate": {}}
    }
    ledgered(safeguards, "req-1", snapshots)
    ledgered(safeguards, "req-2", snapshots)
    canary = OwnWriteCanary(safeguards.own_write, safeguards.probe_store, reports, 0.01)
    before = counted("flink_remediator_own_writes_checked_total", result="explained")
    canary.check(*hint("UpdateApplication", "req-1", {"applicationName": APP.name}))
    assert counted("flink_remediator_own_writes_checked_total", result="explained") == before + 1
    code = {"applicationConfigurationUpdate": {"applicationCodeConfigurationUpdate": {"x": 1}}}
    canary.check(*hint("UpdateApplication", "req-2", code))
    (report,) = reports.found
    assert report.reason == "unplanned" and report.parts == ("application code",)
    assert report.event.source_ip == "203.0.113.9" and report.event.user_agent == "curl/8"


def test_an_unledgered_write_is_reported_after_the_grace_unless_it_appears() -> None:
    safeguards, reports = Safeguards(), Reports()
    canary = OwnWriteCanary(safeguards.own_write, safeguards.probe_store, reports, 0.2)
    before = counted(
        "flink_remediator_unexplained_own_writes_total",
        event_name="UpdateApplication",
        reason="unledgered",
    )
    canary.check(*hint("UpdateApplication", "late", {}))  # the ledger entry comes in the grace
    canary.check(*hint("UpdateApplication", "never", {}))
    ledgered(safeguards, "late", {})
    assert reports.done.wait(5)
    (report,) = reports.found
    assert report.reason == "unledgered" and report.event.request_id == "never"
    after = counted(
        "flink_remediator_unexplained_own_writes_total",
        event_name="UpdateApplication",
        reason="unledgered",
    )
    assert after == before + 1


def test_a_store_that_does_not_answer_reports_nothing() -> None:
    reports = Reports()
    canary = OwnWriteCanary(lambda _: None, lambda: False, reports, 0.0)
    before = counted("flink_remediator_own_writes_checked_total", result="unverified")
    canary.check(*hint("UpdateApplication", "unknown", {}))
    assert not reports.done.wait(0.5)
    assert counted("flink_remediator_own_writes_checked_total", result="unverified") == before + 1


def test_writes_waiting_for_their_second_look_share_one_thread() -> None:
    safeguards, reports = Safeguards(), Reports(expected=40)
    canary = OwnWriteCanary(safeguards.own_write, safeguards.probe_store, reports, 0.3)
    threads = threading.active_count()
    for n in range(40):  # a large sweep's fixes, their events quicker than their ledger entries
        canary.check(*hint("UpdateApplication", f"missing-{n}", {}))
    assert threading.active_count() <= threads + 1
    assert reports.done.wait(10)
    assert sorted(r.event.request_id for r in reports.found) == sorted(
        f"missing-{n}" for n in range(40)
    )
