"""Thin views: parse input, call one selector or service, shape the output."""

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common import idempotency
from common.exceptions import NotFound, PayloadTooLarge
from common.serializers import parse_request
from common.uploads import MULTIPART_OVERHEAD, refuse_declared_length
from evidence import selectors as evidence_selectors
from orgs import selectors as org_selectors
from orgs.scope import Grants
from tasks import inbox, selectors, services, uploads
from tasks.filters import AssignmentFilter, TaskFilter
from tasks.models import Assignment, PracticeTask, TaskCategory
from tasks.serializers import (
    AssignmentDetailSerializer,
    AssignmentEventSerializer,
    AssignmentOutputSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    CategoryCreateSerializer,
    CategorySerializer,
    CategoryUpdateSerializer,
    DelegateInputSerializer,
    ProgressQuerySerializer,
    ReviewInputSerializer,
    SubmissionInputSerializer,
    SubmissionMultipartSerializer,
    SubmissionOutputSerializer,
    TaskCreateSerializer,
    TaskEndSerializer,
    TaskEventSerializer,
    TaskOutputSerializer,
    TaskUpdateSerializer,
    UrgeInputSerializer,
    VersionSerializer,
)
from tasks.services.shared import merge_errors


def _valid(serializer_class, request, *, check=None, **kwargs) -> dict:
    return parse_request(serializer_class, request.data, check=check, **kwargs)


def _context(request, **extra) -> dict:
    """What the output serializers read: the request, and the reader's memberships loaded once (the
    `actions` of every object on the page are answered from them without a query each)."""
    return {"request": request, "grants": Grants.of_request(request), **extra}


# Categories ---------------------------------------------------------------------------------------


class CategoryListApi(GenericAPIView):
    serializer_class = CategorySerializer
    queryset = TaskCategory.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="task_categories_list",
        parameters=[OpenApiParameter("include_inactive", bool, description="Also list retired categories.")],
        responses=CategorySerializer(many=True),
        summary="Task categories",
    )
    def get(self, request):
        include_inactive = request.query_params.get("include_inactive") in ("1", "true", "True")
        rows = selectors.category_list(user=request.user, include_inactive=include_inactive)
        return Response(CategorySerializer(rows, many=True).data)

    @extend_schema(
        request=CategoryCreateSerializer,
        responses={201: CategorySerializer},
        summary="Add a category (platform administrators)",
    )
    def post(self, request):
        category = services.category_create(actor=request.user, **_valid(CategoryCreateSerializer, request))
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailApi(APIView):
    @extend_schema(responses=CategorySerializer, summary="One task category")
    def get(self, request, category_id: int):
        return Response(
            CategorySerializer(selectors.category_get(user=request.user, category_id=category_id)).data
        )

    @extend_schema(
        request=CategoryUpdateSerializer,
        responses=CategorySerializer,
        summary="Rename or retire a category (platform administrators)",
    )
    def patch(self, request, category_id: int):
        category = selectors.category_get(user=request.user, category_id=category_id)
        category = services.category_update(
            actor=request.user, category=category, data=_valid(CategoryUpdateSerializer, request)
        )
        return Response(CategorySerializer(category).data)


# Tasks --------------------------------------------------------------------------------------------


def _task(request, task_id) -> dict:
    task = selectors.task_get(user=request.user, task_id=task_id)
    return TaskOutputSerializer(task, context=_context(request)).data


class TaskListApi(GenericAPIView):
    serializer_class = TaskOutputSerializer
    filterset_class = TaskFilter
    queryset = PracticeTask.objects.none()

    def get_queryset(self):
        return selectors.task_list(user=self.request.user)

    @extend_schema(
        operation_id="tasks_list",
        responses=TaskOutputSerializer(many=True),
        summary="Tasks visible to the current user",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            TaskOutputSerializer(page, many=True, context=_context(request)).data
        )

    @extend_schema(
        request=TaskCreateSerializer, responses={201: TaskOutputSerializer}, summary="Create a draft task"
    )
    def post(self, request):
        values, errors = TaskCreateSerializer.parse(request.data)
        issuer = None
        if "issuer_unit" in values:
            try:
                issuer = org_selectors.unit_get(user=request.user, unit_id=values["issuer_unit"])
            except NotFound:  # an invisible unit reads exactly like a missing one
                errors["issuer_unit"] = [
                    _("Unknown issuing unit; choose a unit where you are an administrator or officer.")
                ]
        values.pop("issuer_unit", None)
        if errors:  # name every problem at once: the service's rules on what could be read too
            merge_errors(
                errors, services.task_create_errors(actor=request.user, issuer_unit=issuer, **values)[1]
            )
            raise services.invalid(_("The task could not be created"), errors)
        assert issuer is not None  # a parsed issuer_unit either resolved or added an error
        task = services.task_create(actor=request.user, issuer_unit=issuer, **values)
        return Response(
            TaskOutputSerializer(
                selectors.task_get(user=request.user, task_id=task.pk), context=_context(request)
            ).data,
            status=status.HTTP_201_CREATED,
        )


