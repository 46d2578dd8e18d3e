"""requirements.lock (the image) and requirements-dev.lock (make install, CI) pin the same
version of every package they share, pin every dependency pyproject.toml declares within its
specifier, and carry hashes for every pin (both are installed with --require-hashes)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (REPO / name).read_text()
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def project() -> dict[str, object]:
    data: dict[str, object] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return data


def declared(*extras: str) -> list[Requirement]:
    meta = project()
    lines = list(meta["dependencies"])  # type: ignore[call-overload]
    for extra in extras:
        lines += meta["optional-dependencies"][extra]  # type: ignore[index]
    return [Requirement(line) for line in lines]


def test_shared_packages_have_the_same_version_in_both_locks() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert runtime, "requirements.lock pins nothing"
    differing = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert differing == {}, "runtime lock differs from the dev lock (name: (runtime, dev))"


def test_runtime_lock_has_no_dev_or_sandbox_packages() -> None:
    runtime = pins("requirements.lock")
    for requirement in declared("dev", "sandbox")[len(declared()) :]:
        assert canonicalize_name(requirement.name) not in runtime, requirement.name


def test_every_declared_dependency_is_pinned_within_its_specifier() -> None:
    for lock, extras in (("requirements.lock", ()), ("requirements-dev.lock", ("dev", "sandbox"))):
        locked = pins(lock)
        for requirement in declared(*extras):
            version = locked.get(canonicalize_name(requirement.name))
            assert version is not None, f"{lock} lacks {requirement.name}"
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock}: {requirement.name}=={version} is outside {requirement.specifier}"
            )


def test_every_pin_carries_a_hash() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (REPO / lock).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
        for block in blocks:
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"
