"""The environment for processes that must talk to a local sandbox and nothing else (the demo's
sandbox and daemon, the test suite's subprocesses): whatever the user's shell exports.

A shell with `AWS_REGION=us-east-1` (or a profile, an endpoint, a web identity, a container
credentials URI) would otherwise steer botocore in those processes: the sandbox seeded in
another Region than the config covers, or a call reaching a real account. So every variable
that steers botocore, moto or this tool is removed, and the shared config and credentials files
point at an empty file so `~/.aws` is never read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# What botocore reads (configprovider.py, credentials.py: every name starts AWS_; plus BOTO_*
# and BOTOCORE_* switches), what moto reads (MOTO_*: e.g. MOTO_ACCOUNT_ID changes the account
# id) and this tool's own settings (FLINK_REMEDIATOR_*).
STEERING_PREFIXES = ("AWS_", "BOTO_", "BOTOCORE_", "MOTO_", "FLINK_REMEDIATOR_")
ISOLATED = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance's metadata for credentials
}
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def isolated_environ(base: Mapping[str, str], keep: tuple[str, ...] = ()) -> dict[str, str]:
    """`base` without anything that steers AWS clients (except the names in `keep`), with the
    config files emptied and 127.0.0.1 exempt from any HTTP(S)_PROXY."""
    env = {
        key: value
        for key, value in base.items()
        if key in keep or not key.upper().startswith(STEERING_PREFIXES)
    }
    env.update(ISOLATED)
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(name, "").split(",") if h.strip()]
        env[name] = ",".join([*hosts, *(h for h in LOCAL_HOSTS if h not in hosts)])
    return env


def sandbox_environ(
    base: Mapping[str, str], endpoint_url: str, region: str, access_key_id: str, secret: str
) -> dict[str, str]:
    """An isolated environment pointed at a sandbox as one principal."""
    return isolated_environ(base) | {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
