# The one image behind web, worker, beat and migrate in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install . && rm -rf build *.egg-info

COPY backend/ ./backend/
WORKDIR /app/backend

ENV DJANGO_SETTINGS_MODULE=config.settings.production \
    STATIC_ROOT=/app/static \
    MEDIA_ROOT=/data/media

# Static files (admin, Swagger UI) are baked into the image and served by WhiteNoise. The key is a
# throwaway: production settings refuse to load without one, and collectstatic signs nothing.
RUN SECRET_KEY=collectstatic-only-build-key-not-used-at-runtime \
    python manage.py collectstatic --noinput --verbosity 0

# An unprivileged user; the media folder exists (owned by it) so a fresh named volume inherits it.
RUN useradd --system --uid 10001 --home-dir /app chuanxi \
    && mkdir -p /data/media \
    && chown chuanxi /data/media
USER chuanxi

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind=0.0.0.0:8000", "--workers=3", "--access-logfile=-"]
