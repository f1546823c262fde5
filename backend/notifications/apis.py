"""Thin views: parse input, call one selector or service, shape the output."""

from django.conf import settings
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import NotFound, ValidationFailed
from common.serializers import parse_request
from notifications import schedule, selectors, services
from notifications.models import Channel, Delivery, Kind, Notification, Robot
from notifications.serializers import (
    DeliverySerializer,
    NotificationFilterSerializer,
    NotificationSerializer,
    PreferencesInputSerializer,
    PreferencesSerializer,
    ReminderPlanInputSerializer,
    ReminderPlanSerializer,
    RobotInputSerializer,
    RobotSerializer,
    RobotTestSerializer,
    RobotUpdateSerializer,
    UnreadCountSerializer,
)
from orgs import selectors as org_selectors

# The person's own notifications --------------------------------------------------------------------


class NotificationListApi(GenericAPIView):
    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    @extend_schema(
        operation_id="notifications_list",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only unread; false: only read."),
            OpenApiParameter("kind", str, enum=Kind.values, description="Only this kind."),
        ],
        responses=NotificationSerializer(many=True),
        summary="Your notifications, newest first",
    )
    def get(self, request):
        query = parse_request(NotificationFilterSerializer, request.query_params.dict())
        rows = selectors.notification_list(user=request.user, unread=query["unread"], kind=query["kind"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class UnreadCountApi(APIView):
    @extend_schema(
        responses=UnreadCountSerializer, summary="How many of your notifications are unread (the bell)"
    )
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one notification read")
    def post(self, request, notification_id: int):
        notification = selectors.notification_get(user=request.user, notification_id=notification_id)
        notification = services.notification_read(user=request.user, notification=notification)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(request=None, responses=UnreadCountSerializer, summary="Mark all your notifications read")
    def post(self, request):
        services.notifications_read_all(user=request.user)
        return Response({"unread": selectors.unread_count(user=request.user)})


class PreferencesApi(APIView):
    @extend_schema(responses=PreferencesSerializer, summary="Which kinds reach you by email and SMS")
    def get(self, request):
        return Response(selectors.preferences_of(user=request.user))

    @extend_schema(
        request=PreferencesInputSerializer,
        responses=PreferencesSerializer,
        summary="Choose which kinds reach you by email and SMS",
    )
    def put(self, request):
        values = parse_request(PreferencesInputSerializer, request.data)
        services.preferences_update(user=request.user, changes=values["preferences"])
        return Response(selectors.preferences_of(user=request.user))

    patch = put


# Group robots (administrators) ----------------------------------------------------------------------


def _unit_for_robot(request, unit_id: int):
    """The unit a new robot goes to: one the user sees, else a 400 naming the field."""
    try:
        return org_selectors.unit_get(user=request.user, unit_id=unit_id)
    except NotFound as exc:
        raise ValidationFailed(
            _("The group robot could not be saved"),
            {"unit": [_("Unit not found, or you do not have access to it.")]},
        ) from exc


class RobotListApi(GenericAPIView):
    serializer_class = RobotSerializer
    queryset = Robot.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="robots_list",
        parameters=[OpenApiParameter("unit", int, description="Only this unit's robots.")],
        responses=RobotSerializer(many=True),
        summary="Group robots of the units you administer",
    )
    def get(self, request):
        rows = selectors.robot_list(user=request.user, unit_id=request.query_params.get("unit"))
        return Response(RobotSerializer(rows, many=True).data)

    @extend_schema(
        request=RobotInputSerializer, responses={201: RobotSerializer}, summary="Add a group robot"
    )
    def post(self, request):
        values = parse_request(RobotInputSerializer, request.data)
        unit = _unit_for_robot(request, values.pop("unit"))
        robot = services.robot_create(actor=request.user, unit=unit, **values)
        return Response(RobotSerializer(robot).data, status=status.HTTP_201_CREATED)


class RobotDetailApi(APIView):
    @extend_schema(responses=RobotSerializer, summary="One group robot")
    def get(self, request, robot_id: int):
        return Response(RobotSerializer(selectors.robot_get(user=request.user, robot_id=robot_id)).data)

    @extend_schema(request=RobotUpdateSerializer, responses=RobotSerializer, summary="Change a group robot")
    def patch(self, request, robot_id: int):
        robot = selectors.robot_get(user=request.user, robot_id=robot_id)
        values = parse_request(RobotUpdateSerializer, request.data)
        robot = services.robot_update(actor=request.user, robot=robot, **values)
        return Response(RobotSerializer(robot).data)

    @extend_schema(responses={204: None}, summary="Remove a group robot")
    def delete(self, request, robot_id: int):
        robot = selectors.robot_get(user=request.user, robot_id=robot_id)
        services.robot_delete(actor=request.user, robot=robot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RobotTestApi(APIView):
    @extend_schema(
        request=None, responses=RobotTestSerializer, summary="Send a test message to the group now"
    )
    def post(self, request, robot_id: int):
        robot = selectors.robot_get(user=request.user, robot_id=robot_id)
        return Response(services.robot_test(actor=request.user, robot=robot))


# Delivery records (administrators) ------------------------------------------------------------------


class DeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Delivery.Status.choices)
    channel = filters.ChoiceFilter(choices=Channel.choices)
    kind = filters.ChoiceFilter(choices=Kind.choices)
    unit = filters.NumberFilter(field_name="unit_id")
    assignment = filters.NumberFilter(field_name="assignment_id")

    class Meta:
        model = Delivery
        fields = ["status", "channel", "kind", "unit", "assignment"]


class DeliveryListApi(GenericAPIView):
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.none()

    def get_queryset(self):
        return selectors.delivery_list(user=self.request.user)

    @extend_schema(
        operation_id="deliveries_list",
        responses=DeliverySerializer(many=True),
        summary="Pushes to the units you administer: sent, held, failed",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


# A task's reminders --------------------------------------------------------------------------------


def _plan(task, plan) -> dict:
    minutes = plan.offsets if plan is not None else schedule.default_offsets()
    return {
        "task": task.pk,
        "before_due_hours": [round(value / 60, 2) for value in minutes],
        "custom": plan is not None,
        "overdue_hours": settings.NOTIFICATIONS_OVERDUE_HOURS,
        "escalation_hours": settings.NOTIFICATIONS_ESCALATION_HOURS,
    }


class TaskRemindersApi(APIView):
    @extend_schema(responses=ReminderPlanSerializer, summary="When the task's units are reminded")
    def get(self, request, task_id: int):
        task, plan = selectors.reminder_plan_of(user=request.user, task_id=task_id)
        return Response(_plan(task, plan))

    @extend_schema(
        request=ReminderPlanInputSerializer,
        responses=ReminderPlanSerializer,
        summary="Set the task's own reminders before the due time",
    )
    def put(self, request, task_id: int):
        task, _plan_row = selectors.reminder_plan_of(user=request.user, task_id=task_id)
        values = parse_request(ReminderPlanInputSerializer, request.data)
        plan = services.reminder_plan_set(actor=request.user, task=task, hours=values["before_due_hours"])
        return Response(_plan(task, plan))
