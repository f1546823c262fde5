"""Assessment (考核): policies, a score line per assignment, period scores and work figures per unit.

Score lines, period scores and monthly figures are derived data: `scoring.compute` writes them from
the assignments, their reports and the tree, set-based, and can rebuild them at any time. Their
references to units, tasks and districts carry no database constraint (bulk rewrites of a million
rows would otherwise check five foreign keys per row); the source tables hold the constraints.
Closing a period (`PeriodClosure`) freezes the rows inside it.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import TreeForeignKey

from common.models import AppendOnlyModel


class ParentRule(models.TextChoices):
    OWN_PLUS_MEAN = "own_plus_mean", _("own points + mean of the units below")
    OWN_PLUS_SUM = "own_plus_sum", _("own points + sum of the units below")
    CHILDREN_MEAN = "children_mean", _("mean of the units below only")
    WEIGHTED = "weighted", _("weighted mix of own points and the mean below")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")


def _derived_fk(to: str, verbose_name: Any, **extra: Any) -> Any:
    """A reference inside derived rows: joinable by the ORM, no constraint, indexed by the model."""
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        related_name="+",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        **extra,
    )


class ScoringPolicy(models.Model):
    """One version of a district's scoring rules, in force from `effective_from` (a month's first day)
    until a later version takes over. Versions are never edited: a change is a new version."""

    district = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("district"), related_name="scoring_policies", on_delete=models.PROTECT
    )
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("in force from"))
    rating_5 = models.DecimalField(_("factor for 5 stars"), max_digits=4, decimal_places=3)
    rating_4 = models.DecimalField(_("factor for 4 stars"), max_digits=4, decimal_places=3)
    rating_3 = models.DecimalField(_("factor for 3 stars"), max_digits=4, decimal_places=3)
    rating_2 = models.DecimalField(_("factor for 2 stars"), max_digits=4, decimal_places=3)
    rating_1 = models.DecimalField(_("factor for 1 star"), max_digits=4, decimal_places=3)
    rating_none = models.DecimalField(_("factor without a rating"), max_digits=4, decimal_places=3)
    late_decay_per_day = models.DecimalField(
        _("deduction per started day late (share of the points)"), max_digits=5, decimal_places=4
    )
    late_floor = models.DecimalField(
        _("floor of a late completion (share of the points)"), max_digits=5, decimal_places=4
    )
    missed_penalty = models.DecimalField(
        _("penalty for not completing (share of the points)"), max_digits=5, decimal_places=4
    )
    bonus_per_participant = models.DecimalField(
        _("bonus per participant"), max_digits=7, decimal_places=4, default=0
    )
    bonus_participants_cap = models.DecimalField(
        _("cap of the participant bonus"), max_digits=7, decimal_places=2, default=0
    )
    bonus_per_volunteer_hour = models.DecimalField(
        _("bonus per volunteer hour"), max_digits=7, decimal_places=4, default=0
    )
    bonus_hours_cap = models.DecimalField(
        _("cap of the volunteer-hour bonus"), max_digits=7, decimal_places=2, default=0
    )
    parent_rule = models.CharField(_("parent rule"), max_length=20, choices=ParentRule.choices)
    own_weight = models.DecimalField(_("weight of own points"), max_digits=4, decimal_places=3, default=0)
    children_weight = models.DecimalField(
        _("weight of the mean below"), max_digits=4, decimal_places=3, default=0
    )
    peer_ranking_visible = models.BooleanField(
        _("units see their place among their peers"),
        default=False,
        help_text=_("A street sees the ranking of the streets, a community that of its peers."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("scoring policy")
        verbose_name_plural = _("scoring policies")
        ordering = ["district_id", "-effective_from", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["district", "version"], name="scoring_policy_version"),
        ]
        indexes = [models.Index(fields=["district", "effective_from"], name="scoring_policy_from")]

    def __str__(self) -> str:
        return f"{self.district_id} v{self.version} ({self.effective_from:%Y-%m})"


class ScoreLine(models.Model):
    """The scoring view of one assignment: its period (the month of its due time), its state and
    points, and every figure its reason is written from (scoring.explain)."""

    class State(models.TextChoices):
        OPEN = "open", _("in progress")
        ON_TIME = "on_time", _("completed on time")
        LATE = "late", _("completed late")
        MISSED = "missed", _("not completed in its period")
        CLOSED = "closed", _("not completed when the task ended")

    # No constraint either: a recompute rewrites a million lines, and a deferred key check per row
    # would run at commit. A line whose assignment is gone is removed by the next refresh.
    assignment = models.OneToOneField(
        "tasks.Assignment",
        verbose_name=_("assignment"),
        primary_key=True,
        related_name="score_line",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    unit = _derived_fk("orgs.OrgUnit", _("unit"))
    task = _derived_fk("tasks.PracticeTask", _("task"))
    district = _derived_fk("orgs.OrgUnit", _("district"))
    policy = _derived_fk("scoring.ScoringPolicy", _("policy version"), null=True)
    month = models.DateField(_("month"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    points = models.DecimalField(_("points"), max_digits=10, decimal_places=2)
    task_points = models.PositiveIntegerField(_("task points"))
    rating = models.PositiveSmallIntegerField(_("rating"), null=True)
    factor = models.DecimalField(_("rating factor"), max_digits=4, decimal_places=3, null=True)
    days_late = models.PositiveIntegerField(_("days late"), default=0)
    deduction = models.DecimalField(_("deduction for lateness"), max_digits=10, decimal_places=2, default=0)
    floor_applied = models.BooleanField(_("floor applied"), default=False)
    bonus_participants = models.DecimalField(
        _("participant bonus"), max_digits=10, decimal_places=2, default=0
    )
    bonus_hours = models.DecimalField(_("volunteer-hour bonus"), max_digits=10, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("score line")
        verbose_name_plural = _("score lines")
        indexes = [
            models.Index(fields=["unit", "month"], name="scoreline_unit_month"),
            models.Index(fields=["task"], name="scoreline_task"),
            models.Index(fields=["district", "month"], name="scoreline_district_month"),
            # The hourly job finds assignments whose month ended while they were open.
            models.Index(fields=["month"], name="scoreline_open_month", condition=models.Q(state="open")),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}: {self.state} {self.points}"


class PeriodScore(models.Model):
    """A unit's score for a month, quarter or year, with its rates: the counts cover its whole
    subtree. Units without any assignment in the period have no row (they are not assessed).
    `parent_id` and `district` are the tree as it stood when the row was computed."""

    unit = _derived_fk("orgs.OrgUnit", _("unit"))
    kind = models.CharField(_("period kind"), max_length=7, choices=PeriodKind.choices)
    start = models.DateField(_("period start"))
    level = models.PositiveSmallIntegerField(_("level"))
    parent_id = models.BigIntegerField(_("parent unit"), null=True)
    district = _derived_fk("orgs.OrgUnit", _("district"))
    policy = _derived_fk("scoring.ScoringPolicy", _("policy version"), null=True)
    own_points = models.DecimalField(_("own points"), max_digits=12, decimal_places=2)
    children_points = models.DecimalField(_("points from the units below"), max_digits=12, decimal_places=2)
    children_count = models.PositiveIntegerField(_("units below assessed"))
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=2)
    assignments = models.PositiveIntegerField(_("assignments"))
    approved = models.PositiveIntegerField(_("approved"))
    on_time = models.PositiveIntegerField(_("approved on time"))
    completion_rate = models.DecimalField(_("completion rate"), max_digits=5, decimal_places=4)
    on_time_rate = models.DecimalField(_("on-time rate"), max_digits=5, decimal_places=4)

    class Meta:
        verbose_name = _("period score")
        verbose_name_plural = _("period scores")
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind", "start"], name="periodscore_one_per_unit"),
        ]
        indexes = [
            # Rankings: the units of one level under a district, or under a parent, best first.
            # unit_id included: the previous period's places are read from the index alone.
            models.Index(
                fields=["kind", "start", "district", "level", "-score", "-on_time_rate"],
                name="periodscore_district_rank",
                include=["unit"],
            ),
            models.Index(
                fields=["kind", "start", "parent_id", "level", "-score", "-on_time_rate"],
                name="periodscore_parent_rank",
                include=["unit"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.kind} {self.start}: {self.score}"


class MonthlyStats(models.Model):
    """Work figures of a unit's whole subtree for one month and category: approved reports (not
    counting a report that passes on its delegated units' work), people served, volunteers, hours."""

    unit = _derived_fk("orgs.OrgUnit", _("unit"))
    month = models.DateField(_("month"))
    category = _derived_fk("tasks.TaskCategory", _("category"))
    parent_id = models.BigIntegerField(_("parent unit"), null=True)
    district = _derived_fk("orgs.OrgUnit", _("district"))
    activities = models.PositiveIntegerField(_("activities"))
    participants = models.PositiveBigIntegerField(_("participants"))
    volunteers = models.PositiveBigIntegerField(_("volunteers"))
    volunteer_hours = models.DecimalField(_("volunteer hours"), max_digits=14, decimal_places=1)

    class Meta:
        verbose_name = _("monthly work figures")
        verbose_name_plural = _("monthly work figures")
        constraints = [
            models.UniqueConstraint(fields=["unit", "month", "category"], name="monthlystats_one_per_unit"),
        ]
        indexes = [models.Index(fields=["parent_id", "month"], name="monthlystats_parent_month")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m} {self.category_id}: {self.activities}"


