"""Serving photos behind the access rule."""

from django.http import FileResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from common.exceptions import Conflict
from evidence import selectors
from evidence.models import Photo


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
