"""The Celery entry point, beside wsgi/asgi: `celery -A config.celery_app worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("chuanxi")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Jobs live in each app's jobs.py (the app named `tasks` makes tasks.py ambiguous).
app.autodiscover_tasks(related_name="jobs")
