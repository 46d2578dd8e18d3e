"""pyproject.toml lists its packages by hand (so config/ can be mapped into the wheel as
daemon.bundled): a package added to the code but not to that list would be missing from the
wheel and the image, so this keeps the list complete."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[2]


def setuptools_config() -> dict[str, object]:
    config: dict[str, object] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]
    return config


def test_every_code_package_is_listed() -> None:
    found = set(find_packages(REPO, include=["daemon*", "remediations*", "sandbox*"]))
    listed = set(setuptools_config()["packages"])  # type: ignore[call-overload]
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_config_folder_ships_as_daemon_bundled() -> None:
    config = setuptools_config()
    assert config["package-dir"] == {"daemon.bundled": "config"}
    listed = set(config["packages"])  # type: ignore[call-overload]
    for folder in ("eventbridge", "grafana", "prometheus"):
        assert (REPO / "config" / folder).is_dir()
        assert f"daemon.bundled.{folder}" in listed
