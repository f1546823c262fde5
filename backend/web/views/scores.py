"""排名, a unit's score, 工作统计 and 考核期/考核设置: the pages over `scoring.selectors` and
`scoring.services` (the rules and queries live there; these views parse the query, call them and
shape what they return for the templates)."""

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import ApplicationError, Forbidden, NotFound, ValidationFailed
from orgs import selectors as org_selectors
from orgs.models import LEVEL_KEYS, Level, OrgUnit, User, level_key
from scoring import selectors, services
from scoring.explain import number
from scoring.models import ParentRule, PeriodKind
from scoring.periods import Period, add_months, month_of, parse_period
from scoring.policy import Rules
from tasks.models import TaskCategory
from web import presenters
from web.charts import bar_chart
from web.views.base import done, page, paginate, render_form, render_page, request_workspaces

RANKING_PAGE = 50
MONTHS_LISTED = 13
QUARTERS_LISTED = 5
YEARS_LISTED = 3


# Periods ------------------------------------------------------------------------------------------


def _this_month() -> date:
    return month_of(timezone.now())


def default_period() -> Period:
    """This month: officials watch the running month's figures day by day (scores count what is
    settled so far); the month just ended, which an assessment closes, is the next choice."""
    return Period(PeriodKind.MONTH, _this_month())


def period_choices(chosen: Period | None) -> list[dict[str, Any]]:
    """Recent months, quarters and years that have begun (the selector's groups), newest first,
    with the chosen one kept when it is older."""
    month = _this_month()
    groups = [
        (_("Month"), [Period(PeriodKind.MONTH, add_months(month, -n)) for n in range(MONTHS_LISTED)]),
        (
            _("Quarter"),
            [Period.of(PeriodKind.QUARTER, add_months(month, -3 * n)) for n in range(QUARTERS_LISTED)],
        ),
        (_("Year"), [Period(PeriodKind.YEAR, date(month.year - n, 1, 1)) for n in range(YEARS_LISTED)]),
    ]
    found = []
    for label, periods in groups:
        if chosen is not None and chosen.kind == periods[0].kind and chosen not in periods:
            periods = [*periods, chosen]
        found.append({"label": label, "periods": [{"key": p.key, "label": p.label} for p in periods]})
    return found


def _period(request: HttpRequest, default: Period | None) -> Period | None:
    raw = (request.GET.get("period") or "").strip()
    return parse_period(raw) if raw else default


def _closure(closure: Any) -> dict[str, Any] | None:
    if closure is None:
        return None
    return {
        "period": Period(closure.kind, closure.start),
        "by": str(closure.closed_by) if closure.closed_by else "",
        "at": closure.closed_at,
        "note": closure.note,
    }


def _rate(value: Any) -> int | None:
    return None if value is None else round(float(value) * 100)


def _query(**values: Any) -> str:
    return urlencode({key: value for key, value in values.items() if value not in (None, "")})


def _scopes(user: User) -> list[OrgUnit]:
    """The districts and streets the reader sees: what a ranking or statistics may be about."""
    return list(
        org_selectors.unit_list(user=user).select_related(None).filter(level__lt=Level.COMMUNITY)[:200]
    )


# 排名 ---------------------------------------------------------------------------------------------


def _default_level(request: HttpRequest) -> str:
    """The level below the person's highest workspace: a district ranks its streets, a street its
    communities."""
    workspaces = request_workspaces(request)
    top = workspaces[0].unit.level if workspaces else Level.DISTRICT
    return LEVEL_KEYS[Level(min(top + 1, Level.COMMUNITY))]


def _ranking_rows(rows: list[dict[str, Any]], own: set[int]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "score_text": presenters.score_text(row["score"]),
            "completion": _rate(row["completion_rate"]),
            "on_time_pct": _rate(row["on_time_rate"]),
            "change": presenters.rank_change(row["rank_change"]),
            "score_change_text": presenters.signed_score(row["score_change"]),
            "own": row["unit"] in own,
        }
        for row in rows
    ]


