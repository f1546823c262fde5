from django.contrib import admin

from evidence.models import EvidenceFlag, Photo
from orgs.admin import ScopedAdminMixin


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Evidence rows change only through evidence.services and its jobs.

    Scoped like every admin page (orgs.admin.ScopedAdminMixin): a non-superuser sees the evidence of
    their own subtrees only.
    """

    scope_path = "submission__assignment__unit"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
