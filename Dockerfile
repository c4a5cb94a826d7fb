# syntax=docker/dockerfile:1
#
# accessctl images. The default target (the last stage) is the production worker:
#   docker build -t accessctl-worker .
# `--target demo` is the same image plus the Graph emulator's extras, for the compose `demo`
# profile; the production image does not carry the emulator's web server.
#
# Dependency versions are set in pyproject.toml only. The code and the virtualenv are owned by
# root and the processes run as an unprivileged user, so they cannot change their own code.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with accessctl and its runtime dependencies (no dev extras) ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
WORKDIR /src
# .dockerignore lets in only what `pip install .` needs.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install .

FROM build AS build-demo
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install ".[emulator]"

# --- runtime base: no compilers, no pip cache, an unprivileged user ------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 accessctl \
 && useradd --system --uid 10001 --gid accessctl --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin accessctl
USER 10001:10001

# --- demo: the Graph emulator (docker compose --profile demo) ------------------------------
FROM runtime AS demo
COPY --from=build-demo /opt/venv /opt/venv
EXPOSE 8900
CMD ["graph-emulator", "--tenant", "/etc/accessctl/tenant.yaml", "--host", "0.0.0.0", "--port", "8900"]

# --- worker (default target) ---------------------------------------------------------------
FROM runtime AS worker
COPY --from=build /opt/venv /opt/venv
# The worker reads the catalog from ACCESSCTL_CATALOG; compose mounts it read-only here.
ENV ACCESSCTL_CATALOG=/etc/accessctl/catalog.yaml
CMD ["accessctl-worker"]
