"""Practice tasks flowing down the tree: task → one assignment per unit → submissions, reviews, events."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import TreeForeignKey

from common.models import AppendOnlyModel, TimeStampedModel, latitude_field, longitude_field


class TaskCategory(TimeStampedModel):
    """理论宣讲, 志愿服务, ...: data a platform administrator extends (seeded by a data migration)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(
        _("name"), max_length=50, unique=True, help_text=_("Chinese name shown to users.")
    )
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("task category")
        verbose_name_plural = _("task categories")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class PracticeTask(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        CLOSED = "closed", _("closed")
        CANCELLED = "cancelled", _("cancelled")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        TaskCategory, verbose_name=_("category"), related_name="tasks", on_delete=models.PROTECT
    )
    issuer_unit = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("issuing unit"), related_name="issued_tasks", on_delete=models.PROTECT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        related_name="authored_tasks",
        on_delete=models.SET_NULL,
    )
    starts_at = models.DateTimeField(_("starts at"))
    due_at = models.DateTimeField(_("due at"))
    points = models.PositiveIntegerField(
        _("points"),
        default=10,
        validators=[MaxValueValidator(1000)],
        help_text=_("The task's weight in scoring."),
    )
    evidence_requirements = models.JSONField(_("evidence requirements"), default=dict, blank=True)
    targets = models.JSONField(
        _("targets"),
        default=list,
        blank=True,
        help_text=_(
            '[{"unit": id}] for a unit itself, [{"unit": id, "level": "community"}] for every unit of a level below it.'
        ),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("closed or cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("practice task")
        verbose_name_plural = _("practice tasks")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["issuer_unit", "status"], name="task_issuer_status"),
            models.Index(fields=["status", "due_at"], name="task_status_due"),
        ]

    def __str__(self) -> str:
        return self.title


def _attachment_path(instance: "TaskAttachment", filename: str) -> str:
    # The stored name is random (set by the service); never trust the uploaded name on disk.
    return f"task-attachments/{timezone.now():%Y/%m}/{filename}"


