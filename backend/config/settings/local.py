"""Development and `make demo`: the embedded PostgreSQL and a broker-less Celery unless DATABASE_URL/REDIS_URL say otherwise."""

import os
import secrets

from .base import *  # noqa: F403


def _checkout_secret_key() -> str:
    """A signing key of this checkout's own, made on first use and kept in .demo/secret_key.

    A key shared by every checkout would be published with the code: anyone could sign sessions
    and JWTs for any demo reachable on a network.
    """
    path = DEMO_DIR / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        DEMO_DIR.mkdir(exist_ok=True)
        key = secrets.token_urlsafe(50)
        try:
            with open(
                os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii"
            ) as handle:
                handle.write(key)
        except FileExistsError:  # another process of the demo made it first
            return path.read_text(encoding="ascii").strip()
        return key


# Debug pages (settings, source, SQL) only when asked for: DEBUG=1 make demo.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = SECRET_KEY or _checkout_secret_key()
# Without DEBUG the development server serves no static files: WhiteNoise serves them from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Swagger UI without logging in first: the demo listens on 127.0.0.1 (serve_demo --host).
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", True)
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = (
    ["rest_framework.permissions.AllowAny"]
    if API_DOCS_PUBLIC
    else ["rest_framework.permissions.IsAuthenticated"]
)
ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1"]

# The demo may try a robot against a webhook server on this machine.
if "NOTIFICATIONS_ROBOT_HOSTS" not in os.environ:
    NOTIFICATIONS_ROBOT_HOSTS = [*NOTIFICATIONS_ROBOT_HOSTS, "127.0.0.1", "localhost"]  # noqa: F405
