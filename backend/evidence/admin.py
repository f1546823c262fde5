from django.contrib import admin

from evidence.models import EvidenceFlag, Photo


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence rows change only through evidence.services and its jobs."""

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
    raw_id_fields = ["submission", "uploaded_by"]
    # The files are not served under MEDIA_URL (the API streams them after the access check), so
    # the admin shows no links to them.
    exclude = ["original", "thumbnail", "preview"]
    show_full_result_count = False


@admin.register(EvidenceFlag)
class EvidenceFlagAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "submission", "photo", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["submission", "photo"]
    show_full_result_count = False
