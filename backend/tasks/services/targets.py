"""Targets of a task or delegation, and the set-based statements that fan out and end assignments."""

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from orgs.models import LEVEL_BY_KEY, Level, OrgUnit, User
from orgs.scope import units_for
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentEvent,
    PracticeTask,
)
from tasks.services.shared import inside, sql_datetime

Status = Assignment.Status
TaskStatus = PracticeTask.Status

MAX_TARGETS = 20_000

# Targets ------------------------------------------------------------------------------------------


def targets_shape(raw: Any) -> list[dict[str, Any]]:
    """Check the JSON shape of `targets`; returns them deduplicated, in the order given."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed(
            _("The targets must be a list."),
            {"targets": [_('Send a list such as [{"unit": 12}, {"unit": 3, "level": "community"}].')]},
        )
    if len(raw) > MAX_TARGETS:
        raise ValidationFailed(
            _("Too many targets (%(count)s); at most %(max)s. Use a level target for whole subtrees.")
            % {"count": len(raw), "max": MAX_TARGETS},
            {"targets": [_("Too many entries.")]},
        )
    levels = [key for key in LEVEL_BY_KEY if LEVEL_BY_KEY[key] > 0]
    problems: dict[str, list[str]] = {}
    seen: set[tuple[int, str | None]] = set()
    result: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        unit = item.get("unit") if isinstance(item, dict) else None
        level = item.get("level") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or set(item) - {"unit", "level"}
            or isinstance(unit, bool)
            or not isinstance(unit, int)
            or (level is not None and level not in levels)
        ):
            problems[str(index)] = [
                _('Each target is {"unit": <id>} or {"unit": <id>, "level": one of %(levels)s}.')
                % {"levels": ", ".join(levels)}
            ]
            continue
        key = (unit, level)
        if key in seen:
            continue
        seen.add(key)
        result.append({"unit": unit, "level": level} if level else {"unit": unit})
    if problems:
        raise ValidationFailed(_("Some targets are malformed."), {"targets": problems})
    return result


def targets_validate(*, actor: User, root: OrgUnit, raw: Any) -> list[dict[str, Any]]:
    """Targets must lie inside `root`'s subtree (strictly below it); a 400 names every offender.

    One query for the targets (two when there are units to name outside the subtree).
    """
    targets = targets_shape(raw)
    if not targets:
        return targets
    # The root is read in the same query: the caller's copy may predate changes to the tree.
    rows = {
        row["id"]: row
        for row in OrgUnit.objects.filter(pk__in={root.pk, *(t["unit"] for t in targets)}).values(
            "id", "name", "code", "tree_id", "lft", "rght", "level", "is_active"
        )
    }
    fresh = rows[root.pk]
    root = OrgUnit(
        pk=root.pk, name=fresh["name"], tree_id=fresh["tree_id"], lft=fresh["lft"], rght=fresh["rght"]
    )
    outside: list[int] = []
    problems: list[str] = []
    for target in targets:
        row = rows.get(target["unit"])
        level = target.get("level")
        if row is None or not (inside(root, row) or (level and row["id"] == root.pk)):
            outside.append(target["unit"])
            continue
        if level:
            if LEVEL_BY_KEY[level] <= row["level"]:
                problems.append(
                    _("%(unit)s has no %(level)s units below it.")
                    % {"unit": row["name"], "level": Level(LEVEL_BY_KEY[level]).label}
                )
        elif not row["is_active"]:
            problems.append(_("%(unit)s is inactive and cannot receive tasks.") % {"unit": row["name"]})
    if root.pk in {t["unit"] for t in targets if not t.get("level")}:
        problems.append(
            _("%(unit)s is the issuing unit itself; choose units below it.") % {"unit": root.name}
        )
        outside = [pk for pk in outside if pk != root.pk]
    if outside:
        # Name the offenders the actor may see; the others only by the id they sent (no leak).
        names = dict(units_for(actor).filter(pk__in=outside).values_list("pk", "name"))
        described = ", ".join(f"{names[pk]} (#{pk})" if pk in names else f"#{pk}" for pk in outside)
        problems.insert(
            0,
            _("These units are not inside %(root)s: %(units)s. Choose units in its own subtree.")
            % {"root": root.name, "units": described},
        )
    if problems:
        raise ValidationFailed(" ".join(problems), {"targets": problems})
    return targets


def target_units_sql(*, root: OrgUnit, targets: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The SELECT of the ids of the units `targets` name, with its parameters ("" when none).

    A UNION of at most three selects (explicit units, every street below some targets, every
    community below some targets), each one indexed range join over the tree; only active units
    strictly inside `root` are chosen. The fan-out inserts from it and the count a person sees
    before publishing reads it, so both always name the same units.
    """
    unit_table = OrgUnit._meta.db_table
    explicit = [t["unit"] for t in targets if not t.get("level")]
    by_level: dict[int, list[int]] = defaultdict(list)
    for target in targets:
        if target.get("level"):
            by_level[LEVEL_BY_KEY[target["level"]]].append(target["unit"])

    # `r` is the root read in the same statement, so a concurrent move cannot leak units outside it.
    inside_root = (
        f"JOIN {unit_table} r ON r.id = %s AND u.tree_id = r.tree_id AND u.lft > r.lft AND u.rght < r.rght"
    )
    selects: list[str] = []
    params: list[Any] = []
    if explicit:
        marks = ",".join(["%s"] * len(explicit))
        selects.append(
            f"SELECT u.id FROM {unit_table} u {inside_root} WHERE u.id IN ({marks}) AND u.is_active"  # noqa: S608
        )
        params += [root.pk, *explicit]
    for level, unit_ids in sorted(by_level.items()):
        marks = ",".join(["%s"] * len(unit_ids))
        selects.append(
            f"SELECT u.id FROM {unit_table} t "  # noqa: S608
            f"JOIN {unit_table} u ON u.tree_id = t.tree_id AND u.lft > t.lft AND u.rght < t.rght AND u.level = %s "
            f"{inside_root} WHERE t.id IN ({marks}) AND u.is_active"
        )
        params += [level, root.pk, *unit_ids]
    return " UNION ".join(selects), params


