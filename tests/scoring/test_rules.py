"""Each rule of the default policy, the parent rules, and where periods begin and end (Asia/Shanghai)."""

from datetime import date
from decimal import Decimal

import pytest

from scoring import jobs, services
from scoring.explain import line_reason
from scoring.models import ParentRule, PeriodScore, ScoreLine
from scoring.periods import Period, parse_period
from tasks import services as task_services
from tests.factories import platform_admin
from tests.scoring.helpers import approve, at, complete, deliver, publish, report
from tests.tasks.helpers import assignment_of

pytestmark = [pytest.mark.django_db]


def _line(task, unit) -> ScoreLine:
    return ScoreLine.objects.get(assignment=assignment_of(task, unit))


def _score(unit, period: str) -> PeriodScore:
    with at("2026-12-01 00:00"):
        chosen = parse_period(period)
    return PeriodScore.objects.get(unit=unit, kind=chosen.kind, start=chosen.start)


def test_every_rating_factor_and_on_time_by_the_second(world, people):
    officer = people["district_officer"]
    units = [world["C1"], world["C2"], world["C3"]]
    task = publish(officer, world["A"], units, when="2026-03-01 09:00", due="2026-03-20 18:00")
    complete(task, world["C1"], officer, submitted="2026-03-20 18:00", approved="2026-03-21 09:00", rating=3)
    complete(task, world["C2"], officer, submitted="2026-03-19 09:00", approved="2026-03-21 09:00", rating=1)
    complete(task, world["C3"], officer, submitted="2026-03-19 09:00", approved="2026-03-21 09:00", rating=2)
    assert [(_line(task, unit).state, _line(task, unit).points) for unit in units] == [
        ("on_time", Decimal("8.00")),  # exactly at the due time is on time
        ("on_time", Decimal("4.00")),
        ("on_time", Decimal("6.00")),
    ]
    assert line_reason(_line(task, world["C1"])) == "按时完成 +10，评分 3 星 ×0.8"


def test_late_loses_a_tenth_per_started_day_but_never_goes_below_the_floor(world, people):
    officer = people["district_officer"]
    task = publish(
        officer, world["A"], [world["C1"], world["C2"]], when="2026-03-01 09:00", due="2026-03-10 18:00"
    )
    complete(task, world["C1"], officer, submitted="2026-03-10 18:01", approved="2026-03-11 09:00", rating=5)
    complete(task, world["C2"], officer, submitted="2026-03-18 19:00", approved="2026-03-19 09:00", rating=4)
    one_minute = _line(task, world["C1"])
    assert (one_minute.days_late, one_minute.points) == (1, Decimal("9.00"))
    floor = _line(task, world["C2"])
    # 9 days late: 10 × 0.9 − 9 = 0 would be below 30 % × 10 × 0.9 = 2.7
    assert (floor.days_late, floor.points, floor.floor_applied) == (9, Decimal("2.70"), True)
    assert line_reason(floor) == "完成任务 +10，评分 4 星 ×0.9，逾期 9 天 −6.3（已到保底分）"


def test_months_are_cut_at_midnight_in_shanghai(world, people):
    officer = people["district_officer"]
    late_march = publish(officer, world["A"], [world["C1"]], when="2026-03-01 09:00", due="2026-03-31 23:30")
    early_april = publish(officer, world["A"], [world["C1"]], when="2026-03-01 09:00", due="2026-04-01 00:30")
    assert _line(late_march, world["C1"]).month == date(2026, 3, 1)
    assert _line(early_april, world["C1"]).month == date(2026, 4, 1)  # 2026-03-31 16:30 UTC
    assert (_score(world["C1"], "2026-03").assignments, _score(world["C1"], "2026-04").assignments) == (1, 1)
    assert _score(world["C1"], "2026-Q1").assignments == 1
    assert _score(world["C1"], "2026").assignments == 2


def test_an_open_assignment_counts_as_not_completed_once_its_month_has_ended(world, people):
    officer = people["district_officer"]
    task = publish(officer, world["A"], [world["C1"]], when="2026-03-01 09:00", due="2026-03-20 18:00")
    with at("2026-03-31 23:59"):
        jobs.settle_ended_months()
    assert _line(task, world["C1"]).state == "open"
    with at("2026-04-01 00:05"):
        jobs.settle_ended_months()
    line = _line(task, world["C1"])
    assert (line.state, line.points, line_reason(line)) == ("missed", Decimal("0.00"), "到期未完成 0")
    score = _score(world["C1"], "2026-03")
    assert (score.assignments, score.approved, score.completion_rate) == (1, 0, Decimal("0.0000"))


def test_a_late_review_changes_the_past_month(world, people):
    officer = people["district_officer"]
    task = publish(
        officer, world["A"], [world["C1"], world["C2"]], when="2026-03-01 09:00", due="2026-03-20 18:00"
    )
    report(task, world["C1"], when="2026-03-19 09:00")
    with at("2026-04-01 00:05"):
        jobs.settle_ended_months()
    assert _score(world["S1"], "2026-03").score == Decimal("0.00")
    approve(task, world["C1"], officer, when="2026-04-09 10:00", rating=5)
    assert _line(task, world["C1"]).state == "on_time"  # reported by the due time, judged later
    assert _score(world["S1"], "2026-03").score == Decimal("5.00")  # mean of C1 10 and C2 0


