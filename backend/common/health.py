"""`GET /healthz`: is the database answering, is the broker reachable. 503 when either is not."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database() -> dict:
    """Which database and whether it answers. Anonymous callers get no host, socket, user or error
    text: those go to the log."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ok = True
    except Exception:
        logger.exception("Health check: the database does not answer")
        ok = False
    return {"ok": ok, "engine": "postgresql", "embedded": getattr(connection, "embedded", False)}


def _broker_ok() -> tuple[bool, str]:
    from config.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"
    except Exception as exc:  # noqa: BLE001
        return False, str(exc)


@require_GET
def healthz(request):
    database = _database()
    db_ok = database["ok"]
    broker_ok, broker_detail = _broker_ok()
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "database": database,
        "broker": {
            "ok": broker_ok,
            "detail": broker_detail,
            "url_scheme": settings.CELERY_BROKER_URL.split(":")[0],
        },
    }
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)