class TaskAttachment(models.Model):
    """The notice itself (PDF, DOCX, XLSX, images), downloaded through an authenticated endpoint."""

    task = models.ForeignKey(
        PracticeTask, verbose_name=_("task"), related_name="attachments", on_delete=models.CASCADE
    )
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=255)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("task attachment")
        verbose_name_plural = _("task attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class TaskEvent(AppendOnlyModel):
    """Immutable history of a task: created, edited (with the changes), published, cancelled, closed."""

    class Verb(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")
        PUBLISHED = "published", _("published")
        CANCELLED = "cancelled", _("cancelled")
        CLOSED = "closed", _("closed")
        ATTACHMENT_ADDED = "attachment_added", _("attachment added")
        ATTACHMENT_REMOVED = "attachment_removed", _("attachment removed")

    task = models.ForeignKey(
        PracticeTask, verbose_name=_("task"), related_name="events", on_delete=models.CASCADE
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    verb = models.CharField(_("event"), max_length=30, choices=Verb.choices)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.verb} @ {self.created_at:%Y-%m-%d %H:%M}"


class Assignment(TimeStampedModel):
    """One unit's share of a task. Delegated assignments point to the assignment they came from."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        RETURNED = "returned", _("returned")
        # Terminal states reached only when the whole task is cancelled or closed.
        CANCELLED = "cancelled", _("cancelled")
        CLOSED = "closed", _("closed")

    # Both foreign keys are served by the composite indexes below; a separate single-column index
    # each would only slow down the fan-out (100,000 rows per publish).
    task = models.ForeignKey(
        PracticeTask,
        verbose_name=_("task"),
        related_name="assignments",
        on_delete=models.CASCADE,
        db_index=False,
    )
    unit = TreeForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("unit"),
        related_name="assignments",
        on_delete=models.PROTECT,
        db_index=False,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("delegated from"),
        null=True,
        blank=True,
        related_name="children",
        on_delete=models.CASCADE,
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(_("due at"))
    version = models.PositiveIntegerField(_("version"), default=0)
    # When the outcome became final: approved, or ended with its task (cancelled / closed). Scoring
    # tells on time from late with it and the current report's time, without replaying events.
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    current_submission = models.ForeignKey(
        "Submission",
        verbose_name=_("latest submission"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        db_index=False,
    )

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["due_at", "id"]
        # (task, unit) is the fan-out's conflict target, the progress query's probe per unit and the
        # index behind `?task=`.
        constraints = [models.UniqueConstraint(fields=["task", "unit"], name="assignment_one_per_unit")]
        indexes = [
            # The inbox of one unit (optionally one status), ordered by due time.
            models.Index(fields=["unit", "status", "due_at"], name="assignment_unit_status_due"),
            # The inbox of a whole subtree: walk due time in order and keep the visible rows.
            models.Index(fields=["due_at", "id"], name="assignment_due"),
            # Reports waiting for review (the reminder scan), however large the table grows.
            models.Index(
                fields=["id"], condition=models.Q(status="submitted"), name="assignment_waiting_review"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.unit_id} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATUSES and self.due_at < timezone.now()


OPEN_STATUSES = (
    Assignment.Status.PENDING,
    Assignment.Status.ACCEPTED,
    Assignment.Status.SUBMITTED,
    Assignment.Status.RETURNED,
)
ENDED_STATUSES = (Assignment.Status.APPROVED, Assignment.Status.CANCELLED, Assignment.Status.CLOSED)


class Submission(models.Model):
    """A completion report (上报). Its review fields are filled once, by the review that judges it."""

    class Decision(models.TextChoices):
        APPROVE = "approve", _("approve")
        RETURN = "return", _("return")

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), related_name="submissions", on_delete=models.CASCADE
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    summary = models.TextField(_("summary"))
    held_at = models.DateTimeField(_("activity time"), null=True, blank=True)
    ended_at = models.DateTimeField(
        _("activity end time"),
        null=True,
        blank=True,
        help_text=_(
            "When the activity ended; with held_at it gives the length volunteer hours are checked against."
        ),
    )
    participants = models.PositiveIntegerField(_("participants"), null=True, blank=True)
    volunteers = models.PositiveIntegerField(_("volunteers"), null=True, blank=True)
    volunteer_hours = models.DecimalField(
        _("volunteer hours"), max_digits=9, decimal_places=1, null=True, blank=True
    )
    location_text = models.CharField(_("location"), max_length=255, blank=True)
    latitude = latitude_field()
    longitude = longitude_field()
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    # A street's report made before all its communities were approved names those still open:
    # [{"id", "name", "code", "status"}] as they stood when the report was made.
    missing_units = models.JSONField(_("delegated units still open"), default=list, blank=True)

    decision = models.CharField(_("review decision"), max_length=10, choices=Decision.choices, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.assignment_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class AssignmentEvent(AppendOnlyModel):
    """Immutable history of an assignment: who moved it from which state to which, when and why."""

    class Verb(models.TextChoices):
        ACCEPT = "accept", _("accepted")
        SUBMIT = "submit", _("submitted")
        APPROVE = "approve", _("approved")
        RETURN = "return", _("returned")
        DELEGATE = "delegate", _("delegated")
        URGE = "urge", _("urged")
        CANCEL = "cancel", _("cancelled with the task")
        CLOSE = "close", _("closed with the task")

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), related_name="events", on_delete=models.CASCADE
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    verb = models.CharField(_("event"), max_length=20, choices=Verb.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Assignment.Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Assignment.Status.choices)
    comment = models.TextField(_("comment"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("assignment event")
        verbose_name_plural = _("assignment events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["assignment", "created_at"], name="assignment_event_time")]

    def __str__(self) -> str:
        return (
            f"{self.assignment_id} {self.from_status} → {self.to_status} @ {self.created_at:%Y-%m-%d %H:%M}"
        )