class PeriodClosure(models.Model):
    """A closed period of a district: its scores, and the score lines inside it, no longer change."""

    district = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("district"), related_name="+", on_delete=models.PROTECT
    )
    kind = models.CharField(_("period kind"), max_length=7, choices=PeriodKind.choices)
    start = models.DateField(_("period start"))
    stop = models.DateField(_("period end (exclusive)"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closed period")
        verbose_name_plural = _("closed periods")
        constraints = [
            models.UniqueConstraint(fields=["district", "kind", "start"], name="periodclosure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} {self.kind} {self.start}"


class PeriodEvent(AppendOnlyModel):
    """The record of closing and reopening periods: who, when, why."""

    class Verb(models.TextChoices):
        CLOSED = "closed", _("closed")
        REOPENED = "reopened", _("reopened")

    district = TreeForeignKey(
        "orgs.OrgUnit", verbose_name=_("district"), related_name="+", on_delete=models.PROTECT
    )
    kind = models.CharField(_("period kind"), max_length=7, choices=PeriodKind.choices)
    start = models.DateField(_("period start"))
    verb = models.CharField(_("event"), max_length=10, choices=Verb.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("period event")
        verbose_name_plural = _("period events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["district", "start"], name="periodevent_district")]

    def __str__(self) -> str:
        return f"{self.district_id} {self.kind} {self.start} {self.verb}"