@page
def ranking(request: HttpRequest) -> HttpResponse:
    """排名: the units of one level under one unit for a period, as a table and a bar chart.

    Who sees which ranking is `scoring.selectors.leaderboard`'s answer (a street sees the streets'
    ranking only where the district opened peer rankings); a refusal or a malformed period or level
    is said on the page, with the choices kept."""
    user: User = request.user  # type: ignore[assignment]
    level = (request.GET.get("level") or "").strip() or _default_level(request)
    unit_id = (request.GET.get("unit") or "").strip()
    workspaces = request_workspaces(request)
    context: dict[str, Any] = {
        # Navigation, not permission: the periods page is about a district (its own rule says who).
        "periods_link": bool(workspaces) and workspaces[0].unit.level == Level.DISTRICT,
        "level": level,
        "unit_id": unit_id,
        "levels": [(LEVEL_KEYS[lv], Level(lv).label) for lv in (Level.STREET, Level.COMMUNITY)],
        "scopes": _scopes(user),
    }
    period = None
    try:
        period = _period(request, default_period()) or default_period()
        board = selectors.leaderboard(user=user, level=level, period=period, unit_id=unit_id or None)
    except (ValidationFailed, NotFound) as exc:
        context.update({"error": str(exc.message), "periods": period_choices(period), "period": period})
        return render_page(request, "web/ranking.html", context, active="ranking", status=exc.status_code)
    page_obj = paginate(request, board.rows, per_page=RANKING_PAGE)
    own = {w.unit.pk for w in request_workspaces(request)}
    rows = _ranking_rows(list(page_obj.object_list), own)
    page_obj.object_list = rows
    query = _query(level=level_key(board.level), period=board.period.key, unit=unit_id)
    context.update(
        {
            "board": board,
            "period": board.period,
            "periods": period_choices(board.period),
            "page_obj": page_obj,
            "rows": rows,
            "closure": _closure(board.closure),
            "level_label": Level(board.level).label,
            "chart": bar_chart(
                _("Scores, %(period)s") % {"period": board.period.label},
                rows,
                label="unit_name",
                value="score",
                shown=lambda row: row["score_text"],
                tone="red",
                highlight=lambda row: row["own"],
            ),
            "export_url": f"{reverse('score-leaderboard')}?{query}&format=xlsx",
            "query": query,
        }
    )
    return render_page(request, "web/ranking.html", context, active="ranking")


# A unit's score -----------------------------------------------------------------------------------


@page
def unit_score(request: HttpRequest, unit_id: int) -> HttpResponse:
    """A unit's score for a period, line by line with the reasons, and the units below it."""
    user: User = request.user  # type: ignore[assignment]
    try:
        period = _period(request, default_period()) or default_period()
    except ValidationFailed as exc:
        unit = selectors.visible_unit(user=user, unit_id=unit_id)
        context = {"unit": unit, "error": str(exc.message), "periods": period_choices(None)}
        return render_page(request, "web/unit_score.html", context, active="ranking", status=400)
    found = selectors.unit_score(user=user, unit_id=unit_id, period=period)
    score = found["score"]
    children = [
        {
            "unit": child.unit_id,
            "unit_name": child.unit.name,
            "score": child.score,
            "score_text": presenters.score_text(child.score),
            "completion": _rate(child.completion_rate),
            "on_time_pct": _rate(child.on_time_rate),
            "approved": child.approved,
            "on_time": child.on_time,
            "assignments": child.assignments,
        }
        for child in found["children"]
    ]
    lines = [{**line, "points_text": presenters.score_text(line["points"])} for line in found["lines"]]
    context = {
        **found,
        "lines": lines,
        "children": children,
        "score_text": presenters.score_text(score.score if score else 0),
        "completion": _rate(score.completion_rate) if score else None,
        "on_time_pct": _rate(score.on_time_rate) if score else None,
        "closure": _closure(found["closure"]),
        "periods": period_choices(period),
        "chart": bar_chart(
            _("Scores of the units below, %(period)s") % {"period": period.label},
            children,
            label="unit_name",
            value="score",
            shown=lambda row: row["score_text"],
            tone="red",
        ),
        "parent_rule": ParentRule(found["rules"].parent_rule).label,
    }
    return render_page(request, "web/unit_score.html", context, active="ranking")


# 工作统计 -----------------------------------------------------------------------------------------


def _hours(value: Any) -> str:
    return number(value or 0)


