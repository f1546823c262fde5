"""pytest: the PostgreSQL of DATABASE_URL (CI), else the checkout's embedded one; Redis when REDIS_URL is set."""

import os
from pathlib import Path

from .base import *  # noqa: F403

SECRET_KEY = "test-only-not-secret-0123456789abcdef0123456789"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# One folder per pytest-xdist worker (gw0, gw1, ...): a test that lists or sweeps the media folder
# never meets another worker's files.
MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT", "/tmp/chuanxi-test-media")) / os.environ.get(  # noqa: S108
    "PYTEST_XDIST_WORKER", "main"
)
if not DATABASE_URL:
    # The tests' own embedded server, beside the demo's: its data is thrown away anyway, so it
    # skips what makes commits durable (the TRUNCATEs of transactional tests and every commit
    # would otherwise wait for the disk). Never do this to a database you keep.
    DATABASES = {
        "default": embedded_db.database(
            DEMO_DIR / "postgres-test",
            name="chuanxi",
            options={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
        )
    }
DATABASES["default"]["CONN_MAX_AGE"] = 0
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]  # noqa: F405  (no collected static in tests)
# Without Redis, a job enqueued by accident goes to memory, never into .demo/broker where a running
# demo worker would pick it up. Tests run jobs by calling them, or start a real worker on Redis.
if not REDIS_URL:  # noqa: F405
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# The tests receive robot messages on a local HTTP server (tests/notifications/robot_server.py).
if "NOTIFICATIONS_ROBOT_HOSTS" not in os.environ:
    NOTIFICATIONS_ROBOT_HOSTS = [*NOTIFICATIONS_ROBOT_HOSTS, "127.0.0.1", "localhost"]  # noqa: F405
