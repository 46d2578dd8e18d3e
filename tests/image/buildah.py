"""Daemonless image plumbing for the image test: a Debian base image made with debootstrap, the
real Dockerfile built on it with buildah, and the result run like a Kubernetes pod would run it
(image user, image environment, read-only root filesystem, a writable /tmp).

No Docker engine or registry is reachable here, so the base that the Dockerfile's BASE_IMAGE
argument normally pulls (python:3.11-slim) is replaced by a local image holding Debian's python3.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The debootstrap root filesystem is cached here across runs; it only depends on the suite.
BASE_CACHE = Path(os.environ.get("FLINK_REMEDIATOR_BASE_CACHE", "/tmp/flink-remediator-base"))
DEBIAN_SUITE = "bookworm"  # python3 3.11, the project's minimum
DEBIAN_MIRROR = os.environ.get("FLINK_REMEDIATOR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "python3-venv")
# The host trust store goes into the base so pip inside the build trusts the same TLS roots
# as pip on the host (an intercepting egress proxy, where there is one).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
REQUIRED_TOOLS = ("buildah", "debootstrap", "unshare", "chroot", "mount")


def missing_prerequisites() -> list[str]:
    """What this machine lacks to build images daemonless (empty when all is there)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (buildah --isolation chroot and debootstrap need it)")
    return missing


def run(
    argv: list[str], *, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"command failed ({result.returncode}): {shlex.join(argv)}\n"
            f"--- stdout (tail)\n{result.stdout[-4000:]}\n"
            f"--- stderr (tail)\n{result.stderr[-4000:]}"
        )
    return result


def debian_rootfs() -> Path:
    """A minimal Debian root filesystem with python3 + venv, built once and then reused."""
    rootfs = BASE_CACHE / f"rootfs-{DEBIAN_SUITE}"
    done_marker = BASE_CACHE / f"rootfs-{DEBIAN_SUITE}.complete"
    if done_marker.exists():
        return rootfs
    shutil.rmtree(rootfs, ignore_errors=True)  # a half-finished earlier attempt
    BASE_CACHE.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            DEBIAN_SUITE,
            str(rootfs),
            DEBIAN_MIRROR,
        ]
    )
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / leftover).glob("*"):
            if entry.is_file():
                entry.unlink()
    done_marker.touch()
    return rootfs


@dataclass(frozen=True)
class Buildah:
    """buildah with a private vfs store, so tests never touch the machine's image store."""

    store: Path

    def __call__(self, *args: str, timeout: float = 900) -> str:
        return run(self.argv(*args), timeout=timeout).stdout.strip()

    def argv(self, *args: str) -> list[str]:
        return [
            "buildah",
            "--storage-driver",
            "vfs",
            "--root",
            str(self.store / "root"),
            "--runroot",
            str(self.store / "run"),
            *args,
        ]

    def import_rootfs(self, rootfs: Path, image: str) -> None:
        container = self("from", "--quiet", "scratch")
        mountpoint = Path(self("mount", container))
        run(["cp", "-a", f"{rootfs}/.", str(mountpoint)])
        shutil.copyfile(HOST_CA_BUNDLE, mountpoint / "etc/ssl/certs/ca-certificates.crt")
        self("umount", container)
        self(
            "config",
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env",
            "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "--env",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "--cmd",
            "/bin/sh",
            container,
        )
        self("commit", "--quiet", "--rm", container, image)

    def build(self, context: Path, dockerfile: Path, tag: str, build_args: dict[str, str]) -> None:
        args = [f"--build-arg={key}={value}" for key, value in build_args.items()]
        self(
            "bud",
            "--isolation",
            "chroot",
            "--layers=false",
            *args,
            "--tag",
            tag,
            "--file",
            str(dockerfile),
            str(context),
            timeout=1500,
        )

    def config(self, image: str) -> dict[str, object]:
        """The OCI image config (User, Env, Entrypoint, Cmd, Labels, ...)."""
        inspected = json.loads(self("inspect", "--type", "image", image))
        config: dict[str, object] = inspected["OCIv1"]["config"]
        return config


@dataclass(frozen=True)
class ImageRunner:
    """Runs commands in a container of the image with a read-only root and a tmpfs on /tmp,
    as the image's user with only the image's environment (what a restricted pod gets)."""

    rootfs: Path
    user: str
    env: tuple[str, ...]
    mounts: tuple[tuple[Path, str], ...] = ()  # host file -> absolute path in the container

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        root = shlex.quote(str(self.rootfs))
        steps = [f"mount --bind {root} {root}"]
        for host_file, target in self.mounts:
            inside = shlex.quote(str(self.rootfs) + target)
            steps.append(f"mkdir -p $(dirname {inside}) && touch {inside}")  # the mount point
            steps.append(f"mount --bind -o ro {shlex.quote(str(host_file))} {inside}")
        steps += [
            f"mount -o remount,bind,ro {root}",
            f"mount -t tmpfs -o mode=1777 tmpfs {root}/tmp",
            f"mount -t proc proc {root}/proc",
            shlex.join(
                [
                    "chroot",
                    f"--userspec={self.user}",
                    str(self.rootfs),
                    "/usr/bin/env",
                    "-i",
                    *self.env,
                    *argv,
                ]
            ),
        ]
        script = " && ".join(steps)
        # A private mount namespace: every mount above vanishes when the shell exits.
        return run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            check=False,
            timeout=300,
        )
