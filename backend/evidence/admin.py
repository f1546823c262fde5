from django.contrib import admin

from evidence.models import EvidenceFlag, Photo
from orgs.admin import ScopedReadOnlyAdmin


class ReadOnlyAdmin(ScopedReadOnlyAdmin):
    """Evidence rows change only through evidence.services and its jobs."""

    scope_path = "submission__assignment__unit"


@admin.register(Photo)
class PhotoAdmin(ReadOnlyAdmin):
    list_display = ["id", "original_name", "submission", "status", "format", "width", "height", "created_at"]
    list_filter = ["status", "format"]
    list_select_related = ["submission"]
    raw_id_fields = ["submission", "uploaded_by"]
    # The files are not served under MEDIA_URL (the API streams the stripped copies after the access
    # check; the original keeps its EXIF), so the admin shows neither them nor the key they are
    # stored under. The EXIF position is for the GPS flag only (the flag says how far, never where):
    # the admin does not show it either.
    exclude = ["original", "thumbnail", "preview", "key", "latitude", "longitude"]
    show_full_result_count = False


@admin.register(EvidenceFlag)
class EvidenceFlagAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "submission", "photo", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["submission", "photo"]
    raw_id_fields = ["submission", "photo"]
    show_full_result_count = False
