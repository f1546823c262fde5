from typing import TYPE_CHECKING

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # django-stubs-ext is a dev dependency: the name is only needed by mypy
    from django_stubs_ext import StrOrPromise


class AppendOnlyModel(models.Model):
    """Audit rows are written once and never changed or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are immutable.")


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


def latitude_field(verbose_name: "StrOrPromise | None" = None) -> models.DecimalField:
    """WGS-84 latitude in degrees, optional: units, reports and photos all record positions this way."""
    return models.DecimalField(
        verbose_name or _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )


def longitude_field(verbose_name: "StrOrPromise | None" = None) -> models.DecimalField:
    return models.DecimalField(
        verbose_name or _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )


class DomainEvent(models.Model):
    """The outbox: one row per state change, written in the changing transaction (common.events).

    Rows are read by id after commit and handed to the subscribers of their name; `dispatched_at`
    says they were. The ids are plain numbers, not foreign keys: an announcement outlives what it
    talks about and never blocks a delete.
    """

    name = models.CharField(_("event"), max_length=60)
    task_id = models.BigIntegerField(_("task"), null=True, blank=True)
    assignment_id = models.BigIntegerField(_("assignment"), null=True, blank=True)
    unit_id = models.BigIntegerField(_("unit"), null=True, blank=True)
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("dispatch attempts"), default=0)
    error = models.TextField(_("last dispatch error"), blank=True)

    class Meta:
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        ordering = ["id"]
        indexes = [
            # What is still to be dispatched, oldest first, stays small whatever the history.
            models.Index(fields=["id"], condition=models.Q(dispatched_at__isnull=True), name="event_pending"),
            models.Index(fields=["task_id", "id"], name="event_task"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class IdempotentRequest(models.Model):
    """The stored outcome of a write sent with an `Idempotency-Key` (common.idempotency)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), related_name="+", on_delete=models.CASCADE
    )
    key = models.CharField(_("idempotency key"), max_length=100)
    endpoint = models.CharField(_("endpoint"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    # What the write returned the first time (e.g. {"submission": 12}), replayed on a retry.
    response = models.JSONField(_("outcome"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
