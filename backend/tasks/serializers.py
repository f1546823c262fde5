"""Input parsing and output shapes. No business rules here: who may do what is tasks.policies, what
is valid is tasks.services (and tasks.requirements); these only read types and shape answers."""

from functools import partial
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import LocalDateTimeField, StrictSerializer, choice_labels, display_field
from common.times import local_iso
from evidence.serializers import FlagSerializer, PhotoSerializer, evidence_of
from orgs.models import level_key
from orgs.scope import Grants
from orgs.serializers import UnitBriefSerializer
from tasks import policies
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)
from tasks.requirements import REPORT_FIELDS

READ_ONLY_HINTS: dict[str, Any] = {
    "status": _(
        "The status changes through /publish/, /cancel/ and /close/ (tasks) or the workflow actions (assignments)."
    ),
}


class InputSerializer(StrictSerializer):
    unknown_field_hints = READ_ONLY_HINTS


def grants_in(context: dict) -> Grants:
    """The reader's memberships, loaded once per response (the view puts them in the context)."""
    grants = context.get("grants")
    if grants is None:
        grants = context["grants"] = Grants.of(context["request"].user)
    return grants


def actions_field(actions: Any, help_text: Any) -> Any:
    return extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=policies.choices(actions)), help_text=help_text
        )
    )


# Shared shapes ------------------------------------------------------------------------------------


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return str(obj)


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskCategory
        fields = ["id", "code", "name", "name_en", "sort_order", "is_active"]


class CategoryCreateSerializer(InputSerializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=50)
    name_en = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    sort_order = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=100)
    is_active = serializers.BooleanField(required=False, default=True)


class CategoryUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=50, required=False)
    name_en = serializers.CharField(max_length=80, required=False, allow_blank=True)
    sort_order = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    is_active = serializers.BooleanField(required=False)


# Tasks --------------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text=_("Authenticated download address."))

    class Meta:
        model = TaskAttachment
        fields = ["id", "original_name", "content_type", "size", "created_at", "url"]

    def get_url(self, obj: TaskAttachment) -> str:
        return reverse("task-attachment-detail", kwargs={"task_id": obj.task_id, "attachment_id": obj.pk})


class TaskOutputSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True)
    issuer_unit = UnitBriefSerializer(read_only=True)
    author = UserBriefSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    status_display = display_field("status")
    actions = serializers.SerializerMethodField()

    class Meta:
        model = PracticeTask
        fields = [
            "id",
            "title",
            "description",
            "category",
            "issuer_unit",
            "author",
            "starts_at",
            "due_at",
            "points",
            "evidence_requirements",
            "targets",
            "status",
            "status_display",
            "published_at",
            "ended_at",
            "attachments",
            "actions",
            "created_at",
            "updated_at",
        ]

    @actions_field(
        policies.TaskAction, _("What you may do with this task now: edit, publish, cancel, close.")
    )
    def get_actions(self, obj: PracticeTask) -> list[str]:
        return policies.task_actions(grants_in(self.context), obj)


class _CategoryField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown category %(pk_value)s; choose one from /api/v1/task-categories/."),
        "incorrect_type": _("Send the category's id (a number)."),
    }


