"""pytest: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI), SQLite otherwise."""

import os
from pathlib import Path

from .base import *  # noqa: F403

SECRET_KEY = "test-only-not-secret-0123456789abcdef0123456789"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT", "/tmp/chuanxi-test-media"))  # noqa: S108, F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DEMO_DIR.mkdir(exist_ok=True)  # noqa: F405  (a fresh clone has no .demo/; SQLite does not create folders)
    DATABASES["default"]["NAME"] = str(DEMO_DIR / "test.sqlite3")  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DEMO_DIR / "test.sqlite3")}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]  # noqa: F405  (no collected static in tests)
# Without Redis, a job enqueued by accident goes to memory, never into .demo/broker where a running
# demo worker would pick it up. Tests run jobs by calling them, or start a real worker on Redis.
if not REDIS_URL:  # noqa: F405
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
