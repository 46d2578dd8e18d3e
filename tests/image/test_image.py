"""Builds the real Dockerfile daemonless with buildah and runs the image like a restricted pod.

Slow (a Debian bootstrap on first run, then one image build): deselect locally with
`-m "not image"`; CI runs it. It fails, not skips, when the tools are missing, so CI cannot
pass without having built the image.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.image.buildah import Buildah, ImageRunner, debian_rootfs, missing_prerequisites

pytestmark = [pytest.mark.image, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "config" / "desired-state.example.yaml"
CONFIG_IN_POD = "/etc/flink-remediator/desired-state.yaml"  # where the Helm chart mounts it
BASE_IMAGE = "localhost/flink-remediator-test-base:bookworm"
IMAGE = "localhost/flink-remediator:image-test"
REVISION = "image-test-revision"
CREATED = "2026-12-01T09:00:00Z"
SOURCE = "https://example.com/flink-remediator.git"
LOCK_PIN = r"^([A-Za-z0-9_.-]+)==(\S+)"


@dataclass(frozen=True)
class BuiltImage:
    buildah: Buildah
    config: dict[str, object]
    rootfs: Path  # a working container's root filesystem, mounted on the host

    def runner(self) -> ImageRunner:
        env = self.config["Env"]
        assert isinstance(env, list)
        return ImageRunner(
            rootfs=self.rootfs,
            user=str(self.config["User"]),
            env=tuple(env),
            mounts=((EXAMPLE_CONFIG, CONFIG_IN_POD),) if EXAMPLE_CONFIG.exists() else (),
        )

    def entrypoint(self, *args: str) -> list[str]:
        entrypoint = self.config["Entrypoint"]
        assert isinstance(entrypoint, list)
        return [*entrypoint, *args]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltImage]:
    missing = missing_prerequisites()
    if missing:
        pytest.fail(
            "the image test needs "
            + ", ".join(missing)
            + " (apt-get install buildah debootstrap; run as root), or deselect it with"
            " -m 'not image'"
        )
    store = tmp_path_factory.mktemp("buildah-store")
    buildah = Buildah(store)
    try:
        buildah.import_rootfs(debian_rootfs(), BASE_IMAGE)
        buildah.build(
            REPO,
            REPO / "Dockerfile",
            IMAGE,
            {
                "BASE_IMAGE": BASE_IMAGE,
                "REVISION": REVISION,
                "VERSION": "0.1.0",
                "CREATED": CREATED,
                "SOURCE": SOURCE,
            },
        )
        container = buildah("from", "--quiet", IMAGE)
        rootfs = Path(buildah("mount", container))
        yield BuiltImage(buildah, buildah.config(IMAGE), rootfs)
        buildah("rm", container)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_image_metadata_follows_the_contract(image: BuiltImage) -> None:
    config = image.config
    assert config["Entrypoint"] == ["flink-remediator"]
    assert config["Cmd"] == ["run"]
    assert "8080/tcp" in config.get("ExposedPorts", {})  # type: ignore[operator]
    env = dict(item.split("=", 1) for item in config["Env"])  # type: ignore[attr-defined]
    assert env["HOME"] == "/tmp"
    assert env["TMPDIR"] == "/tmp"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    labels = config["Labels"]
    assert isinstance(labels, dict)
    assert labels["org.opencontainers.image.title"] == "flink-remediator"
    assert labels["org.opencontainers.image.revision"] == REVISION
    assert labels["org.opencontainers.image.created"] == CREATED
    assert labels["org.opencontainers.image.source"] == SOURCE
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.base.name"] == BASE_IMAGE
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"


def test_user_is_numeric_and_not_root(image: BuiltImage) -> None:
    # Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    user, _, group = str(image.config["User"]).partition(":")
    assert user.isdigit() and int(user) != 0
    assert group.isdigit() and int(group) != 0
    # `buildah run` applies the image's USER by itself: the process really is non-root.
    container = image.buildah("from", "--quiet", IMAGE)
    try:
        uid = image.buildah("run", "--isolation", "chroot", container, "--", "id", "-u")
    finally:
        image.buildah("rm", container)
    assert uid == user


def test_build_leftovers_are_not_in_the_image(image: BuiltImage) -> None:
    assert not (image.rootfs / "wheels").exists()  # bind-mounted from the build stage only
    assert not (image.rootfs / "src").exists()
    assert not (image.rootfs / "opt" / "build-venv").exists()
    assert (image.rootfs / "opt" / "flink-remediator" / "bin" / "flink-remediator").exists()


def test_the_daemon_cannot_modify_its_own_code(image: BuiltImage) -> None:
    uid = int(str(image.config["User"]).partition(":")[0])
    writable = [
        path
        for path in (image.rootfs / "opt" / "flink-remediator").rglob("*")
        if not path.is_symlink() and (path.stat().st_uid == uid or path.stat().st_mode & 0o022)
    ]
    assert writable == []


def test_help_runs_with_a_read_only_root(image: BuiltImage) -> None:
    result = image.runner().run(image.entrypoint("--help"))
    assert result.returncode == 0, result.stderr
    assert "usage: flink-remediator" in result.stdout
    assert re.search(r"^\s+run\b", result.stdout, re.MULTILINE), "no `run` subcommand listed"


def test_validate_accepts_the_example_config(image: BuiltImage) -> None:
    help_text = image.runner().run(image.entrypoint("--help")).stdout
    if "validate" not in help_text:
        pytest.skip("the `validate` subcommand does not exist yet in daemon/cli.py")
    assert EXAMPLE_CONFIG.exists(), f"{EXAMPLE_CONFIG} is missing"
    result = image.runner().run(image.entrypoint("validate", CONFIG_IN_POD))
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_rejects_a_missing_file(image: BuiltImage) -> None:
    help_text = image.runner().run(image.entrypoint("--help")).stdout
    if "validate" not in help_text:
        pytest.skip("the `validate` subcommand does not exist yet in daemon/cli.py")
    result = image.runner().run(image.entrypoint("validate", "/tmp/does-not-exist.yaml"))
    assert result.returncode != 0


def site_packages(image: BuiltImage) -> Path:
    [found] = (image.rootfs / "opt" / "flink-remediator" / "lib").glob("python3*/site-packages")
    return found


def test_runtime_has_no_shell_no_pip_and_no_sandbox(image: BuiltImage) -> None:
    for shell in ("sh", "bash", "dash"):
        for directory in ("bin", "usr/bin"):
            assert not (image.rootfs / directory / shell).exists(), f"/{directory}/{shell}"
    packages = site_packages(image)
    assert not (packages / "sandbox").exists()
    assert not list(packages.glob("pip*")), "pip in the virtualenv"
    assert not list(image.rootfs.glob("usr/**/ensurepip")), "ensurepip in the base"
    no_pip = image.runner().run(["/opt/flink-remediator/bin/python", "-c", "import pip"])
    assert no_pip.returncode != 0 and "No module named 'pip'" in no_pip.stderr
    help_text = image.runner().run(image.entrypoint("--help")).stdout
    assert not re.search(r"^\s+sandbox\b", help_text, re.MULTILINE)


def test_dependencies_are_the_locked_versions(image: BuiltImage) -> None:
    def normalized(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    lock = (REPO / "requirements.lock").read_text()
    locked = {normalized(name): version for name, version in re.findall(LOCK_PIN, lock, re.M)}
    installed = {}
    for dist_info in site_packages(image).glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").rpartition("-")
        installed[normalized(name)] = version
    assert installed.pop("flink-remediator") == "0.1.0"
    assert installed == locked
