from django.contrib import admin

from orgs.admin import ScopedAdminMixin, ScopedReadOnlyAdmin
from orgs.scope import Grants
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)
from tasks.policies import category_change_refusal


@admin.register(TaskCategory)
class TaskCategoryAdmin(admin.ModelAdmin):
    """Categories are data a platform administrator extends; retire one with `active` instead of deleting."""

    list_display = ["name", "name_en", "code", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    search_fields = ["name", "name_en", "code"]

    # Categories are shared by every district of the deployment: only a platform administrator
    # changes them (as the API says), whatever model permissions a district's staff were given.
    def has_add_permission(self, request):
        return category_change_refusal(Grants(request.user)) is None

    def has_change_permission(self, request, obj=None):
        return category_change_refusal(Grants(request.user)) is None

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ScopedReadOnlyAdmin):
    """Workflow rows change only through tasks.services, which also writes their events.

    `list_select_related` names every foreign key the list shows, nullable ones included, so a page
    costs the same number of queries whatever its length.
    """


class TaskAttachmentInline(ScopedAdminMixin, admin.TabularInline):
    model = TaskAttachment
    scope_path = "task__issuer_unit"
    extra = 0
    fields = ["original_name", "content_type", "size", "created_at"]
    # Flat names suit both; the stubs type `fields` as field groups, a list `readonly_fields` may not take.
    readonly_fields = fields  # type: ignore[assignment]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PracticeTask)
class PracticeTaskAdmin(ReadOnlyAdmin):
    scope_path = "issuer_unit"
    list_display = ["title", "category", "issuer_unit", "status", "due_at", "published_at"]
    list_filter = ["status", "category"]
    search_fields = ["title"]
    list_select_related = ["category", "issuer_unit"]
    raw_id_fields = ["issuer_unit", "author"]
    inlines = [TaskAttachmentInline]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    scope_path = "unit"
    list_display = ["task", "unit", "status", "due_at", "parent"]
    list_filter = ["status"]
    search_fields = ["task__title", "unit__name", "unit__code"]
    list_select_related = ["task", "unit", "parent"]
    raw_id_fields = ["task", "unit", "parent", "current_submission"]
    show_full_result_count = False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    scope_path = "assignment__unit"
    list_display = ["assignment", "submitted_by", "created_at", "decision", "rating"]
    list_select_related = ["assignment", "submitted_by"]
    raw_id_fields = ["assignment", "submitted_by", "reviewed_by"]
    show_full_result_count = False


@admin.register(AssignmentEvent)
class AssignmentEventAdmin(ReadOnlyAdmin):
    scope_path = "assignment__unit"
    list_display = ["assignment", "verb", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["verb"]
    list_select_related = ["assignment", "actor"]
    raw_id_fields = ["assignment", "actor"]
    show_full_result_count = False


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyAdmin):
    scope_path = "task__issuer_unit"
    list_display = ["task", "verb", "actor", "created_at"]
    list_filter = ["verb"]
    list_select_related = ["task", "actor"]
    raw_id_fields = ["task", "actor"]
    show_full_result_count = False
