"""`sandbox serve --demo`: the flink-remediator AWS Config rules, deployed as the CloudFormation
template deploy/cloudformation/config-rules.yaml deploys them: one Lambda function (its Handler
the daemon's `daemon.commands.config_rule.handler`, run by sandbox/config_rules.py) and one
custom rule `flink-remediator-<rule>` per rule of the demo's desired state, triggered by
configuration changes of Managed Flink applications and every 24 hours.

The sandbox does not import the daemon: the rule ids are the `rules:` keys of the config file.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import yaml

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "desired-state.example.yaml"
FUNCTION = "flink-remediator-config-rules"
HANDLER = "daemon.commands.config_rule.handler"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def rule_ids(config: Path) -> list[str]:
    doc = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return sorted((doc.get("rules") or {}).keys())


def deploy_config_rules(client: Any, config: Path = DEMO_CONFIG) -> list[str]:
    """Create the function and one Config rule per rule id; the rule names."""
    if not config.is_file():  # an installed wheel without the repository's config/
        return []
    role = client("iam").create_role(
        RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:  # moto wants a zip; the handler is local
        zipped.writestr("README.txt", "built by `flink-remediator config-rule package`")
    function = client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler=HANDLER,
        Code={"ZipFile": archive.getvalue()},
        Timeout=300,
        Environment={"Variables": {"FLINK_REMEDIATOR_CONFIG": str(config)}},
    )["FunctionArn"]
    names = []
    for rule in rule_ids(config):
        name = f"flink-remediator-{rule}"
        client("config").put_config_rule(
            ConfigRule={
                "ConfigRuleName": name,
                "Description": f"flink-remediator rule {rule} on Managed Flink applications",
                "Scope": {"ComplianceResourceTypes": ["AWS::KinesisAnalyticsV2::Application"]},
                "Source": {
                    "Owner": "CUSTOM_LAMBDA",
                    "SourceIdentifier": function,
                    "SourceDetails": [
                        {
                            "EventSource": "aws.config",
                            "MessageType": "ConfigurationItemChangeNotification",
                        },
                        {
                            "EventSource": "aws.config",
                            "MessageType": "ScheduledNotification",
                            "MaximumExecutionFrequency": "TwentyFour_Hours",
                        },
                    ],
                },
                "InputParameters": json.dumps({"rule": rule}),
            }
        )
        names.append(name)
    return names
