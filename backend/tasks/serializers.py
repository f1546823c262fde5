"""Input parsing and output shapes. No business rules here: those live in tasks.services."""

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from evidence.serializers import FlagSerializer, PhotoSerializer, evidence_of
from orgs.serializers import UnitBriefSerializer
from tasks import services
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)

READ_ONLY_HINTS = {
    "status": _(
        "The status changes through /publish/, /cancel/ and /close/ (tasks) or the workflow actions (assignments)."
    ),
}


class StrictSerializer(serializers.Serializer):
    """Rejects fields the caller may not set (status, author, ...) instead of silently dropping them."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {
                name: [READ_ONLY_HINTS.get(name, _("This field cannot be set here."))]
                for name in sorted(set(data) - set(self.fields))
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**detail, **unknown}) from exc
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


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


class CategoryCreateSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=50)
    name_en = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    sort_order = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=100)
    is_active = serializers.BooleanField(required=False, default=True)


class CategoryUpdateSerializer(StrictSerializer):
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
            "published_at",
            "ended_at",
            "attachments",
            "created_at",
            "updated_at",
        ]


class _CategoryField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown category %(pk_value)s; choose one from /api/v1/task-categories/."),
        "incorrect_type": _("Send the category's id (a number)."),
    }


class TaskCreateSerializer(StrictSerializer):
    issuer_unit = serializers.IntegerField(
        help_text=_("The issuing unit: one where you are an administrator or officer.")
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = _CategoryField(queryset=TaskCategory.objects.all())
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    due_at = serializers.DateTimeField()
    points = serializers.IntegerField(min_value=0, max_value=1000, required=False, default=10)
    evidence_requirements = serializers.JSONField(required=False, default=dict)
    targets = serializers.JSONField(required=False, default=list)  # type: ignore[arg-type]  # stubs: mapping defaults only


class TaskUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    category = _CategoryField(queryset=TaskCategory.objects.all(), required=False)
    starts_at = serializers.DateTimeField(required=False)
    due_at = serializers.DateTimeField(required=False)
    points = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    evidence_requirements = serializers.JSONField(required=False)
    targets = serializers.JSONField(required=False)


class TaskEndSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class TaskEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TaskEvent
        fields = ["id", "verb", "actor", "data", "created_at"]


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)


# Assignments --------------------------------------------------------------------------------------


class TaskBriefSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name", read_only=True)
    issuer_unit = UnitBriefSerializer(read_only=True)

    class Meta:
        model = PracticeTask
        fields = [
            "id",
            "title",
            "category",
            "issuer_unit",
            "points",
            "status",
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
    photos = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField(
        help_text=_("Flags about the report itself; each photo carries its own.")
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "assignment",
            "summary",
            "held_at",
            "ended_at",
            "participants",
            "volunteers",
            "volunteer_hours",
            "location_text",
            "latitude",
            "longitude",
            "submitted_by",
            "created_at",
            "decision",
            "review_comment",
            "rating",
            "reviewed_by",
            "reviewed_at",
            "photos",
            "flags",
        ]

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


class AssignmentOutputSerializer(serializers.ModelSerializer):
    """An inbox item."""

    task = TaskBriefSerializer(read_only=True)
    unit = UnitBriefSerializer(read_only=True)
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
            "due_at",
            "is_overdue",
            "version",
            "children_total",
            "children_approved",
            "created_at",
            "updated_at",
        ]


class AssignmentChildSerializer(serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    current_submission = SubmissionOutputSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Assignment
        fields = ["id", "unit", "status", "due_at", "is_overdue", "version", "current_submission"]


class AssignmentDetailSerializer(AssignmentOutputSerializer):
    current_submission = SubmissionOutputSerializer(read_only=True, allow_null=True)
    rollup = serializers.DictField(
        read_only=True, help_text=_("Counts of the delegated children per status.")
    )
    children = AssignmentChildSerializer(source="child_list", many=True, read_only=True)

    class Meta(AssignmentOutputSerializer.Meta):
        fields = [*AssignmentOutputSerializer.Meta.fields, "current_submission", "rollup", "children"]


class AssignmentEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AssignmentEvent
        fields = ["id", "verb", "from_status", "to_status", "actor", "comment", "data", "created_at"]


class VersionSerializer(StrictSerializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The version you saw; 409 if it changed since."),
    )


class SubmissionInputSerializer(VersionSerializer):
    """Types here; the task's requirements are applied by the same rule the service applies, so one
    400 lists every missing or invalid field at once."""

    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    held_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(
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

    def to_internal_value(self, data):
        errors: dict[str, Any] = {}
        if isinstance(data, Mapping):
            for name in sorted(set(data) - set(self.fields)):
                errors[name] = [_("This field cannot be set here.")]
            if "photos" in data:  # sent as JSON or as a text field rather than as files
                errors["photos"] = [
                    {
                        "code": "not_files",
                        "message": _(
                            "Attach photos as files in the field “photos” of a multipart/form-data request."
                        ),
                    }
                ]
        else:
            raise serializers.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        values: dict[str, Any] = {}
        for field in self._writable_fields:
            try:
                values[field.source] = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[field.field_name] = exc.detail
            except SkipField:
                continue
        requirement_errors = services.submission_errors(
            requirements=self.context["requirements"],
            values=values,
            delegated=self.context["delegated"],
            photo_count=self.context.get("photo_count", 0),
        )
        for name, messages in requirement_errors.items():
            errors.setdefault(name, messages)
        if errors:
            raise serializers.ValidationError(errors)
        return values


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

    def validate(self, attrs):
        errors = {}
        if attrs["decision"] == Submission.Decision.RETURN:
            if not attrs["comment"].strip():
                errors["comment"] = [_("Say what must be corrected when returning a report.")]
            if attrs["rating"] is not None:
                errors["rating"] = [_("A rating goes with an approval; leave it out when returning.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DelegateInputSerializer(VersionSerializer):
    targets = serializers.JSONField()
    due_at = serializers.DateTimeField()


class UrgeInputSerializer(StrictSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
