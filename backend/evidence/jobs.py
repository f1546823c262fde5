"""Photo jobs: processing one photo after its upload, and the hourly sweep (CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from evidence import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
MAX_BACKOFF_SECONDS = 300  # far below the broker's visibility timeout (3600 s)


@shared_task(
    name="evidence.process_photo",
    bind=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=60,
    time_limit=90,
)
def process_photo(self, photo_id: int) -> str:
    """Thumbnails, hash and flags of one photo (evidence.services.photo_process).

    Idempotent: a photo already processed is left alone, a second run at the same time skips the
    locked row. Only storage errors are retried (10 s, 20 s, 40 s, ... up to 5 min); a file that is
    not a photo or is missing ends the photo as `failed` without retrying. Anything else fails the
    job loudly and the photo stays pending for the hourly sweep to re-enqueue (at most 3 times).
    """
    try:
        photo = services.photo_process(photo_id=photo_id)
    except Exception as exc:
        if services.is_transient(exc) and self.request.retries < self.max_retries:
            countdown = min(MAX_BACKOFF_SECONDS, 10 * 2**self.request.retries)
            logger.warning("Photo %s: storage error, retrying in %s s: %s", photo_id, countdown, exc)
            raise self.retry(exc=exc, countdown=countdown) from exc
        raise
    if photo is None:
        return "missing or taken by another run"
    if photo.status == photo.Status.FAILED:
        logger.warning("Photo %s could not be processed: %s", photo_id, photo.error)
    return photo.status


@shared_task(name="evidence.remove_orphaned_uploads", soft_time_limit=600, time_limit=900)
def remove_orphaned_uploads(days: int = services.SWEEP_DAYS) -> dict:
    """Hourly: files no photo references (crashed uploads), stuck photos, expired idempotency keys."""
    result = services.uploads_sweep(days=days)
    logger.info("Evidence sweep: %s", result)
    return result
