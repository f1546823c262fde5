"""Writes of evidence: checking and storing uploaded photos, processing them, raising flags, sweeping.

The request path only proves each upload is a photo (evidence.imaging.inspect_upload), stores the
original under a random name and writes the rows; the thumbnails, the perceptual hash and the photo
flags come from the `evidence.process_photo` job, enqueued after commit.
"""

import io
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from common import files, idempotency
from evidence import selectors, storage
from evidence.derivatives import hash_bands, load_hashing, render_derivatives
from evidence.exif import distance_km
from evidence.imaging import (
    ImageRejected,
    Measurement,
    PhotoInfo,
    RejectionCode,
    inspect_upload,
    measure_upload,
    memory_ceiling,
    safe_display_name,
)
from evidence.models import BAND_FIELDS, EvidenceFlag, Photo
from orgs.models import User

logger = logging.getLogger(__name__)

Kind = EvidenceFlag.Kind

# Phone and camera clocks drift; a photo a few minutes "before publishing" is not worth a flag.
CLOCK_TOLERANCE = timedelta(minutes=10)
# Without an end time, a volunteer is assumed to have served at most this long.
ASSUMED_MAX_HOURS_PER_VOLUNTEER = Decimal(8)
# Pending photos older than this are re-enqueued by the sweep; files older than this that no row
# references are removed.
STALE_AFTER = timedelta(hours=1)
# A photo whose processing was re-enqueued this many times without success is marked failed.
MAX_ATTEMPTS = 3
# Bounds of one sweep run.
SWEEP_DAYS = 2
SWEEP_PHOTOS = 500
_KEY_CHUNK = 1000
# Two-key advisory lock (namespace, tree_id): one photo of a district at a time is compared and
# marked ready, so two near-identical photos processed at once still see each other.
_DEDUPE_LOCK_NAMESPACE = 410103


# Upload ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectedPhoto:
    """An upload proven to be a photo; the only thing `photos_attach` accepts."""

    upload: UploadedFile
    info: PhotoInfo


def photos_inspect(*, uploads: Sequence[UploadedFile]) -> tuple[list[InspectedPhoto], list[dict[str, Any]]]:
    """Decode every upload with the allowed formats; returns the photos and one error per bad file.

    Each error names the file (sanitised), its position in the request and the rule it broke, so
    one 400 can list every problem at once. The cheap look comes first: every file's size and
    SHA-256, read in chunks. An empty or oversized file, or the same bytes as an earlier file of the
    request (it would count twice towards the task's minimum), is refused without being decoded;
    decoding (a large PNG takes most of a second) is spent only on the rest.
    """
    errors: list[dict[str, Any]] = []

    def refuse(index: int, display: str, code: str, message: str) -> None:
        errors.append({"file": display, "index": index, "code": code, "message": message})

    measured: list[tuple[int, str, UploadedFile, Measurement]] = []
    seen: dict[str, str] = {}
    for index, upload in enumerate(uploads):
        display = safe_display_name(upload.name)
        try:
            measurement = measure_upload(
                upload, name=upload.name or "", max_bytes=settings.EVIDENCE_MAX_PHOTO_BYTES
            )
        except ImageRejected as rejected:
            refuse(index, display, str(rejected.code), str(rejected.message))
            continue
        if measurement.sha256 in seen:
            refuse(
                index,
                display,
                "repeated",
                _("%(name)s is the same file as %(other)s; attach each photo once.")
                % {"name": display, "other": seen[measurement.sha256]},
            )
            continue
        seen[measurement.sha256] = display
        measured.append((index, display, upload, measurement))

    accepted: list[InspectedPhoto] = []
    for index, display, upload, measurement in measured:
        try:
            info = inspect_upload(
                upload,
                name=upload.name or "",
                max_bytes=settings.EVIDENCE_MAX_PHOTO_BYTES,
                max_pixels=settings.EVIDENCE_MAX_PHOTO_PIXELS,
                measured=measurement,
            )
        except ImageRejected as rejected:
            refuse(index, display, str(rejected.code), str(rejected.message))
            continue
        accepted.append(InspectedPhoto(upload=upload, info=info))
    errors.sort(key=lambda error: error["index"])
    return accepted, errors