@page
def stats(request: HttpRequest) -> HttpResponse:
    """工作统计 of a unit (default: one's own) for a period or between two dates, optionally one
    category: the sentence for reports with 复制, the figures by category and by unit below."""
    user: User = request.user  # type: ignore[assignment]
    query = request.GET
    first, last = (query.get("from") or "").strip(), (query.get("to") or "").strip()
    unit_id = (query.get("unit") or "").strip()
    category = (query.get("category") or "").strip()
    context: dict[str, Any] = {
        "first": first,
        "last": last,
        "unit_id": unit_id,
        "category_code": category,
        "categories": list(TaskCategory.objects.order_by("sort_order", "id").only("code", "name")),
        "scopes": _scopes(user),
    }
    period = None
    try:
        # Dates, when given, say the range; the period list then stands aside.
        period = None if (first or last) else _period(request, default_period())
        found = selectors.work_stats(
            user=user, unit_id=unit_id or None, period=period, first=first, last=last, category=category
        )
    except (ValidationFailed, NotFound) as exc:
        context.update({"error": str(exc.message), "periods": period_choices(period), "period": period})
        return render_page(request, "web/stats.html", context, active="stats", status=exc.status_code)
    totals = {**found["totals"], "hours_text": _hours(found["totals"]["volunteer_hours"])}
    by_category = [{**row, "hours_text": _hours(row["volunteer_hours"])} for row in found["by_category"]]
    by_child = [{**row, "hours_text": _hours(row["volunteer_hours"])} for row in found["by_child"]]
    export = _query(
        unit=found["unit"].pk,
        period=found["period"].key if found["period"] else "",
        **({"from": found["from"].isoformat(), "to": found["to"].isoformat()} if not found["period"] else {}),
        category=category,
    )
    context.update(
        {
            **found,
            "totals": totals,
            "by_category": by_category,
            "by_child": by_child,
            "periods": period_choices(found["period"]),
            "category_chart": bar_chart(
                _("Activities by category"), by_category, label="name", value="activities"
            ),
            "child_chart": bar_chart(
                _("Activities by unit below"), by_child, label="unit_name", value="activities", tone="green"
            ),
            "people_chart": bar_chart(
                _("People served by unit below"), by_child, label="unit_name", value="participants"
            ),
            "export_url": f"{reverse('stats')}?{export}&format=xlsx",
        }
    )
    return render_page(request, "web/stats.html", context, active="stats")


# 考核期 and 考核设置 -------------------------------------------------------------------------------


def _may_manage(user: User, district: OrgUnit) -> bool:
    """scoring.services.require_district_admin's answer, as a yes or no for showing the buttons."""
    try:
        services.require_district_admin(user, district)
    except (Forbidden, NotFound):
        return False
    return True


def _ended_periods() -> list[Period]:
    """The periods one may close now: recent ended months, quarters and years, newest first."""
    month = _this_month()
    found = [Period(PeriodKind.MONTH, add_months(month, -n)) for n in range(1, MONTHS_LISTED)]
    quarter = Period.of(PeriodKind.QUARTER, month)
    found += [
        Period.of(PeriodKind.QUARTER, add_months(quarter.start, -3 * n)) for n in range(1, QUARTERS_LISTED)
    ]
    found += [Period(PeriodKind.YEAR, date(month.year - n, 1, 1)) for n in range(1, YEARS_LISTED)]
    return found


