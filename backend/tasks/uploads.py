"""Reading a completion report's request: the declared length, the form fields and the photo files.

The submission view refuses an oversized body before reading it, then hands the fields and the files
to tasks.services.submission, which judges them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from rest_framework.request import is_form_media_type

from common.exceptions import PayloadTooLarge, ValidationFailed
from common.uploads import megabytes, refuse_declared_length

PHOTOS_FIELD = "photos"


def refuse_oversized_body(request: Any) -> None:
    """413 for a report whose declared length exceeds EVIDENCE_MAX_REQUEST_BYTES, before reading it."""
    refuse_declared_length(request, limit=settings.EVIDENCE_MAX_REQUEST_BYTES, refusal=_report_too_large)


def _report_too_large(length: int) -> PayloadTooLarge:
    limit = settings.EVIDENCE_MAX_REQUEST_BYTES
    return PayloadTooLarge(
        _(
            "The request is %(size)s MB, more than the %(limit)s MB one report may carry. Send fewer "
            "or smaller photos (each at most %(per_photo)s MB)."
        )
        % {
            "size": megabytes(length),
            "limit": megabytes(limit),
            "per_photo": megabytes(settings.EVIDENCE_MAX_PHOTO_BYTES),
        },
        {"request": [_("Too large.")]},
    )


@dataclass
class PhotoRequest:
    fields: Mapping[str, Any]
    uploads: list[UploadedFile]
    errors: dict[str, list[str]] = field(default_factory=dict)


def photo_request(request: Any) -> PhotoRequest:
    """The form (or JSON) fields and the files of field `photos`; other file fields are errors."""
    try:
        data = request.data
        files = request.FILES
    except RequestDataTooBig as exc:
        raise PayloadTooLarge(
            _("The form fields are too large; keep the text under %(limit)s MB.")
            % {"limit": megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)},
            {"request": [_("Too large.")]},
        ) from exc
    except SuspiciousOperation as exc:  # too many fields or files for Django's parser
        raise ValidationFailed(
            _("The request has too many fields or files; attach at most %(max)s photos.")
            % {"max": settings.EVIDENCE_MAX_PHOTOS_PER_SUBMISSION},
            {PHOTOS_FIELD: [{"code": "too_many", "message": _("Too many files.")}]},
        ) from exc
    if not is_form_media_type(request.content_type or ""):
        return PhotoRequest(fields=data, uploads=[])
    errors = {
        name: [_("Unexpected file; send photos in the field “%(field)s”.") % {"field": PHOTOS_FIELD}]
        for name in sorted(set(files) - {PHOTOS_FIELD})
    }
    return PhotoRequest(fields=request.POST, uploads=files.getlist(PHOTOS_FIELD), errors=errors)