class TaskCreateSerializer(InputSerializer):
    issuer_unit = serializers.IntegerField(
        help_text=_("The issuing unit: one where you are an administrator or officer.")
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    category = _CategoryField(queryset=TaskCategory.objects.all())
    starts_at = LocalDateTimeField(date_means="start", required=False, allow_null=True, default=None)
    due_at = LocalDateTimeField(help_text=_("A date alone means the end of that day (Asia/Shanghai)."))
    points = serializers.IntegerField(min_value=0, max_value=1000, required=False, default=10)
    evidence_requirements = serializers.JSONField(required=False, default=dict)
    targets = serializers.JSONField(required=False, default=list)  # type: ignore[arg-type]  # stubs: mapping defaults only


class TaskUpdateSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    category = _CategoryField(queryset=TaskCategory.objects.all(), required=False)
    starts_at = LocalDateTimeField(date_means="start", required=False)
    due_at = LocalDateTimeField(
        required=False, help_text=_("A date alone means the end of that day (Asia/Shanghai).")
    )
    points = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    evidence_requirements = serializers.JSONField(required=False)
    targets = serializers.JSONField(required=False)


class TaskEndSerializer(InputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class TaskEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)
    verb_display = display_field("verb")

    class Meta:
        model = TaskEvent
        fields = ["id", "verb", "verb_display", "actor", "data", "created_at"]


class AttachmentUploadSerializer(InputSerializer):
    file = serializers.FileField(allow_empty_file=False)


# Assignments --------------------------------------------------------------------------------------


class TaskBriefSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name", read_only=True)
    issuer_unit = UnitBriefSerializer(read_only=True)
    status_display = display_field("status")

    class Meta:
        model = PracticeTask
        fields = [
            "id",
            "title",
            "category",
            "issuer_unit",
            "points",
            "status",
            "status_display",
            "due_at",
            "evidence_requirements",
        ]


class SubmissionOutputSerializer(serializers.ModelSerializer):
    """A report with its photos (and their flags), its own flags and the review decision.

    Expects `photos` and `flags` prefetched (tasks.selectors) and, in the context, `visible_units`
    (evidence.selectors.earlier_units_visible) to name earlier reports in duplicate flags.
    """

    submitted_by = UserBriefSerializer(read_only=True, allow_null=True)
    reviewed_by = UserBriefSerializer(read_only=True, allow_null=True)
    decision_display = display_field("decision")
    photos = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField(
        help_text=_("Flags about the report itself; each photo carries its own.")
    )
    missing_units = serializers.JSONField(
        read_only=True,
        help_text=_("A report made before every delegated unit was approved names those still open."),
    )
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "assignment",
            *REPORT_FIELDS,
            "missing_units",
            "submitted_by",
            "created_at",
            "decision",
            "decision_display",
            "review_comment",
            "rating",
            "reviewed_by",
            "reviewed_at",
            "photos",
            "flags",
            "actions",
        ]

    @actions_field(policies.SubmissionAction, _("What you may do with this report now: review."))
    def get_actions(self, obj: Submission) -> list[str]:
        return policies.submission_actions(grants_in(self.context), obj)

    def _evidence(self, obj: Submission) -> dict:
        cache = self.context.setdefault("_evidence", {})
        if obj.pk not in cache:
            cache[obj.pk] = evidence_of(obj, self.context)
        return cache[obj.pk]

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, obj: Submission) -> list:
        return self._evidence(obj)["photos"]

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, obj: Submission) -> list:
        return self._evidence(obj)["flags"]


class AssignmentActionsMixin(serializers.Serializer):
    actions = serializers.SerializerMethodField()

    @actions_field(
        policies.AssignmentAction,
        _("What you may do with this assignment now: accept, submit, delegate, review, urge."),
    )
    def get_actions(self, obj: Assignment) -> list[str]:
        return policies.assignment_actions(grants_in(self.context), obj)


class AssignmentListSerializer(serializers.ListSerializer):
    """A page of inbox items in AssignmentOutputSerializer's shape, written out by hand.

    DRF builds every declared field of the item, its task brief and its units for each page, then
    walks them for every value of every row (a field object, an attribute lookup and a call each);
    on the inbox that cost more than reading the page. Here a row is a dict of attribute reads, each
    task's brief and each unit's built once per page, the labels read once per page. The declared
    serializer stays the shape: the schema is generated from it, and tests/tasks/test_inbox_and_progress.py
    checks that both write the same rows, key for key and in the same order.
    """

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        grants = grants_in(self.context)
        time = partial(local_iso, zone=timezone.get_current_timezone())
        labels = choice_labels(Assignment, "status")
        task_labels = choice_labels(PracticeTask, "status")
        units: dict[int, dict[str, Any]] = {}
        tasks: dict[int, dict[str, Any]] = {}

        def unit_brief(unit: Any) -> dict[str, Any]:
            if unit.pk not in units:
                units[unit.pk] = {
                    "id": unit.pk,
                    "name": unit.name,
                    "code": unit.code,
                    "level": level_key(unit.level),
                }
            return units[unit.pk]

        def task_brief(task: PracticeTask) -> dict[str, Any]:
            if task.pk not in tasks:
                tasks[task.pk] = {
                    "id": task.pk,
                    "title": task.title,
                    "category": task.category.name,
                    "issuer_unit": unit_brief(task.issuer_unit),
                    "points": task.points,
                    "status": task.status,
                    "status_display": task_labels.get(task.status, task.status),
                    "due_at": time(task.due_at),
                    "evidence_requirements": task.evidence_requirements,
                }
            return tasks[task.pk]

        return [
            {
                "id": row.pk,
                "task": task_brief(row.task),
                "unit": unit_brief(row.unit),
                "parent": row.parent_id,
                "status": row.status,
                "status_display": labels.get(row.status, row.status),
                "due_at": time(row.due_at),
                "is_overdue": row.is_overdue,
                "settled_at": time(row.settled_at),
                "version": row.version,
                "children_total": row.children_total,
                "children_approved": row.children_approved,
                "actions": policies.assignment_actions(grants, row),
                "created_at": time(row.created_at),
                "updated_at": time(row.updated_at),
            }
            for row in data
        ]


