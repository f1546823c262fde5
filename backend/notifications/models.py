"""What people are told (in the app), what was pushed to them (email, SMS, group robots), and how.

Exactly-once is a uniqueness constraint, not a hope: a person gets at most one notification per
(kind, subject, occasion): the subject is the assignment or the report it is about, the occasion
the offset before the due time ("before:1440"), "due", "overdue", "escalation", the domain event
that caused it ("event:812") or the digest's date. Two scans at once, two beats or a worker that
dies mid-batch all meet the same constraint. Pushes have the same guard per channel and target.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import TreeForeignKey


class Kind(models.TextChoices):
    DUE_SOON = "due_soon", _("Due soon")
    DUE = "due", _("Due now")
    OVERDUE = "overdue", _("Overdue")
    ESCALATION = "escalation", _("Overdue below you")
    REVIEW_WAITING = "review_waiting", _("Report waiting for review")
    REVIEW_ESCALATION = "review_escalation", _("Review delayed below you")
    ASSIGNED = "assigned", _("New assignment")
    RETURNED = "returned", _("Report returned")
    APPROVED = "approved", _("Report approved")
    URGED = "urged", _("Urged")
    DIGEST = "digest", _("Daily digest")


class Channel(models.TextChoices):
    APP = "app", _("In the app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    ROBOT = "robot", _("Group robot")


# Channels a person chooses per kind (the app always shows everything; robots belong to a unit).
PERSONAL_CHANNELS = (Channel.EMAIL, Channel.SMS)

# What reaches a person by which push channel unless they choose otherwise: deadlines and returned
# reports are worth an SMS, the digest is an email.
DEADLINE_KINDS = (Kind.DUE_SOON, Kind.DUE, Kind.OVERDUE, Kind.ESCALATION, Kind.RETURNED)
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: (*DEADLINE_KINDS, Kind.REVIEW_WAITING, Kind.REVIEW_ESCALATION, Kind.DIGEST),
    Channel.SMS: DEADLINE_KINDS,
}
# What a new group robot posts unless its administrators choose otherwise.
DEFAULT_ROBOT_KINDS = [*DEADLINE_KINDS, Kind.URGED]


class Notification(models.Model):
    """One thing one person is told, in the app (the bell); pushes of it are Delivery rows."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        related_name="notifications",
        on_delete=models.CASCADE,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # "assignment:12", "report:34" or "digest": what the (kind, occasion) is about.
    subject = models.CharField(_("subject"), max_length=40)
    occasion = models.CharField(_("occasion"), max_length=40)
    task = models.ForeignKey(
        "tasks.PracticeTask",
        verbose_name=_("task"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
        db_index=False,
    )
    assignment = models.ForeignKey(
        "tasks.Assignment",
        verbose_name=_("assignment"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
        db_index=False,
    )
    unit = TreeForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
        db_index=False,
    )
    # What the text is made of, as it stood when the notification was made (task title, unit names,
    # due time, comment, who urged, the digest's counts): the text never changes afterwards.
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "occasion"], name="notification_once"
            )
        ]
        indexes = [
            # The bell: one person's newest first, and their unread count.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["assignment"], name="notification_assignment"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.occasion} → {self.recipient_id}"


class Robot(models.Model):
    """A unit's group robot: a WeCom, DingTalk or Feishu/Lark group webhook."""

    class Platform(models.TextChoices):
        WECOM = "wecom", _("WeCom (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk (钉钉)")
        FEISHU = "feishu", _("Feishu / Lark (飞书)")

    unit = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("unit"), related_name="robots", on_delete=models.CASCADE
    )
    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    webhook_url = models.URLField(_("webhook URL"), max_length=500)
    # The signing secret DingTalk ("加签") and Feishu/Lark ("签名校验") robots may require.
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    # A JSON list of kinds (not an ArrayField: the schema stays plain, the SQL reads it with `?`).
    kinds = models.JSONField(_("kinds posted"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        ordering = ["unit_id", "id"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One push of a notification through one channel to one person or one robot, and its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        HELD = "held", _("held for quiet hours")
        SENDING = "sending", _("sending")
        RETRYING = "retrying", _("failed, will retry")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
    )
    robot = models.ForeignKey(
        Robot,
        verbose_name=_("robot"),
        null=True,
        blank=True,
        related_name="deliveries",
        on_delete=models.CASCADE,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=40)
    occasion = models.CharField(_("occasion"), max_length=40)
    # The unit whose people or group were addressed: administrators see the deliveries of their subtree.
    unit = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("unit"), related_name="+", on_delete=models.CASCADE, db_index=False
    )
    task = models.ForeignKey(
        "tasks.PracticeTask",
        verbose_name=_("task"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
        db_index=False,
    )
    assignment = models.ForeignKey(
        "tasks.Assignment",
        verbose_name=_("assignment"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
        db_index=False,
    )
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "recipient", "kind", "subject", "occasion"],
                condition=Q(recipient__isnull=False),
                name="delivery_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["robot", "kind", "subject", "occasion"],
                condition=Q(robot__isnull=False),
                name="delivery_once_per_robot",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=True) ^ Q(robot__isnull=True), name="delivery_one_target"
            ),
        ]
        indexes = [
            # What the sender takes next: only the few rows still to send.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status__in=["pending", "held", "retrying"]),
                name="delivery_due",
            ),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="delivery_sending"),
            models.Index(fields=["unit", "-created_at"], name="delivery_unit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} {self.subject} {self.occasion} ({self.status})"


class ChannelPreference(models.Model):
    """A person's choice for one kind and one push channel; without a row, DEFAULT_CHANNELS decides."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        related_name="notification_preferences",
        on_delete=models.CASCADE,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind", "channel"], name="preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel}={self.enabled}"


class ReminderPlan(models.Model):
    """A task's own reminder offsets before its due time, instead of the deployment's."""

    task = models.OneToOneField(
        "tasks.PracticeTask", verbose_name=_("task"), related_name="reminder_plan", on_delete=models.CASCADE
    )
    # Minutes before the due time; empty: no reminder before the due time for this task.
    offsets = models.JSONField(_("minutes before the due time"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("reminder plan")
        verbose_name_plural = _("reminder plans")

    def __str__(self) -> str:
        return f"{self.task_id}: {self.offsets}"
