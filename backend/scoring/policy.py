"""The scoring rules: the default policy, a district's versions, and what makes a version valid.

The default (issue 11, so anyone can check a score by hand):

- an assignment belongs to the month (Asia/Shanghai) containing its due time;
- approved and reported by the due time: the task's points × the rating factor
  (5 stars 1.0, 4 → 0.9, 3 → 0.8, 2 → 0.6, 1 → 0.4, no rating 1.0);
- approved but reported late: the same, minus 10 % of the points per started day late, never below
  30 % of the points × the rating factor;
- not approved when its month has ended, or still open when its task was closed: 0;
- a unit's period score: its own points + the mean of the scores of the units below it that were
  assessed in the period (had at least one assignment in their subtree).
"""

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from scoring.models import ParentRule, ScoringPolicy

RATINGS = ("5", "4", "3", "2", "1", "unrated")
RATING_COLUMNS = {"5": "rating_5", "4": "rating_4", "3": "rating_3", "2": "rating_2", "1": "rating_1"}
RATING_COLUMNS["unrated"] = "rating_none"


@dataclass(frozen=True)
class Rules:
    """The numbers of one policy version (or of the default)."""

    rating_5: Decimal = Decimal("1.000")
    rating_4: Decimal = Decimal("0.900")
    rating_3: Decimal = Decimal("0.800")
    rating_2: Decimal = Decimal("0.600")
    rating_1: Decimal = Decimal("0.400")
    rating_none: Decimal = Decimal("1.000")
    late_decay_per_day: Decimal = Decimal("0.1000")
    late_floor: Decimal = Decimal("0.3000")
    missed_penalty: Decimal = Decimal("0.0000")
    bonus_per_participant: Decimal = Decimal("0.0000")
    bonus_participants_cap: Decimal = Decimal("0.00")
    bonus_per_volunteer_hour: Decimal = Decimal("0.0000")
    bonus_hours_cap: Decimal = Decimal("0.00")
    parent_rule: str = ParentRule.OWN_PLUS_MEAN
    own_weight: Decimal = Decimal("0.000")
    children_weight: Decimal = Decimal("0.000")
    peer_ranking_visible: bool = False

    @classmethod
    def of(cls, policy: ScoringPolicy | None) -> "Rules":
        if policy is None:
            return DEFAULT
        return cls(**{field.name: getattr(policy, field.name) for field in fields(cls)})

    def factor(self, rating: int | None) -> Decimal:
        return getattr(self, RATING_COLUMNS.get(str(rating), "rating_none"))

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["rating_factors"] = {key: values.pop(column) for key, column in RATING_COLUMNS.items()}
        return values


DEFAULT = Rules()
NUMBER_FIELDS = [
    field.name for field in fields(Rules) if field.name not in ("parent_rule", "peer_ranking_visible")
]


def policy_in_force(district_id: int, month: date) -> ScoringPolicy | None:
    """The district's version in force in `month` (None: the default)."""
    return (
        ScoringPolicy.objects.filter(district_id=district_id, effective_from__lte=month)
        .order_by("-effective_from", "-version")
        .first()
    )


def rules_with(base: Rules, changes: dict[str, Any]) -> Rules:
    """`base` with the values a client sent (`rating_factors` as {"5": 1.0, ..., "unrated": 1.0})."""
    values = dict(changes)
    for key, value in (values.pop("rating_factors", None) or {}).items():
        values[RATING_COLUMNS[key]] = value
    known = {field.name for field in fields(Rules)}
    return replace(base, **{name: value for name, value in values.items() if name in known})


def rules_errors(rules: Rules) -> dict[str, list[str]]:
    """What makes a set of numbers unusable together (each field's own range is checked on input)."""
    errors: dict[str, list[str]] = {}
    pairs = [
        ("bonus_per_participant", "bonus_participants_cap"),
        ("bonus_per_volunteer_hour", "bonus_hours_cap"),
    ]
    for rate, cap in pairs:
        if getattr(rules, rate) > 0 and getattr(rules, cap) <= 0:
            errors[cap] = [_("A bonus needs a cap: give the most points it may add to one assignment.")]
    if rules.parent_rule == ParentRule.WEIGHTED:
        if rules.own_weight + rules.children_weight <= 0:
            errors["own_weight"] = [
                _("The weighted mix needs a weight above zero for own points or the units below.")
            ]
    elif rules.own_weight or rules.children_weight:
        field = "own_weight" if rules.own_weight else "children_weight"
        errors[field] = [
            _("Weights apply only to the weighted mix (parent_rule “weighted”); leave them at 0.")
        ]
    return errors
