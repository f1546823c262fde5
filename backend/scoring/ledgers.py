"""The ledger (台账) of a task: one row per assignment the reader sees, read as plain values in chunks
(no model objects per row), photos fetched once per chunk, repeated texts translated once."""

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from evidence.models import Photo
from scoring.explain import line_reason
from scoring.models import ScoreLine
from tasks.models import Assignment, Submission

CHUNK = 2000
FIELDS = [
    "unit_id",
    "unit__name",
    "unit__code",
    "parent__unit__name",
    "status",
    "due_at",
    "current_submission_id",
    "current_submission__created_at",
    "current_submission__held_at",
    "current_submission__participants",
    "current_submission__volunteers",
    "current_submission__volunteer_hours",
    "current_submission__decision",
    "current_submission__reviewed_at",
    "current_submission__rating",
    "current_submission__reviewed_by__real_name",
    "current_submission__reviewed_by__username",
    "score_line__state",
    "score_line__points",
    "score_line__task_points",
    "score_line__rating",
    "score_line__factor",
    "score_line__days_late",
    "score_line__deduction",
    "score_line__floor_applied",
    "score_line__bonus_participants",
    "score_line__bonus_hours",
]
REASON_FIELDS = [name.removeprefix("score_line__") for name in FIELDS if name.startswith("score_line__")]
REASON_FIELDS = [name for name in REASON_FIELDS if name not in ("state", "points")]


def ledger_rows(assignments: QuerySet[Assignment]) -> Iterator[dict[str, Any]]:
    """Each assignment as a dict of plain values, with `photos` (ids in their order) and `reason`."""
    statuses = {value: str(label) for value, label in Assignment.Status.choices}
    decisions = {value: str(label) for value, label in Submission.Decision.choices}
    reasons: dict[tuple, str] = {}
    values = assignments.order_by("unit__tree_id", "unit__lft", "id").values_list(*FIELDS)
    stream = values.iterator(chunk_size=CHUNK)
    while chunk := list(islice(stream, CHUNK)):
        at = FIELDS.index("current_submission_id")
        submissions = [row[at] for row in chunk if row[at]]
        photos: dict[int, list[int]] = {}
        for submission_id, photo_id in (
            Photo.objects.filter(submission_id__in=submissions)
            .order_by("submission_id", "position")
            .values_list("submission_id", "id")
        ):
            photos.setdefault(submission_id, []).append(photo_id)
        for row in chunk:
            item = dict(zip(FIELDS, row, strict=True))
            yield _shaped(item, photos, statuses, decisions, reasons)


def _shaped(
    item: dict[str, Any],
    photos: dict[int, list[int]],
    statuses: dict[str, str],
    decisions: dict[str, str],
    reasons: dict[tuple, str],
) -> dict[str, Any]:
    reviewed = bool(item["current_submission__decision"])
    state = item["score_line__state"]
    settled = state is not None and state != ScoreLine.State.OPEN
    reason = None
    if settled:
        key = (state, *(item[f"score_line__{name}"] for name in REASON_FIELDS))
        if key not in reasons:
            line = ScoreLine(state=state, **{name: item[f"score_line__{name}"] for name in REASON_FIELDS})
            line.points = item["score_line__points"]
            reasons[key] = line_reason(line)
        reason = reasons[key]
    reviewer = (
        item["current_submission__reviewed_by__real_name"]
        or item["current_submission__reviewed_by__username"]
    )
    return {
        "unit": item["unit_id"],
        "unit_name": item["unit__name"],
        "unit_code": item["unit__code"],
        "delegated_by": item["parent__unit__name"],
        "status": item["status"],
        "status_display": statuses.get(item["status"], item["status"]),
        "due_at": item["due_at"],
        "submitted_at": item["current_submission__created_at"],
        "held_at": item["current_submission__held_at"],
        "participants": item["current_submission__participants"],
        "volunteers": item["current_submission__volunteers"],
        "volunteer_hours": item["current_submission__volunteer_hours"],
        "reviewer": reviewer if reviewed else None,
        "decision": item["current_submission__decision"] or None,
        "decision_display": decisions.get(item["current_submission__decision"]) if reviewed else None,
        "reviewed_at": item["current_submission__reviewed_at"] if reviewed else None,
        "rating": item["current_submission__rating"] if reviewed else None,
        "score": item["score_line__points"] if settled else None,
        "score_reason": reason,
        "photos": photos.get(item["current_submission_id"], []),
    }


def ledger_cells(row: dict[str, Any], photo_link: Callable[[int, int], Any]) -> list[Any]:
    return [
        row["unit_name"],
        row["unit_code"],
        row["delegated_by"],
        row["status_display"],
        row["due_at"],
        row["submitted_at"],
        row["held_at"],
        row["participants"],
        row["volunteers"],
        row["volunteer_hours"],
        row["reviewer"],
        row["decision_display"],
        row["reviewed_at"],
        row["rating"],
        row["score"],
        row["score_reason"],
        [photo_link(number, photo_id) for number, photo_id in enumerate(row["photos"], 1)],
    ]


def photo_label(number: int) -> str:
    return _("Photo %(n)s") % {"n": number}
