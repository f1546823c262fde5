"""`GET /healthz`: is the database answering, is the broker reachable. 503 when either is not."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001 - reported, not swallowed: it becomes the 503 body
        return False, str(exc)


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
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok()
    body = {
        "status": "ok" if db_ok and broker_ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {
            "ok": broker_ok,
            "detail": broker_detail,
            "url_scheme": settings.CELERY_BROKER_URL.split(":")[0],
        },
    }
    return JsonResponse(body, status=200 if db_ok and broker_ok else 503)
