# One image for every role: the web site (the default command), a Celery worker, beat, and
# one-off `python manage.py ...` commands. compose.yaml runs them all; README, "Self-hosting".
#
#   docker build -t paper-digest .
#   docker run -p 8000:8000 -e SECRET_KEY=... paper-digest      # SQLite under VAR_DIR
#
# BASE_IMAGE: any Debian bookworm with Python 3.11 and python3-venv; the official image by
# default. The image test builds on one made locally (scripts/image_test.sh).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- build: the dependencies into /opt/venv ------------------------------------------------------
FROM ${BASE_IMAGE} AS build
# pip trusts the system's certificates (what an HTTPS proxy's CA is added to), not only its own.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /build
# Only the dependency list first: this layer is rebuilt when pyproject.toml changes, not on
# every change to the code.
COPY pyproject.toml .
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install -r requirements.txt

# --- runtime -------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# The user every process runs as; not root. Change the ids at build time to match a host's
# volume owner: --build-arg APP_UID=1000 --build-arg APP_GID=1000.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --gid "${APP_GID}" app \
    && useradd --uid "${APP_UID}" --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=digest.settings \
    STATIC_ROOT=/opt/static \
    WEB_CONCURRENCY=2
WORKDIR /app
COPY --chown=root:root . /app
# Static files collected and compressed now, once, with a key made for this step only: no
# secret stays in the image. VAR_DIR (SQLite, the outbox) is the only place it writes.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        ENV_FILE=off python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q digest subscriptions \
    && mkdir -p /app/var \
    && chown app:app /app/var
USER app
EXPOSE 8000
# 127.0.0.1, not localhost: localhost may resolve to ::1, where gunicorn does not listen.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
# gunicorn's workers: WEB_CONCURRENCY. Access lines with tokens cut out; no control socket
# (it would be written into the read-only working directory).
CMD ["gunicorn", "digest.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--logger-class", "digest.web.gunicorn_logging.MaskedLogger", "--no-control-socket"]