class AssignmentOutputSerializer(AssignmentActionsMixin, serializers.ModelSerializer):
    """An inbox item (a page of them: AssignmentListSerializer)."""

    task = TaskBriefSerializer(read_only=True)
    unit = UnitBriefSerializer(read_only=True)
    status_display = display_field("status")
    is_overdue = serializers.BooleanField(read_only=True)
    children_total = serializers.IntegerField(read_only=True, help_text=_("Delegated child assignments."))
    children_approved = serializers.IntegerField(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "task",
            "unit",
            "parent",
            "status",
            "status_display",
            "due_at",
            "is_overdue",
            "settled_at",
            "version",
            "children_total",
            "children_approved",
            "actions",
            "created_at",
            "updated_at",
        ]
        list_serializer_class: type[serializers.ListSerializer] = AssignmentListSerializer


class AssignmentChildSerializer(AssignmentActionsMixin, serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    status_display = display_field("status")
    is_overdue = serializers.BooleanField(read_only=True)
    current_submission = SubmissionOutputSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "unit",
            "status",
            "status_display",
            "due_at",
            "is_overdue",
            "settled_at",
            "version",
            "current_submission",
            "actions",
        ]


class AssignmentDetailSerializer(AssignmentOutputSerializer):
    current_submission = SubmissionOutputSerializer(read_only=True, allow_null=True)
    rollup = serializers.DictField(
        read_only=True, help_text=_("Counts of the delegated children per status.")
    )
    children = AssignmentChildSerializer(source="child_list", many=True, read_only=True)

    class Meta(AssignmentOutputSerializer.Meta):
        fields = [*AssignmentOutputSerializer.Meta.fields, "current_submission", "rollup", "children"]
        list_serializer_class = serializers.ListSerializer  # the hand-written list is the inbox item's


class AssignmentEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)
    verb_display = display_field("verb")
    from_status_display = display_field("from_status")
    to_status_display = display_field("to_status")

    class Meta:
        model = AssignmentEvent
        fields = [
            "id",
            "verb",
            "verb_display",
            "from_status",
            "from_status_display",
            "to_status",
            "to_status_display",
            "actor",
            "comment",
            "data",
            "created_at",
        ]


class VersionSerializer(InputSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The version you saw; 409 if it changed since."),
    )


class SubmissionInputSerializer(VersionSerializer):
    """The report's fields by type; the task's requirements are judged by the submission service
    (tasks.services.submission), which also names fields that could not be read here."""

    unknown_field_hints = {
        **READ_ONLY_HINTS,
        "photos": {
            "code": "not_files",
            "message": _("Attach photos as files in the field “photos” of a multipart/form-data request."),
        },
    }

    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    held_at = LocalDateTimeField(date_means="start", required=False, allow_null=True, default=None)
    ended_at = LocalDateTimeField(
        date_means="end",
        required=False,
        allow_null=True,
        default=None,
        help_text=_("When the activity ended (optional); volunteer hours are checked against its length."),
    )
    participants = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=10_000_000
    )
    volunteers = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=1_000_000
    )
    volunteer_hours = serializers.DecimalField(
        required=False, allow_null=True, default=None, max_digits=9, decimal_places=1, min_value=0
    )
    location_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    latitude = serializers.DecimalField(
        required=False,
        allow_null=True,
        default=None,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
    )
    longitude = serializers.DecimalField(
        required=False,
        allow_null=True,
        default=None,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )


class SubmissionMultipartSerializer(SubmissionInputSerializer):
    """The multipart form of a report (documentation only): the same fields plus the photo files."""

    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text=_(
            "One or more photos (JPEG, PNG, WebP, HEIC/HEIF), repeated as the field “photos”; counted "
            "against the task's min_photos / max_photos."
        ),
    )


class ReviewInputSerializer(VersionSerializer):
    decision = serializers.ChoiceField(choices=Submission.Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    rating = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5)


class ProgressQuerySerializer(serializers.Serializer):
    """The query of a progress request (other query parameters, e.g. `format`, are not this one's)."""

    depth = serializers.IntegerField(required=False, default=1, min_value=0, max_value=5)
    unit = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class DelegateInputSerializer(VersionSerializer):
    targets = serializers.JSONField()
    due_at = LocalDateTimeField(help_text=_("A date alone means the end of that day (Asia/Shanghai)."))


class UrgeInputSerializer(InputSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
