"""Why a line or a score is what it is, in the reader's language: "按时完成 +10，评分 4 星 ×0.9".

Lines store the figures (task points, rating factor, days late, deduction, bonuses), never the
text, so the same line reads in Chinese or English.
"""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from scoring.models import ParentRule, PeriodScore, ScoreLine

MINUS = "\u2212"  # the minus sign officials' documents print, not a hyphen
State = ScoreLine.State


def number(value: Decimal | int | float) -> str:
    """10.00 → 10, 9.50 → 9.5, -2 → −2."""
    text = f"{Decimal(value).normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", MINUS)


def signed(value: Decimal | int) -> str:
    return number(value) if Decimal(value) <= 0 else f"+{number(value)}"


def line_parts(line: ScoreLine) -> list[str]:
    state = line.state
    if state == State.OPEN:
        return [_("In progress")]
    if state == State.MISSED:
        return [_("Not completed in its period %(points)s") % {"points": number(line.points)}]
    if state == State.CLOSED:
        return [_("Still open when the task ended %(points)s") % {"points": number(line.points)}]
    points = number(line.task_points)
    parts = [
        _("On time +%(points)s") % {"points": points}
        if state == State.ON_TIME
        else _("Completed +%(points)s") % {"points": points}
    ]
    factor = line.factor if line.factor is not None else Decimal(1)
    if line.rating:
        parts.append(
            _("Rated %(stars)s stars ×%(factor)s") % {"stars": line.rating, "factor": number(factor)}
        )
    elif factor != 1:
        parts.append(_("Not rated ×%(factor)s") % {"factor": number(factor)})
    if state == State.LATE:
        values = {"days": line.days_late, "deduction": number(line.deduction)}
        if line.floor_applied:
            parts.append(
                ngettext(
                    "%(days)s day late −%(deduction)s (floor reached)",
                    "%(days)s days late −%(deduction)s (floor reached)",
                    line.days_late,
                )
                % values
            )
        else:
            parts.append(
                ngettext(
                    "%(days)s day late −%(deduction)s", "%(days)s days late −%(deduction)s", line.days_late
                )
                % values
            )
    if line.bonus_participants:
        parts.append(_("People served bonus +%(bonus)s") % {"bonus": number(line.bonus_participants)})
    if line.bonus_hours:
        parts.append(_("Volunteer hours bonus +%(bonus)s") % {"bonus": number(line.bonus_hours)})
    return parts


def line_reason(line: ScoreLine) -> str:
    # Clauses of a sentence take a full-width comma; a list of names (web/presenters) takes 、.
    return pgettext("clauses", ", ").join(line_parts(line))


def score_reason(score: PeriodScore | None, parent_rule: str, weights: tuple[Decimal, Decimal]) -> str:
    """How the period score adds up from the unit's own points and the units below it."""
    if score is None:
        return _("No assignments in this period")
    values = {
        "own": number(score.own_points),
        "children": number(score.children_points),
        "count": score.children_count,
        "score": number(score.score),
        "own_weight": number(weights[0]),
        "children_weight": number(weights[1]),
    }
    if not score.children_count:
        return _("Own points %(own)s") % values
    if parent_rule == ParentRule.OWN_PLUS_SUM:
        return _("Own %(own)s + sum of %(count)s units below %(children)s = %(score)s") % values
    if parent_rule == ParentRule.CHILDREN_MEAN:
        return _("Mean of %(count)s units below %(children)s = %(score)s") % values
    if parent_rule == ParentRule.WEIGHTED:
        return (
            _(
                "Own %(own)s × %(own_weight)s + mean of %(count)s units below %(children)s × %(children_weight)s = %(score)s"
            )
            % values
        )
    return _("Own %(own)s + mean of %(count)s units below %(children)s = %(score)s") % values
