"""What each authenticity flag says to the reviewer, rendered when read (in the reader's language).

A flag that names another unit's submission (duplicates) names it only to readers who may see that
unit; everyone else reads "another unit of the district", so a flag never leaks what the access
rule hides (docs/api.md, "Evidence photos").
"""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from evidence.models import EvidenceFlag

Kind = EvidenceFlag.Kind

# Keys of `data` that identify the earlier submission; dropped for readers who may not see it.
EARLIER_KEYS = ("photo", "submission", "assignment", "unit", "task", "submitted_at")


def earlier_unit_id(flag: EvidenceFlag) -> int | None:
    unit = (flag.data or {}).get("unit")
    return unit.get("id") if isinstance(unit, dict) else None


def _time(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return str(value)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _earlier(data: dict[str, Any], visible: bool) -> str:
    if not visible:
        return _("another unit of the district (outside the part of the tree you can see)")
    return _("%(unit)s for “%(task)s” (report #%(submission)s, submitted %(time)s)") % {
        "unit": data["unit"]["name"],
        "task": data["task"]["title"],
        "submission": data["submission"],
        "time": _time(data["submitted_at"]),
    }


def flag_message(flag: EvidenceFlag, *, earlier_visible: bool) -> str:
    data = flag.data or {}
    kind = flag.kind
    if kind == Kind.DUPLICATE:
        return _("The same photo (an identical file) was already submitted by %(earlier)s.") % {
            "earlier": _earlier(data, earlier_visible)
        }
    if kind == Kind.NEAR_DUPLICATE:
        return _(
            "A nearly identical photo (differing in %(distance)s of 64 hash bits: re-saved, resized or "
            "lightly edited) was already submitted by %(earlier)s."
        ) % {"distance": data.get("distance"), "earlier": _earlier(data, earlier_visible)}
    if kind == Kind.TAKEN_BEFORE_PUBLISHED:
        return _(
            "The camera recorded this photo at %(taken)s, before the task was published (%(published)s)."
        ) % {"taken": _time(data.get("taken_at")), "published": _time(data.get("published_at"))}
    if kind == Kind.TAKEN_AFTER_SUBMITTED:
        return _(
            "The camera recorded this photo at %(taken)s, after the report was submitted (%(submitted)s); "
            "the camera clock may be wrong."
        ) % {"taken": _time(data.get("taken_at")), "submitted": _time(data.get("submitted_at"))}
    if kind == Kind.GPS_FAR:
        return _(
            "The photo's GPS position is %(distance)s km from the registered location of %(unit)s "
            "(flagged above %(limit)s km)."
        ) % {
            "distance": data.get("distance_km"),
            "unit": data.get("unit_name"),
            "limit": data.get("limit_km"),
        }
    if kind == Kind.NO_EXIF:
        return _(
            "The photo carries no EXIF data (no camera time or place): it may be a screenshot, an edited "
            "copy or a forwarded picture."
        )
    if kind == Kind.HELD_OUTSIDE_WINDOW:
        return _("The activity (%(held)s) lies outside the task's window, from %(starts)s to %(due)s.") % {
            "held": _time(data.get("held_at")),
            "starts": _time(data.get("starts_at")),
            "due": _time(data.get("due_at")),
        }
    if kind == Kind.VOLUNTEER_HOURS:
        values = {
            "hours": data.get("volunteer_hours"),
            "volunteers": data.get("volunteers"),
            "length": data.get("activity_hours"),
            "most": data.get("most_hours"),
        }
        if data.get("assumed_length"):
            return (
                _(
                    "%(hours)s volunteer hours is more than %(volunteers)s volunteers × %(length)s hours "
                    "(%(most)s hours)."
                )
                % values
                + " "
                + _("No end time was given, so at most %(length)s hours per volunteer are assumed.") % values
            )
        return (
            _(
                "%(hours)s volunteer hours is more than %(volunteers)s volunteers × %(length)s hours of "
                "activity (%(most)s hours)."
            )
            % values
        )
    return str(flag.get_kind_display())


def flag_details(flag: EvidenceFlag, *, earlier_visible: bool) -> dict[str, Any]:
    data = dict(flag.data or {})
    if not earlier_visible:
        for key in EARLIER_KEYS:
            data.pop(key, None)
    return data
