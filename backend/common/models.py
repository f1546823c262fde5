from typing import TYPE_CHECKING

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
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
