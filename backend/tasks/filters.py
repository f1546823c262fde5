import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.filters import IsoDateTimeFilter, StrictBooleanFilter
from tasks.models import Assignment, PracticeTask
from tasks.selectors import overdue_q


class TaskFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=PracticeTask.Status.choices, label=_("status (repeatable)")
    )
    category = django_filters.NumberFilter(field_name="category_id", label=_("category id"))
    issuer_unit = django_filters.NumberFilter(field_name="issuer_unit_id", label=_("issuing unit id"))
    due_after = IsoDateTimeFilter(field_name="due_at", lookup_expr="gte", label=_("due at or after"))
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lte", label=_("due at or before"))
    search = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", max_length=200, label=_("title contains")
    )

    class Meta:
        model = PracticeTask
        fields = ["status", "category", "issuer_unit", "due_after", "due_before", "search"]


class AssignmentFilter(django_filters.FilterSet):
    task = django_filters.NumberFilter(field_name="task_id", label=_("task id"))
    unit = django_filters.NumberFilter(field_name="unit_id", label=_("unit id"))
    parent = django_filters.NumberFilter(field_name="parent_id", label=_("delegated from (assignment id)"))
    status = django_filters.MultipleChoiceFilter(
        choices=Assignment.Status.choices, label=_("status (repeatable)")
    )
    overdue = StrictBooleanFilter(method="filter_overdue", label=_("overdue"))
    due_after = IsoDateTimeFilter(field_name="due_at", lookup_expr="gte", label=_("due at or after"))
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lte", label=_("due at or before"))
    category = django_filters.NumberFilter(field_name="task__category_id", label=_("task category id"))
    own = StrictBooleanFilter(method="filter_own", label=_("only the units I am a member of"))

    class Meta:
        model = Assignment
        fields = ["task", "unit", "parent", "status", "overdue", "due_after", "due_before", "category", "own"]

    def filter_overdue(self, queryset, name, value):
        condition = overdue_q(timezone.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_own(self, queryset, name, value):
        user = self.request.user if self.request else None
        if value is None or user is None:
            return queryset
        mine = queryset.filter(unit__memberships__user=user).values("pk")
        return queryset.filter(pk__in=mine) if value else queryset.exclude(pk__in=mine)
