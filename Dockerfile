# syntax=docker/dockerfile:1
#
# groundswell service image.
#   docker build -t groundswell .
#   docker run --rm -p 8000:8000 -e GROUNDSWELL_BOOTSTRAP_API_KEY=... groundswell
# Without GROUNDSWELL_DATABASE_URL it keeps a SQLite file in /app/data (mount a volume there);
# docker-compose.yml runs it against PostgreSQL instead.
#
# Layout: the project lives at /app (app/, models/, migrations/, alembic.ini, pyproject.toml,
# README.md) and is installed *editable* into the venv /opt/venv, so the `groundswell` console
# script imports /app/app. That is deliberate: app/db/migrate.py finds alembic.ini and
# migrations/ (and the bundled models/) relative to the package directory, which a regular
# site-packages install would move away from them.

############################ build stage ############################
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

# Phase 1: third-party dependencies only, from pyproject.toml; this layer stays cached until
# the dependency list changes.
WORKDIR /src
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Phase 2: the project itself. The build context is filtered by .dockerignore; only what the
# service needs at run time goes to /app (models/ may be empty or absent in a checkout).
COPY . /src/
RUN --mount=type=cache,target=/root/.cache/pip \
    mkdir -p /app/models \
 && cp -r /src/app /src/migrations /src/alembic.ini /src/pyproject.toml /app/ \
 && if [ -f /src/README.md ]; then cp /src/README.md /app/; fi \
 && if [ -d /src/models ]; then cp -r /src/models/. /app/models/; fi \
 && pip install --no-deps -e /app \
 && rm -rf /app/*.egg-info /app/build \
 && python -m compileall -q /app/app /app/migrations

############################ runtime stage ############################
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GROUNDSWELL_DATABASE_URL=sqlite:////app/data/groundswell.db

# Unprivileged user; the code is root-owned and read-only to it, only /app/data is writable.
RUN groupadd --system --gid 10001 groundswell \
 && useradd --system --uid 10001 --gid groundswell --home-dir /app/data --no-create-home \
        --shell /usr/sbin/nologin groundswell

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
RUN install -d -o groundswell -g groundswell -m 0750 /app/data

WORKDIR /app
USER groundswell

EXPOSE 8000

# slim has no curl: ask /healthz with the standard library (non-2xx raises -> exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# One process per container (scheduler inside): no --workers.
ENTRYPOINT ["groundswell"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
