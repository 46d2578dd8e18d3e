"""The installed version of flink-remediator (`--version`, the report's header)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("flink-remediator")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"
