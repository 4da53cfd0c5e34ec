# syntax=docker/dockerfile:1
# BTS-bot container image: `docker compose up` (compose.yaml) or `docker build -t bts-bot .`.
# Two stages: the build stage installs the locked dependencies and the project into /opt/venv; the
# runtime stage gets only that venv, the kommune files and the start scripts, and runs as a non-root
# user. The install and start commands live in docker/*.sh, which tests/ops/test_container.py runs
# too, so the image and the test cannot drift apart.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY docker/install.sh docker/install.sh
COPY bot bot
COPY dialogs dialogs
COPY storage storage
RUN PYTHON=python docker/install.sh /opt/venv /src

FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.title="BTS-bot" \
      org.opencontainers.image.description="BTI/BTS chat-bot for Slack, Microsoft Teams and web chat"
RUN groupadd --system --gid 10001 bts \
    && useradd --system --uid 10001 --gid bts --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin bts
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY docker/entrypoint.sh docker/healthcheck.py /app/docker/
COPY kommuner /app/kommuner
COPY manifest /app/manifest
RUN mkdir -p /app/data && chown bts:bts /app/data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/data \
    KOMMUNE_DIR=/app/kommuner \
    MANIFEST_DIR=/app/manifest \
    HOST=0.0.0.0 \
    PORT=3978 \
    MPLCONFIGDIR=/tmp/matplotlib
VOLUME ["/app/data"]
EXPOSE 3978
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
