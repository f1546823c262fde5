"""Helpers shared by the task services: the one 400 shape, tree and time rules."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from common.exceptions import PayloadTooLarge, ValidationFailed
from common.times import local_text
from evidence import services as evidence_services
from orgs.models import OrgUnit


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


def invalid(what: str, errors: dict[str, Any]) -> ValidationFailed:
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
    error = invalid(_("The report is incomplete"), errors)
    if evidence_services.any_too_large(list(photo_errors)):
        error.status_code = PayloadTooLarge.status_code
    return error


def merge_errors(errors: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """`errors` with the problems of `more` added; a field keeps its first complaint."""
    for field, problems in more.items():
        errors.setdefault(field, problems)
    return errors


def inside(root: OrgUnit, row: Mapping[str, Any]) -> bool:
    """Is `row` (a unit as a dict) strictly below `root`?"""
    return row["tree_id"] == root.tree_id and root.lft < row["lft"] and row["rght"] < root.rght


def sql_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def time_errors(
    *, starts_at: datetime | None, due_at: datetime | None, now: datetime
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if due_at is not None and due_at <= now:
        errors["due_at"] = [
            _("The due time %(due)s has already passed (it is now %(now)s); choose a later time.")
            % {"due": local_text(due_at, now), "now": local_text(now, due_at)}
        ]
    elif due_at is not None and starts_at is not None and due_at <= starts_at:
        errors["due_at"] = [
            _("The due time %(due)s is not after the start time %(start)s.")
            % {"due": local_text(due_at, starts_at), "start": local_text(starts_at, due_at)}
        ]
    return errors