def any_too_large(errors: list[dict[str, Any]]) -> bool:
    return any(error.get("code") == RejectionCode.TOO_LARGE for error in errors)


def _decimal(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def photos_attach(
    *, submission: Any, photos: Sequence[InspectedPhoto], actor: User, tree_id: int
) -> list[Photo]:
    """Store the originals under random names and create their rows; processing starts after commit.

    Call inside the submission's transaction and inside `storage.discard_on_error()`, so a failure
    anywhere takes the stored files back with the rows.
    """
    if not photos:
        return []
    now = timezone.now()
    day = timezone.localdate(now)
    rows = []
    for position, item in enumerate(photos, start=1):
        info = item.info
        key = storage.new_key()
        item.upload.seek(0)
        stored = storage.save(storage.original_name(key=key, format=info.format, day=day), File(item.upload))
        rows.append(
            Photo(
                submission=submission,
                position=position,
                key=key,
                original=stored,
                original_name=info.name[:255],
                size=info.size,
                width=info.width,
                height=info.height,
                format=info.format,
                mime_type=info.mime_type,
                sha256=info.sha256,
                taken_at=info.taken_at,
                latitude=_decimal(info.latitude),
                longitude=_decimal(info.longitude),
                has_exif=info.has_exif,
                tree_id=tree_id,
                uploaded_by=actor,
                created_at=now,
            )
        )
    created = Photo.objects.bulk_create(rows)
    ids = [photo.pk for photo in created]
    # robust: a broker that is down must not turn a committed report into a 500; the hourly sweep
    # enqueues photos still pending.
    transaction.on_commit(lambda: enqueue_processing(ids), robust=True)
    return created


def enqueue_processing(photo_ids: Sequence[int]) -> None:
    from evidence.jobs import process_photo

    options = {"queue": settings.EVIDENCE_QUEUE} if settings.EVIDENCE_QUEUE else {}
    for photo_id in photo_ids:
        process_photo.apply_async((photo_id,), **options)


# Submission flags -------------------------------------------------------------------------------


def _hours(delta: timedelta) -> Decimal:
    return (Decimal(delta.total_seconds()) / 3600).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def submission_flag(*, submission: Any, task: Any) -> list[EvidenceFlag]:
    """Flags about the report's own numbers and times, raised in the submitting transaction."""
    flags: list[EvidenceFlag] = []
    held_at, ended_at = submission.held_at, submission.ended_at
    if held_at is not None:
        last = ended_at or held_at
        if held_at < task.starts_at or last > task.due_at:
            flags.append(
                EvidenceFlag(
                    submission=submission,
                    kind=Kind.HELD_OUTSIDE_WINDOW,
                    data={
                        "held_at": held_at,
                        "ended_at": ended_at,
                        "starts_at": task.starts_at,
                        "due_at": task.due_at,
                    },
                )
            )
    hours, volunteers = submission.volunteer_hours, submission.volunteers
    if hours is not None and volunteers is not None:
        assumed = not (held_at and ended_at and ended_at > held_at)
        length = ASSUMED_MAX_HOURS_PER_VOLUNTEER if assumed else _hours(ended_at - held_at)
        most = length * volunteers
        if Decimal(hours) > most:
            flags.append(
                EvidenceFlag(
                    submission=submission,
                    kind=Kind.VOLUNTEER_HOURS,
                    data={
                        "volunteer_hours": str(hours),
                        "volunteers": volunteers,
                        "activity_hours": str(length),
                        "most_hours": str(most),
                        "assumed_length": assumed,
                    },
                )
            )
    EvidenceFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return flags


# Processing -------------------------------------------------------------------------------------


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: storage that did not answer, not a file that is missing or not a photo."""
    if isinstance(exc, FileNotFoundError | ImageRejected):
        return False
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - django-storages[s3] is a dependency
        return False
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status == 429
    return False


def _lock_district(tree_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DEDUPE_LOCK_NAMESPACE, tree_id])


def _fail(photo: Photo, message: str) -> Photo:
    photo.status = Photo.Status.FAILED
    photo.error = message
    photo.processed_at = timezone.now()
    photo.save(update_fields=["status", "error", "processed_at"])
    return photo


def photo_process(*, photo_id: int) -> Photo | None:
    """Thumbnail, preview, perceptual hash and flags of one photo; safe to run twice or at once.

    The row is locked (SKIP LOCKED: a second run of the same photo leaves at once), a photo that is
    no longer pending is left alone, derived files are written under fixed names (a re-run replaces
    them) and flags are unique per (photo, kind). A photo that cannot be decoded ends `failed` with
    the reason; storage errors propagate so the job retries.
    """
    with files.discard_on_error(), transaction.atomic():
        photo = (
            Photo.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("submission__assignment__task", "submission__assignment__unit")
            .filter(pk=photo_id)
            .first()
        )
        if photo is None or photo.status != Photo.Status.PENDING:
            return photo
        try:
            with default_storage.open(photo.original.name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return _fail(photo, _("The original file is missing from storage; upload the photo again."))
        try:
            load_hashing()  # before the ceiling: a shared library may not load under it
            with memory_ceiling(settings.EVIDENCE_JOB_MEMORY_MB * 1024 * 1024):
                derivatives = render_derivatives(
                    io.BytesIO(data), max_pixels=settings.EVIDENCE_MAX_PHOTO_PIXELS
                )
        except ImageRejected as rejected:
            return _fail(photo, str(rejected.message))
        thumbnail_name, preview_name = storage.derived_names_for(photo.original.name, key=photo.key)
        photo.thumbnail = storage.save(thumbnail_name, derivatives.thumbnail, replace=True)
        photo.preview = storage.save(preview_name, derivatives.preview, replace=True)
        photo.phash = derivatives.phash
        for field, band in zip(BAND_FIELDS, hash_bands(derivatives.phash), strict=True):
            setattr(photo, field, band)
        photo.status = Photo.Status.READY
        photo.error = ""
        photo.processed_at = timezone.now()
        _lock_district(photo.tree_id)
        photo.save(
            update_fields=[
                "thumbnail",
                "preview",
                "phash",
                *BAND_FIELDS,
                "status",
                "error",
                "processed_at",
            ]
        )
        EvidenceFlag.objects.bulk_create(photo_flags(photo=photo), ignore_conflicts=True)
    return photo


def _describe(photo: Photo, **extra: Any) -> dict[str, Any]:
    submission = photo.submission
    assignment = submission.assignment
    return {
        "photo": photo.pk,
        "submission": submission.pk,
        "assignment": assignment.pk,
        "unit": {"id": assignment.unit_id, "name": assignment.unit.name},
        "task": {"id": assignment.task_id, "title": assignment.task.title},
        "submitted_at": submission.created_at,
        **extra,
    }


def _pair_flags(photo: Photo, matches: list[tuple[Photo, dict[str, Any]]], kind: str) -> list[EvidenceFlag]:
    """The later photo of each pair carries the flag and names the earlier one.

    When `photo` is the later one it names the earliest match. When a match is later (it was
    processed before `photo` was, so it could not see it), the match gets the flag naming `photo`.
    """
    flags = []
    earlier = [(match, extra) for match, extra in matches if match.pk < photo.pk]
    if earlier:
        match, extra = earlier[0]
        flags.append(
            EvidenceFlag(
                submission_id=photo.submission_id, photo=photo, kind=kind, data=_describe(match, **extra)
            )
        )
    for match, extra in matches:
        if match.pk > photo.pk:
            flags.append(
                EvidenceFlag(
                    submission_id=match.submission_id, photo=match, kind=kind, data=_describe(photo, **extra)
                )
            )
    return flags


def photo_flags(*, photo: Photo) -> list[EvidenceFlag]:
    """Every flag a processed photo raises (and the flags it completes on later duplicates)."""
    submission = photo.submission
    task = submission.assignment.task
    unit = submission.assignment.unit
    flags: list[EvidenceFlag] = []

    def flag(kind: str, data: dict[str, Any]) -> None:
        flags.append(EvidenceFlag(submission_id=submission.pk, photo=photo, kind=kind, data=data))

    if not photo.has_exif:
        flag(Kind.NO_EXIF, {})
    if photo.taken_at is not None:
        if task.published_at is not None and photo.taken_at < task.published_at - CLOCK_TOLERANCE:
            flag(Kind.TAKEN_BEFORE_PUBLISHED, {"taken_at": photo.taken_at, "published_at": task.published_at})
        elif photo.taken_at > submission.created_at + CLOCK_TOLERANCE:
            flag(
                Kind.TAKEN_AFTER_SUBMITTED,
                {"taken_at": photo.taken_at, "submitted_at": submission.created_at},
            )
    if photo.has_gps and unit.latitude is not None and unit.longitude is not None:
        distance = distance_km(
            float(photo.latitude), float(photo.longitude), float(unit.latitude), float(unit.longitude)
        )
        if distance > settings.EVIDENCE_GPS_FAR_KM:
            flag(
                Kind.GPS_FAR,
                {
                    "distance_km": round(distance, 1),
                    "limit_km": settings.EVIDENCE_GPS_FAR_KM,
                    "unit_name": unit.name,
                },
            )
    exact: list[tuple[Photo, dict[str, Any]]] = [
        (match, {}) for match in selectors.exact_duplicates(photo=photo)
    ]
    flags += _pair_flags(photo, exact, Kind.DUPLICATE)
    near = [(match, {"distance": distance}) for match, distance in selectors.near_duplicates(photo=photo)]
    flags += _pair_flags(photo, near, Kind.NEAR_DUPLICATE)
    return flags


# Sweeping ---------------------------------------------------------------------------------------


def _unreferenced(folder: str, files: list[str]) -> list[str]:
    by_key: dict[str | None, list[str]] = defaultdict(list)
    for name in files:
        by_key[storage.key_of(name)].append(f"{folder}/{name}")
    keys = [key for key in by_key if key is not None]
    known: set[str] = set()
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        known.update(Photo.objects.filter(key__in=chunk).values_list("key", flat=True))
    return [path for key, paths in by_key.items() if key not in known for path in paths]


def _older_than(name: str, cutoff: datetime) -> bool:
    try:
        return default_storage.get_modified_time(name) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False


def uploads_sweep(*, now: datetime | None = None, days: int = SWEEP_DAYS) -> dict[str, int]:
    """Remove stored files no photo references, re-enqueue stuck photos, forget old idempotency keys.

    Only the day folders of the last `days` days are listed (a crashed upload leaves its files in
    the folder of the day it happened), so a run costs the same at a million photos as at ten. A
    file is removed only when it is older than STALE_AFTER: an upload still in flight has files but
    no committed row yet.
    """
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    removed = 0
    for back in range(days):
        day = timezone.localdate(now) - timedelta(days=back)
        for root in (storage.ORIGINALS, storage.DERIVED):
            folder = f"{root}/{storage.day_folder(day)}"
            try:
                _folders, files = default_storage.listdir(folder)
            except FileNotFoundError:
                continue
            for name in _unreferenced(folder, files):
                if _older_than(name, cutoff):
                    default_storage.delete(name)
                    removed += 1
                    logger.info("Removed orphaned upload %s", name)

    stuck = list(
        Photo.objects.filter(status=Photo.Status.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", "attempts")[:SWEEP_PHOTOS]
    )
    give_up = [pk for pk, attempts in stuck if attempts >= MAX_ATTEMPTS]
    retry = [pk for pk, attempts in stuck if attempts < MAX_ATTEMPTS]
    if give_up:
        Photo.objects.filter(pk__in=give_up, status=Photo.Status.PENDING).update(
            status=Photo.Status.FAILED,
            error=_("Processing did not finish after %(count)s attempts; upload the photo again.")
            % {"count": MAX_ATTEMPTS},
            processed_at=now,
        )
        logger.error("Gave up processing %d photo(s): %s", len(give_up), give_up)
    if retry:
        Photo.objects.filter(pk__in=retry).update(attempts=F("attempts") + 1)
        enqueue_processing(retry)
    expired = idempotency.prune(before=now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS))
    return {"removed_files": removed, "requeued": len(retry), "failed": len(give_up), "expired_keys": expired}
