"""Evidence photos of completion reports and the authenticity flags raised on them."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import latitude_field, longitude_field
from evidence.derivatives import HASH_BANDS

BAND_FIELDS = tuple(f"band{index}" for index in range(HASH_BANDS))


def _band_indexes() -> list[models.Index]:
    # One index per band; the included columns let PostgreSQL answer a duplicate probe from the
    # index alone (no heap visit for the thousands of same-band rows that are not near). See
    # evidence.selectors.near_duplicates and docs/benchmarks.md ("Evidence photos").
    return [
        models.Index(fields=["tree_id", band], include=["phash", "id"], name=f"photo_tree_{band}")
        for band in BAND_FIELDS
    ]


class Photo(models.Model):
    """One uploaded photo of a submission: the original (private), two stripped JPEG copies, metadata."""

    class Status(models.TextChoices):
        PENDING = "pending", _("processing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    submission = models.ForeignKey(
        "tasks.Submission",
        verbose_name=_("submission"),
        related_name="photos",
        on_delete=models.CASCADE,
        db_index=False,  # served by the (submission, position) constraint
    )
    position = models.PositiveSmallIntegerField(_("position"))
    # Random key the three stored files are named after (evidence.storage); the orphan sweep maps a
    # stored file back to its row through it.
    key = models.CharField(_("storage key"), max_length=32, unique=True)
    original = models.FileField(_("original"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    preview = models.FileField(_("preview"), max_length=255, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    format = models.CharField(_("format"), max_length=10)
    mime_type = models.CharField(_("content type"), max_length=40)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    taken_at = models.DateTimeField(_("taken at (EXIF)"), null=True, blank=True)
    # The position stays in the database for the reviewer's flags; served copies never carry it.
    latitude = latitude_field(_("latitude (EXIF)"))
    longitude = longitude_field(_("longitude (EXIF)"))
    has_exif = models.BooleanField(_("has EXIF"), default=False)
    phash = models.BigIntegerField(_("perceptual hash"), null=True, blank=True)
    band0 = models.SmallIntegerField(null=True, blank=True)
    band1 = models.SmallIntegerField(null=True, blank=True)
    band2 = models.SmallIntegerField(null=True, blank=True)
    band3 = models.SmallIntegerField(null=True, blank=True)
    band4 = models.SmallIntegerField(null=True, blank=True)
    band5 = models.SmallIntegerField(null=True, blank=True)
    band6 = models.SmallIntegerField(null=True, blank=True)
    band7 = models.SmallIntegerField(null=True, blank=True)
    # The district's tree, copied from the unit at upload: duplicates are looked for within it.
    tree_id = models.PositiveIntegerField(_("tree"), db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(_("processing error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "position"], name="photo_position_once"),
        ]
        indexes = [
            models.Index(fields=["tree_id", "sha256"], name="photo_tree_sha256"),
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="photo_pending"),
            *_band_indexes(),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.submission_id}/{self.position})"

    @property
    def has_gps(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class EvidenceFlag(models.Model):
    """A hint for the reviewer, never a rejection. The explanation is rendered from `kind` + `data`
    when read (evidence.flags), so it follows the reader's language and access."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", _("same photo submitted before")
        NEAR_DUPLICATE = "near_duplicate", _("nearly identical photo submitted before")
        TAKEN_BEFORE_PUBLISHED = "taken_before_published", _("taken before the task was published")
        TAKEN_AFTER_SUBMITTED = "taken_after_submitted", _("taken after the report was submitted")
        GPS_FAR = "gps_far", _("taken far from the unit")
        NO_EXIF = "no_exif", _("no EXIF data")
        HELD_OUTSIDE_WINDOW = "held_outside_window", _("activity outside the task's window")
        VOLUNTEER_HOURS = "volunteer_hours", _("volunteer hours do not fit the activity")

    submission = models.ForeignKey(
        "tasks.Submission", verbose_name=_("submission"), related_name="flags", on_delete=models.CASCADE
    )
    photo = models.ForeignKey(
        Photo,
        verbose_name=_("photo"),
        null=True,
        blank=True,
        related_name="flags",
        on_delete=models.CASCADE,
        db_index=False,  # served by the (photo, kind) constraint
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence flag")
        verbose_name_plural = _("evidence flags")
        ordering = ["id"]
        # A job that runs twice cannot raise the same flag twice.
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "kind"], condition=Q(photo__isnull=False), name="flag_once_per_photo"
            ),
            models.UniqueConstraint(
                fields=["submission", "kind"],
                condition=Q(photo__isnull=True),
                name="flag_once_per_submission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.submission_id}/{self.photo_id or '-'}"
