"""Writes to practice tasks and assignments, one module per concern.

Every public function is one transaction that checks the actor's role through orgs.scope, changes
state and writes the immutable event of that change beside it. Fan-out and task-wide endings are
single set-based statements, never a query per unit.

    categories       task categories (platform administrators)
    practice_tasks   create, edit, publish, cancel, close a task
    attachments      the task's notice files
    targets          who receives a task or a delegation; the fan-out and task-wide endings
    requirements     what a completion report must carry
    workflow         accept, submit, review, urge an assignment
    delegation       a unit passes its assignment on to units below it

Callers use the names re-exported here (`from tasks import services; services.task_publish(...)`).
"""

from tasks.services.attachments import (
    DOCX,
    XLSX,
    sniff_attachment,
    task_attachment_add,
    task_attachment_remove,
)
from tasks.services.categories import category_create, category_update
from tasks.services.delegation import assignment_delegate
from tasks.services.practice_tasks import (
    EndResult,
    FanOutResult,
    task_cancel,
    task_close,
    task_create,
    task_publish,
    task_update,
)
from tasks.services.requirements import (
    DEFAULT_REQUIREMENTS,
    evidence_requirements_normalize,
    max_photos_limit,
    submission_errors,
)
from tasks.services.shared import invalid_report
from tasks.services.targets import targets_validate
from tasks.services.workflow import (
    assignment_accept,
    assignment_check_work,
    assignment_review,
    assignment_submit,
    assignment_urge,
    task_check_dispatch,
)

__all__ = [
    "DEFAULT_REQUIREMENTS",
    "DOCX",
    "XLSX",
    "EndResult",
    "FanOutResult",
    "assignment_accept",
    "assignment_check_work",
    "assignment_delegate",
    "assignment_review",
    "assignment_submit",
    "assignment_urge",
    "category_create",
    "category_update",
    "evidence_requirements_normalize",
    "invalid_report",
    "max_photos_limit",
    "sniff_attachment",
    "submission_errors",
    "targets_validate",
    "task_attachment_add",
    "task_attachment_remove",
    "task_cancel",
    "task_check_dispatch",
    "task_close",
    "task_create",
    "task_publish",
    "task_update",
]
