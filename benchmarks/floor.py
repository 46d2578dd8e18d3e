"""The bare-boto3 floor: the reads `plan` needs for cloudwatch_logging, made as cheaply as
boto3 allows, in one process (`python -m benchmarks.floor REGION WORKERS`; endpoint and keys
from the environment). Prints one JSON line: wall seconds, apps, drifts, max RSS.

Per app: DescribeApplication, ListTagsForResource (the opt-out tag must be honoured) and
DescribeLogStreams; once per Region: ListApplications and DescribeLogGroups, paginated.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from benchmarks.rss import peak_rss_mb

STREAM = "kinesis-analytics-log-stream"


def main() -> None:
    region, workers = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    config = Config(max_pool_connections=workers * 2, retries={"max_attempts": 5})
    flink = boto3.client("kinesisanalyticsv2", region_name=region, config=config)
    logs = boto3.client("logs", region_name=region, config=config)
    summaries = [
        s
        for page in flink.get_paginator("list_applications").paginate()
        for s in page["ApplicationSummaries"]
    ]
    groups = {
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix="/aws/kinesis-analytics/"
        )
        for g in page["logGroups"]
    }

    def check(summary: dict[str, Any]) -> int:
        name = summary["ApplicationName"]
        detail = flink.describe_application(ApplicationName=name)["ApplicationDetail"]
        flink.list_tags_for_resource(ResourceARN=summary["ApplicationARN"])
        group = f"/aws/kinesis-analytics/{name}"
        drifts = 0 if group in groups else 1
        if group in groups:
            streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=STREAM)
            drifts += 0 if streams["logStreams"] else 1
        monitoring = detail["ApplicationConfigurationDescription"][
            "FlinkApplicationConfigurationDescription"
        ]["MonitoringConfigurationDescription"]
        return drifts + (monitoring.get("LogLevel") != "INFO")

    with ThreadPoolExecutor(workers) as pool:
        drifts = sum(pool.map(check, summaries))
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - started,
                "apps": len(summaries),
                "drifts": drifts,
                "rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
