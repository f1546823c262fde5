import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.filters import StrictBooleanFilter
from orgs.models import LEVEL_BY_KEY, Membership, OrgUnit, Role, User


class UnitFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(
        choices=[(key, key) for key in LEVEL_BY_KEY], method="filter_level", label=_("level")
    )
    parent = django_filters.NumberFilter(field_name="parent_id", label=_("parent unit id"))
    code = django_filters.CharFilter(field_name="code", max_length=32, label=_("code"))
    search = django_filters.CharFilter(
        method="filter_search", max_length=150, label=_("name, station name or code contains")
    )
    is_active = StrictBooleanFilter(field_name="is_active", label=_("active"))

    class Meta:
        model = OrgUnit
        fields = ["level", "parent", "code", "search", "is_active"]

    def filter_level(self, queryset, name, value):
        return queryset.filter(level=LEVEL_BY_KEY[value])

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(station_name__icontains=value) | Q(code__startswith=value)
        )


class MembershipFilter(django_filters.FilterSet):
    unit = django_filters.NumberFilter(field_name="unit_id", label=_("unit id"))
    user = django_filters.NumberFilter(field_name="user_id", label=_("user id"))
    role = django_filters.ChoiceFilter(choices=Role.choices, label=_("role"))

    class Meta:
        model = Membership
        fields = ["unit", "user", "role"]


class UserFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=150, label=_("username or name contains, or mobile starts with")
    )

    class Meta:
        model = User
        fields = ["search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value) | Q(real_name__icontains=value) | Q(mobile__startswith=value)
        )
