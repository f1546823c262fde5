"""Shapes of the scoring API: strict input (every problem named at once), plain numeric output."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.serializers import StrictSerializer, display_field
from common.times import local_iso
from scoring.models import ParentRule, PeriodClosure, PeriodEvent, ScoringPolicy
from scoring.periods import Period
from scoring.policy import RATINGS, Rules


def _number(max_digits: int, places: int, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=max_digits, decimal_places=places, coerce_to_string=False, **kwargs
    )


def _share(help_text: Any) -> serializers.DecimalField:
    return _number(5, 4, min_value=0, max_value=1, required=False, help_text=help_text)


class RatingFactorsSerializer(StrictSerializer):
    """{"5": 1.0, "4": 0.9, "3": 0.8, "2": 0.6, "1": 0.4, "unrated": 1.0}: any of them."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {key: _number(4, 3, min_value=0, max_value=2, required=False) for key in RATINGS}


class PolicyInputSerializer(StrictSerializer):
    district = serializers.IntegerField(
        required=False, help_text=_("The district (default: the one you administer).")
    )
    effective_from = serializers.CharField(
        help_text=_("The first period it applies to: 2026-12, 2026-Q1 or 2026.")
    )
    rating_factors = RatingFactorsSerializer(required=False)
    late_decay_per_day = _share(_("Share of the task's points deducted per started day late."))
    late_floor = _share(
        _("A late completion never scores below this share of the points × the rating factor.")
    )
    missed_penalty = _share(_("Share of the points deducted for an assignment not completed in its period."))
    bonus_per_participant = _number(7, 4, min_value=0, max_value=100, required=False)
    bonus_participants_cap = _number(7, 2, min_value=0, max_value=10000, required=False)
    bonus_per_volunteer_hour = _number(7, 4, min_value=0, max_value=100, required=False)
    bonus_hours_cap = _number(7, 2, min_value=0, max_value=10000, required=False)
    parent_rule = serializers.ChoiceField(choices=ParentRule.choices, required=False)
    own_weight = _number(4, 3, min_value=0, max_value=1, required=False)
    children_weight = _number(4, 3, min_value=0, max_value=1, required=False)
    peer_ranking_visible = serializers.BooleanField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


def rules_data(rules: Rules) -> dict[str, Any]:
    data = rules.as_dict()
    data["parent_rule_display"] = str(ParentRule(rules.parent_rule).label)
    return data


class PolicyOutputSerializer(serializers.ModelSerializer):
    district_name = serializers.CharField(source="district.name", read_only=True)
    effective_from = serializers.SerializerMethodField()
    rules = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.__str__", read_only=True, default=None)
    created_at = serializers.SerializerMethodField()

    class Meta:
        model = ScoringPolicy
        fields = [
            "id",
            "district",
            "district_name",
            "version",
            "effective_from",
            "rules",
            "note",
            "created_by",
            "created_at",
        ]

    def get_effective_from(self, policy: ScoringPolicy) -> str:
        return f"{policy.effective_from:%Y-%m}"

    def get_rules(self, policy: ScoringPolicy) -> dict[str, Any]:
        return rules_data(Rules.of(policy))

    def get_created_at(self, policy: ScoringPolicy) -> str | None:
        return local_iso(policy.created_at)


class ClosingInputSerializer(StrictSerializer):
    district = serializers.IntegerField(
        required=False, help_text=_("The district (default: the one you administer).")
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


def closure_data(closure: PeriodClosure | None) -> dict[str, Any] | None:
    if closure is None:
        return None
    return {
        "period": Period(closure.kind, closure.start).key,
        "closed_by": str(closure.closed_by) if closure.closed_by else None,
        "closed_at": local_iso(closure.closed_at),
        "note": closure.note,
    }


class PeriodEventSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField()
    verb_display = display_field("verb")
    actor = serializers.CharField(source="actor.__str__", read_only=True, default=None)
    created_at = serializers.SerializerMethodField()

    class Meta:
        model = PeriodEvent
        fields = ["id", "district", "period", "verb", "verb_display", "actor", "note", "created_at"]

    def get_period(self, event: PeriodEvent) -> str:
        return Period(event.kind, event.start).key

    def get_created_at(self, event: PeriodEvent) -> str | None:
        return local_iso(event.created_at)


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    unit = serializers.IntegerField()
    unit_name = serializers.CharField()
    unit_code = serializers.CharField()
    score = _number(12, 2)
    own_points = _number(12, 2)
    children_points = _number(12, 2)
    assignments = serializers.IntegerField()
    approved = serializers.IntegerField()
    on_time = serializers.IntegerField()
    completion_rate = _number(5, 4)
    on_time_rate = _number(5, 4)
    previous_rank = serializers.IntegerField(allow_null=True, help_text=_("Place in the previous period."))
    previous_score = _number(12, 2, allow_null=True)
    rank_change = serializers.IntegerField(
        allow_null=True, help_text=_("Places gained since the previous period.")
    )
    score_change = _number(12, 2, allow_null=True)
