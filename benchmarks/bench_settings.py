"""Production settings for the load benchmark (bench_inbox.py --part load): served over plain HTTP on
127.0.0.1 by gunicorn, with the yardstick views of bench_site.py beside the real URLs."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench_site"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
