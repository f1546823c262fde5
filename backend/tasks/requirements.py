"""What a completion report must carry: the task's evidence requirements and the report's problems."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from tasks.models import PracticeTask

# What a completion report says, besides its photos.
REPORT_FIELDS = (
    "summary",
    "held_at",
    "ended_at",
    "participants",
    "volunteers",
    "volunteer_hours",
    "location_text",
    "latitude",
    "longitude",
)

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
    # A street reporting upward waits for every community it delegated to (otherwise one approved
    # community is enough, and the report names those still open).
    "all_delegated_required": False,
}


def requirements_of(task: PracticeTask) -> dict[str, Any]:
    """The task's requirements, with the defaults of keys it predates."""
    return {**DEFAULT_REQUIREMENTS, **(task.evidence_requirements or {})}


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
    req = {**DEFAULT_REQUIREMENTS, **(requirements or {})}  # keys added since the task was made
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
