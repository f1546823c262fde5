"""The task's attachments (the notice itself): sniffed by content, size-limited, stored under random names."""

import os
import uuid
import zipfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from common.exceptions import Conflict, PayloadTooLarge, ValidationFailed
from orgs.models import User
from tasks.models import (
    Assignment,
    PracticeTask,
    TaskAttachment,
    TaskEvent,
)
from tasks.services.practice_tasks import _lock_task, _require_dispatch, _task_event
from tasks.services.shared import _task_status_label

Status = Assignment.Status
TaskStatus = PracticeTask.Status

MAX_ATTACHMENTS_PER_TASK = 20

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
    if size > settings.TASK_ATTACHMENT_MAX_BYTES:
        raise PayloadTooLarge(
            _("The file is %(size)s MB; attachments may be at most %(max)s MB.")
            % {
                "size": round(size / 1024 / 1024, 1),
                "max": settings.TASK_ATTACHMENT_MAX_BYTES // 1024 // 1024,
            },
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
