"""Demo account contents, seeded through boto3 over HTTP against a running sandbox.

Two IAM users: `flink-remediator` (the daemon's identity) and `alice` (a human who makes drift);
a VPC with a private subnet (no route out) and a public one (0.0.0.0/0 -> igw) holding a NAT
gateway;
one execution role and log group per application; a private, encrypted, versioned bucket holding
each application's code (pinned to its object version); and the applications below, some
compliant, some drifted. The seeding's own events are purged from the queue and from the call
record.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3

from sandbox.state_table import STATE_TABLE, create_state_table

LOG_STREAM = "kinesis-analytics-log-stream"
CUSTOM_INFO = {"ConfigurationType": "CUSTOM", "LogLevel": "INFO", "MetricsLevel": "APPLICATION"}
DEFAULT_MONITORING = {"ConfigurationType": "DEFAULT"}
PRINCIPALS = {"daemon": "flink-remediator", "actor": "alice"}
VPC_ACTIONS = [
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
]
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "kinesisanalytics.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


# Execution roles live under a path: the desired state's `execution_roles.path` requires one.
EXECUTION_ROLE_PATH = "/flink/"


@dataclass(frozen=True)
class DemoApp:
    name: str
    monitoring: dict[str, str]
    snapshots: bool
    log_stream: str | None = LOG_STREAM  # attached stream in /aws/kinesis-analytics/<name>
    in_private_subnet: bool = False
    running: bool = False


DEMO_APPS: tuple[DemoApp, ...] = (
    DemoApp("payments-enricher", CUSTOM_INFO, snapshots=True),
    DemoApp("fraud-scorer", CUSTOM_INFO, snapshots=True, log_stream=None),
    DemoApp("ledger-sink", CUSTOM_INFO, snapshots=True, log_stream="debug-stream"),
    DemoApp("risk-aggregator", DEFAULT_MONITORING, snapshots=True, in_private_subnet=True),
    DemoApp("clickstream-sessionizer", CUSTOM_INFO, snapshots=False, running=True),
)


class Seeder:
    """Seeds one account; `keys` (access key, secret, session token) select a member account
    (an assumed role's keys act in the role's account, as in moto)."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        account_id: str,
        keys: tuple[str, str, str | None] = ("sandbox-admin", "sandbox", None),
    ) -> None:
        self.endpoint_url, self.region, self.account_id = endpoint_url, region, account_id
        self.keys = keys
        self._code_versions: dict[str, str] | None = None

    @property
    def code_bucket(self) -> str:
        return f"demo-flink-artifacts-{self.account_id}"  # bucket names are global

    def code_versions(self) -> dict[str, str]:
        """Each demo application's code object -> its version id, in a bucket as a careful team
        keeps one (code_integrity): versioned, public access blocked, encrypted by default."""
        if self._code_versions is None:
            s3, bucket = self.client("s3"), self.code_bucket
            where = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
            s3.create_bucket(
                Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {})
            )
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            block = (
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            )
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(block, True)
            )
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
            self._code_versions = {
                app.name: s3.put_object(Bucket=bucket, Key=f"{app.name}.jar", Body=b"PK")[
                    "VersionId"
                ]
                for app in DEMO_APPS
            }
        return self._code_versions

    def client(self, service: str, region: str | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=self.keys[0],
            aws_secret_access_key=self.keys[1],
            aws_session_token=self.keys[2],
        )

    def users(self, principals_wanted: dict[str, str] = PRINCIPALS) -> dict[str, dict[str, str]]:
        iam, principals = self.client("iam"), {}
        for role, user_name in principals_wanted.items():
            user = iam.create_user(UserName=user_name)["User"]
            key = iam.create_access_key(UserName=user_name)["AccessKey"]
            principals[role] = {
                "user_name": user_name,
                "arn": user["Arn"],
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": key["SecretAccessKey"],
            }
        return principals

    def network(self) -> dict[str, str]:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        zone = f"{self.region}a"
        private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        # The NAT gateway is there for anyone who routes the private subnet through it (a path
        # to the internet too: vpc_public_route reports it as internet_egress).
        ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)
        for subnet, target in ((public, {"GatewayId": igw}), (private, None)):
            table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            if target:
                ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        group = ec2.create_security_group(
            GroupName="flink-apps", Description="Flink apps", VpcId=vpc
        )["GroupId"]
        return {
            "vpc_id": vpc,
            "private_subnet_id": private,
            "public_subnet_id": public,
            "security_group_id": group,
        }

    def execution_role(self, app: DemoApp) -> str:
        iam = self.client("iam")
        arn: str = iam.create_role(
            RoleName=f"{app.name}-execution",
            Path=EXECUTION_ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
        )["Role"]["Arn"]
        group_arn = (
            f"arn:aws:logs:{self.region}:{self.account_id}:log-group:"
            f"/aws/kinesis-analytics/{app.name}"
        )
        # What the service needs to run the app, as AWS documents it for an execution role:
        # its logs (DescribeLogGroups is authorised on log-group:*), its code object, and for an
        # app in a VPC the network interfaces.
        # https://docs.aws.amazon.com/managed-flink/latest/java/iam-role.html
        # https://docs.aws.amazon.com/managed-flink/latest/java/vpc-permissions.html
        account_groups = f"arn:aws:logs:{self.region}:{self.account_id}:log-group:*"
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": account_groups},
            {
                "Effect": "Allow",
                "Action": ["logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [group_arn, f"{group_arn}:*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:aws:s3:::{self.code_bucket}/{app.name}.jar",
            },
        ]
        if app.in_private_subnet:
            statements.append({"Effect": "Allow", "Action": VPC_ACTIONS, "Resource": "*"})
        iam.put_role_policy(
            RoleName=f"{app.name}-execution",
            PolicyName="run-the-application",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        return arn

    def log_stream_arn(self, app: DemoApp) -> str | None:
        group = f"/aws/kinesis-analytics/{app.name}"
        logs = self.client("logs")
        logs.create_log_group(logGroupName=group)
        for stream in {LOG_STREAM, app.log_stream or LOG_STREAM}:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        if app.log_stream is None:
            return None
        return (
            f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{group}"
            f":log-stream:{app.log_stream}"
        )

    def application(self, app: DemoApp, network: dict[str, str]) -> None:
        flink = self.client("kinesisanalyticsv2")
        stream_arn = self.log_stream_arn(app)
        configuration: dict[str, Any] = {
            "FlinkApplicationConfiguration": {"MonitoringConfiguration": app.monitoring},
            "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": app.snapshots},
            "ApplicationCodeConfiguration": {
                "CodeContentType": "ZIPFILE",
                "CodeContent": {
                    "S3ContentLocation": {
                        "BucketARN": f"arn:aws:s3:::{self.code_bucket}",
                        "FileKey": f"{app.name}.jar",
                        "ObjectVersion": self.code_versions()[app.name],
                    }
                },
            },
        }
        if app.in_private_subnet:
            configuration["VpcConfigurations"] = [
                {
                    "SubnetIds": [network["private_subnet_id"]],
                    "SecurityGroupIds": [network["security_group_id"]],
                }
            ]
        flink.create_application(
            ApplicationName=app.name,
            RuntimeEnvironment="FLINK-1_20",
            ServiceExecutionRole=self.execution_role(app),
            ApplicationConfiguration=configuration,
            CloudWatchLoggingOptions=[{"LogStreamARN": stream_arn}] if stream_arn else [],
            Tags=[{"Key": "team", "Value": "payments"}],
        )
        if app.running:
            flink.start_application(ApplicationName=app.name)

    def wait_settled(self, timeout: float = 30.0) -> None:
        flink, deadline = self.client("kinesisanalyticsv2"), time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = {
                s["ApplicationStatus"] for s in flink.list_applications()["ApplicationSummaries"]
            }
            if statuses <= {"READY", "RUNNING"}:
                return
            time.sleep(0.05)
        raise TimeoutError("demo applications did not settle")

    def forget_seeding(self, queue_urls: tuple[str, ...]) -> None:
        sqs = self.client("sqs")
        for url in queue_urls:
            sqs.purge_queue(QueueUrl=url)
        request = urllib.request.Request(
            f"{self.endpoint_url}/_sandbox/calls/clear", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


def seed(
    endpoint_url: str,
    region: str,
    account_id: str,
    queue_urls: tuple[str, ...],
    forget: bool = True,
) -> dict[str, Any]:
    """Create the demo account; returns the principals (users with their keys) and network.
    `forget=False` leaves the purge to the caller (SQS allows one PurgeQueue a minute)."""
    seeder = Seeder(endpoint_url, region, account_id)
    principals = seeder.users()
    network = seeder.network()
    for app in DEMO_APPS:
        seeder.application(app, network)
    seeder.wait_settled()
    state_table = create_state_table(seeder.client("dynamodb"))
    if forget:
        seeder.forget_seeding(queue_urls)
    return {
        "principals": principals,
        "network": network,
        "applications": [app.name for app in DEMO_APPS],
        "state_table": STATE_TABLE,
        "state_table_arn": state_table,
    }
