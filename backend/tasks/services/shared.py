"""Helpers shared by the task services: role checks, the one 400 shape, labels, time rules."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from common.exceptions import Forbidden, PayloadTooLarge, ValidationFailed
from evidence import services as evidence_services
from orgs.models import OrgUnit, User
from orgs.scope import Action, can
from tasks.models import (
    Assignment,
    PracticeTask,
)

Status = Assignment.Status
TaskStatus = PracticeTask.Status

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
