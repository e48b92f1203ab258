# Chokepoint in a container: `docker compose up -d` with a .env beside compose.yaml (see README, "Running it
# for real"). The database lives on the /data volume; the process runs as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY jobs ./jobs
COPY storage ./storage
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin chokepoint \
    && mkdir -p /data \
    && chown chokepoint:chokepoint /data
USER chokepoint
WORKDIR /data
ENV CHOKEPOINT_DB=/data/chokepoint.db
VOLUME ["/data"]

# Unhealthy when no poll of Telegram came back for 5 minutes, or no check finished for three intervals of the
# most frequent source (see `chokepoint health --help`).
HEALTHCHECK --interval=1m --timeout=30s --start-period=2m --retries=3 CMD ["chokepoint", "health"]

CMD ["chokepoint", "run"]
