"""Writes to practice tasks and assignments, one module per concern.

Every public function is one transaction that asks tasks.policies whether the actor may act, changes
state, writes the immutable event of that change beside it and announces it (common.events).
Fan-out and task-wide endings are single set-based statements, never a query per unit.

    categories       task categories (platform administrators)
    practice_tasks   create, edit, publish, cancel, close a task
    attachments      the task's notice files
    targets          who receives a task or a delegation; the fan-out and task-wide endings
    workflow         accept, submit, review, urge an assignment
    submission       the whole path of a report from a request: parse, check, replay, store
    delegation       a unit passes its assignment on to units below it

Callers use the names re-exported here (`from tasks import services; services.task_publish(...)`).
"""

from tasks.services.attachments import (
    DOCX,
    XLSX,
    attachment_precheck,
    sniff_attachment,
    task_attachment_add,
    task_attachment_remove,
)
from tasks.services.categories import category_create, category_update
from tasks.services.delegation import assignment_delegate, delegation_errors
from tasks.services.practice_tasks import (
    EndResult,
    FanOutResult,
    task_cancel,
    task_close,
    task_create,
    task_create_errors,
    task_publish,
    task_update,
)
from tasks.services.shared import invalid, invalid_report
from tasks.services.submission import SubmissionOutcome, submission_create
from tasks.services.targets import targets_validate
from tasks.services.workflow import (
    assignment_accept,
    assignment_review,
    assignment_submit,
    assignment_submit_precheck,
    assignment_urge,
    review_errors,
)

__all__ = [
    "DOCX",
    "XLSX",
    "EndResult",
    "FanOutResult",
    "SubmissionOutcome",
    "assignment_accept",
    "assignment_delegate",
    "assignment_review",
    "assignment_submit",
    "assignment_submit_precheck",
    "assignment_urge",
    "attachment_precheck",
    "category_create",
    "category_update",
    "delegation_errors",
    "invalid",
    "invalid_report",
    "review_errors",
    "sniff_attachment",
    "submission_create",
    "targets_validate",
    "task_attachment_add",
    "task_attachment_remove",
    "task_cancel",
    "task_close",
    "task_create",
    "task_create_errors",
    "task_publish",
    "task_update",
]
