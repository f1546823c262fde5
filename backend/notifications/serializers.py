"""Input parsing and output shapes of the notifications API; texts come from notifications.messages."""

from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.serializers import StrictSerializer, display_field
from notifications.messages import render
from notifications.models import Channel, Delivery, Kind, Notification, Robot


class NotificationSerializer(serializers.ModelSerializer):
    kind_display = display_field("kind")
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    task = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text=_("Where to act on it (the assignment), if anywhere."))

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "kind_display",
            "title",
            "body",
            "task",
            "assignment",
            "unit",
            "url",
            "created_at",
            "read_at",
        ]

    def _text(self, obj: Notification) -> tuple[str, str]:
        cached = getattr(obj, "_text", None)
        if cached is None:
            cached = obj._text = render(obj.kind, obj.data)  # type: ignore[attr-defined]
        return cached

    def get_title(self, obj: Notification) -> str:
        return self._text(obj)[0]

    def get_body(self, obj: Notification) -> str:
        return self._text(obj)[1]

    def get_task(self, obj: Notification) -> dict[str, Any] | None:
        if obj.task_id is None:
            return None
        return {"id": obj.task_id, "title": obj.data.get("task_title", "")}

    def get_unit(self, obj: Notification) -> dict[str, Any] | None:
        if obj.unit_id is None:
            return None
        name = obj.data.get("unit_name") or next(
            (
                section["unit"]
                for section in obj.data.get("sections", [])
                if section.get("unit_id") == obj.unit_id
            ),
            "",
        )
        return {"id": obj.unit_id, "name": name}

    def get_url(self, obj: Notification) -> str | None:
        if obj.assignment_id is None:
            return None
        return reverse("assignment-detail", args=[obj.assignment_id])


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class NotificationFilterSerializer(StrictSerializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=Kind.choices, required=False, allow_blank=True, default="")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class PreferencesInputSerializer(StrictSerializer):
    preferences = serializers.DictField(
        child=serializers.DictField(child=serializers.BooleanField()),
        help_text=_('{kind: {"email": true, "sms": false}}'),
    )


class KindChannelsSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    app = serializers.BooleanField()
    email = serializers.BooleanField()
    sms = serializers.BooleanField()


class ChannelAvailableSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    available = serializers.BooleanField()


class PreferencesSerializer(serializers.Serializer):
    channels = ChannelAvailableSerializer(many=True)
    kinds = KindChannelsSerializer(many=True)
    email = serializers.CharField()
    mobile = serializers.CharField()
    quiet_hours = serializers.CharField()


def masked_webhook(url: str) -> str:
    """The webhook address carries its credential (key / access_token): shown only in part."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}" if url else ""


class BriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RobotSerializer(serializers.ModelSerializer):
    unit = BriefSerializer()
    platform_display = display_field("platform")
    webhook_url = serializers.SerializerMethodField(
        help_text=_("Shown in part: it contains the robot's key.")
    )
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Robot
        fields = [
            "id",
            "unit",
            "name",
            "platform",
            "platform_display",
            "webhook_url",
            "has_secret",
            "kinds",
            "is_active",
            "created_at",
            "updated_at",
        ]

    def get_webhook_url(self, obj: Robot) -> str:
        return masked_webhook(obj.webhook_url)

    def get_has_secret(self, obj: Robot) -> bool:
        return bool(obj.secret)


class RobotInputSerializer(StrictSerializer):
    unit = serializers.IntegerField()
    name = serializers.CharField(max_length=100)
    platform = serializers.ChoiceField(choices=Robot.Platform.choices)
    webhook_url = serializers.URLField(max_length=500)
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True)
    kinds = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    is_active = serializers.BooleanField(required=False)


class RobotUpdateSerializer(RobotInputSerializer):
    unknown_field_hints = {"unit": _("A robot stays with its unit; delete it and add one to the other unit.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("unit")
        for field in self.fields.values():
            field.required = False


class RobotTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer):
    channel_display = display_field("channel")
    status_display = display_field("status")
    kind_display = display_field("kind")
    unit = BriefSerializer()
    recipient = serializers.SerializerMethodField()
    robot = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "channel_display",
            "status",
            "status_display",
            "kind",
            "kind_display",
            "title",
            "unit",
            "recipient",
            "robot",
            "task",
            "assignment",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "error",
            "created_at",
        ]

    def get_recipient(self, obj: Delivery) -> dict[str, Any] | None:
        user = obj.recipient
        return {"id": user.pk, "name": str(user)} if user is not None else None

    def get_robot(self, obj: Delivery) -> dict[str, Any] | None:
        robot = obj.robot
        return {"id": robot.pk, "name": robot.name} if robot is not None else None

    def get_title(self, obj: Delivery) -> str:
        return render(obj.kind, obj.data)[0]


class ReminderPlanSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    before_due_hours = serializers.ListField(child=serializers.FloatField())
    custom = serializers.BooleanField(help_text=_("The task has its own offsets (else the deployment's)."))
    overdue_hours = serializers.FloatField()
    escalation_hours = serializers.FloatField()


class ReminderPlanInputSerializer(StrictSerializer):
    before_due_hours = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        allow_empty=True,
        help_text=_("Hours before the due time, e.g. [48, 4]; null returns to the deployment's."),
    )
