from django.contrib import admin

from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)


@admin.register(TaskCategory)
class TaskCategoryAdmin(admin.ModelAdmin):
    """Categories are data a platform administrator extends; retire one with `active` instead of deleting."""

    list_display = ["name", "name_en", "code", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    search_fields = ["name", "name_en", "code"]

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Workflow rows change only through tasks.services, which also writes their events."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TaskAttachmentInline(admin.TabularInline):
    model = TaskAttachment
    extra = 0
    fields = ["original_name", "content_type", "size", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PracticeTask)
class PracticeTaskAdmin(ReadOnlyAdmin):
    list_display = ["title", "category", "issuer_unit", "status", "due_at", "published_at"]
    list_filter = ["status", "category"]
    search_fields = ["title"]
    list_select_related = ["category", "issuer_unit"]
    raw_id_fields = ["issuer_unit", "author"]
    inlines = [TaskAttachmentInline]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["task", "unit", "status", "due_at", "parent"]
    list_filter = ["status"]
    search_fields = ["task__title", "unit__name", "unit__code"]
    list_select_related = ["task", "unit"]
    raw_id_fields = ["task", "unit", "parent", "current_submission"]
    show_full_result_count = False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "submitted_by", "created_at", "decision", "rating"]
    raw_id_fields = ["assignment", "submitted_by", "reviewed_by"]


@admin.register(AssignmentEvent)
class AssignmentEventAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "verb", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["verb"]
    raw_id_fields = ["assignment", "actor"]
    show_full_result_count = False


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyAdmin):
    list_display = ["task", "verb", "actor", "created_at"]
    list_filter = ["verb"]
    raw_id_fields = ["task", "actor"]