class TaskDetailApi(APIView):
    @extend_schema(responses=TaskOutputSerializer, summary="One task")
    def get(self, request, task_id: int):
        return Response(_task(request, task_id))

    @extend_schema(
        request=TaskUpdateSerializer,
        responses=TaskOutputSerializer,
        summary="Edit a task (a published one: text and due time only)",
    )
    def patch(self, request, task_id: int):
        task = selectors.task_get(user=request.user, task_id=task_id)
        services.task_update(
            actor=request.user, task=task, data=_valid(TaskUpdateSerializer, request, partial=True)
        )
        return Response(_task(request, task_id))


_fan_out_response = inline_serializer(
    "TaskPublished", {"created": serializers.IntegerField(), "task": TaskOutputSerializer()}
)
_end_response = inline_serializer(
    "TaskEnded", {"ended": serializers.IntegerField(), "task": TaskOutputSerializer()}
)


class TaskPublishApi(APIView):
    @extend_schema(
        request=None,
        responses=_fan_out_response,
        summary="Publish: one assignment per target unit (idempotent)",
    )
    def post(self, request, task_id: int):
        task = selectors.task_get(user=request.user, task_id=task_id)
        result = services.task_publish(actor=request.user, task=task)
        return Response({"created": result.created, "task": _task(request, task_id)})


class TaskCancelApi(APIView):
    service = staticmethod(services.task_cancel)

    @extend_schema(
        request=TaskEndSerializer,
        responses=_end_response,
        summary="Cancel a task and end its open assignments",
    )
    def post(self, request, task_id: int):
        task = selectors.task_get(user=request.user, task_id=task_id)
        result = self.service(actor=request.user, task=task, **_valid(TaskEndSerializer, request))
        return Response({"ended": result.ended, "task": _task(request, task_id)})


class TaskCloseApi(TaskCancelApi):
    service = staticmethod(services.task_close)

    @extend_schema(
        request=TaskEndSerializer,
        responses=_end_response,
        summary="Close a task; open assignments end as not completed",
    )
    def post(self, request, task_id: int):
        return super().post(request, task_id)


class TaskProgressApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("depth", int, description="Levels below the root to list (0–5, default 1)."),
            OpenApiParameter(
                "unit",
                int,
                description="Root unit inside the issuer's subtree (default: the issuer, or your own part of it).",
            ),
        ],
        responses=inline_serializer(
            "TaskProgress", {"task": serializers.IntegerField(), "units": serializers.ListField()}
        ),
        summary="Live progress per unit: counts per status, overdue, completion rate",
    )
    def get(self, request, task_id: int):
        query = parse_request(ProgressQuerySerializer, request.query_params)
        return Response(
            selectors.task_progress(
                user=request.user, task_id=task_id, depth=query["depth"], unit_id=query["unit"]
            )
        )


class TaskEventsApi(APIView):
    @extend_schema(responses=TaskEventSerializer(many=True), summary="History of a task")
    def get(self, request, task_id: int):
        return Response(
            TaskEventSerializer(selectors.task_events(user=request.user, task_id=task_id), many=True).data
        )


