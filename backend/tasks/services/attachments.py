"""The task's attachments (the notice itself): sniffed by content, size-limited, stored under random names."""

import os
import uuid
import zipfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from common import files
from common.exceptions import PayloadTooLarge, ValidationFailed
from orgs.models import User
from orgs.scope import Grants
from tasks import policies
from tasks.models import PracticeTask, TaskAttachment, TaskEvent
from tasks.policies import require
from tasks.services.practice_tasks import lock_task, task_event

MAX_ATTACHMENTS_PER_TASK = 20

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
    task = lock_task(task)
    require(policies.task_edit_refusal(Grants.of(actor), task))
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
    with files.discard_on_error():  # a failed save must not leave the file behind
        attachment.file.save(f"{uuid.uuid4().hex}{extension}", file, save=False)
        files.remember(attachment.file.name)
        attachment.save()
        task_event(
            task=task,
            actor=actor,
            verb=TaskEvent.Verb.ATTACHMENT_ADDED,
            data={"attachment": attachment.pk, "name": original_name, "size": file.size},
        )
    return attachment


def attachment_precheck(*, actor: User, task: PracticeTask) -> None:
    """403 / 409 unless `actor` may change `task`'s attachments: asked before an upload is read."""
    require(policies.task_edit_refusal(Grants.of(actor), task))


@transaction.atomic
def task_attachment_remove(*, actor: User, attachment: TaskAttachment) -> None:
    task = lock_task(attachment.task)
    require(policies.task_edit_refusal(Grants.of(actor), task))
    name, stored, storage = attachment.original_name, attachment.file.name, attachment.file.storage
    pk = attachment.pk
    TaskAttachment.objects.filter(pk=pk).delete()
    task_event(
        task=task, actor=actor, verb=TaskEvent.Verb.ATTACHMENT_REMOVED, data={"attachment": pk, "name": name}
    )
    transaction.on_commit(lambda: storage.delete(stored))
