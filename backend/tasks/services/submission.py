"""The one path of a completion report: parse, check the requirements and the photos, replay a retry,
store, enqueue. The API view and the web form both call `submission_create` with what the request
carried; neither parses, checks or stores anything itself.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from common import idempotency
from evidence import services as evidence_services
from orgs.models import User
from tasks.models import Assignment
from tasks.requirements import submission_errors
from tasks.services.shared import invalid_report, merge_errors
from tasks.services.workflow import assignment_submit, assignment_submit_precheck


@dataclass(frozen=True)
class SubmissionOutcome:
    submission_id: int
    replayed: bool  # the same request came before (Idempotency-Key): nothing new was made


def _photos_refused_as_a_whole(errors: Mapping[str, Any]) -> bool:
    """More photos than the task (or EVIDENCE_MAX_PHOTOS_PER_SUBMISSION) allows, or photos sent as
    text: the report is refused whatever the files hold, so none of them is worth decoding."""
    return any(
        isinstance(error, dict) and error.get("code") in ("too_many", "not_files")
        for error in errors.get("photos", [])
    )


def parse_report(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's values by type, and the problems of the fields that could not be read."""
    from tasks.serializers import SubmissionInputSerializer  # input shapes live with the API's

    return SubmissionInputSerializer.parse(fields)


def submission_create(
    *,
    actor: User,
    assignment: Assignment,
    fields: Mapping[str, Any],
    uploads: Sequence[UploadedFile] = (),
    request_errors: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    endpoint: str,
) -> SubmissionOutcome:
    """上报 from what a request carried: form or JSON `fields`, the `uploads` of the field "photos",
    and `request_errors` the transport already found (files in other fields).

    One 400 names every problem: unreadable fields, the task's requirements, each refused photo
    (413 when one is too large). With an `idempotency_key`, a retry of the same request returns
    the first report instead of making a second one. The caller has asked
    `assignment_submit_precheck` before reading the body.
    """
    idempotency.check_key(idempotency_key)
    assignment_submit_precheck(actor=actor, assignment=assignment)

    def fingerprint() -> str:
        return idempotency.fingerprint(method="POST", path=endpoint, fields=fields, uploads=uploads)

    def perform() -> dict[str, Any]:
        values, errors = parse_report(fields)
        merge_errors(errors, dict(request_errors or {}))
        version = values.pop("version", None)
        summary = values.pop("summary", "")
        merge_errors(
            errors,
            submission_errors(
                requirements=assignment.task.evidence_requirements,
                values={"summary": summary, **values},
                delegated=getattr(assignment, "children_total", 0) > 0,
                photo_count=len(uploads),
            ),
        )
        photos: list[evidence_services.InspectedPhoto] = []
        photo_errors: list[dict[str, Any]] = []
        if not _photos_refused_as_a_whole(errors):
            photos, photo_errors = evidence_services.photos_inspect(uploads=uploads)
        if errors or photo_errors:
            raise invalid_report(errors, photo_errors=photo_errors)
        submission = assignment_submit(
            actor=actor,
            assignment=assignment,
            photos=photos,
            expected_version=version,
            summary=summary,
            **values,
        )
        return {"submission": submission.pk}

    outcome = idempotency.run_once(
        user=actor, key=idempotency_key, endpoint=f"POST {endpoint}", fingerprint=fingerprint, perform=perform
    )
    return SubmissionOutcome(submission_id=outcome.value["submission"], replayed=outcome.replayed)
