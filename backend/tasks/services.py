"""Writes to practice tasks and assignments.

Every function here is one transaction that checks the actor's role through orgs.scope, changes
state and writes the immutable event of that change beside it. Fan-out and task-wide endings are
single set-based statements, never a query per unit.
"""

import json
import os
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Conflict, Forbidden, PayloadTooLarge, ValidationFailed
from evidence import services as evidence_services
from evidence import storage as evidence_storage
from evidence.services import InspectedPhoto
from orgs.models import LEVEL_BY_KEY, Level, OrgUnit, User
from orgs.scope import Action, can, units_for
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)

Status = Assignment.Status
TaskStatus = PracticeTask.Status

MAX_TARGETS = 20_000
MAX_ATTACHMENTS_PER_TASK = 20
TASK_ATTACHMENT_MAX_BYTES = getattr(settings, "TASK_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
# A report may be written a little after the event's clock time on a phone whose clock runs fast.
HELD_AT_FUTURE_TOLERANCE = timedelta(minutes=10)

# What a completion report must carry when the task says nothing (基层减负: ask for little).
DEFAULT_REQUIREMENTS: dict[str, Any] = {
    "min_photos": 1,
    "max_photos": 9,
    "participants_required": True,
    "volunteers_required": False,
    "volunteer_hours_required": False,
    "held_at_required": True,
    "location_required": True,
}

TASK_EDITABLE_WHILE_DRAFT = (
    "title",
    "description",
    "category",
    "starts_at",
    "due_at",
    "points",
    "evidence_requirements",
    "targets",
)
TASK_EDITABLE_WHILE_PUBLISHED = ("title", "description", "due_at")


# Helpers ------------------------------------------------------------------------------------------


def _require(actor: User, action: Action, unit: OrgUnit | None, message: str) -> None:
    if unit is None or not can(actor, action, unit):
        raise Forbidden(message)


def _first_problem(errors: Any) -> str:
    if isinstance(errors, dict) and "message" in errors:  # a structured error (photos)
        return str(errors["message"])
    if isinstance(errors, dict):
        errors = list(errors.values())
    if isinstance(errors, list):
        for item in errors:
            found = _first_problem(item)
            if found:
                return found
        return ""
    return str(errors)


def _invalid(what: str, errors: dict[str, Any]) -> ValidationFailed:
    """A 400 whose message says what failed and the first reason; `errors` lists every field."""
    message = _("%(what)s: %(problem)s") % {"what": what, "problem": _first_problem(errors)}
    if len(errors) > 1:
        message += " " + _("(%(count)s fields need attention; see errors.)") % {"count": len(errors)}
    return ValidationFailed(message, errors)


def invalid_report(errors: dict[str, Any], *, photo_errors: Sequence[dict] = ()) -> ValidationFailed:
    """The 400 of a completion report: the first problem in the message, every problem in `errors`.

    Problems with the files come first under `errors.photos`, then the count rules. A photo over the
    size limit makes the whole answer a 413, as for any other oversized upload.
    """
    errors = dict(errors)
    if photo_errors:
        errors["photos"] = [*photo_errors, *errors.get("photos", [])]
    error = _invalid(_("The report is incomplete"), errors)
    if evidence_services.any_too_large(list(photo_errors)):
        error.status_code = PayloadTooLarge.status_code
    return error


def _status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def _task_status_label(value: str) -> str:
    return str(TaskStatus(value).label)


def _labels(values) -> str:
    return ", ".join(_status_label(v) for v in values)


def _inside(root: OrgUnit, row: Mapping[str, Any]) -> bool:
    """Is `row` (a unit as a dict) strictly below `root`?"""
    return row["tree_id"] == root.tree_id and root.lft < row["lft"] and row["rght"] < root.rght


def _sql_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _time_errors(
    *, starts_at: datetime | None, due_at: datetime | None, now: datetime
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if due_at is not None and due_at <= now:
        errors["due_at"] = [_("The due time is in the past; choose a later time.")]
    elif due_at is not None and starts_at is not None and due_at <= starts_at:
        errors["due_at"] = [_("The due time must be after the start time.")]
    return errors


# Evidence requirements ----------------------------------------------------------------------------


def max_photos_limit() -> int:
    """The most photos one report may carry, hence the most a task may ask for."""
    return settings.EVIDENCE_MAX_PHOTOS_PER_SUBMISSION


def evidence_requirements_normalize(raw: Any) -> dict[str, Any]:
    """The task's requirements with defaults filled in; a 400 lists every bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed(
            _("The evidence requirements must be an object."),
            {"evidence_requirements": [_('Send an object such as {"min_photos": 1}.')]},
        )
    problems: dict[str, list[str]] = {}
    for key in sorted(set(raw) - set(DEFAULT_REQUIREMENTS)):
        problems[key] = [
            _("Unknown requirement. Known ones: %(known)s.") % {"known": ", ".join(DEFAULT_REQUIREMENTS)}
        ]
    result = dict(DEFAULT_REQUIREMENTS)
    for key, default in DEFAULT_REQUIREMENTS.items():
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                problems[key] = [_("Must be true or false.")]
                continue
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= max_photos_limit():
            problems[key] = [_("Must be a whole number from 0 to %(max)s.") % {"max": max_photos_limit()}]
            continue
        result[key] = value
    if not problems and result["min_photos"] > result["max_photos"]:
        problems["max_photos"] = [_("Must not be smaller than min_photos.")]
    if problems:
        raise ValidationFailed(
            _("The evidence requirements are not valid."), {"evidence_requirements": problems}
        )
    return result


def _photo_count_errors(*, req: dict[str, Any], count: int, delegated: bool) -> list[dict[str, str]]:
    """The photo-count rules; each error is an object like the per-file errors of the same list."""
    errors = []
    most = min(req["max_photos"], max_photos_limit())
    if not delegated and count < req["min_photos"]:
        errors.append(
            {
                "code": "too_few",
                "message": _(
                    "This task requires at least %(min)s photo(s); %(count)s attached. Attach them in the "
                    "field “photos” of a multipart/form-data request."
                )
                % {"min": req["min_photos"], "count": count},
            }
        )
    if count > most:
        errors.append(
            {
                "code": "too_many",
                "message": _("At most %(max)s photo(s) per report for this task; %(count)s attached.")
                % {"max": most, "count": count},
            }
        )
    return errors


def submission_errors(
    *,
    requirements: dict[str, Any],
    values: dict[str, Any],
    delegated: bool,
    photo_count: int = 0,
    now: datetime | None = None,
) -> dict[str, list[Any]]:
    """Every missing or invalid field of a completion report, judged against the task's requirements.

    A delegated assignment (one with children) reports upward on the strength of its children's
    approved reports: only its summary is required, and the evidence lives on the children (it may
    still attach photos, up to the maximum).
    """
    now = now or timezone.now()
    req = {**DEFAULT_REQUIREMENTS, **(requirements or {})}
    errors: dict[str, list[Any]] = {}

    def missing(field: str, message: Any) -> None:
        errors.setdefault(field, []).append(message)

    if not (values.get("summary") or "").strip():
        missing("summary", _("Write a short summary of what was done."))
    held_at = values.get("held_at")
    if held_at is not None and held_at > now + HELD_AT_FUTURE_TOLERANCE:
        missing("held_at", _("The activity time is in the future; enter when the activity took place."))
    ended_at = values.get("ended_at")
    if ended_at is not None:
        if held_at is None:
            missing("ended_at", _("Send held_at (when the activity started) together with ended_at."))
        elif ended_at <= held_at:
            missing("ended_at", _("The end time must be after the activity time (held_at)."))
        elif ended_at > now + HELD_AT_FUTURE_TOLERANCE:
            missing("ended_at", _("The end time is in the future; enter when the activity ended."))
    for problem in _photo_count_errors(req=req, count=photo_count, delegated=delegated):
        missing("photos", problem)
    lat, lon = values.get("latitude"), values.get("longitude")
    if (lat is None) != (lon is None):
        missing("latitude" if lat is None else "longitude", _("Send latitude and longitude together."))
    for field in ("participants", "volunteers", "volunteer_hours"):
        value = values.get(field)
        if value is not None and value < 0:
            missing(field, _("Must not be negative."))
    if delegated:
        return errors

    if req["held_at_required"] and held_at is None:
        missing("held_at", _("This task requires the time the activity was held."))
    if req["participants_required"] and values.get("participants") is None:
        missing("participants", _("This task requires the number of participants (服务受众人次)."))
    if req["volunteers_required"] and values.get("volunteers") is None:
        missing("volunteers", _("This task requires the number of volunteers."))
    if req["volunteer_hours_required"] and values.get("volunteer_hours") is None:
        missing("volunteer_hours", _("This task requires the volunteer hours served."))
    if req["location_required"] and not (values.get("location_text") or "").strip() and lat is None:
        missing(
            "location_text",
            _("This task requires where the activity took place (an address or coordinates)."),
        )
    return errors


# Targets ------------------------------------------------------------------------------------------


def _targets_shape(raw: Any) -> list[dict[str, Any]]:
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
    targets = _targets_shape(raw)
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
        if row is None or not (_inside(root, row) or (level and row["id"] == root.pk)):
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


def _fan_out(
    *,
    task_id: int,
    root: OrgUnit,
    targets: list[dict[str, Any]],
    due_at: datetime,
    parent_id: int | None,
    now: datetime,
) -> int:
    """Create one pending assignment per target unit in one INSERT ... SELECT; returns how many were new.

    The unit set is a UNION of at most three selects (explicit units, every street below some
    targets, every community below some targets), each one indexed range join over the tree. Units
    that already hold an assignment of the task are skipped by ON CONFLICT, so running it twice
    creates nothing more, and only active units strictly inside `root` ever receive one.
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
    if not selects:
        return 0
    table = Assignment._meta.db_table
    stamp = _sql_datetime(now)
    # `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT's join syntax.
    sql = (
        f"INSERT INTO {table} (task_id, unit_id, parent_id, status, due_at, version, created_at, updated_at) "  # noqa: S608
        f"SELECT %s, x.id, %s, %s, %s, 0, %s, %s FROM ({' UNION '.join(selects)}) AS x WHERE true "
        f"ON CONFLICT (task_id, unit_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [task_id, parent_id, Status.PENDING, _sql_datetime(due_at), stamp, stamp, *params]
        )
        return max(cursor.rowcount, 0)


def _end_open_assignments(
    *, task: PracticeTask, actor: User, to_status: str, verb: str, comment: str, now: datetime
) -> int:
    """Move every open assignment of the task (children included) to `to_status`, one event each.

    Set-based: on PostgreSQL one statement locks the open rows, updates them and writes their events
    (a transition racing with it either lands first and is ended from its new state, or waits and
    then finds the assignment ended). SQLite serialises writers, so two statements are as safe there.
    """
    table = Assignment._meta.db_table
    events = AssignmentEvent._meta.db_table
    open_marks = ",".join(["%s"] * len(OPEN_STATUSES))
    stamp = _sql_datetime(now)
    event_values = [actor.pk, verb, to_status, comment, json.dumps({}), stamp]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH ended AS (SELECT id, status FROM {table} WHERE task_id = %s AND status IN ({open_marks}) FOR UPDATE), "  # noqa: S608
                f"changed AS (UPDATE {table} AS a SET status = %s, version = a.version + 1, updated_at = %s "
                f"FROM ended WHERE a.id = ended.id RETURNING a.id) "
                f"INSERT INTO {events} (assignment_id, actor_id, verb, to_status, comment, data, created_at, from_status) "
                f"SELECT changed.id, %s, %s, %s, %s, %s, %s, ended.status FROM changed JOIN ended ON ended.id = changed.id",
                [task.pk, *OPEN_STATUSES, to_status, stamp, *event_values],
            )
            return max(cursor.rowcount, 0)
        cursor.execute(
            f"INSERT INTO {events} (assignment_id, actor_id, verb, to_status, comment, data, created_at, from_status) "  # noqa: S608
            f"SELECT id, %s, %s, %s, %s, %s, %s, status FROM {table} WHERE task_id = %s AND status IN ({open_marks})",
            [*event_values, task.pk, *OPEN_STATUSES],
        )
        cursor.execute(
            f"UPDATE {table} SET status = %s, version = version + 1, updated_at = %s "  # noqa: S608
            f"WHERE task_id = %s AND status IN ({open_marks})",
            [to_status, stamp, task.pk, *OPEN_STATUSES],
        )
        return max(cursor.rowcount, 0)


# Categories ---------------------------------------------------------------------------------------


def _require_platform_admin(actor: User) -> None:
    if not (actor.is_active and actor.is_superuser):
        raise Forbidden(_("Only a platform administrator can change task categories."))


@transaction.atomic
def category_create(
    *, actor: User, code: str, name: str, name_en: str = "", sort_order: int = 100, is_active: bool = True
) -> TaskCategory:
    _require_platform_admin(actor)
    clashes = TaskCategory.objects.filter(Q(code=code) | Q(name=name)).values_list("code", "name")
    errors: dict[str, list[str]] = {}
    for other_code, other_name in clashes:
        if other_code == code:
            errors["code"] = [_("This code is already in use.")]
        if other_name == name:
            errors["name"] = [_("This name is already in use.")]
    if errors:
        raise ValidationFailed(_("The category could not be created."), errors)
    return TaskCategory.objects.create(
        code=code, name=name, name_en=name_en, sort_order=sort_order, is_active=is_active
    )


@transaction.atomic
def category_update(*, actor: User, category: TaskCategory, data: dict[str, Any]) -> TaskCategory:
    _require_platform_admin(actor)
    category = TaskCategory.objects.select_for_update().get(pk=category.pk)
    if "name" in data and TaskCategory.objects.filter(name=data["name"]).exclude(pk=category.pk).exists():
        raise ValidationFailed(
            _("The category could not be saved."), {"name": [_("This name is already in use.")]}
        )
    for field in ("name", "name_en", "sort_order", "is_active"):
        if field in data:
            setattr(category, field, data[field])
    category.save()
    return category


# Tasks --------------------------------------------------------------------------------------------


def _task_event(*, task: PracticeTask, actor: User, verb: str, data: dict | None = None) -> TaskEvent:
    return TaskEvent.objects.create(task=task, actor=actor, verb=verb, data=data or {})


def _lock_task(task: PracticeTask) -> PracticeTask:
    return (
        PracticeTask.objects.select_for_update(of=("self",))
        .select_related("issuer_unit", "category")
        .get(pk=task.pk)
    )


def _require_dispatch(actor: User, task: PracticeTask) -> None:
    _require(
        actor,
        Action.DISPATCH,
        task.issuer_unit,
        _("Only an administrator or officer of %(unit)s (or a unit above it) can manage this task.")
        % {"unit": task.issuer_unit.name},
    )


def _check_category(category: TaskCategory, errors: dict[str, list[str]]) -> None:
    if not category.is_active:
        errors["category"] = [_("This category is no longer in use; choose another one.")]


@transaction.atomic
def task_create(
    *,
    actor: User,
    issuer_unit: OrgUnit,
    title: str,
    category: TaskCategory,
    due_at: datetime,
    description: str = "",
    starts_at: datetime | None = None,
    points: int = 10,
    evidence_requirements: dict[str, Any] | None = None,
    targets: list[dict[str, Any]] | None = None,
) -> PracticeTask:
    """A draft task of `issuer_unit`; nothing reaches the units below until it is published."""
    issuer_unit = OrgUnit.objects.get(pk=issuer_unit.pk)  # current tree numbers for the checks below
    _require(
        actor,
        Action.DISPATCH,
        issuer_unit,
        _("Only an administrator or officer of %(unit)s can issue tasks from it.")
        % {"unit": issuer_unit.name},
    )
    now = timezone.now()
    starts_at = starts_at or now
    errors = _time_errors(starts_at=starts_at, due_at=due_at, now=now)
    _check_category(category, errors)
    if not title.strip():
        errors["title"] = [_("Give the task a title.")]
    try:
        requirements = evidence_requirements_normalize(evidence_requirements)
    except ValidationFailed as exc:
        errors.update(exc.extra)
    try:
        clean_targets = targets_validate(actor=actor, root=issuer_unit, raw=targets)
    except ValidationFailed as exc:
        errors.update(exc.extra)
    if errors:
        raise _invalid(_("The task could not be created"), errors)
    task = PracticeTask.objects.create(
        title=title.strip(),
        description=description,
        category=category,
        issuer_unit=issuer_unit,
        author=actor,
        starts_at=starts_at,
        due_at=due_at,
        points=points,
        evidence_requirements=requirements,
        targets=clean_targets,
    )
    _task_event(task=task, actor=actor, verb=TaskEvent.Verb.CREATED, data={"title": task.title})
    return task


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, TaskCategory):
        return value.code
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def task_update(*, actor: User, task: PracticeTask, data: dict[str, Any]) -> PracticeTask:
    """Edit a task. A draft is editable throughout; a published task only its text and due time.

    A new due time reaches the assignments: top-level ones take it, delegated ones keep their own
    unless it is now later than the task's.
    """
    task = _lock_task(task)
    _require_dispatch(actor, task)
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        raise Conflict(
            _("This task is %(status)s and can no longer be edited.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    if "evidence_requirements" in data:
        data = {
            **data,
            "evidence_requirements": evidence_requirements_normalize(data["evidence_requirements"]),
        }
    if "targets" in data:
        data = {**data, "targets": _targets_shape(data["targets"])}
    changed = {field: value for field, value in data.items() if getattr(task, field) != value}
    editable = TASK_EDITABLE_WHILE_DRAFT if task.status == TaskStatus.DRAFT else TASK_EDITABLE_WHILE_PUBLISHED
    locked = sorted(set(changed) - set(editable))
    if locked:
        raise Conflict(
            _(
                "The task is published: %(fields)s can no longer be changed. Only the title, description and due time can."
            )
            % {"fields": ", ".join(locked)},
            {field: [_("Cannot be changed after publishing.")] for field in locked},
        )
    if not changed:
        return task
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if "due_at" in changed or "starts_at" in changed:
        errors.update(
            _time_errors(
                starts_at=changed.get("starts_at", task.starts_at),
                due_at=changed.get("due_at", task.due_at),
                now=now,
            )
        )
        if "due_at" not in changed and "due_at" in errors:
            errors["starts_at"] = errors.pop("due_at")
    if "category" in changed:
        _check_category(changed["category"], errors)
    if "title" in changed:
        changed["title"] = changed["title"].strip()
        if not changed["title"]:
            errors["title"] = [_("Give the task a title.")]
    if "targets" in changed:
        try:
            changed["targets"] = targets_validate(actor=actor, root=task.issuer_unit, raw=changed["targets"])
        except ValidationFailed as exc:
            errors.update(exc.extra)
    if errors:
        raise _invalid(_("The task could not be saved"), errors)

    record = {field: [_jsonable(getattr(task, field)), _jsonable(value)] for field, value in changed.items()}
    for field, value in changed.items():
        setattr(task, field, value)
    task.save()
    if task.status == TaskStatus.PUBLISHED and "due_at" in changed:
        Assignment.objects.filter(task=task, parent__isnull=True).update(due_at=task.due_at, updated_at=now)
        Assignment.objects.filter(task=task, parent__isnull=False, due_at__gt=task.due_at).update(
            due_at=Least(F("due_at"), task.due_at), updated_at=now
        )
    _task_event(task=task, actor=actor, verb=TaskEvent.Verb.UPDATED, data={"changes": record})
    return task


@dataclass
class FanOutResult:
    task: PracticeTask
    created: int


@transaction.atomic
def task_publish(*, actor: User, task: PracticeTask) -> FanOutResult:
    """Publish: one pending assignment per target unit, in a bounded number of queries.

    Idempotent: publishing again creates nothing for units that already hold an assignment, but
    does reach units created (or activated) under a level target since the last publish.
    """
    task = _lock_task(task)
    _require_dispatch(actor, task)
    if task.status not in (TaskStatus.DRAFT, TaskStatus.PUBLISHED):
        raise Conflict(
            _("This task is %(status)s and cannot be published.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    now = timezone.now()
    errors = _time_errors(starts_at=task.starts_at, due_at=task.due_at, now=now)
    if errors:
        raise ValidationFailed(_("Move the due time later before publishing."), errors)
    if not task.targets:
        raise ValidationFailed(
            _("The task has no targets; add the units that should receive it before publishing."),
            {"targets": [_("Add at least one target.")]},
        )
    # The tree may have changed since the draft was saved: check the targets again.
    targets = targets_validate(actor=actor, root=task.issuer_unit, raw=task.targets)
    created = _fan_out(
        task_id=task.pk, root=task.issuer_unit, targets=targets, due_at=task.due_at, parent_id=None, now=now
    )
    first = task.status == TaskStatus.DRAFT
    if first:
        if created == 0:
            raise ValidationFailed(
                _("None of the targets is an active unit that could receive the task; check the targets."),
                {"targets": [_("No unit matches.")]},
            )
        task.status = TaskStatus.PUBLISHED
        task.published_at = now
        task.save(update_fields=["status", "published_at", "updated_at"])
    if first or created:
        _task_event(
            task=task, actor=actor, verb=TaskEvent.Verb.PUBLISHED, data={"created": created, "first": first}
        )
    return FanOutResult(task=task, created=created)


@dataclass
class EndResult:
    task: PracticeTask
    ended: int


def _task_end(*, actor: User, task: PracticeTask, to: str, reason: str) -> EndResult:
    task = _lock_task(task)
    _require_dispatch(actor, task)
    allowed = (
        (TaskStatus.DRAFT, TaskStatus.PUBLISHED) if to == TaskStatus.CANCELLED else (TaskStatus.PUBLISHED,)
    )
    if task.status not in allowed:
        message = (
            _("This task is %(status)s; only a draft or published task can be cancelled.")
            if to == TaskStatus.CANCELLED
            else _("This task is %(status)s; only a published task can be closed (cancel a draft instead).")
        )
        raise Conflict(message % {"status": _task_status_label(task.status)}, {"status": task.status})
    now = timezone.now()
    if to == TaskStatus.CANCELLED:
        assignment_status, verb, task_verb = (
            Status.CANCELLED,
            AssignmentEvent.Verb.CANCEL,
            TaskEvent.Verb.CANCELLED,
        )
    else:
        assignment_status, verb, task_verb = Status.CLOSED, AssignmentEvent.Verb.CLOSE, TaskEvent.Verb.CLOSED
    ended = _end_open_assignments(
        task=task, actor=actor, to_status=assignment_status, verb=verb, comment=reason, now=now
    )
    task.status = to
    task.ended_at = now
    task.save(update_fields=["status", "ended_at", "updated_at"])
    _task_event(task=task, actor=actor, verb=task_verb, data={"ended_assignments": ended, "reason": reason})
    return EndResult(task=task, ended=ended)


@transaction.atomic
def task_cancel(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Withdraw a task; its open assignments end as cancelled (approved ones stay approved)."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CANCELLED, reason=reason)


@transaction.atomic
def task_close(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Finish a task; open assignments end as closed, i.e. not completed."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CLOSED, reason=reason)


# Attachments --------------------------------------------------------------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALLOWED_ATTACHMENTS = "PDF, DOCX, XLSX, JPEG, PNG, WebP"


def sniff_attachment(file) -> tuple[str, str] | None:
    """(content type, extension) from the file's own bytes, or None for anything not allowed."""
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(file) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        finally:
            file.seek(0)
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX, ".docx"
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return XLSX, ".xlsx"
    return None


@transaction.atomic
def task_attachment_add(*, actor: User, task: PracticeTask, file: UploadedFile) -> TaskAttachment:
    task = _lock_task(task)
    _require_dispatch(actor, task)
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        raise Conflict(
            _("This task is %(status)s; attachments can no longer be added.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    size = file.size
    assert size is not None  # an uploaded file always knows its size
    if size > TASK_ATTACHMENT_MAX_BYTES:
        raise PayloadTooLarge(
            _("The file is %(size)s MB; attachments may be at most %(max)s MB.")
            % {"size": round(size / 1024 / 1024, 1), "max": TASK_ATTACHMENT_MAX_BYTES // 1024 // 1024},
            {"file": [_("File too large.")]},
        )
    kind = sniff_attachment(file)
    if kind is None:
        raise ValidationFailed(
            _("This file type is not allowed. Attach one of: %(types)s.") % {"types": ALLOWED_ATTACHMENTS},
            {"file": [_("Unsupported file type.")]},
        )
    if task.attachments.count() >= MAX_ATTACHMENTS_PER_TASK:
        raise ValidationFailed(
            _("A task can have at most %(max)s attachments; remove one first.")
            % {"max": MAX_ATTACHMENTS_PER_TASK},
            {"file": [_("Too many attachments.")]},
        )
    content_type, extension = kind
    original_name = os.path.basename(file.name or "")[:255] or f"attachment{extension}"
    attachment = TaskAttachment(
        task=task, original_name=original_name, content_type=content_type, size=size, uploaded_by=actor
    )
    attachment.file.save(f"{uuid.uuid4().hex}{extension}", file, save=False)
    stored = attachment.file.name
    try:
        attachment.save()
        _task_event(
            task=task,
            actor=actor,
            verb=TaskEvent.Verb.ATTACHMENT_ADDED,
            data={"attachment": attachment.pk, "name": original_name, "size": file.size},
        )
    except Exception:
        attachment.file.storage.delete(stored)  # a failed save must not leave the file behind
        raise
    return attachment


@transaction.atomic
def task_attachment_remove(*, actor: User, attachment: TaskAttachment) -> None:
    task = _lock_task(attachment.task)
    _require_dispatch(actor, task)
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        raise Conflict(
            _("This task is %(status)s; its attachments can no longer be changed.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    name, stored, storage = attachment.original_name, attachment.file.name, attachment.file.storage
    pk = attachment.pk
    TaskAttachment.objects.filter(pk=pk).delete()
    _task_event(
        task=task, actor=actor, verb=TaskEvent.Verb.ATTACHMENT_REMOVED, data={"attachment": pk, "name": name}
    )
    transaction.on_commit(lambda: storage.delete(stored))


# Assignments --------------------------------------------------------------------------------------


def _check_version(assignment: Assignment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != assignment.version:
        raise Conflict(
            _("This assignment changed since you loaded it (it is now %(status)s); reload it and try again.")
            % {"status": _status_label(assignment.status)},
            {"status": assignment.status, "version": assignment.version},
        )


def _check_from(assignment: Assignment, allowed: tuple[str, ...], action: str) -> None:
    if assignment.status not in allowed:
        raise Conflict(
            _(
                "Cannot %(action)s: the assignment is %(status)s; this is possible only when it is %(allowed)s."
            )
            % {"action": action, "status": _status_label(assignment.status), "allowed": _labels(allowed)},
            {"status": assignment.status},
        )


def _transition(
    *,
    assignment: Assignment,
    actor: User,
    verb: str,
    to_status: str,
    action: str,
    comment: str = "",
    data: dict | None = None,
    updates: dict[str, Any] | None = None,
) -> Assignment:
    """Move the assignment from the state the caller saw to `to_status`, or answer 409.

    A conditional UPDATE on (id, version): of two officers acting at once exactly one matches the
    row; the other's UPDATE waits for the winner's commit, then matches nothing and gets the
    current state in a 409. The event is written in the same transaction.
    """
    now = timezone.now()
    matched = Assignment.objects.filter(pk=assignment.pk, version=assignment.version).update(
        status=to_status, version=F("version") + 1, updated_at=now, **(updates or {})
    )
    if not matched:
        current = Assignment.objects.filter(pk=assignment.pk).values_list("status", flat=True).first()
        raise Conflict(
            _(
                "Cannot %(action)s: someone else acted on this assignment first; it is now %(status)s. Reload it."
            )
            % {"action": action, "status": _status_label(current or "")},
            {"status": current},
        )
    AssignmentEvent.objects.create(
        assignment_id=assignment.pk,
        actor=actor,
        verb=verb,
        from_status=assignment.status,
        to_status=to_status,
        comment=comment,
        data=data or {},
        created_at=now,
    )
    assignment.status = to_status
    assignment.version += 1
    assignment.updated_at = now
    for field, value in (updates or {}).items():
        setattr(assignment, field, value)
    return assignment


def _require_work(actor: User, assignment: Assignment) -> None:
    _require(
        actor,
        Action.WORK,
        assignment.unit,
        _("Only a worker or officer of %(unit)s can do this for its assignment.")
        % {"unit": assignment.unit.name},
    )


def _require_review(actor: User, assignment: Assignment) -> None:
    """Reviewing and urging belong to the units above: REVIEW on the assignment unit's parent."""
    _require(
        actor,
        Action.REVIEW,
        assignment.unit.parent,
        _("Only an officer of a unit above %(unit)s can review or urge its assignment.")
        % {"unit": assignment.unit.name},
    )


@transaction.atomic
def assignment_accept(
    *, actor: User, assignment: Assignment, expected_version: int | None = None
) -> Assignment:
    """签收: the unit acknowledges the assignment (optional; submitting works without it)."""
    _require_work(actor, assignment)
    _check_version(assignment, expected_version)
    _check_from(assignment, (Status.PENDING,), _("accept"))
    return _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.ACCEPT,
        to_status=Status.ACCEPTED,
        action=_("accept"),
    )


def _children_rollup(assignment: Assignment) -> dict[str, Any]:
    counts = Assignment.objects.filter(parent=assignment).aggregate(
        total=Count("id"),
        approved=Count("id", filter=Q(status=Status.APPROVED)),
    )
    return counts


def assignment_submit(
    *,
    actor: User,
    assignment: Assignment,
    summary: str,
    held_at: datetime | None = None,
    ended_at: datetime | None = None,
    participants: int | None = None,
    volunteers: int | None = None,
    volunteer_hours: Decimal | None = None,
    location_text: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    photos: Sequence[InspectedPhoto] = (),
    expected_version: int | None = None,
) -> Submission:
    """上报: a completion report with its photos, checked against the task's evidence requirements.

    A delegated assignment can be reported upward once every child is approved; its numbers default
    to the sums over its children's approved reports. The photos (already proven to be photos by
    evidence.services.photos_inspect) are stored with the report; if anything fails, the files go
    with the rows. Flags about the report's numbers are raised here, the photos' flags by the job
    that processes them after commit.
    """
    with evidence_storage.discard_on_error(), transaction.atomic():
        return _assignment_submit(
            actor=actor,
            assignment=assignment,
            values={
                "summary": summary,
                "held_at": held_at,
                "ended_at": ended_at,
                "participants": participants,
                "volunteers": volunteers,
                "volunteer_hours": volunteer_hours,
                "location_text": location_text or "",
                "latitude": latitude,
                "longitude": longitude,
            },
            photos=photos,
            expected_version=expected_version,
        )


def _assignment_submit(
    *,
    actor: User,
    assignment: Assignment,
    values: dict[str, Any],
    photos: Sequence[InspectedPhoto],
    expected_version: int | None,
) -> Submission:
    _require_work(actor, assignment)
    _check_version(assignment, expected_version)
    allowed = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)
    _check_from(assignment, allowed, _("submit"))
    rollup = _children_rollup(assignment)
    delegated = rollup["total"] > 0
    if delegated and rollup["approved"] < rollup["total"]:
        raise Conflict(
            _(
                "%(open)s of the %(total)s delegated assignments are not approved yet; submit once all are approved."
            )
            % {"open": rollup["total"] - rollup["approved"], "total": rollup["total"]},
            {
                "status": assignment.status,
                "children_total": rollup["total"],
                "children_approved": rollup["approved"],
            },
        )
    errors = submission_errors(
        requirements=assignment.task.evidence_requirements,
        values=values,
        delegated=delegated,
        photo_count=len(photos),
    )
    if errors:
        raise _invalid(_("The report is incomplete"), errors)
    if delegated:
        sums = Submission.objects.filter(
            pk__in=Assignment.objects.filter(parent=assignment).values("current_submission")
        ).aggregate(
            participants=Sum("participants"),
            volunteers=Sum("volunteers"),
            volunteer_hours=Sum("volunteer_hours"),
        )
        for field, total in sums.items():
            if values[field] is None:
                values[field] = total
    submission = Submission.objects.create(assignment=assignment, submitted_by=actor, **values)
    evidence_services.photos_attach(
        submission=submission, photos=photos, actor=actor, tree_id=assignment.unit.tree_id
    )
    evidence_services.submission_flag(submission=submission, task=assignment.task)
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.SUBMIT,
        to_status=Status.SUBMITTED,
        action=_("submit"),
        data={"submission": submission.pk},
        updates={"current_submission": submission},
    )
    return submission


@transaction.atomic
def assignment_review(
    *,
    actor: User,
    assignment: Assignment,
    decision: str,
    comment: str = "",
    rating: int | None = None,
    expected_version: int | None = None,
) -> Assignment:
    """审核: approve or return a submitted report; returning needs a reason the unit can act on."""
    _require_review(actor, assignment)
    errors: dict[str, list[str]] = {}
    if decision not in Submission.Decision.values:
        errors["decision"] = [_("Choose approve or return.")]
    if decision == Submission.Decision.RETURN and not comment.strip():
        errors["comment"] = [_("Say what must be corrected when returning a report.")]
    if rating is not None and not 1 <= rating <= 5:
        errors["rating"] = [_("A rating is a whole number from 1 to 5.")]
    if rating is not None and decision == Submission.Decision.RETURN:
        errors["rating"] = [_("A rating goes with an approval; leave it out when returning.")]
    if errors:
        raise _invalid(_("The review could not be saved"), errors)
    _check_version(assignment, expected_version)
    _check_from(assignment, (Status.SUBMITTED,), _("review"))
    submission = assignment.current_submission
    if submission is not None and submission.submitted_by_id == actor.pk and not actor.is_superuser:
        raise Forbidden(_("You submitted this report yourself; another officer has to review it."))
    approve = decision == Submission.Decision.APPROVE
    now = timezone.now()
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.APPROVE if approve else AssignmentEvent.Verb.RETURN,
        to_status=Status.APPROVED if approve else Status.RETURNED,
        action=_("review"),
        comment=comment.strip(),
        data={"submission": submission.pk if submission else None, "rating": rating},
    )
    if submission is not None:
        Submission.objects.filter(pk=submission.pk).update(
            decision=decision,
            review_comment=comment.strip(),
            rating=rating,
            reviewed_by=actor,
            reviewed_at=now,
        )
    return assignment


URGEABLE = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)


@transaction.atomic
def assignment_urge(*, actor: User, assignment: Assignment, comment: str = "") -> AssignmentEvent:
    """催办: recorded as an event; delivering the notification belongs to the reminders."""
    _require_review(actor, assignment)
    _check_from(assignment, URGEABLE, _("urge"))
    return AssignmentEvent.objects.create(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.URGE,
        from_status=assignment.status,
        to_status=assignment.status,
        comment=comment.strip(),
    )


def _lock_task_for_share(task_id: int) -> str:
    """The task's status, held for the transaction so a concurrent cancel/close waits for us."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status FROM {PracticeTask._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [task_id],
            )
            return cursor.fetchone()[0]
    return PracticeTask.objects.values_list("status", flat=True).get(pk=task_id)


@transaction.atomic
def assignment_delegate(
    *,
    actor: User,
    assignment: Assignment,
    targets: Any,
    due_at: datetime,
    expected_version: int | None = None,
) -> FanOutResult:
    """下派: the holder passes its assignment on to units in its own subtree, due no later than its own.

    Delegating also signs for a pending assignment. Delegating again adds only the units that do
    not hold an assignment of this task yet.
    """
    _require(
        actor,
        Action.DISPATCH,
        assignment.unit,
        _("Only an administrator or officer of %(unit)s can delegate its assignment.")
        % {"unit": assignment.unit.name},
    )
    _check_version(assignment, expected_version)
    task_status = _lock_task_for_share(assignment.task_id)
    if task_status != TaskStatus.PUBLISHED:
        raise Conflict(
            _("The task is %(status)s; its assignments can no longer be delegated.")
            % {"status": _task_status_label(task_status)},
            {"status": assignment.status},
        )
    _check_from(assignment, URGEABLE, _("delegate"))
    # A due-time edit of the task may have committed between our read and the share lock; the
    # children's deadline is checked against the due time as it stands now.
    assignment.due_at = Assignment.objects.values_list("due_at", flat=True).get(pk=assignment.pk)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if due_at <= now:
        errors["due_at"] = [_("The due time is in the past; choose a later time.")]
    elif due_at > assignment.due_at:
        errors["due_at"] = [
            _("The due time must not be later than this assignment's own (%(due)s).")
            % {"due": timezone.localtime(assignment.due_at).strftime("%Y-%m-%d %H:%M")}
        ]
    try:
        clean_targets = targets_validate(actor=actor, root=assignment.unit, raw=targets)
        if not clean_targets:
            errors["targets"] = [_("Add at least one target.")]
    except ValidationFailed as exc:
        errors.update(exc.extra)
    if errors:
        raise _invalid(_("The delegation could not be made"), errors)
    created = _fan_out(
        task_id=assignment.task_id,
        root=assignment.unit,
        targets=clean_targets,
        due_at=due_at,
        parent_id=assignment.pk,
        now=now,
    )
    if created:
        _transition(
            assignment=assignment,
            actor=actor,
            verb=AssignmentEvent.Verb.DELEGATE,
            to_status=Status.ACCEPTED if assignment.status == Status.PENDING else assignment.status,
            action=_("delegate"),
            data={"created": created, "targets": clean_targets, "due_at": due_at.isoformat()},
        )
    return FanOutResult(task=assignment.task, created=created)


# Checks a view runs before it reads a request body (uploads are spooled to disk while parsing).


def task_check_dispatch(*, actor: User, task: PracticeTask) -> None:
    """403 unless `actor` may manage `task` (attachments, publishing)."""
    _require_dispatch(actor, task)


def assignment_check_work(*, actor: User, assignment: Assignment) -> None:
    """403 unless `actor` may accept or report for `assignment`."""
    _require_work(actor, assignment)
