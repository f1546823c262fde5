"""Delivery records in the admin: read-only, for the units the staff member administers."""

from django.contrib import admin
from django.db.models import QuerySet

from notifications.models import Delivery
from notifications.policies import ADMINISTER
from orgs.admin import ScopedReadOnlyAdmin
from orgs.models import User
from orgs.scope import unit_condition


@admin.register(Delivery)
class DeliveryAdmin(ScopedReadOnlyAdmin):
    list_display = [
        "id",
        "channel",
        "kind",
        "status",
        "unit",
        "recipient",
        "robot",
        "attempts",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["unit", "recipient", "robot"]
    # The robot's webhook address carries its key: the robot is named, never shown.
    exclude = ["data"]
    raw_id_fields = ["recipient", "robot", "unit", "task", "assignment"]

    def scope(self, queryset: QuerySet, user: User) -> QuerySet:
        return queryset.filter(unit_condition(user, ADMINISTER, prefix="unit"))
