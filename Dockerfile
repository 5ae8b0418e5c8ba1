# syntax=docker/dockerfile:1
# Bürgerbüro per Video: a builder stage with the virtualenv, a slim runtime stage without
# compilers or pip caches. State (SQLite database, secret key, mails) lives in the volume.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /srv/buergerbuero
# The source stays where it is installed (editable): templates, static files and migrations
# are found next to the code, and the runtime stage copies both paths unchanged.
COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY core ./core
COPY accessibility ./accessibility
COPY staff ./staff
COPY booking ./booking
COPY idstatus ./idstatus
COPY signaling ./signaling
COPY calls ./calls
COPY cases ./cases
COPY online ./online
COPY postcall ./postcall
COPY mail ./mail
COPY privacy ./privacy
COPY tenants ./tenants
COPY insights ./insights
COPY monitoring ./monitoring
COPY app ./app
COPY static ./static
COPY migrations ./migrations
RUN pip install -e . \
    && python -m compileall -q app booking signaling postcall migrations

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BUERO_VAR_DIR=/var/lib/buergerbuero \
    BUERO_DATABASE_URL=sqlite+aiosqlite:////var/lib/buergerbuero/buergerbuero.db
# Pango and its FreeType backend: WeasyPrint renders the letters (PDF/A) with them; DejaVu Sans
# is vendored in postcall/fonts, Debian's copy is the fallback.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 buero \
    && useradd --system --uid 10001 --gid buero --home-dir /var/lib/buergerbuero \
       --no-create-home --shell /usr/sbin/nologin buero \
    && mkdir -p /var/lib/buergerbuero \
    && chown buero:buero /var/lib/buergerbuero
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /srv/buergerbuero /srv/buergerbuero
WORKDIR /srv/buergerbuero
USER buero
VOLUME ["/var/lib/buergerbuero"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["buergerbuero", "serve", "--host", "0.0.0.0"]
