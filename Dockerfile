# Last Bell's image: one image for the web processes, the task worker and one-off commands
# (migrate, backup, restore). compose.yaml runs it; docs/operations.md explains the setup.
#   docker build -t lastbell .
FROM python:3.12-slim-trixie

# WeasyPrint's libraries (Pango, HarfBuzz) and the fonts the PDFs ask for (DejaVu), and
# PostgreSQL's client programs for `lastbell backup` / `lastbell restore` (17: they must be at
# least the server's version; compose.yaml runs PostgreSQL 17).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LASTBELL_DATA_DIR=/data \
    LASTBELL_STATIC_ROOT=/app/static \
    LOG_FORMAT=json \
    # glibc's allocator: two arenas, not eight per core (every request runs in a thread of
    # its own under ASGI); 10 MB less resident memory in the soak (docs/reliability.md).
    MALLOC_ARENA_MAX=2

WORKDIR /app
# Dependencies first, at the versions requirements.lock pins: a layer that a code change
# does not rebuild.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md LICENSE ./
COPY lastbell ./lastbell
# Static files into the image, with a throwaway key and data folder: no secret is baked in.
RUN pip install -c requirements.lock . \
    && SECRET_KEY=collectstatic-only LASTBELL_DATA_DIR=/tmp/build-data \
        lastbell collectstatic --noinput -v 0 \
    && rm -rf /tmp/build-data \
    && useradd --system --uid 10001 --home-dir /data --no-create-home lastbell \
    && mkdir /data && chown lastbell:lastbell /data

# Uploads (photos, court orders), letter PDFs and import files: keep this on a volume.
VOLUME /data
USER lastbell
EXPOSE 8000

# A web process: no migrations and no worker here (`lastbell serve` does both, for one
# machine); compose.yaml's migrate service and worker service do those. uvicorn's access log
# is off: it would write query strings (sign-in tokens); Last Bell logs requests without them.
CMD ["uvicorn", "lastbell.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--lifespan", "off", "--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "*", \
     "--timeout-graceful-shutdown", "3"]