def test_closing_a_task_settles_its_open_assignments_and_cancelling_removes_them(world, people):
    officer = people["district_officer"]
    closed = publish(
        officer, world["A"], [world["C1"], world["C2"]], when="2026-03-01 09:00", due="2026-03-20 18:00"
    )
    cancelled = publish(
        officer, world["A"], [world["C1"], world["C2"]], when="2026-03-01 09:00", due="2026-03-20 18:00"
    )
    complete(cancelled, world["C1"], officer, submitted="2026-03-05 09:00", approved="2026-03-05 10:00")
    with at("2026-03-06 09:00"):
        task_services.task_close(actor=officer, task=closed, reason="活动取消")
        task_services.task_cancel(actor=officer, task=cancelled, reason="重复派单")
        deliver()
    assert line_reason(_line(closed, world["C2"])) == "任务结束时未完成 0"
    assert _line(cancelled, world["C1"]).points == Decimal("10.00")  # approved before: stays
    assert not ScoreLine.objects.filter(assignment=assignment_of(cancelled, world["C2"])).exists()
    assert _score(world["C2"], "2026-03").assignments == 1  # the closed task's only


def test_a_moved_community_takes_its_score_to_its_new_street(world, people):
    officer = people["district_officer"]
    task = publish(
        officer,
        world["A"],
        [world["C1"], world["C2"], world["C3"]],
        when="2026-03-01 09:00",
        due="2026-03-20 18:00",
    )
    complete(task, world["C1"], officer, submitted="2026-03-05 09:00", approved="2026-03-05 10:00")
    assert _score(world["S1"], "2026-03").score == Decimal("5.00")
    from orgs import services as org_services

    with at("2026-03-10 09:00"):
        org_services.unit_move(actor=platform_admin(), unit=world["C1"], new_parent=world["S2"])
        deliver()
    assert _score(world["S1"], "2026-03").score == Decimal("0.00")
    assert _score(world["S2"], "2026-03").score == Decimal("5.00")  # mean of C1 10 and C3 0


@pytest.mark.parametrize(
    ("rule", "weights", "street", "district"),
    [
        (ParentRule.OWN_PLUS_MEAN, {}, "29", "21"),
        (ParentRule.OWN_PLUS_SUM, {}, "38", "72"),  # S1 20 + 18; S2 14 + 8; S3 12 + 0; district 38 + 22 + 12
        (ParentRule.CHILDREN_MEAN, {}, "9", "5.67"),  # S1 9; S2 8; S3 0; district (9 + 8 + 0) / 3
        # S1 0.4 × 20 + 0.6 × 9 = 13.4; S2 0.4 × 14 + 0.6 × 8 = 10.4; S3 0.4 × 12 = 4.8;
        # district: no own points, 0.6 × mean(13.4, 10.4, 4.8) = 0.6 × 9.53 = 5.72
        (
            ParentRule.WEIGHTED,
            {"own_weight": Decimal("0.4"), "children_weight": Decimal("0.6")},
            "13.4",
            "5.72",
        ),
    ],
)
def test_each_parent_rule(march, rule, weights, street, district):
    world, people = march["world"], march["people"]
    with at("2026-04-02 09:00"):
        services.policy_create(
            actor=people["district_admin"],
            district=world["A"],
            effective_from=Period("month", date(2026, 3, 1)),
            changes={"parent_rule": rule, **weights},
        )
        jobs.recompute_district(world["A"].pk, "2026-03-01")
    assert _score(world["S1"], "2026-03").score == Decimal(street)
    assert _score(world["A"], "2026-03").score == Decimal(district)
    assert _score(world["S1"], "2026-03").policy is not None


def test_penalties_and_capped_bonuses_from_a_policy(march):
    world, people = march["world"], march["people"]
    with at("2026-04-02 09:00"):
        services.policy_create(
            actor=people["district_admin"],
            district=world["A"],
            effective_from=Period("quarter", date(2026, 1, 1)),
            changes={
                "missed_penalty": Decimal("0.2"),
                "bonus_per_participant": Decimal("0.01"),
                "bonus_participants_cap": Decimal("1"),
                "bonus_per_volunteer_hour": Decimal("0.02"),
                "bonus_hours_cap": Decimal("5"),
            },
        )
        jobs.recompute_district(world["A"].pk, "2026-01-01")
    assert line_reason(_line(march["t1"], world["C4"])) == "到期未完成 −2"
    c1 = _line(march["t1"], world["C1"])  # 120 people served → 1.2, capped at 1; 45.5 hours → 0.91
    assert (c1.points, line_reason(c1)) == (
        Decimal("11.91"),
        "按时完成 +10，评分 5 星 ×1，服务群众加分 +1，志愿服务时长加分 +0.91",
    )


def test_the_recompute_command_rebuilds_what_was_lost(march):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    PeriodScore.objects.all().delete()
    with at("2026-04-02 09:00"):
        call_command("recompute_scores", "--period", "2026-03", "--district", "410102000000")
    assert (
        PeriodScore.objects.get(unit=march["world"]["S1"], kind="month", start=date(2026, 3, 1)).score == 29
    )
    with pytest.raises(CommandError, match="2026-Q4"):
        call_command("recompute_scores", "--period", "Q4")