def fan_out(
    *,
    task_id: int,
    root: OrgUnit,
    targets: list[dict[str, Any]],
    due_at: datetime,
    parent_id: int | None,
    now: datetime,
) -> int:
    """Create one pending assignment per target unit in one INSERT ... SELECT; returns how many were new.

    The units come from `target_units_sql`. Units that already hold an assignment of the task are
    skipped by ON CONFLICT, so running it twice creates nothing more.
    """
    units_sql, params = target_units_sql(root=root, targets=targets)
    if not units_sql:
        return 0
    table = Assignment._meta.db_table
    stamp = sql_datetime(now)
    sql = (
        f"INSERT INTO {table} (task_id, unit_id, parent_id, status, due_at, version, created_at, updated_at) "  # noqa: S608
        f"SELECT %s, x.id, %s, %s, %s, 0, %s, %s FROM ({units_sql}) AS x "
        f"ON CONFLICT (task_id, unit_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [task_id, parent_id, Status.PENDING, sql_datetime(due_at), stamp, stamp, *params])
        return max(cursor.rowcount, 0)


def end_open_assignments(
    *, task: PracticeTask, actor: User, to_status: str, verb: str, comment: str, now: datetime
) -> int:
    """Move every open assignment of the task (children included) to `to_status`, settled now, one
    event each.

    Set-based: one statement locks the open rows, updates them and writes their events (a
    transition racing with it either lands first and is ended from its new state, or waits and then
    finds the assignment ended).
    """
    table = Assignment._meta.db_table
    events = AssignmentEvent._meta.db_table
    open_marks = ",".join(["%s"] * len(OPEN_STATUSES))
    stamp = sql_datetime(now)
    event_values = [actor.pk, verb, to_status, comment, json.dumps({}), stamp]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH ended AS (SELECT id, status FROM {table} WHERE task_id = %s AND status IN ({open_marks}) FOR UPDATE), "  # noqa: S608
            f"changed AS (UPDATE {table} AS a SET status = %s, version = a.version + 1, updated_at = %s, settled_at = %s "
            f"FROM ended WHERE a.id = ended.id RETURNING a.id) "
            f"INSERT INTO {events} (assignment_id, actor_id, verb, to_status, comment, data, created_at, from_status) "
            f"SELECT changed.id, %s, %s, %s, %s, %s, %s, ended.status FROM changed JOIN ended ON ended.id = changed.id",
            [task.pk, *OPEN_STATUSES, to_status, stamp, stamp, *event_values],
        )
        return max(cursor.rowcount, 0)
