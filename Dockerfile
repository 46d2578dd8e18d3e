# syntax=docker/dockerfile:1
# flink-remediator: event-driven remediation daemon for Amazon Managed Service for Apache Flink.
#
# Stage `build` downloads the locked dependencies (requirements.lock, hash-checked) as wheels and
# builds the project wheel; stage `venv` installs them offline into a virtualenv and strips what
# the daemon does not run (pip, setuptools, the local AWS sandbox); stage `runtime` is the base
# plus that virtualenv, without pip, ensurepip or a shell, running as a non-root user. The image
# writes nothing outside /tmp, so it runs with a read-only root filesystem (the Helm chart mounts
# an emptyDir on /tmp).
#
# BASE_IMAGE must provide `python3` (>= 3.11) with the `venv` module; the official slim image does,
# and so does Debian's python3 + python3-venv (the image test builds on such a base). It is pinned
# by digest (the multi-platform index of the tag). To move to a newer base (security updates):
#   docker buildx imagetools inspect python:3.11-slim-bookworm --format '{{json .Manifest.Digest}}'
# and replace the digest below; the tag in front of it is for people only.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/build-venv
# Dependencies first, so this layer is reused when only the code changes: exactly the versions
# of requirements.lock (CI installs the same ones through requirements-dev.lock), hash-checked.
COPY requirements.lock ./
RUN /opt/build-venv/bin/pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements.lock \
    && cp requirements.lock /wheels/
COPY pyproject.toml README.md ./
COPY config ./config
COPY daemon ./daemon
COPY remediations ./remediations
COPY sandbox ./sandbox
RUN /opt/build-venv/bin/pip wheel --no-deps --wheel-dir /wheels/project .

FROM ${BASE_IMAGE} AS venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# The wheels come from stage `build` through a bind mount, so they never land in a layer. The
# sandbox (a moto-based local AWS for demos and tests) is not part of the daemon: removed, and
# the CLI then simply has no `sandbox` command. pip goes last, uninstalling itself.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/flink-remediator \
    && /opt/flink-remediator/bin/pip install --no-index --find-links /wheels \
       --require-hashes -r /wheels/requirements.lock \
    && /opt/flink-remediator/bin/pip install --no-index --no-deps /wheels/project/*.whl \
    && /opt/flink-remediator/bin/pip check \
    && rm -rf /opt/flink-remediator/lib/python3*/site-packages/sandbox \
    && /opt/flink-remediator/bin/pip uninstall --yes --quiet setuptools pip \
    && /opt/flink-remediator/bin/python -m compileall -q /opt/flink-remediator

FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/flink-remediator/flink-remediator
LABEL org.opencontainers.image.title="flink-remediator" \
      org.opencontainers.image.description="Event-driven remediation daemon for Amazon Managed Service for Apache Flink" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# HOME and TMPDIR point at /tmp, the only writable path; bytecode is compiled at install time so
# the interpreter never needs to write .pyc files next to the code. Two malloc arenas instead of
# one per thread (docs/performance.md, "Memory": -7 MB at 5,000 apps, no measurable slowdown).
ENV PATH=/opt/flink-remediator/bin:${PATH} \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2

# The last RUN: it removes pip and ensurepip from the base (nothing can install packages at run
# time) and then the shells (an intruder gets no `sh`; `kubectl exec` needs an explicit binary,
# e.g. `flink-remediator --help`, or `kubectl debug` with an ephemeral container).
RUN groupadd --system --gid 10001 flink-remediator \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin flink-remediator \
    && find / -xdev -type d \( -name ensurepip -o -name pip -o -name 'pip-*.dist-info' \
       -o -name python-wheels \) -prune -exec rm -rf {} + \
    && rm -f /usr/local/bin/pip* /usr/bin/pip* \
    && rm -f /bin/sh /bin/dash /bin/bash /bin/rbash /usr/bin/sh /usr/bin/dash /usr/bin/bash /usr/bin/rbash

COPY --from=venv /opt/flink-remediator /opt/flink-remediator

WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["flink-remediator"]
CMD ["run"]
