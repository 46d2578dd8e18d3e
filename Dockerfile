# syntax=docker/dockerfile:1
# flink-remediator: event-driven remediation daemon for Amazon Managed Service for Apache Flink.
#
# Stage 1 builds the project wheel and the wheels of its dependencies; stage 2 installs them
# offline into a virtualenv and runs as a non-root user. The image writes nothing outside /tmp,
# so it runs with a read-only root filesystem (the Helm chart mounts an emptyDir on /tmp).
#
# BASE_IMAGE must provide `python3` (>= 3.11) with the `venv` module; the official slim image does,
# and so does Debian's python3 + python3-venv (the image test builds on such a base).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/build-venv
# Dependency metadata first, so the dependency layer is reused when only the code changes.
COPY pyproject.toml README.md ./
COPY daemon ./daemon
COPY remediations ./remediations
COPY sandbox ./sandbox
# One wheel for the project plus one per runtime dependency, installed offline in stage 2.
RUN /opt/build-venv/bin/pip wheel --wheel-dir /wheels .

FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="flink-remediator" \
      org.opencontainers.image.description="Event-driven remediation daemon for Amazon Managed Service for Apache Flink" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/flink-remediator/flink-remediator" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# HOME and TMPDIR point at /tmp, the only writable path; bytecode is compiled at install time so
# the interpreter never needs to write .pyc files next to the code.
ENV PATH=/opt/flink-remediator/bin:${PATH} \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 flink-remediator \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin flink-remediator

# The wheels come from stage 1 through a bind mount, so they never land in an image layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/flink-remediator \
    && /opt/flink-remediator/bin/pip install --no-index --find-links /wheels flink-remediator \
    && /opt/flink-remediator/bin/python -m compileall -q /opt/flink-remediator

WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["flink-remediator"]
CMD ["run"]
