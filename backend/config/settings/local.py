"""Development and `make demo`: the embedded PostgreSQL and a broker-less Celery unless DATABASE_URL/REDIS_URL say otherwise."""

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "local-development-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1"]