def _rules_in_words(rules: Rules) -> list[tuple[str, str]]:
    """The numbers of a policy as an official would read them."""
    factors = "、".join(
        _("%(stars)s stars ×%(factor)s") % {"stars": stars, "factor": number(rules.factor(stars))}
        for stars in (5, 4, 3, 2, 1)
    )
    percent = lambda value: number(value * 100)  # noqa: E731
    unrated = _("not rated ×%(factor)s") % {"factor": number(rules.rating_none)}
    words = [
        (_("Rating factors"), f"{factors}；{unrated}"),
        (
            _("Late reports"),
            _("−%(decay)s%% of the task's points per started day late, keeping at least %(floor)s%%")
            % {"decay": percent(rules.late_decay_per_day), "floor": percent(rules.late_floor)},
        ),
        (
            _("Not completed"),
            _("−%(penalty)s%% of the task's points") % {"penalty": percent(rules.missed_penalty)}
            if rules.missed_penalty
            else _("0 points"),
        ),
        (
            _("People served bonus"),
            _("+%(rate)s per person, at most +%(cap)s per assignment")
            % {"rate": number(rules.bonus_per_participant), "cap": number(rules.bonus_participants_cap)}
            if rules.bonus_per_participant
            else _("None"),
        ),
        (
            _("Volunteer hours bonus"),
            _("+%(rate)s per hour, at most +%(cap)s per assignment")
            % {"rate": number(rules.bonus_per_volunteer_hour), "cap": number(rules.bonus_hours_cap)}
            if rules.bonus_per_volunteer_hour
            else _("None"),
        ),
        (_("Score of a unit with units below"), str(ParentRule(rules.parent_rule).label)),
    ]
    if rules.parent_rule == ParentRule.WEIGHTED:
        words.append(
            (
                _("Weights"),
                _("own ×%(own)s, units below ×%(children)s")
                % {"own": number(rules.own_weight), "children": number(rules.children_weight)},
            )
        )
    words.append(
        (
            _("Peer rankings"),
            _("Streets and communities see their place among their peers")
            if rules.peer_ranking_visible
            else _("Only the units above see the rankings"),
        )
    )
    return words


@page
def periods(request: HttpRequest) -> HttpResponse:
    """考核期 and 考核设置 of a district: which periods are closed (by whom, when), buttons to close
    or reopen them for its administrators, and the policy in force in plain words with its versions."""
    user: User = request.user  # type: ignore[assignment]
    raw = (request.GET.get("district") or "").strip()
    if raw:
        district = selectors.administered_district(user=user, district_id=raw)
    else:
        district = selectors.district_of(selectors.top_unit(user))
        if not org_selectors.unit_list(user=user).filter(pk=district.pk).exists():
            district = selectors.administered_district(user=user)
    may_manage = _may_manage(user, district)
    closures = {(c.kind, c.start): c for c in selectors.closed_periods(district=district)}
    listed = _ended_periods()
    shown = set(listed)
    listed += [Period(*key) for key in closures if Period(*key) not in shown]  # older closings stay
    rows = [
        {"period": period, "closure": _closure(closures.get((period.kind, period.start)))}
        for period in listed
    ]
    current = Period(PeriodKind.MONTH, _this_month())
    _district, policy = selectors.policy_effective(user=user, unit_id=district.pk, period=current)
    versions = list(selectors.policy_list(user=user).filter(district=district).order_by("-version")[:20])
    context = {
        "district": district,
        "may_manage": may_manage,
        "rows": rows,
        "events": list(selectors.period_events(user=user, district=district)[:20]),
        "policy": policy,
        "rules": _rules_in_words(Rules.of(policy)),
        "current": current,
        "versions": versions,
    }
    return render_page(request, "web/periods.html", context, active="ranking")


def _period_step(request: HttpRequest, key: str, step: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    district = selectors.administered_district(user=user, district_id=request.GET.get("district"))
    period = parse_period(key)
    services.require_district_admin(user, district)
    closure = selectors.closure_of(district.pk, period)
    context = {"district": district, "period": period, "step": step, "closure": _closure(closure)}
    template, partial = "web/period_step.html", "web/partials/period_step_form.html"
    if request.method != "POST":
        return render_form(request, template, partial, context, active="ranking")
    note = (request.POST.get("note") or "").strip()[:500]
    try:
        if step == "close":
            services.period_close(actor=user, district=district, period=period, note=note)
            message = _("%(period)s is closed: its scores are frozen.") % {"period": period.label}
        else:
            services.period_reopen(actor=user, district=district, period=period, note=note)
            message = _("%(period)s is open again and has been recomputed.") % {"period": period.label}
    except ApplicationError as exc:
        return render_form(request, template, partial, context, exc=exc, active="ranking")
    return done(request, f"{reverse('web:score_periods')}?district={district.pk}", message)


@page
def period_close(request: HttpRequest, key: str) -> HttpResponse:
    return _period_step(request, key, "close")


@page
def period_reopen(request: HttpRequest, key: str) -> HttpResponse:
    return _period_step(request, key, "reopen")
