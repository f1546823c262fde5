"""Serving photos behind the access rule, and the request parsing the submission view shares."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import is_form_media_type
from rest_framework.views import APIView

from common.exceptions import Conflict, PayloadTooLarge, ValidationFailed
from common.uploads import refuse_declared_length
from evidence import selectors
from evidence.models import Photo

PHOTOS_FIELD = "photos"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


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
            "size": _megabytes(length),
            "limit": _megabytes(limit),
            "per_photo": _megabytes(settings.EVIDENCE_MAX_PHOTO_BYTES),
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
            % {"limit": _megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)},
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


class _PhotoFileApi(APIView):
    variant = "thumbnail"
    side = 320

    def perform_content_negotiation(self, request, force=False):
        # An <img> or a fetch asking for image/* only must still get a JSON error body on 404/409.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, photo_id: int):
        photo = selectors.photo_get(user=request.user, photo_id=photo_id)
        if photo.status != Photo.Status.READY:
            message = (
                _("This photo could not be processed: %(error)s") % {"error": photo.error}
                if photo.status == Photo.Status.FAILED
                else _("This photo is still being processed; try again in a few seconds.")
            )
            raise Conflict(message, {"status": photo.status})
        stored = getattr(photo, self.variant)
        response = FileResponse(stored.open("rb"), content_type="image/jpeg")
        response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}-{self.side}.jpg"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        # Who asks decides the answer (the access rule): no cache may hand it to another login.
        patch_vary_headers(response, ("Authorization", "Cookie"))
        return response


_responses = {
    (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="JPEG without EXIF or GPS."),
    404: OpenApiResponse(description="Not found, or not visible to you."),
    409: OpenApiResponse(description="Still processing, or processing failed (`errors.status`)."),
}


class PhotoThumbnailApi(_PhotoFileApi):
    variant, side = "thumbnail", 320

    @extend_schema(responses=_responses, summary="A photo's thumbnail (about 320 px), EXIF stripped")
    def get(self, request, photo_id: int):
        return super().get(request, photo_id)


class PhotoPreviewApi(_PhotoFileApi):
    variant, side = "preview", 1280

    @extend_schema(responses=_responses, summary="A photo's full-size view (about 1280 px), EXIF stripped")
    def get(self, request, photo_id: int):
        return super().get(request, photo_id)