def _attachment_too_large(length: int) -> PayloadTooLarge:
    """The service's own refusal of a large file, said from the declared length of the request."""
    return PayloadTooLarge(
        _("The file is %(size)s MB; attachments may be at most %(max)s MB.")
        % {"size": round(length / 1024 / 1024, 1), "max": settings.TASK_ATTACHMENT_MAX_BYTES // 1024 // 1024},
        {"file": [_("File too large.")]},
    )


class TaskAttachmentListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication too: CSRF checks of session logins read the body.
        if request.method == "POST":
            refuse_declared_length(
                request,
                limit=settings.TASK_ATTACHMENT_MAX_BYTES + MULTIPART_OVERHEAD,
                refusal=_attachment_too_large,
            )
        super().initial(request, *args, **kwargs)

    @extend_schema(responses=AttachmentSerializer(many=True), summary="The task's attachments")
    def get(self, request, task_id: int):
        task = selectors.task_get(user=request.user, task_id=task_id)
        return Response(AttachmentSerializer(task.attachments.all(), many=True).data)

    @extend_schema(
        request=AttachmentUploadSerializer,
        responses={201: AttachmentSerializer},
        summary="Attach a file (PDF, DOCX, XLSX, JPEG, PNG, WebP)",
    )
    def post(self, request, task_id: int):
        task = selectors.task_get(user=request.user, task_id=task_id)
        services.attachment_precheck(actor=request.user, task=task)  # before the body is parsed
        upload = _valid(AttachmentUploadSerializer, request)["file"]
        attachment = services.task_attachment_add(actor=request.user, task=task, file=upload)
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class TaskAttachmentDetailApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes}, summary="Download an attachment")
    def get(self, request, task_id: int, attachment_id: int):
        attachment = selectors.task_attachment_get(
            user=request.user, task_id=task_id, attachment_id=attachment_id
        )
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(responses={204: None}, summary="Remove an attachment")
    def delete(self, request, task_id: int, attachment_id: int):
        attachment = selectors.task_attachment_get(
            user=request.user, task_id=task_id, attachment_id=attachment_id
        )
        services.task_attachment_remove(actor=request.user, attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Assignments --------------------------------------------------------------------------------------


def _evidence_context(request, submissions) -> dict:
    """The output context, with the units the flags of these reports may name to this reader (one
    query at most)."""
    return _context(
        request,
        visible_units=evidence_selectors.earlier_units_visible(user=request.user, submissions=submissions),
    )


def _assignment(request, assignment_id):
    return selectors.assignment_get(
        user=request.user, assignment_id=assignment_id, grants=Grants.of_request(request)
    )


def _detail(request, assignment_id) -> dict:
    assignment = selectors.assignment_detail(
        user=request.user, assignment_id=assignment_id, grants=Grants.of_request(request)
    )
    children = assignment.child_list  # type: ignore[attr-defined]  # set by selectors.assignment_detail
    submissions = [assignment.current_submission, *(c.current_submission for c in children)]
    return AssignmentDetailSerializer(assignment, context=_evidence_context(request, submissions)).data


class AssignmentListApi(GenericAPIView):
    serializer_class = AssignmentOutputSerializer
    filterset_class = AssignmentFilter
    queryset = Assignment.objects.none()

    def get_queryset(self):
        return selectors.assignment_scope(user=self.request.user, grants=Grants.of_request(self.request))

    @extend_schema(
        operation_id="assignments_list",
        responses=AssignmentOutputSerializer(many=True),
        summary="The inbox: assignments of the units you see, soonest due first",
    )
    def get(self, request):
        rows = inbox.AssignmentRows(self.filter_queryset(self.get_queryset()), Grants.of_request(request))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            AssignmentOutputSerializer(page, many=True, context=_context(request)).data
        )


class AssignmentDetailApi(APIView):
    @extend_schema(
        responses=AssignmentDetailSerializer, summary="One assignment with its children's rollup and reports"
    )
    def get(self, request, assignment_id: int):
        return Response(_detail(request, assignment_id))


class AssignmentAcceptApi(APIView):
    @extend_schema(
        request=VersionSerializer,
        responses=AssignmentDetailSerializer,
        summary="签收: acknowledge the assignment",
    )
    def post(self, request, assignment_id: int):
        assignment = _assignment(request, assignment_id)
        fields = _valid(VersionSerializer, request)
        services.assignment_accept(
            actor=request.user, assignment=assignment, expected_version=fields["version"]
        )
        return Response(_detail(request, assignment_id))


class AssignmentSubmissionsApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication too: CSRF checks of session logins read the body.
        if request.method == "POST":
            uploads.refuse_oversized_body(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        responses=SubmissionOutputSerializer(many=True),
        summary="Reports of this assignment, newest first, with photos, flags and reviews",
    )
    def get(self, request, assignment_id: int):
        rows = selectors.submission_list(
            user=request.user, assignment_id=assignment_id, grants=Grants.of_request(request)
        )
        return Response(
            SubmissionOutputSerializer(rows, many=True, context=_evidence_context(request, rows)).data
        )

    @extend_schema(
        request={
            "multipart/form-data": SubmissionMultipartSerializer,
            "application/json": SubmissionInputSerializer,
        },
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Retry safely: the same key and request return the first report, nothing new is created.",
            )
        ],
        responses={201: SubmissionOutputSerializer},
        summary="上报: submit a completion report with photos",
    )
    def post(self, request, assignment_id: int):
        assignment = _assignment(request, assignment_id)
        # Who may report is known before the body is: nobody else gets their photos parsed or decoded.
        services.assignment_submit_precheck(actor=request.user, assignment=assignment)
        payload = uploads.photo_request(request)
        outcome = services.submission_create(
            actor=request.user,
            assignment=assignment,
            fields=payload.fields,
            uploads=payload.uploads,
            request_errors=payload.errors,
            idempotency_key=request.headers.get(idempotency.HEADER),
            endpoint=request.path,
        )
        submission = selectors.submission_get(user=request.user, submission_id=outcome.submission_id)
        response = Response(
            SubmissionOutputSerializer(submission, context=_evidence_context(request, [submission])).data,
            status=status.HTTP_201_CREATED,
        )
        if outcome.replayed:
            response[idempotency.REPLAYED_HEADER] = "true"
        return response


class AssignmentReviewApi(APIView):
    @extend_schema(
        request=ReviewInputSerializer,
        responses=AssignmentDetailSerializer,
        summary="审核: approve or return a report",
    )
    def post(self, request, assignment_id: int):
        assignment = _assignment(request, assignment_id)
        fields = _valid(
            ReviewInputSerializer,
            request,
            check=lambda values: services.review_errors(
                decision=values.get("decision"), comment=values.get("comment"), rating=values.get("rating")
            ),
        )
        services.assignment_review(
            actor=request.user,
            assignment=assignment,
            decision=fields["decision"],
            comment=fields["comment"],
            rating=fields["rating"],
            expected_version=fields["version"],
        )
        return Response(_detail(request, assignment_id))


class AssignmentDelegateApi(APIView):
    @extend_schema(
        request=DelegateInputSerializer,
        responses=inline_serializer(
            "AssignmentDelegated",
            {"created": serializers.IntegerField(), "assignment": AssignmentDetailSerializer()},
        ),
        summary="下派: pass the assignment on to units below",
    )
    def post(self, request, assignment_id: int):
        assignment = _assignment(request, assignment_id)
        fields = _valid(
            DelegateInputSerializer,
            request,
            check=lambda values: services.delegation_errors(
                actor=request.user,
                assignment=assignment,
                targets=values.get("targets"),
                due_at=values.get("due_at"),
            )[1],
        )
        result = services.assignment_delegate(
            actor=request.user,
            assignment=assignment,
            targets=fields["targets"],
            due_at=fields["due_at"],
            expected_version=fields["version"],
        )
        return Response({"created": result.created, "assignment": _detail(request, assignment_id)})


class AssignmentUrgeApi(APIView):
    @extend_schema(
        request=UrgeInputSerializer,
        responses={201: AssignmentEventSerializer},
        summary="催办: press the unit to act",
    )
    def post(self, request, assignment_id: int):
        assignment = _assignment(request, assignment_id)
        event = services.assignment_urge(
            actor=request.user, assignment=assignment, **_valid(UrgeInputSerializer, request)
        )
        return Response(AssignmentEventSerializer(event).data, status=status.HTTP_201_CREATED)


class AssignmentEventsApi(APIView):
    @extend_schema(
        responses=AssignmentEventSerializer(many=True),
        summary="Every transition of the assignment, oldest first",
    )
    def get(self, request, assignment_id: int):
        rows = selectors.assignment_events(
            user=request.user, assignment_id=assignment_id, grants=Grants.of_request(request)
        )
        return Response(AssignmentEventSerializer(rows, many=True).data)
